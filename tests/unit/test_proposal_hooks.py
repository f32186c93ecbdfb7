"""Proposals ask the domains above them through registries those domains fill at start-up."""

from __future__ import annotations

import pytest

from app import create_app
from app.orders import hooks as order_hooks
from app.proposals import registry


def app():
    return create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_the_app_refuses_to_start_when_orders_do_not_say_whether_a_proposal_has_an_order(monkeypatch):
    monkeypatch.setattr(registry, "providers", {})
    monkeypatch.setattr(order_hooks, "register", lambda: None)
    with pytest.raises(RuntimeError, match="has_order"):
        app()


def test_every_required_hook_is_registered_by_create_app(monkeypatch):
    monkeypatch.setattr(registry, "providers", {})
    app()
    assert set(registry.REQUIRED) <= set(registry.providers)
    assert "make_good" in registry.line_checks and "approver" in registry.readers
