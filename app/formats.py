"""How amounts, rates and percentages read on a page and in a PDF (Jinja filters, no Flask)."""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_currency, format_decimal

from app.money import format_money


def money(amount: Decimal | None, currency: str) -> str:
    if amount is None:
        return ""
    return format_money(amount, currency)


def rate(amount: Decimal | None, currency: str) -> str:
    """A rate: 2 to 4 decimals, as the rate card keeps them."""
    if amount is None:
        return ""
    return format_currency(amount, currency, format="¤#,##0.00##", currency_digits=False, locale="en_GB")


def percent(value: Decimal | None) -> str:
    if value is None:
        return ""
    return f"{format_decimal(value, format='#,##0.##', locale='en_GB')} %"
