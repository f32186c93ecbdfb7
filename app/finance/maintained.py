"""Revenue kept as orders change: the finance page's rows (RevenueLine) and their sums by month
(RevenueMonth), rewritten in the same transaction as every change that moves revenue.

Every writer goes through the ORM (a line booked, changed, paused or cancelled, its billing terms,
a make-good, delivery synced, third-party counts, an adjustment posted, a month closed), so one
listener sees them all: after each flush it notes which lines (and which closed months) changed,
and before the commit it computes their rows again with the same code the export uses
(`queries.month_rows`) and moves the month sums by the difference. Nothing stored depends on the
day: how much of a month has gone by (the straight line's share that is due) is applied when the
page reads it (app.finance.figures). `flask finance check-revenue` compares the tables with the
rows computed from the orders; `flask finance rebuild-revenue` writes them afresh.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app import money
from app.adserver.models import DeliveryDay
from app.extensions import db
from app.finance import figures, queries, revenue
from app.finance.models import (
    ClosedPeriod,
    EntryKind,
    RevenueEntry,
    RevenueLine,
    RevenueMonth,
    RevenueUnderWay,
    ThirdPartyCount,
)
from app.finance.variance import story_of
from app.orders.models import OrderLine

CALENDARS = ("calendar", "broadcast")
#: the month sums, in the order of a contribution vector
KEY = ("calendar", "period", "currency", "story")
SUMS = tuple(c.name for c in RevenueMonth.__table__.columns if c.name not in ("id", "as_of", *KEY))
INDEX = {name: i for i, name in enumerate(SUMS)}
#: the stored columns of a row, in the order of its record
FIELDS = tuple(c.name for c in RevenueLine.__table__.columns if c.name != "id")
BATCH = 5000
#: session.info key: what changed since the last commit
PENDING = "finance_revenue_pending"


def _batched(items: Iterable, size: int) -> Iterator[list]:
    it = iter(items)
    while batch := list(itertools.islice(it, size)):
        yield batch


def _span(row: queries.Row, month: date, calendar: str) -> tuple[int, int]:
    lo, hi = revenue.period_bounds(month, calendar)
    first, last = max(row.flight_start, lo), min(row.flight_end, hi)
    if first > last:
        return 0, 0
    return figures.midnight(first, row.time_zone), figures.midnight(last + timedelta(days=1), row.time_zone)


def record(row: queries.Row, month: date, calendar: str, rank: int, seq: int) -> tuple:
    """The stored row, in FIELDS order."""
    cur = row.currency
    minor = money.to_minor_units
    start, end = _span(row, month, calendar)
    return (
        calendar, month, row.line_id, row.order_number, rank, seq, story_of(row), cur,
        minor(row.gross, cur), minor(row.commission, cur), minor(row.net, cur), minor(row.recognised, cur),
        row.billing_source == "third_party" and not row.delivered, start, end, row.time_zone,
    )  # fmt: skip


def contribution(f: dict, as_of: date | None) -> list[int]:
    """What one row (its fields by name) adds to its month's sums (see RevenueMonth); `as_of`: the
    day its month is under way as of, when it is."""
    story, gross, recognised, awaiting = f["story"], f["gross"], f["recognised"], f["awaiting"]
    v = [0] * len(SUMS)
    v[:6] = 1, gross, f["commission"], f["net"], recognised, int(recognised != gross)
    if story != "paced":
        return v

    def told(phase: str, due: int) -> None:
        if due != gross:
            v[INDEX[f"{phase}_to_come"]], v[INDEX[f"{phase}_to_come_n"]] = due - gross, 1
        pace = recognised - due
        name = "no_counts" if awaiting and due else "ahead" if pace > 0 else "behind"
        if pace:
            v[INDEX[f"{phase}_{name}"]], v[INDEX[f"{phase}_{name}_n"]] = pace, 1

    told("past", gross)  # a month over: every booked day has gone by, the straight line's due is the gross
    told("future", 0)  # a month not started: nothing is due yet
    if as_of is not None:
        told("now", figures.due_at(gross, f["span_start"], f["span_end"], figures.midnight(as_of, f["zone"])))
    return v


def _key_and_contribution(rec: tuple, as_of: dict) -> tuple[tuple, list[int]]:
    f = dict(zip(FIELDS, rec, strict=True))
    key = (f["calendar"], f["period"], f["currency"], f["story"])
    return key, contribution(f, as_of.get(key[:2]))


def _as_of() -> dict[tuple[str, date], date]:
    """The month under way in each calendar and the day its sums are as of."""
    rows = db.session.execute(sa.select(RevenueUnderWay.calendar, RevenueUnderWay.period, RevenueUnderWay.as_of))
    return {(calendar, figures.as_date(period)): figures.as_date(day) for calendar, period, day in rows}


def _under_way_from(today: date) -> dict[tuple[str, date], date]:
    """Record the months under way as of `today`."""
    db.session.execute(sa.delete(RevenueUnderWay))
    as_of = {(calendar, under_way(today, calendar)): today for calendar in CALENDARS}
    db.session.execute(
        sa.insert(RevenueUnderWay), [{"calendar": c, "period": p, "as_of": d} for (c, p), d in as_of.items()]
    )
    return as_of


def under_way(today: date, calendar: str) -> date:
    return revenue.broadcast_month_of(today) if calendar == "broadcast" else revenue.month_of(today)


def month_records(month: date, calendar: str, *, closed: bool, line_ids: list[int] | None = None) -> Iterator[tuple]:
    """The stored rows of a month, computed from the orders as the finance export computes them."""
    adjustments: Counter = Counter()
    for row in queries.month_rows(month, queries.Filters(), closed=closed, calendar=calendar, line_ids=line_ids):
        if row.adjustment_for:
            adjustments[row.line_id] += 1
            yield record(row, month, calendar, 1, adjustments[row.line_id])
        else:
            yield record(row, month, calendar, 0, 0)


def _days(line_ids: list[int] | None) -> tuple[date, date] | None:
    """The first and last day anything of these lines (all lines: None) can count in."""
    found: list[date] = []
    for lo, hi, column in (
        (sa.func.min(OrderLine.start_day), sa.func.max(OrderLine.end_day), OrderLine.id),
        (sa.func.min(DeliveryDay.day), sa.func.max(DeliveryDay.day), DeliveryDay.order_line_id),
        (sa.func.min(ThirdPartyCount.day), sa.func.max(ThirdPartyCount.day), ThirdPartyCount.order_line_id),
        (sa.func.min(RevenueEntry.period), sa.func.max(RevenueEntry.period), RevenueEntry.order_line_id),
    ):
        query = sa.select(lo, hi)
        if line_ids is not None:
            query = query.where(column.in_(line_ids))
        found += [d for d in map(figures.as_date, db.session.execute(query).one()) if d is not None]
    return (min(found), max(found)) if found else None


def _months(days: tuple[date, date] | None, calendar: str) -> list[date]:
    if days is None:
        return []
    last = revenue.month_of(days[1])
    # a day late in a month can fall in the next broadcast month
    return queries.months_between(
        revenue.month_of(days[0]), revenue.next_month(last) if calendar == "broadcast" else last
    )


def _records(line_ids: list[int] | None) -> Iterator[tuple]:
    closed = queries.closed_periods()
    days = _days(line_ids)
    for calendar in CALENDARS:
        for month in _months(days, calendar):
            yield from month_records(month, calendar, closed=month in closed, line_ids=line_ids)


def _insert(records: Iterable[tuple]) -> None:
    for batch in _batched(records, BATCH):
        db.session.execute(sa.insert(RevenueLine), [dict(zip(FIELDS, rec, strict=True)) for rec in batch])


def _stored(where) -> Iterator[tuple]:
    columns = [getattr(RevenueLine, name) for name in FIELDS]
    for row in db.session.execute(sa.select(*columns).where(where)):
        yield tuple(row)


def _move(delta: dict[tuple, list[int]], as_of: dict) -> None:
    """Add `delta` to the month sums (in key order, so concurrent writers lock alike)."""
    table = RevenueMonth.__table__
    for key in sorted(k for k, v in delta.items() if any(v)):
        calendar, period, currency, story = key
        where = sa.and_(
            table.c.calendar == calendar, table.c.period == period, table.c.currency == currency, table.c.story == story
        )
        # One statement whether or not the month's row exists yet: two writers adding the same new
        # month at once both land (an update-then-insert would fail one of them on the unique key).
        upsert = (postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert)(table)
        upsert = upsert.values(
            calendar=calendar,
            period=period,
            currency=currency,
            story=story,
            as_of=as_of.get(key[:2]),
            **dict(zip(SUMS, delta[key], strict=True)),
        )
        db.session.execute(
            upsert.on_conflict_do_update(
                index_elements=["calendar", "period", "currency", "story"],
                set_={name: table.c[name] + upsert.excluded[name] for name in SUMS},
            )
        )
        db.session.execute(sa.delete(table).where(where, table.c.rows == 0))


def refresh_lines(line_ids: Iterable[int]) -> None:
    """Compute these lines' rows again and move the month sums by the difference."""
    ids = sorted({i for i in line_ids if i is not None})
    as_of = _as_of()
    for chunk in _batched(ids, 1000):
        delta: dict[tuple, list[int]] = defaultdict(lambda: [0] * len(SUMS))
        for rec in _stored(RevenueLine.order_line_id.in_(chunk)):
            key, v = _key_and_contribution(rec, as_of)
            delta[key] = [a - b for a, b in zip(delta[key], v, strict=True)]
        db.session.execute(sa.delete(RevenueLine).where(RevenueLine.order_line_id.in_(chunk)))
        fresh = list(_records(chunk))
        for rec in fresh:
            key, v = _key_and_contribution(rec, as_of)
            delta[key] = [a + b for a, b in zip(delta[key], v, strict=True)]
        _insert(fresh)
        _move(delta, as_of)


