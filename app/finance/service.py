"""Finance's writes: closing a month, posting adjustments, billing terms, third-party counts."""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.audit.service import record
from app.auth.models import User
from app.db import utcnow
from app.errors import Conflict, ValidationFailed
from app.extensions import db
from app.finance import export, queries, revenue
from app.finance.models import (
    BillingCap,
    BillingSource,
    ClosedPeriod,
    EntryKind,
    FinanceExport,
    RevenueEntry,
    ThirdPartyCount,
)
from app.formats import plural
from app.orders.models import Order, OrderLine
from app.transaction import after_commit, transaction
from app.validation import quantity_problem

AMOUNTS = ("gross", "commission", "net", "delivered", "recognised")
#: a third-party upload is refused above this many rows
MAX_COUNT_ROWS = 100_000
WHOLE = re.compile(r"[0-9]+")
DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def touch(lines, *, now: datetime) -> None:
    """Mark lines whose revenue may have changed, so closed months are checked for adjustments."""
    for line in lines:
        line.revenue_changed_at = now


MONEY_AMOUNTS = ("gross", "commission", "net", "recognised")
#: a line changed this long before a month closed is compared with it again: a change is stamped
#: when its writer started, which can be before a close that commits first
SETTLE = timedelta(hours=1)


def _held(period: date, line_ids: list[int]) -> dict[int, dict]:
    """What the closed month holds for these lines: frozen figures plus adjustments, summed in SQL,
    and how each line was billed when it was frozen."""
    sums: dict[int, dict] = defaultdict(lambda: {k: Decimal(0) for k in AMOUNTS} | {"billing_source": ""})
    belongs = sa.or_(
        sa.and_(RevenueEntry.kind == EntryKind.LINE.value, RevenueEntry.period == period),
        sa.and_(RevenueEntry.kind == EntryKind.ADJUSTMENT.value, RevenueEntry.for_period == period),
    )
    rows = db.session.execute(
        sa.select(RevenueEntry.order_line_id, *[sa.func.sum(getattr(RevenueEntry, k)) for k in AMOUNTS])
        .where(belongs, RevenueEntry.order_line_id.in_(line_ids))
        .group_by(RevenueEntry.order_line_id)
    )
    for line_id, *values in rows:
        sums[line_id].update({k: Decimal(v or 0) for k, v in zip(AMOUNTS, values, strict=True)})
    for line_id, source in db.session.execute(
        sa.select(RevenueEntry.order_line_id, RevenueEntry.billing_source).where(
            RevenueEntry.kind == EntryKind.LINE.value,
            RevenueEntry.period == period,
            RevenueEntry.order_line_id.in_(line_ids),
        )
    ):
        sums[line_id]["billing_source"] = source
    return sums


def _reason(line: OrderLine, order: Order, diff: dict[str, Decimal], held_source: str) -> str:
    if any(diff[k] for k in ("gross", "commission", "net")):
        if not held_source and not any(diff[k] for k in ("delivered",)) and line.status != "cancelled":
            return f"{order.number} booked after the month closed"
        if line.status == "cancelled":
            return f"line {line.position} of {order.number} cancelled after the month closed"
        return f"{order.number} changed after the month closed (revision {order.revision})"
    if held_source and held_source != line.billing_source:
        return f"billing changed after the month closed ({held_source} to {line.billing_source})"
    if diff["delivered"]:
        return "delivery arrived after the month closed"
    return "billing changed after the month closed"


def _lock_closed_months() -> None:
    """One poster at a time (PostgreSQL row locks; SQLite serialises writers anyway)."""
    db.session.execute(sa.select(ClosedPeriod.id).with_for_update()).all()


