"""Why recognised revenue differs from booked revenue, per line and month and per month: pure, no
database and no Flask.

Booked revenue spreads a line's cost over its flight in a straight line (by flight time);
recognised revenue follows what the line bills (delivery at the net rate, capped at the contract).
So a month recognises more than it booked when delivery ran ahead of the straight line, and less
when it ran behind, when part of the month is still to come, when the cap held, or when a line
was a make-good, cancelled, or still waits for its third-party counts. Each line's difference is
split into those parts, and the parts add up to the difference to the minor unit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache

from app import money
from app.finance import revenue
from app.finance.queries import Row
from app.formats import ngettext

HUNDRED = Decimal(100)


class Why(StrEnum):
    #: delivery billed more than the straight line's share of the days gone by
    AHEAD = "ahead"
    #: delivery billed less than the straight line's share of the days gone by
    BEHIND = "behind"
    #: booked on days still to come (this month's rest, or a month not started)
    TO_COME = "to_come"
    #: the contract cap held what delivery would bill
    CAPPED = "capped"
    #: a make-good delivers for free
    MAKE_GOOD = "make_good"
    #: a cancelled line books up to the day it stopped and bills what it delivered
    CANCELLED = "cancelled"
    #: a line billed from third-party counts that has none for these days yet
    NO_COUNTS = "no_counts"
    #: a later change to a closed month, posted into this one
    ADJUSTMENT = "adjustment"


#: the order the reasons are told in a month's sentence
ORDER = tuple(Why)


def _signed(amount: Decimal, currency: str) -> str:
    return ("+" if amount > 0 else "") + money.format_money(amount, currency)


def _lines(count: int) -> str:
    return ngettext("%(num)s line", "%(num)s lines", count)


@dataclass(frozen=True)
class LineVariance:
    """One line's month: gross booked, recognised, and the difference split by reason."""

    currency: str
    booked: Decimal
    recognised: Decimal
    parts: tuple[tuple[Why, Decimal], ...]
    #: the line's story: what makes it differ (None: it bills as it delivers)
    kind: str
    #: booked for the days gone by (delivery-billed lines)
    due: Decimal = Decimal(0)
    #: what the drill-down names: the original line of a make-good, the day a line was cancelled, ...
    detail: object = None

    @property
    def difference(self) -> Decimal:
        return self.recognised - self.booked

    @property
    def reads(self) -> str:
        """What the line says on its own (the drill-down's "why"); written only when read, since
        formatting money costs more than the arithmetic and the month page needs none of it."""
        cur, diff, fmt = self.currency, self.difference, money.format_money
        fixed = {
            "contracted": "Contracted: bills as booked.",
            "flat": "Flat fee: bills as booked.",
            "no_counts": "Billed from third-party counts: none uploaded for these days yet.",
        }
        if self.kind in fixed:
            told = fixed[self.kind]
        elif self.kind == "adjustment":
            return f"Adjustment for {self.detail[0]}: {self.detail[1]}"
        elif self.kind == "make_good":
            return f"Make-good of line {self.detail}: free delivery, bills nothing."
        elif self.kind == "cancelled":
            return (
                f"Cancelled on {self.detail:%d %b %Y}: booked up to that day, recognised what it delivered "
                f"({_signed(diff, cur)})."
            )
        elif self.kind == "capped":
            return f"Capped at the contract: delivery beyond the line's cost bills nothing ({_signed(diff, cur)})."
        else:
            pace = self.recognised - self.due
            if pace:
                told = f"{'Ahead of' if pace > 0 else 'Behind'} the straight line: delivery billed "
                told += f"{fmt(self.recognised, cur)} against {fmt(self.due, cur)} booked"
                told += " for the days gone by" if self.booked != self.due else ""
                told += f" ({_percent(self.recognised, self.due)} of it)." if self.due else "."
            else:
                told = "On the straight line." if self.due else ""
        to_come = self.booked - self.due
        if self.kind in ("contracted", "flat") or not to_come:
            return told
        still = f"{fmt(to_come, cur)} of its booked revenue is on days still to come"
        return f"{still}. {told}".strip() if self.due else f"Not started: {still}; nothing recognised yet."


def booked_to_date(row: Row, month: date, today: date, calendar: str = "calendar") -> Decimal:
    """The part of the line's booked gross in `month` that falls on days before `today` (delivery
    is known up to yesterday), by flight time as booked revenue is spread."""
    lo, hi = revenue.period_bounds(month, calendar)
    if today > hi:
        return row.gross
    if today <= lo or not row.gross:
        return money.zero(row.currency)
    gone, in_month = _seconds_gone(row.flight_start, row.flight_end, row.time_zone, lo, hi, today)
    if not in_month:
        return money.zero(row.currency)
    return money.quantize(row.gross * gone / in_month, row.currency)


@lru_cache(maxsize=65_536)
def _seconds_gone(start: date, end: date, zone: str, lo: date, hi: date, today: date) -> tuple[int, int]:
    """The flight's seconds in lo..hi before `today`, and in all of lo..hi (many lines share a flight)."""
    return (
        revenue.flight_seconds(start, end, zone, lo, today - timedelta(days=1)),
        revenue.flight_seconds(start, end, zone, lo, hi),
    )