def _write_month(month: date, calendar: str, *, closed: bool, as_of: dict) -> dict[tuple, list[int]]:
    """Write a month's rows afresh; their sums."""
    sums: dict[tuple, list[int]] = defaultdict(lambda: [0] * len(SUMS))

    def counted() -> Iterator[tuple]:
        for rec in month_records(month, calendar, closed=closed):
            key, v = _key_and_contribution(rec, as_of)
            sums[key] = [a + b for a, b in zip(sums[key], v, strict=True)]
            yield rec

    _insert(counted())
    return sums


def _write_sums(sums: dict[tuple, list[int]], as_of: dict) -> None:
    rows = [
        dict(zip(KEY, key, strict=True)) | {"as_of": as_of.get(key[:2])} | dict(zip(SUMS, v, strict=True))
        for key, v in sums.items()
        if v[0]
    ]
    if rows:
        db.session.execute(sa.insert(RevenueMonth), rows)


def refresh_month(month: date) -> None:
    """A calendar month closed: its rows are now what was frozen."""
    where = sa.and_(RevenueLine.calendar == "calendar", RevenueLine.period == month)
    db.session.execute(sa.delete(RevenueLine).where(where))
    db.session.execute(sa.delete(RevenueMonth).where(RevenueMonth.calendar == "calendar", RevenueMonth.period == month))
    as_of = _as_of()
    _write_sums(_write_month(month, "calendar", closed=True, as_of=as_of), as_of)