def post_adjustments(*, today: date, now: datetime) -> int:
    """For every closed month, post the difference between what it holds and what it would hold
    now into the first open month, line by line, with the reason. Only lines changed since the
    month was last checked are looked at. Returns how many adjustments were posted."""
    _lock_closed_months()
    target = queries.first_open_month(today)
    posted = 0
    for period, closed in queries.closed_periods().items():
        since = (closed.checked_at or closed.closed_at) - SETTLE
        changed = db.session.scalars(
            sa.select(OrderLine.id).where(OrderLine.revenue_changed_at > since).order_by(OrderLine.id)
        ).all()
        for start in range(0, len(changed), queries.CHUNK):
            chunk = changed[start : start + queries.CHUNK]
            held = _held(period, chunk)
            live = {row.line_id: row for row in queries.live_rows(period, queries.Filters(), line_ids=chunk)}
            lines = {line.id: line for line in db.session.scalars(sa.select(OrderLine).where(OrderLine.id.in_(chunk)))}
            for line_id in chunk:
                row = live.get(line_id)
                diff = {k: Decimal(getattr(row, k) if row else 0) - held[line_id][k] for k in AMOUNTS}
                if not any(diff[k] for k in MONEY_AMOUNTS):
                    continue  # units moved but nothing billed or booked did: nothing to post
                line = lines[line_id]
                db.session.add(
                    RevenueEntry(
                        kind=EntryKind.ADJUSTMENT.value,
                        period=target,
                        for_period=period,
                        order_line_id=line_id,
                        currency=line.order.currency,
                        gross=diff["gross"],
                        commission=diff["commission"],
                        net=diff["net"],
                        delivered=int(diff["delivered"]),
                        recognised=diff["recognised"],
                        reason=_reason(line, line.order, diff, held[line_id]["billing_source"])[:300],
                        billing_source=line.billing_source,
                        posted_at=now,
                    )
                )
                posted += 1
        closed.checked_at = now
    db.session.flush()
    return posted


#: What tells the adjustments posted after a commit the publisher's day: filled in at start-up by
#: the finance blueprint with the app's clock (a service reads no app). Empty: the adjustments wait
#: for the next export or month close, which post what is pending.
publisher_days: list[Callable[[], date]] = []


def post_adjustments_after_commit() -> None:
    """Post the adjustments that a committed write made due, in a transaction of its own."""
    for today in publisher_days[:1]:
        with transaction(db.session):
            post_adjustments(today=today(), now=utcnow())


@event.listens_for(Session, "before_flush")
def _adjust_once_committed(session: Session, flush_context, instances) -> None:
    """A write that changes a line's revenue (late delivery, a change order, a paused or cancelled
    line) posts the adjustments of the closed months it touched right after its commit, so the
    finance page, a GET, only reads them. Exports and the month close post what is pending too."""
    for line in itertools.chain(session.new, session.dirty):
        if _revenue_changed(session, line):
            after_commit(session, post_adjustments_after_commit)
            return


def _revenue_changed(session: Session, line: object) -> bool:
    if not isinstance(line, OrderLine) or line.revenue_changed_at is None:
        return False
    return line in session.new or sa.inspect(line).attrs.revenue_changed_at.history.has_changes()


def check_close(period: date, *, today: date) -> None:
    """Months close in order, once each, after they end."""
    if period in queries.closed_periods():
        raise Conflict(f"{period:%B %Y} is already closed.")
    if period >= revenue.month_of(today):
        raise ValidationFailed.on("period", f"{period:%B %Y} has not ended yet: a month closes once it is over.")
    first_open = queries.first_open_month(today)
    if period < first_open:
        raise ValidationFailed.on("period", f"{period:%B %Y} is before {first_open:%B %Y}, the first open month.")
    if period > first_open:
        raise ValidationFailed.on("period", f"Close {first_open:%B %Y} first: months close in order.")