def _percent(part: Decimal, whole: Decimal) -> str:
    return f"{(part * HUNDRED / whole).quantize(Decimal(1)):,} %"


def story_of(row: Row) -> str:
    """Which story explains the row, as far as it does not depend on the day it is read: an
    adjustment, a make-good, a contracted or flat line, a cancelled or capped one; else "paced" (its
    delivery against the share of its flight due by then). The finance tables keep it per row."""
    if row.adjustment_for:
        return "adjustment"
    if row.make_good_of is not None:
        return "make_good"
    if row.billing_source == "contracted":
        return "contracted"
    if row.pricing_model == "flat":
        return "flat"
    if row.cancelled_on is not None and row.recognised != row.gross:
        return "cancelled"
    if row.capped:
        return "capped"
    return "paced"


#: The stories told whole by one reason (or none), and what each one names beside it.
_TOLD = {
    "adjustment": (Why.ADJUSTMENT, lambda row: (row.adjustment_for, row.adjustment_reason)),
    "make_good": (Why.MAKE_GOOD, lambda row: row.make_good_of),
    "contracted": (None, lambda row: None),
    "flat": (None, lambda row: None),
    "cancelled": (Why.CANCELLED, lambda row: row.cancelled_on),
    "capped": (Why.CAPPED, lambda row: None),
}


def explain_line(row: Row, month: date, *, today: date, calendar: str = "calendar") -> LineVariance:
    """Why this line recognised what it did in `month`, against what it booked."""
    booked, recognised = row.gross, row.recognised
    diff = recognised - booked

    def told(kind: str, parts: list[tuple[Why, Decimal]], due: Decimal = booked, detail=None) -> LineVariance:
        kept = tuple((why, amount) for why, amount in parts if amount)
        return LineVariance(row.currency, booked, recognised, kept, kind, due, detail)

    story = story_of(row)
    if story in _TOLD:
        why, detail = _TOLD[story]
        return told(story, [(why, diff)] if why else [], detail=detail(row))
    due = booked_to_date(row, month, today, calendar)
    pace = recognised - due
    if row.billing_source == "third_party" and not row.delivered and due:
        kind, why = "no_counts", Why.NO_COUNTS
    else:
        kind, why = "delivery", (Why.AHEAD if pace > 0 else Why.BEHIND)
    return told(kind, [(Why.TO_COME, due - booked), (why, pace)], due)


@dataclass
class MonthVariance:
    """A month's lines in one currency: recognised against booked, by reason."""

    currency: str
    booked: Decimal = Decimal(0)
    recognised: Decimal = Decimal(0)
    #: reason -> [amount, lines]
    by_why: dict[Why, list] = field(default_factory=dict)

    def add(self, line: LineVariance) -> None:
        self.booked += line.booked
        self.recognised += line.recognised
        for why, amount in line.parts:
            sums = self.by_why.setdefault(why, [Decimal(0), 0])
            sums[0] += amount
            sums[1] += 1

    @property
    def difference(self) -> Decimal:
        return self.recognised - self.booked

    def reasons(self) -> list[str]:
        """Each reason in words with its lines and amount, in a fixed order."""
        cur = self.currency
        told = []
        # the largest reason first; ties in a fixed order
        for why, (amount, count) in sorted(self.by_why.items(), key=lambda i: (-abs(i[1][0]), ORDER.index(i[0]))):
            if not amount:
                continue
            lines, signed = _lines(count), _signed(amount, cur)
            told.append(
                {
                    Why.AHEAD: f"delivery ran ahead of the straight line on {lines} ({signed})",
                    Why.BEHIND: f"delivery ran behind the straight line on {lines} ({signed})",
                    Why.TO_COME: f"{money.format_money(-amount, cur)} booked on {lines} falls on days still to come",
                    Why.CAPPED: f"the contract cap held delivery on {lines} ({signed})",
                    Why.MAKE_GOOD: f"make-goods bill nothing on {lines} ({signed})",
                    Why.CANCELLED: f"cancelled {lines} booked only up to the day they stopped ({signed})",
                    Why.NO_COUNTS: f"third-party counts are still to come for {lines} ({signed})",
                    Why.ADJUSTMENT: f"adjustments to closed months on {lines} ({signed})",
                }[why]
            )
        return told

    def sentence(self) -> str:
        """'Recognised £51.65 more than booked: delivery ran ahead of the straight line on 2 lines (+£51.65).'"""
        cur, diff = self.currency, self.difference
        if not diff:
            return "Recognised as booked." if self.booked else ""
        if set(self.by_why) == {Why.TO_COME} and not self.recognised:
            amount, count = self.by_why[Why.TO_COME]
            return (
                f"Nothing recognised yet: {money.format_money(-amount, cur)} booked on {_lines(count)} "
                "falls on days still to come."
            )
        more = "more" if diff > 0 else "less"
        head = f"Recognised {money.format_money(abs(diff), cur)} {more} than booked"
        reasons = self.reasons()
        return f"{head}: {'; '.join(reasons)}." if reasons else f"{head}."
