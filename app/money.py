"""Money in its currency's own minor unit: JPY has none, GBP and EUR 2, KWD 3 (ISO 4217, as Babel
knows it). Every amount of money (a cost, a total, revenue, an export's figures, an ad server's
amounts) is rounded here and only here, half-up; rates keep their 4 decimals and are not money.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from functools import cache

from babel.numbers import format_currency, get_currency_precision


@cache
def places(currency: str) -> int:
    """How many decimals an amount of `currency` has: 0 for JPY, 2 for GBP, 3 for KWD."""
    return get_currency_precision(currency)


@cache
def minor_unit(currency: str) -> Decimal:
    """The smallest amount of `currency`: 1 for JPY, 0.01 for GBP, 0.001 for KWD."""
    return Decimal(1).scaleb(-places(currency))


def quantize(amount: Decimal, currency: str) -> Decimal:
    """`amount` rounded half-up to the minor unit of `currency`."""
    if not isinstance(amount, Decimal):
        amount = Decimal(amount)
    return amount.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


def decimals_problem(amount: Decimal, currency: str, *, label: str) -> str | None:
    """Why `amount` cannot be an amount of `currency` (more decimals than its minor unit), or None."""
    if amount == quantize(amount, currency):
        return None
    if n := places(currency):
        return f"A {label} in {currency} has at most {n} decimals."
    return f"A {label} in {currency} is a whole amount: {currency} has no decimals."


@cache
def zero(currency: str) -> Decimal:
    """Nothing, written with the currency's decimals (0 for JPY, 0.00 for GBP)."""
    return quantize(Decimal(0), currency)


def to_minor_units(amount: Decimal, currency: str) -> int:
    """`amount` as a whole number of minor units (pence, yen, fils), rounded half-up."""
    return int(quantize(amount, currency).scaleb(places(currency)))


def from_minor_units(units: int, currency: str) -> Decimal:
    return Decimal(units).scaleb(-places(currency))


def format_money(amount: Decimal, currency: str) -> str:
    """`amount` as people read it, with the currency's sign and its own decimals (JP¥1,235; £12.50)."""
    return format_currency(amount, currency, locale="en_GB")