def close_month(period: date, *, actor: User, today: date, now: datetime) -> ClosedPeriod:
    """Post what is pending into the month, freeze every line's figures in it, and lock it."""
    check_close(period, today=today)
    post_adjustments(today=today, now=now)
    totals = queries.Totals()
    for count, row in enumerate(queries.live_rows(period, queries.Filters()), start=1):
        db.session.add(
            RevenueEntry(
                kind=EntryKind.LINE.value,
                period=period,
                order_line_id=row.line_id,
                currency=row.currency,
                gross=row.gross,
                commission=row.commission,
                net=row.net,
                delivered=row.delivered,
                recognised=row.recognised,
                billing_source=row.billing_source,
                posted_at=now,
            )
        )
        totals.add(row)
        if count % queries.CHUNK == 0:
            db.session.flush()
    for row in queries._entry_rows(period, queries.Filters(), EntryKind.ADJUSTMENT):
        totals.add(row)
    closed = ClosedPeriod(
        period=period, closed_at=now, closed_by_id=actor.id, rows=totals.rows, totals=totals.as_json()
    )
    db.session.add(closed)
    db.session.flush()
    record(
        actor=actor,
        entity_type="finance_period",
        entity_id=closed.id,
        action="closed",
        at=now,
        summary=f"{period:%B %Y} closed: {plural(totals.rows, 'row', 'rows')}; "
        + "; ".join(f"{c} net booked {t['net']}, recognised {t['recognised']}" for c, t in totals.as_json().items()),
    )
    return closed


def set_billing(line: OrderLine, *, source: str, cap: str, actor: User, now: datetime) -> None:
    errors = {}
    if source not in BillingSource._value2member_map_:
        errors["billing_source"] = ["Choose contracted, ad server or third party."]
    if cap not in BillingCap._value2member_map_:
        errors["billing_cap"] = ["Choose no cap or capped at the contract."]
    if errors:
        raise ValidationFailed(errors)
    before = (line.billing_source, line.billing_cap)
    if before == (source, cap):
        return
    line.billing_source, line.billing_cap = source, cap
    touch([line], now=now)
    record(
        actor=actor,
        entity_type="order",
        entity_id=line.order_id,
        action="billing changed",
        at=now,
        summary=f"Line {line.position}: billed from {BillingSource(source).label.lower()}, "
        f"{BillingCap(cap).label.lower()} (was {before[0]}, {before[1]}).",
    )


def upload_counts(text: str, *, actor: User, now: datetime) -> int:
    """Third-party counts from CSV (line id, day, units): all rows or none, each problem by row."""
    try:
        rows = [r for r in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in r)]
    except csv.Error as error:
        raise ValidationFailed.on("counts", f"The file is not readable as CSV: {error}.") from None
    if rows and rows[0] and rows[0][0].strip().lower() in ("line", "line id", "line_id", "order line"):
        rows = rows[1:]  # a heading
    if not rows:
        raise ValidationFailed.on("counts", "The file has no rows: line id, day (YYYY-MM-DD), units.")
    if len(rows) > MAX_COUNT_ROWS:
        raise ValidationFailed.on("counts", f"At most {MAX_COUNT_ROWS:,} rows in one upload; this has {len(rows):,}.")
    problems: list[str] = []
    parsed: dict[tuple[int, date], int] = {}
    for n, cells in enumerate(rows, start=1):
        cells = [c.strip() for c in cells]
        if len(cells) < 3:
            problems.append(f"Row {n}: give line id, day and units.")
            continue
        raw_line, raw_day, raw_units = cells[:3]
        if not WHOLE.fullmatch(raw_line) or len(raw_line) > 12:
            problems.append(f"Row {n}: “{raw_line[:20]}” is not a line id.")
            continue
        try:
            if not DAY.fullmatch(raw_day):
                raise ValueError
            day = date.fromisoformat(raw_day)
        except ValueError:
            problems.append(f"Row {n}: “{raw_day[:20]}” is not a day (YYYY-MM-DD).")
            continue
        units_text = raw_units.replace(",", "")
        if units_text.startswith("-"):
            problems.append(f"Row {n}: units cannot be negative ({raw_units[:20]}).")
            continue
        if not WHOLE.fullmatch(units_text) or len(units_text) > 15:
            problems.append(f"Row {n}: “{raw_units[:20]}” is not a whole number of units.")
            continue
        if problem := quantity_problem(int(units_text), label="units", minimum=0):
            problems.append(f"Row {n}: {problem}")
            continue
        key = (int(raw_line), day)
        if key in parsed:
            problems.append(f"Row {n}: line {raw_line} on {day} is already in the file.")
            continue
        parsed[key] = int(units_text)
    known = set(
        db.session.scalars(sa.select(OrderLine.id).where(OrderLine.id.in_({line for line, _ in parsed})))
    ) if parsed else set()  # fmt: skip
    unknown = sorted({line for line, _ in parsed} - known)
    if unknown:
        problems.append(
            "Unknown line ids: " + ", ".join(str(i) for i in unknown[:20]) + ("…" if len(unknown) > 20 else "")
        )
    lines = {line.id: line for line in db.session.scalars(sa.select(OrderLine).where(OrderLine.id.in_(known)))}
    for (line_id, day), _units in parsed.items():
        line = lines.get(line_id)
        if line is not None and not (line.start_day <= day <= line.end_day):
            problems.append(f"Line {line_id} does not run on {day}: its flight is {line.start_day} to {line.end_day}.")
    if problems:
        raise ValidationFailed({"counts": problems[:30] + (["…and more."] if len(problems) > 30 else [])})
    existing = {
        (c.order_line_id, c.day): c
        for c in db.session.scalars(sa.select(ThirdPartyCount).where(ThirdPartyCount.order_line_id.in_(known)))
    }
    for (line_id, day), units in parsed.items():
        count = existing.get((line_id, day))
        if count is None:
            db.session.add(
                ThirdPartyCount(order_line_id=line_id, day=day, units=units, uploaded_at=now, uploaded_by_id=actor.id)
            )
        else:
            count.units, count.uploaded_at, count.uploaded_by_id = units, now, actor.id
    touch(lines.values(), now=now)
    db.session.flush()
    record(
        actor=actor,
        entity_type="finance_counts",
        entity_id=actor.id,
        action="uploaded",
        at=now,
        summary=f"Third-party counts: {plural(len(parsed), 'line-day', 'line-days')} "
        f"for {plural(len(lines), 'line', 'lines')}.",
    )
    return len(parsed)


