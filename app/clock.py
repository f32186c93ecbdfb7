"""The publisher's clock: now is an aware UTC instant, today a date in the publisher's time zone.

Built once at start-up (`create_app`) and read by views and CLI commands through
`app.extensions.current_clock()`; services take `now=` and `today=` as arguments instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from app import db as app_db


@dataclass(frozen=True)
class Clock:
    time_zone: ZoneInfo

    def now(self) -> datetime:
        # Through the module, so a test that replaces app.db.utcnow moves this clock too.
        return app_db.utcnow()

    def today(self) -> date:
        return self.now().astimezone(self.time_zone).date()


@dataclass(frozen=True)
class FixedClock(Clock):
    """A clock that stays at `at`, for unit tests."""

    at: datetime

    def now(self) -> datetime:
        return self.at
