"""The finance page's months and the month drill-down, read from the revenue kept as orders change
(app.finance.maintained) instead of computed line by line.

A month over or not started is read from its month sums (RevenueMonth); the month under way, and
any month when filters are chosen, is summed in SQL from the kept rows (RevenueLine), applying the
straight line's share of the days gone by to each row as app.finance.variance does: the share of a
row's gross due by today is its gross times the flight's seconds before today over its seconds in
the month, rounded half up to the minor unit, in whole numbers so both databases agree to the unit.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from app import money
from app.extensions import db
from app.finance import queries, revenue
from app.finance.models import RevenueLine, RevenueMonth
from app.finance.variance import MonthVariance, Why
from app.orders.models import Order, OrderLine
from app.proposals.models import Proposal

#: the drill-down's rows per page
PER_PAGE = 100
#: a moment after (before) every flight: the days gone by of a month over (not started)
ALWAYS, NEVER = 2**62, -(2**62)
BASE = ("rows", "gross", "commission", "net", "recognised", "changed")
REASONS = ("to_come", "ahead", "behind", "no_counts")
#: a reason's sum and its count of lines, by name
REASON_SUMS = tuple(n for r in REASONS for n in (r, r + "_n"))
STORY_WHY = {"adjustment": Why.ADJUSTMENT, "make_good": Why.MAKE_GOOD, "cancelled": Why.CANCELLED, "capped": Why.CAPPED}
PACED_WHY = {"to_come": Why.TO_COME, "ahead": Why.AHEAD, "behind": Why.BEHIND, "no_counts": Why.NO_COUNTS}


@lru_cache(maxsize=65_536)
def midnight(day: date, zone: str) -> int:
    """Epoch seconds of the start of `day` in `zone`."""
    return int(datetime.combine(day, time.min, ZoneInfo(zone)).timestamp())


def as_date(value) -> date | None:
    """A date read back from SQL (SQLite gives text for an aggregate of dates)."""
    return date.fromisoformat(value[:10]) if isinstance(value, str) else value


def due_at(gross: int, span_start: int, span_end: int, moment: int) -> int:
    """The part of `gross` (minor units) due at `moment`: its share of the span gone by, rounded
    half up to the unit (what the SQL in `summed` computes for each row)."""
    span = span_end - span_start
    if span <= 0 or not gross:
        return 0
    gone = 0 if moment <= span_start else span if moment >= span_end else moment - span_start
    share = (2 * abs(gross) * gone + span) // (2 * span)
    return share if gross > 0 else -share


@dataclass
class MonthFigures:
    rows: int = 0
    #: currency -> gross, commission, net, recognised, adjustments
    by_currency: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    #: currency -> recognised against booked, by reason
    explained: dict[str, MonthVariance] = field(default_factory=dict)

    def add(self, currency: str, story: str, sums: dict[str, int]) -> None:
        """One story's sums in one currency (amounts in minor units)."""
        if not sums["rows"]:
            return
        self.rows += sums["rows"]

        def amount(units: int) -> Decimal:
            return money.from_minor_units(units, currency)

        totals = self.by_currency.setdefault(
            currency, {k: Decimal(0) for k in ("gross", "commission", "net", "recognised", "adjustments")}
        )
        for key in ("gross", "commission", "net", "recognised"):
            totals[key] += amount(sums[key])
        if story == "adjustment":
            totals["adjustments"] += amount(sums["net"])
        why = self.explained.setdefault(currency, MonthVariance(currency))
        why.booked += amount(sums["gross"])
        why.recognised += amount(sums["recognised"])
        parts = (
            [(PACED_WHY[r], sums[r], sums[r + "_n"]) for r in REASONS]
            if story == "paced"
            else [(STORY_WHY[story], sums["recognised"] - sums["gross"], sums["changed"])]
            if story in STORY_WHY
            else []
        )
        for reason, units, lines in parts:
            if lines:
                told = why.by_why.setdefault(reason, [Decimal(0), 0])
                told[0] += amount(units)
                told[1] += lines


