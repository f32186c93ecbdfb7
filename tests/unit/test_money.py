"""Money in each currency's own minor unit (ISO 4217 through Babel)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from app import money
from app.finance import revenue
from app.pricing import rules


def test_kuwaiti_dinars_keep_three_decimals_yen_none_and_pounds_two():
    assert money.quantize(D("1.23456"), "KWD") == D("1.235") and str(money.quantize(D("1.2"), "KWD")) == "1.200"
    assert str(money.quantize(D("1234.5"), "JPY")) == "1235"
    assert str(money.quantize(D("2.005"), "GBP")) == "2.01"
    assert (money.minor_unit("KWD"), money.minor_unit("JPY"), money.minor_unit("GBP")) == (D("0.001"), 1, D("0.01"))


def test_a_kwd_line_costs_to_the_fils_and_its_commission_too():
    request = rules.Request(
        pricing_model=rules.CPM,
        base_rate=D("1.2345"),
        start=date(2027, 3, 1),
        end=date(2027, 3, 28),
        currency="KWD",
        quantity=1_234_567,
        commission_pct=D("15"),
    )
    p = rules.price(request)
    assert (str(p.gross), str(p.commission), str(p.net)) == ("1524.073", "228.611", "1295.462")
    assert str(rules.total([p.gross, p.gross], "KWD")) == "3048.146"


def test_a_kwd_amount_spreads_over_months_in_whole_fils():
    months = revenue.spread(D("1000.001"), date(2027, 1, 20), date(2027, 2, 9), "Asia/Kuwait", currency="KWD")
    assert sum(months.values()) == D("1000.001")
    assert all(v == v.quantize(D("0.001")) for v in months.values())
    assert months[date(2027, 1, 1)] == D("571.429")  # 12 of 21 days
