"""Proposals ask the domains above them through registries those domains fill at start-up."""

from __future__ import annotations

import pytest

from app import create_app
from app.orders import make_goods
from app.proposals import hooks


def app():
    return create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_the_app_refuses_to_start_when_orders_do_not_say_whether_a_proposal_has_an_order(monkeypatch):
    monkeypatch.setattr(hooks, "providers", {})
    monkeypatch.setattr(make_goods, "register", lambda: None)
    with pytest.raises(RuntimeError, match="has_order"):
        app()


def test_every_required_hook_is_registered_by_create_app(monkeypatch):
    monkeypatch.setattr(hooks, "providers", {})
    app()
    assert set(hooks.REQUIRED) <= set(hooks.providers)
    assert "make_good" in hooks.line_checks and "approver" in hooks.readers
