"""Inventory asks orders which order a booking is for through a registry orders fill at start-up."""

from __future__ import annotations

import pytest

from app import create_app
from app.inventory import bookings


def app():
    return create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_the_app_refuses_to_start_when_nobody_says_which_order_a_booking_is_for(monkeypatch):
    monkeypatch.setattr(bookings, "register", lambda **providers: None)
    with pytest.raises(RuntimeError, match="bookings owned_by, orders_of"):
        app()


def test_create_app_registers_who_a_booking_is_for():
    app()
    assert set(bookings.REQUIRED) <= set(bookings._providers)
