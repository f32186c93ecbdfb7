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

from babel.support import NullTranslations

from app import money
from app.finance import revenue
from app.finance.queries import Row

#: Babel's gettext API (English plural forms until a catalogue is installed)
ngettext = NullTranslations().ngettext
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
    return ngettext("%(num)d line", "%(num)d lines", count) % {"num": count}


@dataclass(frozen=True)
class LineVariance:
    """One line's month: gross booked, recognised, and the difference split by reason."""

    currency: str
    booked: Decimal
    recognised: Decimal
    parts: tuple[tuple[Why, Decimal], ...]
    #: what the line says on its own (the drill-down's "why")
    reads: str

    @property
    def difference(self) -> Decimal:
        return self.recognised - self.booked


def booked_to_date(row: Row, month: date, today: date, calendar: str = "calendar") -> Decimal:
    """The part of the line's booked gross in `month` that falls on days before `today` (delivery
    is known up to yesterday), by flight time as booked revenue is spread."""
    lo, hi = revenue.period_bounds(month, calendar)
    if today > hi:
        return row.gross
    if today <= lo or not row.gross:
        return money.zero(row.currency)
    in_month = revenue.flight_seconds(row.flight_start, row.flight_end, row.time_zone, lo, hi)
    gone = revenue.flight_seconds(row.flight_start, row.flight_end, row.time_zone, lo, today - timedelta(days=1))
    if not in_month:
        return money.zero(row.currency)
    return money.quantize(row.gross * gone / in_month, row.currency)


def _percent(part: Decimal, whole: Decimal) -> str:
    return f"{(part * HUNDRED / whole).quantize(Decimal(1)):,} %"


def explain_line(row: Row, month: date, *, today: date, calendar: str = "calendar") -> LineVariance:
    """Why this line recognised what it did in `month`, against what it booked."""
    cur = row.currency
    booked, recognised = row.gross, row.recognised
    diff = recognised - booked
    fmt = money.format_money

    def told(parts: list[tuple[Why, Decimal]], reads: str) -> LineVariance:
        kept = tuple((why, amount) for why, amount in parts if amount)
        return LineVariance(cur, booked, recognised, kept, reads)

    if row.adjustment_for:
        return told([(Why.ADJUSTMENT, diff)], f"Adjustment for {row.adjustment_for}: {row.adjustment_reason}")
    if row.make_good_of is not None:
        return told([(Why.MAKE_GOOD, diff)], f"Make-good of line {row.make_good_of}: free delivery, bills nothing.")
    if row.billing_source == "contracted":
        return told([], "Contracted: bills as booked.")
    if row.pricing_model == "flat":
        return told([], "Flat fee: bills as booked.")
    if row.cancelled_on is not None and diff:
        return told(
            [(Why.CANCELLED, diff)],
            f"Cancelled on {row.cancelled_on:%d %b %Y}: booked up to that day, recognised what it delivered "
            f"({_signed(diff, cur)}).",
        )
    if row.capped:
        return told(
            [(Why.CAPPED, diff)],
            f"Capped at the contract: delivery beyond the line's cost bills nothing ({_signed(diff, cur)}).",
        )
    due = booked_to_date(row, month, today, calendar)
    to_come = booked - due
    pace = recognised - due
    if row.billing_source == "third_party" and not row.delivered and due:
        why, reads = Why.NO_COUNTS, "Billed from third-party counts: none uploaded for these days yet."
    elif pace:
        why = Why.AHEAD if pace > 0 else Why.BEHIND
        reads = f"{'Ahead of' if pace > 0 else 'Behind'} the straight line: delivery billed {fmt(recognised, cur)}"
        reads += f" against {fmt(due, cur)} booked" + (" for the days gone by" if to_come else "")
        reads += f" ({_percent(recognised, due)} of it)." if due else "."
    elif due:
        why, reads = Why.AHEAD, "On the straight line."
    else:
        why, reads = Why.AHEAD, ""
    if to_come:
        still = f"{fmt(to_come, cur)} of its booked revenue is on days still to come"
        reads = f"{still}. {reads}".strip() if due else f"Not started: {still}; nothing recognised yet."
    return told([(Why.TO_COME, -to_come), (why, pace)], reads)


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
