"""Why a month recognised more or less than it booked: each line's difference split by reason, and a
month's sentence from its lines."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from app.finance import revenue
from app.finance.queries import Row
from app.finance.variance import MonthVariance, Why, explain_line

NOVEMBER = date(2026, 11, 1)
#: a day long after November, when its delivery is all in
LATER = date(2027, 2, 1)


def row(gross: str, recognised: str, **changes) -> Row:
    """A line billed from the ad server, flying the whole of November and December 2026."""
    fields = dict(
        period="2026-11", order_number="O-1", remote_order_id="", line_id=1, remote_line_id="",
        advertiser="Skyweave", agency="", rep="Ana", product="Sport Display", pricing_model="cpm",
        flight_start=date(2026, 11, 1), flight_end=date(2026, 12, 31), time_zone="UTC", quantity=100_000,
        net_rate=Decimal("10.0000"), gross=Decimal(gross), commission=Decimal(0), net=Decimal(gross), delivered=1,
        billing_source="ad_server", recognised=Decimal(recognised), adjustment_for="", adjustment_reason="",
        currency="GBP",
    )  # fmt: skip
    return Row(**{**fields, **changes})


def test_a_line_that_delivered_more_than_its_straight_line_share_is_ahead():
    line = explain_line(row("500.00", "540.00"), NOVEMBER, today=LATER)
    assert line.parts == ((Why.AHEAD, Decimal("40.00")),)
    assert line.difference == Decimal("40.00")
    assert "Ahead of the straight line" in line.reads and "£540.00 against £500.00 booked (108 % of it)" in line.reads


def test_a_line_that_delivered_less_is_behind():
    line = explain_line(row("500.00", "450.00"), NOVEMBER, today=LATER)
    assert line.parts == ((Why.BEHIND, Decimal("-50.00")),)
    assert line.reads.startswith("Behind the straight line")


def test_in_a_month_still_running_the_days_to_come_are_told_apart_from_the_pace():
    # The 11th: 10 of November's 30 days gone by (delivery is known to the 10th), so £100 of £300 is due.
    line = explain_line(row("300.00", "120.00"), NOVEMBER, today=date(2026, 11, 11))
    assert dict(line.parts) == {Why.TO_COME: Decimal("-200.00"), Why.AHEAD: Decimal("20.00")}
    assert sum(amount for _, amount in line.parts) == line.difference
    assert "£200.00 of its booked revenue is on days still to come" in line.reads
    assert "against £100.00 booked for the days gone by" in line.reads


def test_a_month_not_started_has_only_days_to_come():
    line = explain_line(row("300.00", "0.00", delivered=0), NOVEMBER, today=date(2026, 10, 20))
    assert line.parts == ((Why.TO_COME, Decimal("-300.00")),)
    assert line.reads.startswith("Not started")


def test_contracted_and_flat_fee_lines_bill_as_booked():
    assert explain_line(row("300.00", "300.00", billing_source="contracted"), NOVEMBER, today=LATER).parts == ()
    flat = explain_line(row("300.00", "300.00", pricing_model="flat"), NOVEMBER, today=LATER)
    assert flat.parts == () and flat.reads == "Flat fee: bills as booked."


@pytest.mark.parametrize(
    ("changes", "why", "says"),
    [
        ({"make_good_of": 7}, Why.MAKE_GOOD, "Make-good of line 7"),
        ({"cancelled_on": date(2026, 11, 20)}, Why.CANCELLED, "Cancelled on 20 Nov 2026"),
        ({"capped": True}, Why.CAPPED, "Capped at the contract"),
        ({"billing_source": "third_party", "delivered": 0}, Why.NO_COUNTS, "none uploaded"),
        ({"adjustment_for": "2026-10", "adjustment_reason": "delivery arrived late"}, Why.ADJUSTMENT, "2026-10"),
    ],
)
def test_each_other_reason_is_named_on_the_line(changes, why, says):
    line = explain_line(row("300.00", "250.00", **changes), NOVEMBER, today=LATER)
    assert line.parts == ((why, Decimal("-50.00")),)
    assert says in line.reads


def test_a_month_says_how_much_more_it_recognised_and_why_with_lines_counted():
    month = MonthVariance("GBP")
    for gross, recognised in (("500.00", "540.00"), ("200.00", "230.00"), ("300.00", "290.00")):
        month.add(explain_line(row(gross, recognised), NOVEMBER, today=LATER))
    assert month.difference == Decimal("60.00")
    assert month.sentence() == (
        "Recognised £60.00 more than booked: delivery ran ahead of the straight line on 2 lines (+£70.00); "
        "delivery ran behind the straight line on 1 line (-£10.00)."
    )


def test_a_month_as_booked_says_so():
    month = MonthVariance("GBP")
    month.add(explain_line(row("300.00", "300.00", billing_source="contracted"), NOVEMBER, today=LATER))
    assert month.sentence() == "Recognised as booked."


def test_months_after_and_the_horizon_cross_years():
    assert revenue.months_after(date(2026, 11, 1), 3) == date(2027, 2, 1)
    assert revenue.months_after(date(2026, 2, 1), -3) == date(2025, 11, 1)
    assert revenue.horizon(date(2026, 12, 7)) == date(2027, 12, 1)


def test_a_month_ahead_parses_up_to_the_latest_and_no_further():
    today = date(2026, 12, 7)
    assert revenue.parse_period("2027-03", today=today, latest=date(2027, 12, 1)) == date(2027, 3, 1)
    with pytest.raises(ValueError, match="too far ahead"):
        revenue.parse_period("2028-01", today=today, latest=date(2027, 12, 1))
    with pytest.raises(ValueError, match="has not started yet"):
        revenue.parse_period("2027-01", today=today)


def test_a_month_not_started_says_nothing_is_recognised_yet():
    month = MonthVariance("GBP")
    month.add(explain_line(row("300.00", "0.00", delivered=0), NOVEMBER, today=date(2026, 10, 20)))
    assert month.sentence() == "Nothing recognised yet: £300.00 booked on 1 line falls on days still to come."
