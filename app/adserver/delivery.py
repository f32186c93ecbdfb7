"""Delivery that comes back from the ad servers, and what ad ops make of it: pacing, make-goods, drift."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa

from app import money
from app.adserver import service
from app.adserver.adapters.base import AdServerError, RemoteLine
from app.adserver.models import Connection, DeliveryDay
from app.audit.service import record
from app.extensions import db
from app.formats import ngettext, plural
from app.orders.models import LineStatus, Order, OrderLine, PushState
from app.proposals.models import ProposalLine
from app.transaction import transaction

#: days before the ad server's yesterday that each sync fetches again (late and corrected numbers)
LOOKBACK_DAYS = 7
#: ended lines stay on the ad-ops list this long for a make-good
RECENT_DAYS = 60
#: a line whose projected delivery is under this share of its goal is at risk
AT_RISK_SHARE = Decimal("0.95")


@dataclass(frozen=True)
class SyncReport:
    connection: str
    lines: int
    days: int
    drifted: int
    error: str = ""
    #: orders whose lines could not be read back for the drift check (delivery still came back)
    problems: str = ""

    def __str__(self) -> str:
        if self.error:
            return f"{self.connection}: delivery sync failed: {self.error}"
        line_days = ngettext("%(num)s line-day of delivery", "%(num)s line-days of delivery", self.days)
        drift = ngettext("%(num)s line drifts", "%(num)s lines drift", self.drifted)
        text = f"{self.connection}: {line_days} for {plural(self.lines, 'line', 'lines')}; {drift}"
        return f"{text}; {self.problems}" if self.problems else text


def _lines_to_sync(connection: Connection, last_day: date, *, first_new_day: date | None = None) -> list[OrderLine]:
    """The pushed lines a sync up to `last_day` fetches: those that ran by then and ended at most
    LOOKBACK_DAYS before it (or, over several new days from `first_new_day`, before the first of
    them: the lines each of those days' syncs would fetch), and those never synced."""
    since = (first_new_day or last_day) - timedelta(days=LOOKBACK_DAYS)
    synced = sa.select(DeliveryDay.id).where(DeliveryDay.order_line_id == OrderLine.id).exists()
    return list(
        db.session.scalars(
            sa.select(OrderLine)
            .join(Order, Order.id == OrderLine.order_id)
            .where(
                Order.connection_id == connection.id,
                OrderLine.remote_line_id.is_not(None),
                OrderLine.start_day <= last_day,
                sa.or_(OrderLine.end_day >= since, ~synced),
            )
            .order_by(OrderLine.id)
        )
    )


def sync_connection(
    connection: Connection, *, now: datetime, timeout: float, api_version: str | None = None
) -> SyncReport:
    """Fetch delivery per line and day up to the ad server's yesterday, store it, and compare each
    pushed line with the signed version. Commits: the delivery, then the drift check, each in its
    own transaction."""
    try:
        with transaction(db.session):  # delivery is kept whatever the drift check meets
            adapter = service.adapter_of(connection, timeout=timeout, api_version=api_version)
            lines, days = fetch_delivery(connection, adapter, now=now)
        with transaction(db.session):
            drifted, problems = check_drift(connection, adapter, now=now)
            connection.sync_claimed_until = None
            connection.last_sync_error = "; ".join(problems)[:4000]
        return SyncReport(connection.name, len(lines), days, drifted, problems="; ".join(problems))
    except Exception as error:
        message = error.message if isinstance(error, AdServerError) else f"{type(error).__name__}: {error}"
        with transaction(db.session):  # the block that failed rolled back; its error is kept
            connection = db.session.get(Connection, connection.id)
            connection.last_sync_error, connection.sync_claimed_until = message[:4000], None
        return SyncReport(connection.name, 0, 0, 0, error=message)


def fetch_delivery(connection: Connection, adapter, *, now: datetime, first_new_day: date | None = None):
    """Store the delivery per line and day up to the ad server's yesterday (flushes, never commits);
    returns the lines fetched and the line-days stored. `first_new_day`: the first of several days
    the ad server's clock moved past since the last sync (the sandbox run until a date)."""
    last_day = adapter.today() - timedelta(days=1)
    lines = _lines_to_sync(connection, last_day, first_new_day=first_new_day)
    by_remote = {line.remote_line_id: line for line in lines}
    days = 0
    if lines:
        first = min(line.start_day for line in lines)
        rows = adapter.delivery(list(by_remote), first, last_day)
        existing = {
            (d.order_line_id, d.day): d
            for d in db.session.scalars(
                sa.select(DeliveryDay).where(DeliveryDay.order_line_id.in_([line.id for line in lines]))
            )
        }
        for row in rows:
            line = by_remote.get(row.remote_line_id)
            if line is None or not (line.start_day <= row.day <= line.end_day):
                continue
            found = existing.get((line.id, row.day))
            if found is None:
                found = DeliveryDay(order_line_id=line.id, day=row.day)
                db.session.add(found)
                existing[(line.id, row.day)] = found
            if found.impressions != row.impressions:
                line.revenue_changed_at = now  # late or corrected delivery: finance adjusts
            found.impressions, found.clicks, found.synced_at = row.impressions, row.clicks, now
            days += 1
    connection.synced_at, connection.delivered_through, connection.last_sync_error = now, last_day, ""
    db.session.flush()
    return lines, days


def claim_sync(connection_id: int, *, now: datetime, every: timedelta, lease: timedelta) -> bool:
    """True when this worker may run the connection's daily sync now (nobody else is, and it is due)."""
    with transaction(db.session):
        claimed = db.session.execute(
            sa.update(Connection)
            .where(
                Connection.id == connection_id,
                Connection.active.is_(True),
                sa.or_(Connection.synced_at.is_(None), Connection.synced_at <= now - every),
                sa.or_(Connection.sync_claimed_until.is_(None), Connection.sync_claimed_until < now),
            )
            .values(sync_claimed_until=now + lease)
            .execution_options(synchronize_session=False)
        )
    return claimed.rowcount == 1


def sync_due(
    *, now: datetime, every: timedelta, lease: timedelta, timeout: float, api_version: str | None
) -> list[SyncReport]:
    reports = []
    for connection_id in db.session.scalars(sa.select(Connection.id).where(Connection.active.is_(True))).all():
        if claim_sync(connection_id, now=now, every=every, lease=lease):
            connection = db.session.get(Connection, connection_id)
            reports.append(sync_connection(connection, now=now, timeout=timeout, api_version=api_version))
    return reports


# Drift


def _words(day: date) -> str:
    return f"{day.day} {day:%b %Y}"


def differences(expected, remote: RemoteLine) -> list[str]:
    """What differs between the line as signed (a LineSpec) and as the ad server has it."""
    found: list[str] = []
    if remote.start is not None and remote.end is not None:
        ours = (expected.start.date(), expected.end.date())
        theirs = (
            remote.start.astimezone(expected.start.tzinfo).date(),
            remote.end.astimezone(expected.end.tzinfo).date(),
        )
        if ours != theirs:
            found.append(
                f"Flight: the ad server has {_words(theirs[0])} to {_words(theirs[1])}, "
                f"the order {_words(ours[0])} to {_words(ours[1])}"
            )
    if (
        expected.impressions is not None
        and remote.impressions is not None
        and expected.impressions != remote.impressions
    ):
        found.append(f"Quantity: the ad server has {remote.impressions:,}, the order {expected.impressions:,}")
    # A flat fee goes to Ad Manager as a daily rate: its rate cannot be compared one to one.
    if expected.pricing_model != "flat" and remote.rate is not None and Decimal(remote.rate) != Decimal(expected.rate):
        found.append(f"Rate: the ad server has {remote.rate}, the order {expected.rate}")
    if remote.ad_units and set(remote.ad_units) != set(expected.ad_units):
        found.append(
            f"Ad units: the ad server has {', '.join(sorted(remote.ad_units))}, "
            f"the order {', '.join(sorted(expected.ad_units))}"
        )
    wanted, found_there = _custom_merged(expected.targeting), _custom_merged(remote.targeting)
    for dimension in sorted(set(found_there) | {k for k, v in wanted.items() if v}):
        theirs, ours = set(found_there.get(dimension, ())), set(wanted.get(dimension, ()))
        if theirs != ours:
            found.append(
                f"Targeting {dimension}: the ad server has {', '.join(sorted(theirs)) or 'none'}, "
                f"the order {', '.join(sorted(ours)) or 'none'}"
            )
    if remote.status != expected.status:
        found.append(f"Status: the ad server has {remote.status}, the order {expected.status}")
    return found


def _custom_merged(targeting) -> dict[str, tuple[str, ...]]:
    """Key-values and audiences together: ad servers keep both as one custom targeting."""
    merged = {k: tuple(v) for k, v in targeting.items() if k not in ("key_value", "audience")}
    custom = (*targeting.get("key_value", ()), *targeting.get("audience", ()))
    if custom:
        merged["key_value"] = custom
    return merged


def check_drift(connection: Connection, adapter, *, now: datetime) -> tuple[int, list[str]]:
    """Compare every order the ad server is up to date with; returns how many lines drift, and the
    orders that could not be read back (one order's error never stops the others')."""
    drifted = 0
    problems: list[str] = []
    orders = db.session.scalars(
        sa.select(Order).where(
            Order.connection_id == connection.id,
            Order.push_state == PushState.PUSHED.value,
            Order.pushed_revision == Order.revision,
            Order.remote_order_id.is_not(None),
        )
    ).all()
    for order in orders:
        try:
            spec = service.order_spec(order, connection)
        except service.Unmapped:
            continue  # a mapping was removed since the push: the next push names it
        expected = {line.line_id: line for line in spec.lines}
        lines = [line for line in order.lines if line.remote_line_id]
        try:
            found_lines = adapter.read_lines(order.remote_order_id, [line.remote_line_id for line in lines])
        except AdServerError as error:
            problems.append(f"{order.number}: could not read its lines back ({error.message})")
            continue
        remote = {r.remote_id: r for r in found_lines}
        for line in lines:
            found = remote.get(line.remote_line_id)
            if found is None:
                now_drift = (
                    ["The ad server no longer has this line"] if line.status != LineStatus.CANCELLED.value else []
                )
            elif line.id in expected:
                now_drift = differences(expected[line.id], found)
            else:
                now_drift = []
            if now_drift != (line.drift or []):
                if now_drift:
                    record(
                        actor=None,
                        actor_label="delivery sync",
                        entity_type="order",
                        entity_id=order.id,
                        action="drift",
                        at=now,
                        summary=f"Line {line.position} differs in the ad server: " + "; ".join(now_drift),
                    )
                line.drift = now_drift
            line.drift_checked_at = now
            drifted += bool(now_drift)
    return drifted, problems


# Pacing and make-goods


@dataclass(frozen=True)
class Pacing:
    line: OrderLine
    #: impressions contracted (None: the line has no impression goal)
    goal: int | None
    delivered: int
    clicks: int
    #: the last day counted: the day before the ad server's today, or the line's end
    as_of: date | None
    days_elapsed: int
    days_total: int
    #: delivery expected by `as_of` at an even pace
    expected: int | None
    #: at this pace, what the line will have delivered by its end
    projected: int | None
    state: str
    #: make-good value: undelivered impressions x net rate, for an ended CPM line that fell short
    owed: Decimal

    @property
    def pace_pct(self) -> Decimal | None:
        if not self.expected:
            return None
        return (Decimal(self.delivered) * 100 / self.expected).quantize(Decimal("0.1"), ROUND_HALF_UP)

    @property
    def undelivered(self) -> int:
        return max(0, (self.goal or 0) - self.delivered)

    @property
    def label(self) -> str:
        return {
            "not_started": "Not started",
            "on_track": "On track",
            "at_risk": "At risk",
            "delivered": "Delivered",
            "under_delivered": "Under-delivered",
            "no_goal": "No goal",
            "not_pushed": "Not in the ad server",
            "cancelled": "Cancelled",
            "paused": "Paused",
        }[self.state]


def delivery_totals(line_ids: list[int]) -> dict[int, tuple[int, int]]:
    if not line_ids:
        return {}
    rows = db.session.execute(
        sa.select(DeliveryDay.order_line_id, sa.func.sum(DeliveryDay.impressions), sa.func.sum(DeliveryDay.clicks))
        .join(OrderLine, OrderLine.id == DeliveryDay.order_line_id)
        .where(
            DeliveryDay.order_line_id.in_(line_ids),
            DeliveryDay.day.between(OrderLine.start_day, OrderLine.end_day),  # a shortened flight counts its own
        )
        .group_by(DeliveryDay.order_line_id)
    )
    return {line_id: (int(imps or 0), int(clicks or 0)) for line_id, imps, clicks in rows}


def pacing_of(lines: list[OrderLine], *, today: date) -> list[Pacing]:
    """Each line's pacing as of the last day its connection reported (else the day before `today`)."""
    totals = delivery_totals([line.id for line in lines])
    through = {
        c.id: c.delivered_through
        for c in db.session.scalars(
            sa.select(Connection).where(Connection.id.in_({ln.order.connection_id for ln in lines}))
        )
    }
    out = []
    for line in lines:
        delivered, clicks = totals.get(line.id, (0, 0))
        reported = through.get(line.order.connection_id) or (today - timedelta(days=1))
        days_total = (line.end_day - line.start_day).days + 1
        as_of = min(reported, line.end_day)
        elapsed = max(0, min(days_total, (as_of - line.start_day).days + 1))
        goal = line.quantity if line.pricing_model == "cpm" else None
        expected = projected = None
        owed = Decimal("0")
        if goal:
            expected = goal * elapsed // days_total
            projected = delivered * days_total // elapsed if elapsed else None
        if line.status == LineStatus.CANCELLED.value:
            state = "cancelled"
        elif not line.remote_line_id:
            state = "not_pushed"
        elif line.status == LineStatus.PAUSED.value:
            state = "paused"
        elif elapsed == 0:
            state = "not_started"
        elif not goal:
            state = "no_goal"
        elif elapsed >= days_total:
            state = "delivered" if delivered >= goal else "under_delivered"
        else:
            state = "at_risk" if projected is not None and projected < goal * AT_RISK_SHARE else "on_track"
        if state == "under_delivered" and line.net_rate and line.make_good_of_id is None:
            owed = money.quantize(Decimal(goal - delivered) * line.net_rate / 1000, line.order.currency)
        out.append(
            Pacing(
                line,
                goal,
                delivered,
                clicks,
                as_of if elapsed else None,
                elapsed,
                days_total,
                expected,
                projected,
                state,
                owed,
            )
        )
    return out


def at_risk_lines(*, today: date, limit: int = 200) -> list[Pacing]:
    """Pushed lines delivering too slowly, and ended lines that fell short and have no make-good yet."""
    has_make_good = sa.select(ProposalLine.id).where(ProposalLine.make_good_of_id == OrderLine.id).exists()
    lines = db.session.scalars(
        sa.select(OrderLine)
        .where(
            OrderLine.remote_line_id.is_not(None),
            OrderLine.status == LineStatus.ACTIVE.value,
            OrderLine.pricing_model == "cpm",
            OrderLine.start_day < today,
            OrderLine.end_day >= today - timedelta(days=RECENT_DAYS),
            OrderLine.make_good_of_id.is_(None),
            ~has_make_good,
        )
        .order_by(OrderLine.end_day)
        .options(sa.orm.selectinload(OrderLine.order))  # pacing and the list read each line's order
    ).all()
    return [p for p in pacing_of(list(lines), today=today) if p.state in ("at_risk", "under_delivered")][:limit]


def daily_series(line_ids: list[int]) -> dict[int, list[tuple[date, int]]]:
    series: dict[int, list[tuple[date, int]]] = {i: [] for i in line_ids}
    for line_id, day, imps in db.session.execute(
        sa.select(DeliveryDay.order_line_id, DeliveryDay.day, DeliveryDay.impressions)
        .where(DeliveryDay.order_line_id.in_(line_ids))
        .order_by(DeliveryDay.day)
    ):
        series[line_id].append((day, int(imps)))
    return series
