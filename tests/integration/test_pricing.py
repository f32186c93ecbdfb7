"""Pricing a line on the demo rate cards: the waterfall the service assembles, and bad input."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from app.accounts.models import Account
from app.catalog.models import Product
from app.catalog.products import product_slots
from app.errors import ValidationFailed
from app.extensions import current_clock, db
from app.inventory.availability import availability_for
from app.inventory.models import ReservationKind
from app.inventory.reservations import reserve
from app.inventory.supply import Box
from app.pricing import service
from app.ratecards.models import RateCard
from tests.conftest import DEMO_USERS, now, user

MARGIN = 10


def next_year() -> int:
    return current_clock().today().year + 1


def card(name: str) -> RateCard:
    return db.session.scalar(sa.select(RateCard).where(RateCard.name == name))


def product(name: str) -> Product:
    return db.session.scalar(sa.select(Product).where(Product.name == name))


def account(name: str) -> Account:
    return db.session.scalar(sa.select(Account).where(Account.name == name))


def line(**kw) -> service.LineInput:
    year = next_year()
    base = dict(
        card_id=card(f"Standard {year}").id,
        product_id=product("Sport Display").id,
        pricing_model="cpm",
        start=date(year, 2, 1),
        end=date(year, 2, 14),
        time_zone="Europe/London",
        quantity=2_000_000,
    )
    base.update(kw)
    return service.LineInput(**base)


def priced(line_input, role="sales_rep"):
    return service.price_line(
        line_input, actor=user(DEMO_USERS[role]), today=current_clock().today(), now=now(), margin_pct=MARGIN
    )


def test_a_customised_line_gets_every_step_of_the_waterfall(ctx):
    """Standard card of next year (5 % above this year's): Sport Display at 8.40 CPM.
    London: the card takes the highest geo premium, 25 % (2.10) over any region's 10 %; mobile +15 %
    (1.26): 11.76. No season in early February. 1,500,000 impressions reach the 1,000,000 tier: -5 %
    (-0.588): 11.172, the list rate, with nothing booked that far ahead. The advertiser's 10 % discount
    (-1.1172) then a 5 % line discount (-0.50274 -> -0.5027): net 9.5521, above the 70 % floor of
    5.88. Gross 9.5521 x 1,500 = 14,328.15; the agency keeps 15 %: 2,149.22; net 12,178.93."""
    advertiser = account("Halden Auto Group")
    advertiser.discount_pct = D("10")
    agency = account("Lanternfish Media")
    agency.agency_commission_pct = D("15")
    result = priced(
        line(
            targeting={"geo": ("london",), "device": ("mobile",)},
            advertiser_id=advertiser.id,
            agency_id=agency.id,
            line_discount_pct=D("5"),
            quantity=1_500_000,
        )
    )
    p = result.price
    assert [(s.key, s.amount) for s in p.steps] == [
        ("base", D("8.4000")),
        ("premium", D("2.1000")),
        ("premium", D("1.2600")),
        ("volume", D("-0.5880")),
        ("list", D("11.1720")),
        ("discount", D("-1.1172")),
        ("discount", D("-0.5027")),
        ("net", D("9.5521")),
    ]
    assert (p.gross, p.commission, p.net) == (D("14328.15"), D("2149.22"), D("12178.93"))
    assert result.sell_through == D("0.00") and not p.below_floor and result.warnings == []


def test_demand_raises_the_rate_when_the_inventory_is_sold_through(ctx):
    """Book 85 % of a slot's week: its sell-through lands in the card's 80 % band (+25 %)."""
    year = next_year()
    football = product("Football Pre-roll")
    start = date(year, 3, 1)
    box = Box(tuple(u.id for u in product_slots(football)), start, start + timedelta(days=6))
    free = availability_for(box, now=now(), today=current_clock().today(), margin_pct=MARGIN).available
    reserve(
        ReservationKind.BOOKING,
        box,
        label="Cup final",
        quantity=free * 85 // 100,
        actor=None,
        now=now(),
        today=current_clock().today(),
        margin_pct=MARGIN,
        hold_days=7,
    )
    result = priced(line(product_id=football.id, start=start, end=start + timedelta(days=6), quantity=10_000))
    assert D("84.5") <= result.sell_through <= D("85.5")
    demand = [s for s in result.price.steps if s.key == "demand"]
    assert len(demand) == 1 and "80 %" in demand[0].detail
    assert demand[0].amount == (D("29.4000") * D("0.25")).quantize(D("0.0001"))


def test_a_price_below_the_floor_is_flagged_with_the_gap(ctx):
    """Sport Display's floor is 70 % of 8.40 = 5.88; a 40 % line discount gives 5.04: 0.84 under."""
    result = priced(line(quantity=500_000, line_discount_pct=D("40")))
    assert result.price.below_floor_by == D("0.8400")
    assert any("under the floor of 5.8800" in w for w in result.warnings)


def test_a_budget_returns_the_quantity_it_buys(ctx):
    """10,000.00 at 8.40 less 5 % (the budget reaches the 1,000,000 tier: 7.98): 1,253,133 impressions,
    costing 10,000.0013, invoiced 10,000.00."""
    result = priced(line(quantity=None, budget=D("10000")))
    assert result.price.net_rate == D("7.9800") and result.price.units == 1_253_133
    assert result.price.gross <= D("10000")


def test_the_snapshot_keeps_the_card_values_so_a_later_edit_changes_nothing(ctx):
    result = priced(line(targeting={"geo": ("london",)}))
    snapshot = result.snapshot()
    assert snapshot["inputs"]["base_rate"] == "8.4000"
    assert {"feature": "geo", "value": "london", "kind": "percent", "amount": "25.0000"} in snapshot["inputs"][
        "premiums"
    ]
    assert snapshot["price"]["net_rate"] == str(result.price.net_rate)
    standard = card(f"Standard {next_year()}")
    for rate in standard.base_rates:
        rate.rate = rate.rate * 2
    db.session.flush()
    assert snapshot["inputs"]["base_rate"] == "8.4000" and snapshot["price"]["base_rate"] == "8.4000"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"line_discount_pct": D("120")}, "line_discount_pct", "between 0 % and 100 %"),
        ({"proposal_discount_pct": D("-5")}, "proposal_discount_pct", "between 0 % and 100 %"),
        ({"quantity": 10_000}, "quantity", "at least 50,000"),
        ({"pricing_model": "cpd"}, "pricing_model", "sold by CPM"),
        ({"currency": "EUR"}, "currency", "prices in GBP"),
        ({"time_zone": "Mars/Olympus"}, "time_zone", "not a time zone"),
        ({"targeting": {"audience": ("auto-intenders",)}}, "audience", "does not let a rep choose"),
        ({"targeting": {"geo": ("atlantis",)}}, "geo", "Unknown geo value atlantis"),
        ({"quantity": 100_000, "budget": D("500")}, "budget", "not both"),
        ({"quantity": None}, "quantity", "Enter the impressions"),
    ],
)
def test_bad_input_gets_a_message_on_the_field_at_fault(ctx, change, field, message):
    with pytest.raises(ValidationFailed) as failure:
        priced(line(**change))
    assert message in " ".join(failure.value.errors[field])


