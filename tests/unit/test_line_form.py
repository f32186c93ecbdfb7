"""What the builder's line forms show: a saved line's values, or what the rep typed, verbatim."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from werkzeug.datastructures import MultiDict

from app.proposals.line_form import LineFields, fields_of_line, fields_typed
from app.proposals.models import ProposalLine


def test_what_was_typed_comes_back_as_typed_with_the_proposals_days_where_none_was_given():
    typed = [("product", "7"), ("quantity", "half a million"), ("line_discount_pct", "7.5"), ("geo", "london")]
    form = MultiDict([*typed, ("geo", "scotland"), ("geo", ""), ("device", "mobile"), ("nonsense", "x")])
    fields = fields_typed(form, start="2027-02-01", end="2027-02-14")
    assert fields == LineFields(
        product=7,
        line_discount_pct="7.5",
        start="2027-02-01",
        end="2027-02-14",
        quantity="half a million",
        targeting={"geo": ["london", "scotland"], "device": ["mobile"]},
    )
    assert fields_typed(MultiDict({"product": "seven", "start": "2027-03-01"})).product is None
    assert fields_typed(MultiDict({"start": "2027-03-01"}), start="2027-02-01").start == "2027-03-01"


def test_a_saved_line_shows_its_own_values():
    line = ProposalLine(
        product_id=3,
        pricing_model="cpm",
        start_day=date(2027, 2, 1),
        end_day=date(2027, 2, 14),
        targeting={"geo": ["london"]},
        quantity=500_000,
        budget=None,
        discount_pct=Decimal("12.50"),
    )
    fields = fields_of_line(line)
    assert (fields.product, fields.pricing_model, fields.line_discount_pct) == (3, "cpm", "12.5")
    assert (fields.start, fields.end, fields.quantity, fields.budget) == ("2027-02-01", "2027-02-14", "500000", "")
    assert fields.targeting == {"geo": ["london"]}
