"""The publisher's calendar: today is a date in the publisher's time zone, not in UTC."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from flask import current_app

from app.db import utcnow


def publisher_today() -> date:
    return utcnow().astimezone(ZoneInfo(current_app.config["PUBLISHER_TIMEZONE"])).date()
