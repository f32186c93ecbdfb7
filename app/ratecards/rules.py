"""Rate card rows' checks, one per row kind, shared by the forms and the CSV import. Pure: no database.

Each check returns {field: message} for every problem it finds; `raise_problems` turns them into a
ValidationFailed.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from app.catalog.models import DimensionKey, PricingModel, Product
from app.errors import ValidationFailed
from app.ratecards.models import (
    PremiumKind,
)
from app.validation import (
    clean_line,
    day_problem,
    line_problem,
    money_problem,
    quantity_problem,
)

MAX_PREMIUM_PCT = Decimal("1000")
#: A demand band's adjustment: at most the whole rate off, at most six times the rate.
MIN_DEMAND_PCT, MAX_DEMAND_PCT = Decimal("-100"), Decimal("500")
RATE_STEP = Decimal("0.0001")
PCT_STEP = Decimal("0.01")


def money_text(amount: Decimal, currency: str) -> str:
    return f"{amount:,.2f} {currency}" if amount == amount.quantize(Decimal("0.01")) else f"{amount:,} {currency}"


def pct_text(value: Decimal, *, sign: bool = False) -> str:
    """A percentage as a person writes it: 80.0000 -> "80 %", and with `sign` 25 -> "+25 %"."""
    return f"{'+' if sign and value > 0 else ''}{value.normalize():f} %"


# -- Row checks (shared by forms and CSV import) ------------------------------------------------


def rate_problem(rate: Decimal | None, *, label: str) -> str | None:
    if rate is None:
        return f"Enter the {label}."
    if problem := money_problem(rate, label=label):
        return problem
    if rate != rate.quantize(RATE_STEP):
        return f"The {label} has at most 4 decimals."
    return None


def check_base_rate(product: Product | None, pricing_model: str, rate: Decimal | None) -> dict[str, str]:
    problems: dict[str, str] = {}
    if product is None:
        problems["product_id"] = "Choose a product."
    elif pricing_model not in product.pricing_models:
        allowed = ", ".join(PricingModel(m).label for m in product.pricing_models)
        problems["pricing_model"] = f"{product.name} is not sold by {model_label(pricing_model)} (allowed: {allowed})."
    if problem := rate_problem(rate, label="base rate"):
        problems["rate"] = problem
    return problems


def check_premium(
    dimension: str, value_code: str | None, kind: str, amount: Decimal | None, *, values: dict[str, dict]
) -> dict[str, str]:
    """`values` are the targeting values by dimension and code (`targeting_values_by_dimension()`)."""
    problems: dict[str, str] = {}
    if dimension not in {d.value for d in DimensionKey}:
        problems["dimension"] = "Choose a targeting feature."
    elif value_code:
        value = values.get(dimension, {}).get(value_code)
        feature = DimensionKey(dimension).label
        elsewhere = next(((key, vs[value_code]) for key, vs in values.items() if value_code in vs), None)
        if value is None and elsewhere is not None:
            problems["value_code"] = (
                f"{elsewhere[1].name} is a value of {DimensionKey(elsewhere[0]).label}, not of {feature}: "
                f"choose a {feature} value or any value."
            )
        elif value is None:
            problems["value_code"] = f"{feature} has no value “{value_code}”."
    if kind not in {k.value for k in PremiumKind}:
        problems["kind"] = "Choose a percentage or an amount."
    if amount is None:
        problems["amount"] = "Enter the premium."
    elif amount <= 0:
        problems["amount"] = f"A premium raises the rate: enter more than 0 (not {amount})."
    elif kind == PremiumKind.PERCENT and amount > MAX_PREMIUM_PCT:
        problems["amount"] = f"A premium is at most {MAX_PREMIUM_PCT} % of the base rate."
    elif problem := rate_problem(amount, label="premium"):
        problems["amount"] = problem
    return problems


def check_season(name: str, starts_on: date | None, ends_on: date | None, pct: Decimal | None) -> dict[str, str]:
    problems: dict[str, str] = {}
    if problem := line_problem(clean_line(name), label="season's name", max_length=120):
        problems["name"] = problem
    if starts_on is None:
        problems["starts_on"] = "Enter the first day of the season."
    elif problem := day_problem(starts_on, label="season's first day"):
        problems["starts_on"] = problem
    if ends_on is None:
        problems["ends_on"] = "Enter the last day of the season."
    elif problem := day_problem(ends_on, label="season's last day"):
        problems["ends_on"] = problem
    elif starts_on is not None and ends_on < starts_on:
        problems["ends_on"] = f"The season ends ({ends_on}) before it starts ({starts_on})."
    if pct is None:
        problems["adjustment_pct"] = "Enter the adjustment in percent, such as 20 or -10."
    elif not (Decimal("-90") <= pct <= Decimal("500")) or pct == 0:
        problems["adjustment_pct"] = "A season adjusts the rate by -90 % to +500 %, and not by 0."
    elif pct != pct.quantize(Decimal("0.01")):
        problems["adjustment_pct"] = "Use at most 2 decimals."
    return problems


def check_volume_tier(min_quantity: int | None, pct: Decimal | None) -> dict[str, str]:
    problems: dict[str, str] = {}
    if min_quantity is None:
        problems["min_quantity"] = "Enter the quantity from which the tier applies (1 or more)."
    elif problem := quantity_problem(min_quantity, label="quantity from which the tier applies"):
        problems["min_quantity"] = problem
    if pct is None or not (Decimal("0") < pct < Decimal("100")):
        problems["discount_pct"] = "A tier's discount is more than 0 % and less than 100 %."
    elif pct != pct.quantize(Decimal("0.01")):
        problems["discount_pct"] = "Use at most 2 decimals."
    return problems


def check_demand_band(from_pct: Decimal | None, pct: Decimal | None) -> dict[str, str]:
    problems: dict[str, str] = {}
    if from_pct is None:
        problems["from_pct"] = "Enter the sell-through from which the band applies, such as 80 (for 80 %)."
    elif not (Decimal("0") <= from_pct <= Decimal("100")):
        problems["from_pct"] = f"Sell-through runs from 0 % to 100 % (not {from_pct} %)."
    elif from_pct != from_pct.quantize(PCT_STEP):
        problems["from_pct"] = "Use at most 2 decimals."
    if pct is None:
        problems["adjustment_pct"] = "Enter the adjustment in percent, such as 25 or -10."
    elif not (MIN_DEMAND_PCT <= pct <= MAX_DEMAND_PCT):
        problems["adjustment_pct"] = (
            f"A demand band adjusts the rate by {MIN_DEMAND_PCT} % to +{MAX_DEMAND_PCT} % (not {pct} %)."
        )
    elif pct != pct.quantize(PCT_STEP):
        problems["adjustment_pct"] = "Use at most 2 decimals."
    return problems


def check_floor(
    product: Product | None, pricing_model: str, rate: Decimal | None, base_rates: dict[tuple[int, str], Decimal]
) -> dict[str, str]:
    """`base_rates` are the card's, by (product id, pricing model): a floor must sit below one of them."""
    problems: dict[str, str] = {}
    if product is None:
        return {"product_id": "Choose a product."}
    if pricing_model not in product.pricing_models:
        problems["pricing_model"] = f"{product.name} is not sold by {model_label(pricing_model)}."
    if problem := rate_problem(rate, label="floor"):
        problems["rate"] = problem
    if problems:
        return problems
    base = base_rates.get((product.id, pricing_model))
    if base is None:
        problems["product_id"] = (
            f"Set a {model_label(pricing_model)} base rate for {product.name} first: a floor sits below it."
        )
    elif rate > base:
        problems["rate"] = (
            f"The floor {rate} is above the base rate of {product.name} ({base} {model_label(pricing_model)}): "
            "nothing could ever be sold at list price."
        )
    return problems


def overlapping_seasons(seasons: list[tuple[str, date, date]]) -> list[str]:
    """A message for every pair of seasons whose dates overlap."""
    ordered = sorted(seasons, key=lambda s: (s[1], s[2]))
    problems = []
    for i, (name_b, start_b, end_b) in enumerate(ordered):
        for name_a, start_a, end_a in ordered[:i]:
            if start_b <= end_a:
                problems.append(
                    f"Season “{name_b}” ({start_b} to {end_b}) overlaps “{name_a}” ({start_a} to {end_a}); "
                    "a day may be in one season only."
                )
    return problems


def model_label(model: str) -> str:
    try:
        return PricingModel(model).label
    except ValueError:
        return model or "no pricing model"


def raise_problems(problems: dict[str, str]) -> None:
    if problems:
        raise ValidationFailed({k: [v] for k, v in problems.items()})
