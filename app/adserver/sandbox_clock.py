"""The sandbox's clock: it runs ahead of the real one so a demo sees delivery come back. Run until a
date moves it over every day up to that date in one unit of work (the caller's: a request commits
once at its boundary) and brings back each of those days' simulated delivery."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from app.adserver import delivery, service
from app.adserver.models import Connection
from app.audit.service import record
from app.auth.models import User
from app.errors import Conflict, ValidationFailed
from app.formats import ngettext, plural

#: how far ahead of the real today the sandbox's clock may run (as its connection form allows)
MAX_DAYS_AHEAD = 366


def days_ahead(connection: Connection) -> int:
    raw = (connection.settings or {}).get("days_ahead") or "0"
    return int(raw) if raw.isascii() and raw.isdigit() else 0


def real_today(connection: Connection) -> date:
    """The real today in the connection's time zone, which the sandbox's clock runs ahead of (what
    every adapter's `today()` starts from)."""
    return datetime.now(ZoneInfo(connection.time_zone)).date()


def delivered_through(connection: Connection, *, today: date) -> date:
    """The last day whose delivery the sandbox has simulated: the day before its clock's today."""
    return today + timedelta(days=days_ahead(connection) - 1)


def last_day_allowed(today: date) -> date:
    return today + timedelta(days=MAX_DAYS_AHEAD - 1)


@dataclass(frozen=True)
class Run:
    connection: str
    days: int
    until: date
    ahead: int
    lines: int
    line_days: int
    drifted: int

    def __str__(self) -> str:
        ran = ngettext("The sandbox ran %(num)s day", "The sandbox ran %(num)s days", self.days)
        return f"{ran}: delivery is in through {self.until:%d %b %Y}. {self.fetched()}"

    def fetched(self) -> str:
        line_days = ngettext("%(num)s line-day of delivery", "%(num)s line-days of delivery", self.line_days)
        drift = ngettext("%(num)s line drifts", "%(num)s lines drift", self.drifted)
        return f"{self.connection}: {line_days} for {plural(self.lines, 'line', 'lines')}; {drift}."


def check_until(connection: Connection, until: date | None, *, today: date) -> None:
    """Refuse, on the `until` field, a day the sandbox cannot run to."""
    if connection.kind != "sandbox":
        raise ValidationFailed.on("until", "Only the sandbox's clock can be moved: a real ad server delivers in time.")
    if until is None:
        raise ValidationFailed.on("until", "Enter the last day to simulate, e.g. 2027-01-31.")
    through = delivered_through(connection, today=today)
    if until <= through:
        raise ValidationFailed.on(
            "until", f"The sandbox has already delivered through {through:%d %b %Y}: choose a later day."
        )
    if until > last_day_allowed(today):
        raise ValidationFailed.on(
            "until",
            f"The sandbox runs at most {MAX_DAYS_AHEAD} days ahead of today: "
            f"choose {last_day_allowed(today):%d %b %Y} or earlier.",
        )


def run_until(
    connection: Connection, until: date | None, *, today: date, actor: User, now: datetime, timeout: float
) -> Run:
    """Simulate every day after the sandbox's last one up to `until`, and bring their delivery back
    and check drift, flushing only. `today`: the real today in the connection's time zone
    (`real_today`). The delivery of each day is what one day's sync brings (the
    sandbox's simulation of a day does not depend on when it is asked), so the days are fetched in
    one pass over the lines any of those days' syncs would read."""
    check_until(connection, until, today=today)
    if connection.sync_claimed_until is not None and connection.sync_claimed_until > now:
        raise Conflict("A delivery sync of the sandbox is running: try again in a minute.")
    first_new_day = delivered_through(connection, today=today) + timedelta(days=1)
    ahead = (until - today).days + 1
    connection.settings = {**connection.settings, "days_ahead": str(ahead)}
    adapter = service.adapter_of(connection, timeout=timeout)
    lines, line_days = delivery.fetch_delivery(connection, adapter, now=now, first_new_day=first_new_day)
    drifted, problems = delivery.check_drift(connection, adapter, now=now)
    connection.last_sync_error = "; ".join(problems)[:4000]
    run = Run(connection.name, (until - first_new_day).days + 1, until, ahead, len(lines), line_days, drifted)
    record(
        actor=actor,
        entity_type="adserver_connection",
        entity_id=connection.id,
        action="ran_until",
        at=now,
        summary=f"{run} (from {first_new_day:%d %b %Y})",
        before={"days_ahead": (first_new_day - today).days},
        after={"days_ahead": ahead},
    )
    return run
