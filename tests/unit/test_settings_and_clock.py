"""The settings value and the clock: built from the config once, Flask-free, and the publisher's calendar."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from app import db as app_db
from app.clock import Clock, FixedClock
from app.settings import Settings
from config import TestingConfig


def config(**changes) -> dict:
    values = {name: getattr(TestingConfig, name) for name in dir(TestingConfig) if name.isupper()}
    return {**values, "PUBLIC_URL": "https://deals.example", **changes}


def test_settings_are_a_frozen_value_read_from_the_config():
    settings = Settings.from_config(config(PUBLISHER_TIMEZONE="Asia/Tokyo", PUBLISHER_LOGO=""))
    assert settings.time_zone == ZoneInfo("Asia/Tokyo") and settings.publisher_logo is None
    assert settings.page_size == TestingConfig.PAGE_SIZE and settings.hold_days == TestingConfig.HOLD_DAYS
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.page_size = 1  # type: ignore[misc]


def test_links_start_at_the_public_url_whatever_its_trailing_slash():
    settings = Settings.from_config(config(PUBLIC_URL="https://deals.example/"))
    assert settings.link("/sign/abc") == "https://deals.example/sign/abc"


def test_the_publishers_day_is_the_date_in_its_time_zone_not_in_utc():
    late_evening_utc = datetime(2026, 12, 31, 20, 0, tzinfo=UTC)
    assert Settings.from_config(config(PUBLISHER_TIMEZONE="Asia/Tokyo")).day_of(late_evening_utc) == date(2027, 1, 1)
    assert Settings.from_config(config(PUBLISHER_TIMEZONE="Europe/London")).day_of(late_evening_utc) == date(
        2026, 12, 31
    )
    clock = FixedClock(ZoneInfo("Asia/Tokyo"), late_evening_utc)
    assert clock.now() == late_evening_utc and clock.today() == date(2027, 1, 1)


def test_the_clock_reads_the_time_through_app_db_utcnow(monkeypatch):
    moment = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
    monkeypatch.setattr(app_db, "utcnow", lambda: moment)
    clock = Clock(ZoneInfo("America/New_York"))
    assert clock.now() == moment and clock.today() == date(2027, 3, 1)
