"""The rule engine: typed facts about a proposal version, and conditions over them, in words.

No `eval`: a condition is a field from FIELDS, an operator its type allows, and a value parsed to
that type. A rule matches when all (or any) of its conditions hold; each condition that holds
says why in words ("discount 18 % is above 15 %").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from babel.numbers import format_decimal

from app.money import format_money
from app.proposals.snapshot import LinePrice, VersionSnapshot
from app.validation import money_problem, percent_problem, quantity_problem

MONEY, PERCENT, NUMBER, BOOL, TEXT = "money", "percent", "number", "bool", "text"

OPERATORS = {
    MONEY: (">", ">=", "<", "<=", "=", "!="),
    PERCENT: (">", ">=", "<", "<=", "=", "!="),
    NUMBER: (">", ">=", "<", "<=", "=", "!="),
    BOOL: ("is",),
    TEXT: ("is", "is not", "contains"),
}
OP_WORDS = {
    ">": "is above",
    ">=": "is at least",
    "<": "is below",
    "<=": "is at most",
    "=": "is",
    "!=": "is not",
    "is": "is",
    "is not": "is not",
    "contains": "includes",
}
#: The same comparisons, said of a fact for which the condition does not hold.
OP_WORDS_NOT = {
    ">": "is not above",
    ">=": "is below",
    "<": "is not below",
    "<=": "is above",
    "=": "is not",
    "!=": "is",
    "is": "is not",
    "is not": "is",
    "contains": "does not include",
}


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    type: str
    #: text fields about lines hold several values (every line's product, say)
    many: bool = False


FIELDS = {
    f.key: f
    for f in (
        Field("total_net", "total net", MONEY),
        Field("total_gross", "total gross", MONEY),
        Field("max_discount_pct", "largest discount", PERCENT),
        Field("below_floor", "a line below its floor", BOOL),
        Field("below_floor_pct", "largest gap under a floor", PERCENT),
        Field("product", "product", TEXT, many=True),
        Field("category", "product category", TEXT, many=True),
        Field("line_item_type", "line item type", TEXT, many=True),
        Field("contention", "a line above what is available", BOOL),
        Field("new_advertiser", "new advertiser", BOOL),
        Field("credit_on_hold", "advertiser on credit hold", BOOL),
        Field("non_standard_terms", "non-standard terms", BOOL),
        Field("currency", "currency", TEXT),
        Field("flight_days", "flight length in days", NUMBER),
        Field("lines", "number of lines", NUMBER),
        Field("make_good", "a free make-good line", BOOL),
    )
}


class RuleProblem(ValueError):
    """A condition that cannot be evaluated: an unknown field, an operator or value of the wrong type."""


def parse_value(field: Field, raw: str) -> Decimal | bool | str:
    text = (raw or "").strip()
    if field.type == BOOL:
        if text.lower() in ("true", "yes", "1"):
            return True
        if text.lower() in ("false", "no", "0"):
            return False
        raise RuleProblem(f"{field.label}: choose yes or no.")
    if field.type == TEXT:
        if not text:
            raise RuleProblem(f"{field.label}: enter the value to compare with.")
        return text[:200]
    try:
        value = Decimal(text.replace(",", ""))
    except InvalidOperation:
        raise RuleProblem(f"{field.label}: “{text[:40]}” is not a number.") from None
    if not value.is_finite():
        raise RuleProblem(f"{field.label}: “{text[:40]}” is not a number.")
    if value and value.adjusted() < -6:
        raise RuleProblem(f"{field.label}: “{text[:40]}” is out of range.")
    # The shared bounds: what no proposal's facts can ever be is a mistake, not a rule.
    if field.type == MONEY:
        problem = money_problem(value, label="value")
    elif field.type == PERCENT:
        problem = percent_problem(value, label="value")
    else:
        problem = quantity_problem(value, label="value", minimum=0)
    if problem:
        raise RuleProblem(f"{field.label}: {problem}")
    return value


def check_condition(condition: dict) -> tuple[Field, str, Decimal | bool | str]:
    field = FIELDS.get(condition.get("field", ""))
    if field is None:
        raise RuleProblem(f"Unknown field “{str(condition.get('field', ''))[:40]}”.")
    op = condition.get("op", "")
    if op not in OPERATORS[field.type]:
        raise RuleProblem(f"{field.label}: “{str(op)[:10]}” does not apply; use {', '.join(OPERATORS[field.type])}.")
    return field, op, parse_value(field, str(condition.get("value", "")))


def _words(field: Field, value, currency: str | None = None) -> str:
    """A fact or a rule's value in words. Money of a proposal has its currency; a rule's value has
    none (it applies to every currency), so it is shown plainly, without trailing zeros."""
    if field.type == MONEY:
        return format_money(value, currency) if currency else format_decimal(value, "#,##0.######", locale="en_GB")
    if field.type == PERCENT:
        return f"{value.normalize():f} %"
    if field.type == BOOL:
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(value)
    return f"{value}"


COMPARE: dict[str, Callable] = {
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


def condition_holds(condition: dict, facts: dict) -> tuple[bool, str]:
    """Whether the condition holds for the facts, and the fact in words, true either way ("largest
    discount 12 % is not above 15 %" when it does not hold)."""
    field, op, value = check_condition(condition)
    actual = facts.get(field.key)
    if field.type == BOOL:
        ok = bool(actual) == value
        return ok, f"{field.label}: {_words(field, bool(actual))}"
    if field.type == TEXT:
        values = [str(v).casefold() for v in (actual if field.many else [actual]) if v is not None]
        wanted = str(value).casefold()
        if op == "contains":
            ok = any(wanted in v for v in values)
        elif op == "is":
            ok = wanted in values
        else:
            ok = wanted not in values
        if ok:
            return ok, f"{field.label} {OP_WORDS[op]} {value}"
        shown = ", ".join(dict.fromkeys(str(v) for v in (actual if field.many else [actual]) if v)) or "none"
        return ok, f"{field.label} {OP_WORDS_NOT[op]} {value} ({shown})"
    actual = Decimal(actual or 0)
    ok = COMPARE[op](actual, value)
    currency = facts.get("currency")
    words = OP_WORDS if ok else OP_WORDS_NOT
    return ok, f"{field.label} {_words(field, actual, currency)} {words[op]} {_words(field, value)}"


def matches(conditions: list[dict], combinator: str, facts: dict) -> tuple[bool, list[str]]:
    """Whether a rule's conditions match, and the reasons of those that hold."""
    ok, reasons, _looked_at = evaluate(conditions, combinator, facts)
    return ok, reasons


def evaluate(conditions: list[dict], combinator: str, facts: dict) -> tuple[bool, list[str], list[str]]:
    """Whether a rule's conditions match, the reasons of those that hold (when it matches), and every
    condition it looked at with the fact's value, in the rule's order: what an approver reads."""
    if not conditions:
        raise RuleProblem("A rule needs at least one condition.")
    results = [condition_holds(c, facts) for c in conditions]
    reasons = [why for ok, why in results if ok]
    ok = any(r for r, _ in results) if combinator == "any" else all(r for r, _ in results)
    return ok, reasons if ok else [], [why for _, why in results]


def facts_of(
    snapshot: VersionSnapshot, *, new_advertiser: bool, standard_terms: str, products: dict[int, dict]
) -> dict:
    """The fact sheet of a version snapshot. `products`: product id -> {"category", "line_item_type"}."""
    lines = snapshot.lines
    discounts = [snapshot.discount_pct or Decimal(0), snapshot.advertiser.discount_pct or Decimal(0)]
    gaps = []
    for line in lines:
        if line.make_good_of_id:
            continue  # free by design: not a discount, nor under a floor (the make_good fact says so)
        discounts.append(line.discount_pct or Decimal(0))
        price = line.price or LinePrice()
        if price.list_rate and price.list_rate > 0:
            discounts.append((1 - price.net_rate / price.list_rate) * 100)
        if price.floor and (price.below_floor_by or 0) > 0:
            gaps.append(price.below_floor_by / price.floor * 100)
    terms = (snapshot.terms or "").strip()
    return {
        "total_net": snapshot.totals.net,
        "total_gross": snapshot.totals.gross,
        "max_discount_pct": max(discounts).quantize(Decimal("0.01")),
        "below_floor": bool(gaps),
        "below_floor_pct": max(gaps, default=Decimal(0)).quantize(Decimal("0.01")),
        "product": [line.product.name for line in lines],
        "category": [products.get(line.product.id, {}).get("category", "") for line in lines],
        "line_item_type": [products.get(line.product.id, {}).get("line_item_type", "") for line in lines],
        "contention": any(any("Not enough inventory" in p for p in line.problems) for line in lines),
        "new_advertiser": new_advertiser,
        "credit_on_hold": snapshot.advertiser.credit_status == "on_hold",
        "non_standard_terms": bool(terms) and terms != (standard_terms or "").strip(),
        "currency": snapshot.currency,
        "flight_days": Decimal(snapshot.flight.days),
        "lines": Decimal(len(lines)),
        "make_good": any(line.make_good_of_id for line in lines),
    }