def phase(month: date, today: date, calendar: str) -> str:
    lo, hi = revenue.period_bounds(month, calendar)
    return "past" if today > hi else "future" if today <= lo else "now"


def _from_month_sums(row: RevenueMonth, phase: str) -> dict[str, int]:
    sums = {k: getattr(row, k) for k in BASE}
    for reason in REASONS:
        for suffix in ("", "_n"):
            column = f"{phase}_{reason}{suffix}"
            sums[reason + suffix] = getattr(row, column) if hasattr(RevenueMonth, column) else 0
    return sums


def _filtered(query, filters: queries.Filters):
    """Only the rows of lines these filters select (as the export's query selects them)."""
    if not filters.as_dict():
        return query
    query = query.join(OrderLine, OrderLine.id == RevenueLine.order_line_id).join(Order, Order.id == OrderLine.order_id)
    if filters.rep_id:
        query = query.join(Proposal, Proposal.id == Order.proposal_id)
    return query.where(*filters.conditions())


def summed(months: list[date], filters: queries.Filters, calendar: str, today: date) -> Iterable[tuple]:
    """(month, currency, story, sums) from the kept rows, the share due applied row by row."""
    if not months:
        return []
    now = next((m for m in months if phase(m, today, calendar) == "now"), None)
    rl = RevenueLine
    if now is not None:
        zones = db.session.scalars(
            sa.select(rl.zone).where(rl.calendar == calendar, rl.period == now, rl.story == "paced").distinct()
        ).all()
        moment = sa.case({z: midnight(today, z) for z in zones if z}, value=rl.zone, else_=0) if zones else 0
        moment = sa.case((rl.period == now, moment), (rl.period < now, ALWAYS), else_=NEVER)
    else:
        moment = sa.case((rl.period < today, ALWAYS), else_=NEVER)
    span = rl.span_end - rl.span_start
    gone = sa.case((moment <= rl.span_start, 0), (moment >= rl.span_end, span), else_=moment - rl.span_start)
    due = sa.case(
        (sa.or_(span <= 0, rl.gross == 0), 0),
        (rl.gross > 0, (2 * rl.gross * gone + span) // (2 * span)),
        else_=-((-2 * rl.gross * gone + span) // (2 * span)),
    )
    inner = _filtered(
        sa.select(
            rl.period, rl.currency, rl.story, rl.gross, rl.commission, rl.net, rl.recognised, rl.awaiting,
            due.label("due"),
        ).where(rl.calendar == calendar, rl.period.in_(months)),
        filters,
    ).subquery()  # fmt: skip
    pace = inner.c.recognised - inner.c.due
    counts = sa.and_(inner.c.awaiting, inner.c.due != 0)

    def total(value, when=None):
        when = sa.true() if when is None else when
        return sa.func.coalesce(sa.func.sum(sa.case((when, value), else_=0)), 0)

    columns = [
        sa.func.count(),
        total(inner.c.gross),
        total(inner.c.commission),
        total(inner.c.net),
        total(inner.c.recognised),
        total(1, inner.c.recognised != inner.c.gross),
        total(inner.c.due - inner.c.gross),
        total(1, inner.c.due != inner.c.gross),
        total(pace, sa.and_(sa.not_(counts), pace > 0)),
        total(1, sa.and_(sa.not_(counts), pace > 0)),
        total(pace, sa.and_(sa.not_(counts), pace < 0)),
        total(1, sa.and_(sa.not_(counts), pace < 0)),
        total(pace, counts),
        total(1, sa.and_(counts, pace != 0)),
    ]
    names = BASE + REASON_SUMS
    query = sa.select(inner.c.period, inner.c.currency, inner.c.story, *columns).group_by(
        inner.c.period, inner.c.currency, inner.c.story
    )
    for period, currency, story, *values in db.session.execute(query):
        yield as_date(period), currency, story, dict(zip(names, map(int, values), strict=True))


def months(
    first: date, last: date, filters: queries.Filters, *, calendar: str, today: date
) -> dict[date, MonthFigures]:
    """Each month's figures from `first` to `last`, as the page's rows add up to: from the month
    sums without filters (the month under way too when they were rolled to today), else from the
    rows."""
    wanted = queries.months_between(first, last)
    found = {m: MonthFigures() for m in wanted}
    kept: list[RevenueMonth] = []
    if not filters.as_dict():
        kept = list(
            db.session.scalars(
                sa.select(RevenueMonth)
                .where(RevenueMonth.calendar == calendar, RevenueMonth.period.in_(wanted))
                .order_by(RevenueMonth.period, RevenueMonth.currency, RevenueMonth.story)
            )
        )
    stale = {as_date(r.period) for r in kept if phase(as_date(r.period), today, calendar) == "now" and r.as_of != today}
    kept = [r for r in kept if as_date(r.period) not in stale]
    for row in kept:
        period = as_date(row.period)
        found[period].add(row.currency, row.story, _from_month_sums(row, phase(period, today, calendar)))
    counted = sorted(stale) if not filters.as_dict() else wanted
    for month, currency, story, sums in summed(counted, filters, calendar, today):
        found[month].add(currency, story, sums)
    return found


@dataclass
class Page:
    """One page of the drill-down, read by the `pager` macro as it reads a query's pagination."""

    page: int
    pages: int
    total: int
    rows: list[queries.Row]

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int | None:
        return self.page - 1 if self.has_prev else None

    @property
    def next_num(self) -> int | None:
        return self.page + 1 if self.has_next else None

    def iter_pages(self) -> Iterator[int | None]:
        """The first two pages, two before this one to four after it, the last two; None for a gap."""
        shown = [
            n for n in range(1, self.pages + 1) if n <= 2 or self.page - 2 <= n <= self.page + 4 or n > self.pages - 2
        ]
        for before, n in zip([0, *shown], shown, strict=False):
            if n - before > 1:
                yield None
            yield n


def page_rows(month: date, filters: queries.Filters, *, calendar: str, closed: bool, total: int, number: int) -> Page:
    """One page of the month's rows in the drill-down's order (by order number; an order's lines,
    then its adjustments), computed as the export computes them."""
    pages = max(1, -(-total // PER_PAGE))
    number = min(max(1, number), pages)
    rl = RevenueLine
    keys = db.session.execute(
        _filtered(
            sa.select(rl.order_line_id, rl.rank, rl.seq).where(rl.calendar == calendar, rl.period == month), filters
        )
        .order_by(rl.order_number, rl.rank, rl.order_line_id, rl.seq)
        .limit(PER_PAGE)
        .offset((number - 1) * PER_PAGE)
    ).all()
    line_ids = sorted({k[0] for k in keys})
    computed: dict[tuple[int, int, int], queries.Row] = {}
    adjustments: dict[int, int] = {}
    for row in queries.month_rows(month, queries.Filters(), closed=closed, calendar=calendar, line_ids=line_ids):
        if row.adjustment_for:
            adjustments[row.line_id] = adjustments.get(row.line_id, 0) + 1
            computed[(row.line_id, 1, adjustments[row.line_id])] = row
        else:
            computed[(row.line_id, 0, 0)] = row
    return Page(number, pages, total, [computed[tuple(k)] for k in keys if tuple(k) in computed])


def month_totals(month: date) -> queries.Totals:
    """A month's booked (gross, commission, net) and recognised revenue per currency, from the same
    rows as the finance page and its exports (frozen when the month is closed), as kept by month."""
    # the totals do not depend on the day they are read: any day reads the month's sums
    found = months(month, month, queries.Filters(), calendar="calendar", today=month)[month]
    return queries.Totals(found.rows, {c: {k: s[k] for k in queries.MONEY} for c, s in found.by_currency.items()})