def export_dir(instance_path: str, configured: str) -> Path:
    path = Path(configured) if configured else Path(instance_path) / "exports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def run_export(
    fmt: str,
    first: date,
    last: date,
    filters: queries.Filters,
    *,
    directory: Path,
    actor: User | None,
    actor_label: str = "",
    today: date,
    now: datetime,
    calendar: str = "calendar",
    progress=None,
) -> FinanceExport:
    """Post pending adjustments, write the file, and record it with its control summary."""
    if fmt not in export.FORMATS:
        raise ValidationFailed.on("format", "Choose CSV or XLSX.")
    if last < first:
        raise ValidationFailed.on("last", "The last month comes before the first.")
    post_adjustments(today=today, now=now)
    db.session.flush()
    described = {
        "from": revenue.month_label(first),
        "to": revenue.month_label(last),
        "calendar": calendar,
        **{k: str(v) for k, v in filters.as_dict().items()},
    }
    name = f"revenue-{revenue.month_label(first)}"
    if last != first:
        name += f"-to-{revenue.month_label(last)}"
    record_row = FinanceExport(
        created_at=now,
        created_by_id=actor.id if actor else None,
        created_by_label=actor_label,
        format=fmt,
        filters=described,
    )
    db.session.add(record_row)
    db.session.flush()
    record_row.filename = f"{name}-{record_row.id}.{fmt}"
    path = directory / record_row.filename
    try:
        summary = export.write(
            fmt, queries.rows(first, last, filters, calendar=calendar), path, filters=described, progress=progress
        )
    except BaseException:
        path.unlink(missing_ok=True)  # no half file left behind; the caller rolls the record back
        raise
    record_row.rows, record_row.totals = summary.rows, summary.totals
    record_row.sha256, record_row.size_bytes = summary.sha256, summary.size_bytes
    record(
        actor=actor,
        actor_label=actor_label or None,
        entity_type="finance_export",
        entity_id=record_row.id,
        action="exported",
        at=now,
        summary=f"{fmt.upper()} of {plural(summary.rows, 'row', 'rows')}, {described}; SHA-256 {summary.sha256}.",
    )
    return record_row