def rebuild(*, today: date) -> int:
    """Write every row and month sum afresh from the orders, the month under way as of `today`;
    how many rows."""
    as_of = _under_way_from(today)
    db.session.execute(sa.delete(RevenueLine))
    db.session.execute(sa.delete(RevenueMonth))
    closed = queries.closed_periods()
    days = _days(None)
    total = 0
    for calendar in CALENDARS:
        for month in _months(days, calendar):
            sums = _write_month(month, calendar, closed=calendar == "calendar" and month in closed, as_of=as_of)
            total += sum(v[0] for v in sums.values())
            _write_sums(sums, as_of)
    return total


NOW = tuple(name for name in SUMS if name.startswith("now_"))


def roll_day(today: date) -> None:
    """Move the month under way on to `today`: its paced lines' share due (`flask finance roll-day`,
    daily after the publisher's midnight; until it runs, the page sums that month from the rows)."""
    table = RevenueMonth.__table__
    db.session.execute(sa.update(table).where(table.c.as_of.is_not(None)).values(as_of=None, **dict.fromkeys(NOW, 0)))
    _under_way_from(today)
    for calendar in CALENDARS:
        month = under_way(today, calendar)
        mine = sa.and_(table.c.calendar == calendar, table.c.period == month)
        db.session.execute(sa.update(table).where(mine).values(as_of=today))
        for _month, currency, story, sums in figures.summed([month], queries.Filters(), calendar, today):
            values = {f"now_{name}": sums[name] for name in figures.REASON_SUMS}
            db.session.execute(
                sa.update(table).where(mine, table.c.currency == currency, table.c.story == story).values(values)
            )


#: differences `check` lists at most
CHECK_LIMIT = 20


