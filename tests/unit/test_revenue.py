"""Revenue rules: a line's cost over the months of its flight, broadcast months, what it may bill."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.finance import revenue
from app.money import quantize

ZONES = ["Europe/London", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "Pacific/Chatham", "UTC"]
days = st.dates(min_value=date(2024, 1, 1), max_value=date(2028, 12, 31))
money = st.decimals(min_value=Decimal("0"), max_value=Decimal("10000000"), places=2)


def test_a_line_from_20_january_to_9_february_puts_12_21sts_in_january():
    shares = revenue.spread(Decimal("2100.00"), date(2026, 1, 20), date(2026, 2, 9), "Europe/London", currency="GBP")
    assert shares == {date(2026, 1, 1): Decimal("1200.00"), date(2026, 2, 1): Decimal("900.00")}


def test_the_day_the_clocks_go_forward_counts_as_23_hours():
    # 20 March to 9 April in London: March has 12 days, one of them 23 hours long (287 of 503 hours).
    shares = revenue.spread(Decimal("503.00"), date(2026, 3, 20), date(2026, 4, 9), "Europe/London", currency="GBP")
    assert shares == {date(2026, 3, 1): Decimal("287.00"), date(2026, 4, 1): Decimal("216.00")}


@settings(max_examples=300, deadline=None)
@given(start=days, length=st.integers(min_value=0, max_value=400), zone=st.sampled_from(ZONES), amount=money,
       calendar=st.sampled_from(["calendar", "broadcast"]))  # fmt: skip
def test_a_lines_months_add_up_to_its_cost_to_the_cent(start, length, zone, amount, calendar):
    end = start + timedelta(days=length)
    shares = revenue.spread(amount, start, end, zone, calendar, currency="GBP")
    assert sum(shares.values()) == amount
    assert all(share >= 0 for share in shares.values())
    assert all(share == share.quantize(Decimal("0.01")) for share in shares.values())


@settings(max_examples=200, deadline=None)
@given(gross=money, share=st.integers(min_value=0, max_value=100), start=days, length=st.integers(0, 200),
       zone=st.sampled_from(ZONES))  # fmt: skip
def test_gross_commission_and_net_each_add_up_over_the_months(gross, share, start, length, zone):
    commission = quantize(gross * share / 100, "GBP")
    end = start + timedelta(days=length)
    months = revenue.months_of_flight(start, end)
    booked = [revenue.booked_for(gross, commission, start, end, zone, m, currency="GBP") for m in months]
    assert sum(b.gross for b in booked) == gross
    assert sum(b.commission for b in booked) == commission
    assert sum(b.net for b in booked) == gross - commission


@given(month=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 1)).map(lambda d: d.replace(day=1)))
def test_broadcast_months_run_monday_to_sunday_and_follow_each_other(month):
    start, end = revenue.broadcast_month(month)
    next_start, _ = revenue.broadcast_month(revenue.next_month(month))
    assert start.weekday() == 0 and end.weekday() == 6
    assert (end - start).days + 1 in (28, 35) and next_start == end + timedelta(days=1)
    assert start <= month <= end


@settings(max_examples=200)
@given(units=st.lists(st.integers(min_value=0, max_value=5_000_000), min_size=1, max_size=8),
       rate=st.decimals(min_value=Decimal("0.5"), max_value=Decimal("80"), places=4))  # fmt: skip
def test_a_capped_line_never_bills_more_than_its_contract(units, rate):
    contract = quantize(Decimal(4_000_000) * rate / 1000, "GBP")
    billed, before = Decimal(0), 0
    for month_units in units:
        billed += revenue.recognised_for(
            source="ad_server", cap="contract", pricing_model="cpm", net_rate=rate, contract=contract,
            booked_gross=Decimal(0), units_in_month=month_units, units_before=before, make_good=False, currency="GBP",
        )  # fmt: skip
        before += month_units
    assert billed <= contract
    if before <= 4_000_000:
        assert billed == revenue.billable("cpm", rate, before, "GBP") or abs(
            billed - revenue.billable("cpm", rate, before, "GBP")
        ) <= Decimal("0.01") * len(units)


def test_a_make_good_bills_nothing_and_a_contracted_line_bills_what_was_booked():
    args = dict(cap="none", pricing_model="cpm", net_rate=Decimal("10"), contract=Decimal("1000"),
                booked_gross=Decimal("250.00"), units_in_month=50_000, units_before=0, currency="GBP")  # fmt: skip
    assert revenue.recognised_for(source="ad_server", make_good=True, **args) == 0
    assert revenue.recognised_for(source="contracted", make_good=False, **args) == Decimal("250.00")
    assert revenue.recognised_for(source="ad_server", make_good=False, **args) == Decimal("500.00")


@pytest.mark.parametrize(
    ("raw", "message"),
    [("2026-13", "is not a month"), ("26-11", "is not a month"), ("November", "is not a month"),
     ("2027-01", "has not started yet")],
)  # fmt: skip
def test_a_malformed_or_future_period_is_refused_with_a_message(raw, message):
    with pytest.raises(ValueError, match=message):
        revenue.parse_period(raw, today=date(2026, 11, 22))
    assert revenue.parse_period("2026-11", today=date(2026, 11, 22)) == date(2026, 11, 1)


@settings(max_examples=200, deadline=None)
@given(start=days, length=st.integers(min_value=1, max_value=300), cut=st.integers(min_value=0, max_value=300),
       zone=st.sampled_from(ZONES), amount=money)  # fmt: skip
def test_cancelling_a_line_never_moves_a_month_that_ended_before(start, length, cut, zone, amount):
    end = start + timedelta(days=length)
    stop = start + timedelta(days=min(cut, length))
    for month in revenue.months_of_flight(start, end):
        full = revenue.booked_for(amount, Decimal(0), start, end, zone, month, currency="GBP")
        cancelled = revenue.booked_for(amount, Decimal(0), start, end, zone, month, currency="GBP", stop=stop)
        if revenue.month_end(month) < stop:
            assert cancelled == full
        elif month >= stop:
            assert cancelled.gross == 0
        else:
            assert 0 <= cancelled.gross <= full.gross