def test_a_flight_outside_the_cards_validity_is_refused_on_its_dates(ctx):
    year = next_year()
    with pytest.raises(ValidationFailed) as failure:
        priced(line(start=date(year, 12, 20), end=date(year + 1, 1, 10)))
    assert "ends outside it" in failure.value.errors["end"][0] and "start" not in failure.value.errors


def test_a_budget_smaller_than_one_impression_is_refused(ctx):
    """Football Pre-roll at 29.40 CPM: one impression costs 0.0294, more than a 0.01 budget."""
    with pytest.raises(ValidationFailed) as failure:
        priced(line(product_id=product("Football Pre-roll").id, quantity=None, budget=D("0.01")))
    assert "buys not one impression" in failure.value.errors["budget"][0]


def test_a_card_for_other_roles_is_refused(ctx):
    agency_card = card(f"Agency {current_clock().today().year}")
    with pytest.raises(ValidationFailed) as failure:
        priced(line(card_id=agency_card.id, start=current_clock().today(), end=current_clock().today()), role="finance")
    assert "not a card you may price with" in failure.value.errors["rate_card"][0]


def test_a_cpd_line_is_limited_by_days_and_its_impressions_only_give_the_effective_cpm(ctx):
    """The homepage takeover sells 1 to 14 days; 20 days are refused on the flight's end, and the
    1,000,000 impressions expected over 7 days are not held against that limit."""
    takeover = product("Homepage Takeover — The Daily Harbour")
    year = next_year()
    with pytest.raises(ValidationFailed) as failure:
        priced(line(product_id=takeover.id, pricing_model="cpd", quantity=None, end=date(year, 2, 20)))
    assert "at most 14 days" in failure.value.errors["end"][0]
    week = priced(line(product_id=takeover.id, pricing_model="cpd", quantity=1_000_000, end=date(year, 2, 7)))
    assert week.price.units == 7
    assert week.price.effective_cpm == (week.price.gross * 1000 / 1_000_000).quantize(D("0.0001"))
