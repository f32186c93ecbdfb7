"""Time zones are IANA names: one validator for flights, lines, connections and the settings."""

from __future__ import annotations

import pytest

from app.validation import time_zone_problem
from tests.conftest import make_app


@pytest.mark.parametrize("zone", ["localtime", "Factory", "posixrules", "Europe/Nowhere", "E" * 100_000, "", None])
def test_what_is_not_an_iana_time_zone_name_has_a_problem(zone):
    assert "is not a time zone" in time_zone_problem(zone)


@pytest.mark.parametrize("zone", ["UTC", "Europe/London", "America/Argentina/Buenos_Aires", "Asia/Kolkata"])
def test_iana_names_have_none(zone):
    assert time_zone_problem(zone) is None


@pytest.mark.parametrize("zone", ["localtime", "Factory", "E" * 100_000])
def test_the_app_refuses_to_start_with_a_publisher_time_zone_that_is_not_one(zone):
    with pytest.raises(RuntimeError, match="PUBLISHER_TIMEZONE"):
        make_app("sqlite://", PUBLISHER_TIMEZONE=zone)
