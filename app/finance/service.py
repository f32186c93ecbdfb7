"""Finance's writes: closing a month, posting adjustments, billing terms, third-party counts."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from app.audit.service import record
from app.auth.models import User
from app.errors import Conflict, DomainError, ValidationFailed
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
from app.orders.models import Order, OrderLine

AMOUNTS = ("gross", "commission", "net", "delivered", "recognised")
#: a third-party upload is refused above this many rows
MAX_COUNT_ROWS = 100_000


def touch(lines, *, now: datetime) -> None:
    """Mark lines whose revenue may have changed, so closed months are checked for adjustments."""
    for line in lines:
        line.revenue_changed_at = now


def _frozen(period: date) -> dict[int, dict]:
    """What the closed month holds per line: its frozen figures plus the adjustments made to it."""
    sums: dict[int, dict] = defaultdict(lambda: {k: Decimal(0) for k in AMOUNTS})
    query = sa.select(RevenueEntry).where(
        sa.or_(
            sa.and_(RevenueEntry.kind == EntryKind.LINE.value, RevenueEntry.period == period),
            sa.and_(RevenueEntry.kind == EntryKind.ADJUSTMENT.value, RevenueEntry.for_period == period),
        )
    )
    for entry in db.session.scalars(query):
        for key in AMOUNTS:
            sums[entry.order_line_id][key] += getattr(entry, key)
    return sums


def _reason(line: OrderLine, order: Order, diff: dict[str, Decimal]) -> str:
    if any(diff[k] for k in ("gross", "commission", "net")):
        if line.status == "cancelled":
            return f"line {line.position} of {order.number} cancelled after the month closed"
        return f"{order.number} changed after the month closed (revision {order.revision})"
    if diff["delivered"]:
        return "delivery arrived after the month closed"
    return "billing changed after the month closed"


def post_adjustments(*, today: date, now: datetime) -> int:
    """For every closed month, post the difference between what it holds and what it would hold
    now into the first open month, line by line, with the reason. Only lines that changed since
    the month closed are looked at. Returns how many adjustments were posted."""
    target = queries.first_open_month(today)
    posted = 0
    for period, closed in queries.closed_periods().items():
        changed = db.session.scalars(
            sa.select(OrderLine.id).where(OrderLine.revenue_changed_at > closed.closed_at).order_by(OrderLine.id)
        ).all()
        if not changed:
            continue
        held = _frozen(period)
        for start in range(0, len(changed), queries.CHUNK):
            chunk = changed[start : start + queries.CHUNK]
            live = {row.line_id: row for row in queries.live_rows(period, queries.Filters(), line_ids=chunk)}
            for line_id in chunk:
                row = live.get(line_id)
                now_values = {k: (getattr(row, k) if row else Decimal(0)) for k in AMOUNTS}
                diff = {k: Decimal(now_values[k]) - held[line_id][k] for k in AMOUNTS}
                if not any(diff.values()):
                    continue
                line = db.session.get(OrderLine, line_id)
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
                        reason=_reason(line, line.order, diff)[:300],
                        posted_at=now,
                    )
                )
                posted += 1
    db.session.flush()
    return posted


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
        summary=f"{period:%B %Y} closed: {totals.rows:,} rows; "
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
    reader = csv.reader(io.StringIO(text))
    rows = [r for r in reader if any(cell.strip() for cell in r)]
    if rows and rows[0] and not rows[0][0].strip().isdigit():
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
        if not raw_line.isdigit() or len(raw_line) > 12:
            problems.append(f"Row {n}: “{raw_line[:20]}” is not a line id.")
            continue
        try:
            day = date.fromisoformat(raw_day)
        except ValueError:
            problems.append(f"Row {n}: “{raw_day[:20]}” is not a day (YYYY-MM-DD).")
            continue
        units_text = raw_units.replace(",", "")
        if units_text.startswith("-"):
            problems.append(f"Row {n}: units cannot be negative ({raw_units[:20]}).")
            continue
        if not units_text.isdigit() or len(units_text) > 15:
            problems.append(f"Row {n}: “{raw_units[:20]}” is not a whole number of units.")
            continue
        parsed[(int(raw_line), day)] = int(units_text)
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
        summary=f"Third-party counts: {len(parsed):,} line-days for {len(lines)} lines.",
    )
    return len(parsed)


def require_open(period: date) -> None:
    if db.session.scalar(sa.select(ClosedPeriod.id).where(ClosedPeriod.period == period)):
        raise DomainError(f"{period:%B %Y} is closed.")


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
    summary = export.write(
        fmt,
        queries.rows(first, last, filters, calendar=calendar),
        directory / record_row.filename,
        filters=described,
        progress=progress,
    )
    record_row.rows, record_row.totals = summary.rows, summary.totals
    record_row.sha256, record_row.size_bytes = summary.sha256, summary.size_bytes
    record(
        actor=actor,
        actor_label=actor_label or None,
        entity_type="finance_export",
        entity_id=record_row.id,
        action="exported",
        at=now,
        summary=f"{fmt.upper()} of {summary.rows:,} rows, {described}; SHA-256 {summary.sha256}.",
    )
    return record_row
