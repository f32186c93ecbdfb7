"""The rule engine says every fact a rule looked at, true either way."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.workflow import conditions as engine

FACTS = {
    "total_net": Decimal("12400"),
    "max_discount_pct": Decimal("23"),
    "new_advertiser": True,
    "credit_on_hold": True,
    "non_standard_terms": False,
    "product": ["Sport Display", "News Display"],
    "currency": "GBP",
}


def c(field: str, op: str, value: str) -> dict:
    return {"field": field, "op": op, "value": value}


@pytest.mark.parametrize(
    ("condition", "holds", "words"),
    [
        (c("max_discount_pct", ">", "20"), True, "largest discount 23 % is above 20 %"),
        (c("total_net", ">", "50000"), False, "total net £12,400.00 is not above 50,000"),
        (c("total_net", ">=", "50000"), False, "total net £12,400.00 is below 50,000"),
        (c("total_net", "<=", "10000"), False, "total net £12,400.00 is above 10,000"),
        (c("credit_on_hold", "is", "yes"), True, "advertiser on credit hold: yes"),
        (c("non_standard_terms", "is", "yes"), False, "non-standard terms: no"),
        (
            c("product", "is", "Football Pre-roll"),
            False,
            "product is not Football Pre-roll (Sport Display, News Display)",
        ),
        (c("product", "contains", "sport"), True, "product includes sport"),
    ],
)
def test_each_condition_says_its_fact_truthfully_whether_or_not_it_holds(condition, holds, words):
    assert engine.condition_holds(condition, FACTS) == (holds, words)


def test_a_matching_any_rule_lists_every_condition_it_looked_at_and_only_the_held_ones_as_reasons():
    rule = [c("new_advertiser", "is", "yes"), c("credit_on_hold", "is", "yes"), c("non_standard_terms", "is", "yes")]
    ok, reasons, looked_at = engine.evaluate(rule, "any", FACTS)
    assert ok
    assert reasons == ["new advertiser: yes", "advertiser on credit hold: yes"]
    assert looked_at == ["new advertiser: yes", "advertiser on credit hold: yes", "non-standard terms: no"]
    assert engine.matches(rule, "any", FACTS) == (ok, reasons)
