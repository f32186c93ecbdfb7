"""Revenue rules, pure: a line's cost spread over months by its flight time, and what it may bill.

No database and no Flask. Money is Decimal in its currency's minor unit (app.money: pence, yen,
fils); a line's months always add up to its cost exactly (the minor units left over by rounding go
to the months with the largest remainders).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from app import money

THOUSAND = Decimal(1000)
#: how far ahead finance looks at booked revenue: the page, the drill-down and exports stop at the
#: month this many months after the current one (closing stops at the current month)
MONTHS_AHEAD = 12


def month_of(day: date) -> date:
    return day.replace(day=1)


def next_month(first: date) -> date:
    return (first + timedelta(days=32)).replace(day=1)


def months_after(first: date, count: int) -> date:
    """The month `count` months after `first` (before it when `count` is negative)."""
    index = first.year * 12 + first.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def horizon(today: date) -> date:
    """The last month finance looks at: MONTHS_AHEAD months after this one."""
    return months_after(month_of(today), MONTHS_AHEAD)


def month_end(first: date) -> date:
    return next_month(first) - timedelta(days=1)


def broadcast_month(first: date) -> tuple[date, date]:
    """The broadcast month named by calendar month `first`: Monday on or before the 1st to the last
    Sunday of the month (every broadcast month has four or five whole weeks)."""
    start = first - timedelta(days=first.weekday())
    last = month_end(first)
    end = last - timedelta(days=(last.weekday() + 1) % 7)
    return start, end


def broadcast_month_of(day: date) -> date:
    """The calendar month whose broadcast month holds `day`."""
    first = month_of(day)
    _start, end = broadcast_month(first)
    return first if day <= end else next_month(first)


def period_bounds(first: date, calendar: str) -> tuple[date, date]:
    return broadcast_month(first) if calendar == "broadcast" else (first, month_end(first))


def split_minor_units(amount: Decimal, weights: Sequence[int], currency: str) -> list[Decimal]:
    """`amount` split in proportion to `weights`, to the currency's minor unit (the cent, the yen),
    adding up to `amount` exactly: each share rounded down, then the units left over go to the
    largest remainders (the earlier month on a tie). Integer arithmetic throughout, so ties are exact."""
    total = sum(weights)
    if not weights or total == 0:
        return [money.zero(currency)] * len(weights)
    cents = money.to_minor_units(amount, currency)
    sign, cents = (-1 if cents < 0 else 1), abs(cents)
    parts = [divmod(cents * w, total) for w in weights]
    shares = [share for share, _ in parts]
    left = cents - sum(shares)
    if left:
        for i in sorted(range(len(parts)), key=lambda i: (-parts[i][1], i))[:left]:
            shares[i] += 1
    return [money.from_minor_units(sign * share, currency) for share in shares]


def flight_seconds(start: date, end: date, zone: str, lo: date, hi: date) -> int:
    """Seconds of the flight `start`..`end` (whole days, local midnight to midnight in `zone`) that
    fall within the days `lo`..`hi`: a day that gains or loses an hour counts as it really lasts."""
    first, last = max(start, lo), min(end, hi)
    if first > last:
        return 0
    tz = ZoneInfo(zone)
    a = datetime.combine(first, time.min, tz)
    b = datetime.combine(last + timedelta(days=1), time.min, tz)
    return int((b.astimezone(ZoneInfo("UTC")) - a.astimezone(ZoneInfo("UTC"))).total_seconds())


def months_of_flight(start: date, end: date, calendar: str = "calendar") -> list[date]:
    """The months (their first days) the flight touches, in the calendar asked for."""
    of = broadcast_month_of if calendar == "broadcast" else month_of
    months = []
    month = of(start)
    while True:
        months.append(month)
        if period_bounds(month, calendar)[1] >= end:
            return months
        month = next_month(month)


@lru_cache(maxsize=65_536)
def _weights(start: date, end: date, zone: str, calendar: str) -> tuple[tuple[date, ...], tuple[int, ...]]:
    months = months_of_flight(start, end, calendar)
    return tuple(months), tuple(flight_seconds(start, end, zone, *period_bounds(m, calendar)) for m in months)


def spread(
    amount: Decimal, start: date, end: date, zone: str, calendar: str = "calendar", *, currency: str
) -> dict[date, Decimal]:
    """`amount` over the months of the flight in proportion to its time in each, in `zone`."""
    months, weights = _weights(start, end, zone, calendar)
    return dict(zip(months, split_minor_units(amount, list(weights), currency), strict=True))


@dataclass(frozen=True)
class Booked:
    gross: Decimal
    commission: Decimal
    net: Decimal


def booked_for(
    gross: Decimal,
    commission: Decimal,
    start: date,
    end: date,
    zone: str,
    month: date,
    calendar: str = "calendar",
    *,
    currency: str,
    stop: date | None = None,
) -> Booked:
    """One month's share of a line's gross and commission; its net is what is left, so every
    column adds up over the months. A line cancelled on `stop` keeps its share of every month
    before that day, the part of the month it stopped in that it ran, and nothing after: a
    month that had ended before the cancellation never moves."""
    zero = money.zero(currency)
    g = spread(gross, start, end, zone, calendar, currency=currency).get(month, zero) if gross else zero
    c = spread(commission, start, end, zone, calendar, currency=currency).get(month, zero) if commission else zero
    if stop is not None and (g or c):
        lo, hi = period_bounds(month, calendar)
        if stop <= lo:
            return Booked(zero, zero, zero)
        if stop <= hi:
            in_month = flight_seconds(start, end, zone, lo, hi)
            ran = flight_seconds(start, end, zone, lo, stop - timedelta(days=1))
            g, c = money.quantize(g * ran / in_month, currency), money.quantize(c * ran / in_month, currency)
    return Booked(g, c, g - c)


def billable(pricing_model: str, net_rate: Decimal | None, units: int, currency: str) -> Decimal:
    """Delivered units at the net rate: per 1,000 impressions (CPM) or per day (CPD)."""
    if not net_rate or units <= 0:
        return money.zero(currency)
    if pricing_model == "cpm":
        return money.quantize(Decimal(units) * net_rate / THOUSAND, currency)
    return money.quantize(Decimal(units) * net_rate, currency)


def recognised_for(
    *,
    source: str,
    cap: str,
    pricing_model: str,
    net_rate: Decimal | None,
    contract: Decimal,
    booked_gross: Decimal,
    units_in_month: int,
    units_before: int,
    make_good: bool,
    currency: str,
) -> Decimal:
    """What the line bills this month. Contracted lines bill what was booked; delivery-billed
    lines bill delivered (or third-party) units at the net rate, flat fees excepted (they bill as
    booked). Capped at the contract, a line never bills more in all than its cost. A make-good
    bills nothing."""
    if make_good:
        return money.zero(currency)
    if source == "contracted" or pricing_model == "flat":
        return booked_gross
    # Cumulative, so the months add up to the cent to what the line has billed in all.
    through, before = (
        billable(pricing_model, net_rate, units_before + units_in_month, currency),
        billable(pricing_model, net_rate, units_before, currency),
    )
    if cap == "contract":
        through, before = min(through, contract), min(before, contract)
    return max(money.zero(currency), through - before)


def month_label(first: date) -> str:
    return f"{first:%Y-%m}"


def parse_period(raw: str, *, today: date, latest: date | None = None) -> date:
    """'2026-11' -> 1 November 2026; ValueError with a message for a malformed month, or one after
    the month of `today` (after `latest`, when given: the months ahead finance may look at)."""
    raw = (raw or "").strip()
    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}", raw):
            raise ValueError
        first = date(int(raw[:4]), int(raw[5:]), 1)
    except ValueError:
        raise ValueError(f"“{raw}” is not a month: write it as YYYY-MM, e.g. 2026-11.") from None
    if latest is not None and first > latest:
        raise ValueError(f"{first:%B %Y} is too far ahead: finance looks up to {latest:%B %Y}.")
    if latest is None and first > month_of(today):
        raise ValueError(f"{first:%B %Y} has not started yet.")
    return first