def check(*, limit: int = CHECK_LIMIT) -> list[str]:
    """Where the kept rows and month sums differ from the rows computed from the orders (none: [])."""
    problems: list[str] = []
    closed = queries.closed_periods()
    days = _days(None)
    as_of = _as_of()
    for calendar in CALENDARS:
        kept_months = set(
            db.session.scalars(sa.select(RevenueLine.period).where(RevenueLine.calendar == calendar).distinct())
        ) | set(db.session.scalars(sa.select(RevenueMonth.period).where(RevenueMonth.calendar == calendar).distinct()))
        for month in sorted(set(_months(days, calendar)) | kept_months):
            label = f"{calendar} {revenue.month_label(month)}"
            expected = Counter(month_records(month, calendar, closed=calendar == "calendar" and month in closed))
            kept = Counter(_stored(sa.and_(RevenueLine.calendar == calendar, RevenueLine.period == month)))
            for rec, n in (expected - kept).items():
                problems.append(f"{label}: line {rec[2]} missing or wrong ({n}): computed {rec[4:]}")
            for rec, n in (kept - expected).items():
                problems.append(f"{label}: line {rec[2]} kept but not computed ({n}): {rec[4:]}")
            sums: dict[tuple, list[int]] = defaultdict(lambda: [0] * len(SUMS))
            for rec in expected.elements():
                key, v = _key_and_contribution(rec, as_of)
                sums[key] = [a + b for a, b in zip(sums[key], v, strict=True)]
            stored = {
                (r.calendar, r.period, r.currency, r.story): [getattr(r, name) for name in SUMS]
                for r in db.session.scalars(
                    sa.select(RevenueMonth).where(RevenueMonth.calendar == calendar, RevenueMonth.period == month)
                )
            }
            for key in sorted(set(sums) | set(stored)):
                want, have = sums.get(key, [0] * len(SUMS)), stored.get(key, [0] * len(SUMS))
                if want != have:
                    problems.append(f"{label} {key[2]} {key[3]}: month sums {have}, computed {want}")
            if len(problems) >= limit:
                return problems[:limit]
    return problems


# -- Kept in the same transaction as every writer ---------------------------------------------------


def _pending(session: Session) -> dict[str, set]:
    return session.info.setdefault(PENDING, {"lines": set(), "months": set()})


#: Order line attributes no revenue figure reads: the ad server's id of the line (a push), where it
#: drifts from the signed version (every delivery sync checks every line) and the stamp kept here.
#: A change to any other attribute, or one added later, recomputes the line's rows.
NOT_REVENUE = frozenset({"remote_line_id", "drift", "drift_checked_at", "revenue_changed_at"})


def _moves_revenue(line: OrderLine) -> bool:
    """Whether this flush changed an attribute of the line that revenue may read."""
    return any(attr.history.has_changes() for attr in sa.inspect(line).attrs if attr.key not in NOT_REVENUE)


@event.listens_for(Session, "after_flush")
def _note_changes(session: Session, flush_context) -> None:
    """What this flush changed that moves revenue: lines, their delivery and counts, adjustments,
    months closed (a closed month's rows are what was frozen)."""
    pending = None
    for obj in itertools.chain(session.new, session.dirty, session.deleted):
        line_id = None
        if isinstance(obj, OrderLine):
            if obj in session.new or obj in session.deleted or _moves_revenue(obj):
                line_id = obj.id
        elif isinstance(obj, (DeliveryDay, ThirdPartyCount)) or (
            isinstance(obj, RevenueEntry) and obj.kind == EntryKind.ADJUSTMENT.value
        ):
            line_id = obj.order_line_id
        elif isinstance(obj, ClosedPeriod) and obj in session.new:
            pending = pending or _pending(session)
            pending["months"].add(obj.period)
        if line_id is not None:
            pending = pending or _pending(session)
            pending["lines"].add(line_id)


@event.listens_for(Session, "before_commit")
def _keep_revenue(session: Session) -> None:
    """Write the rows of what changed before the commit, so they commit (or roll back) with it."""
    if session is not _app_session():
        return
    if session.new or session.dirty or session.deleted:
        session.flush()
    while (pending := session.info.get(PENDING)) and (pending["lines"] or pending["months"]):
        session.info.pop(PENDING)
        for month in sorted(pending["months"]):
            refresh_month(month)
        refresh_lines(pending["lines"])
        session.flush()


def _app_session() -> Session | None:
    try:
        return db.session()
    except RuntimeError:  # no app context: not the app's session
        return None


@event.listens_for(Session, "after_rollback")
def _forget_changes(session: Session) -> None:
    session.info.pop(PENDING, None)
