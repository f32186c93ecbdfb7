"""Who may reach which route.

Every view declares its rule with `@allow(...)` (or `@public`). One `before_request` hook enforces
the rules, and `create_app` refuses to start when a route has none, so a new route cannot be
forgotten: it fails closed at start-up instead of opening silently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from flask import Flask, current_app, redirect, request, url_for
from flask_login import current_user
from werkzeug.exceptions import Forbidden

from app.roles import Role

F = TypeVar("F", bound=Callable)


@dataclass(frozen=True)
class AccessRule:
    #: None: anyone, signed in or not. Empty: any signed-in user. Otherwise: any of these roles.
    roles: frozenset[Role] | None
    #: The view also checks the object (a rep may edit only the accounts they own).
    checks_object: bool = False

    @property
    def is_public(self) -> bool:
        return self.roles is None

    def admits(self, roles: set[Role]) -> bool:
        if self.roles is None or not self.roles:
            return True
        return bool(self.roles & roles)


def allow(*roles: Role, checks_object: bool = False) -> Callable[[F], F]:
    """Signed-in users holding any of `roles` (any signed-in user when none are given)."""

    def mark(view: F) -> F:
        view.access_rule = AccessRule(frozenset(roles), checks_object)  # type: ignore[attr-defined]
        return view

    return mark


def public(view: F) -> F:
    view.access_rule = AccessRule(None)  # type: ignore[attr-defined]
    return view


def rule_for(app: Flask, endpoint: str) -> AccessRule | None:
    if endpoint == "static":
        return AccessRule(None)
    return getattr(app.view_functions.get(endpoint), "access_rule", None)


def check_every_route_has_a_rule(app: Flask) -> None:
    missing = sorted(e for e in app.view_functions if rule_for(app, e) is None)
    if missing:
        raise RuntimeError(f"routes without an access rule: {', '.join(missing)}")


def enforce_access() -> object | None:
    """before_request: anonymous users go to sign-in, others need one of the route's roles."""
    if request.endpoint is None:  # 404 and 405 are handled by Flask itself
        return None
    rule = rule_for(current_app, request.endpoint)
    if rule is None:  # unreachable after the start-up check, kept as a fail-closed guard
        raise Forbidden()
    if rule.is_public:
        return None
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if not rule.admits(current_user.role_set):
        raise Forbidden()
    return None
