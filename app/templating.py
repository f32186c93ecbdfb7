"""Jinja filters and globals: dates in the publisher's time zone, money, navigation."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from flask import Flask, request
from flask_login import current_user

from app.extensions import current_settings
from app.formats import install_plural_forms, money, percent, rate
from app.forms import form_nonce_field
from app.roles import ROLE_LABELS, Role
from app.validation import countries

#: (label, endpoint, roles that see it; empty = everyone signed in)
NAVIGATION = [
    ("Home", "home.index", ()),
    ("Proposals", "proposals.index", ()),
    ("Approvals", "workflow.queue", (Role.SALES_MANAGER, Role.ADMIN, Role.AD_OPS, Role.FINANCE, Role.SALES_REP)),
    ("Orders", "orders.index", (Role.AD_OPS, Role.ADMIN, Role.SALES_MANAGER, Role.FINANCE, Role.SALES_REP)),
    ("Ad ops", "adserver.queue", (Role.AD_OPS, Role.ADMIN)),
    ("Finance", "finance.index", (Role.FINANCE, Role.ADMIN)),
    ("Catalog", "catalog.index", ()),
    ("Rate cards", "ratecards.index", (Role.ADMIN, Role.SALES_MANAGER, Role.SALES_REP, Role.FINANCE)),
    ("Inventory", "inventory.sell_through", ()),
    ("Accounts", "accounts.index", ()),
    ("Users", "auth.users", (Role.ADMIN,)),
    ("Approval rules", "workflow.rules", (Role.ADMIN,)),
    ("Audit log", "audit.index", (Role.ADMIN,)),
    ("Outbox", "mail.outbox", (Role.ADMIN,)),
    ("Ad servers", "adserver.index", (Role.ADMIN, Role.AD_OPS)),
]


def local_time(value: datetime | None, fmt: str = "%d %b %Y %H:%M") -> str:
    if value is None:
        return ""
    return value.astimezone(current_settings().time_zone).strftime(fmt)


def country_name(code: str) -> str:
    return countries().get(code, code)


def register_template_helpers(app: Flask) -> None:
    app.add_template_filter(country_name, "country_name")
    app.add_template_filter(rate, "rate")
    app.add_template_filter(lambda text: Decimal(str(text)), "decimal")
    app.add_template_filter(lambda role: ROLE_LABELS.get(Role(role), role), "role_label")
    app.add_template_filter(local_time, "local_time")
    app.add_template_filter(money, "money")
    app.add_template_filter(percent, "percent")
    install_plural_forms(app.jinja_env)
    app.add_template_global(form_nonce_field, "form_nonce")

    @app.context_processor
    def navigation() -> dict:
        if not current_user.is_authenticated:
            return {"nav_items": [], "role_labels": ROLE_LABELS}
        roles = current_user.role_set
        shown = [(label, endpoint) for label, endpoint, needs in NAVIGATION if not needs or roles & set(needs)]
        return {"nav_items": [(label, e, e == _active(shown)) for label, e in shown], "role_labels": ROLE_LABELS}

    def _active(shown: list[tuple[str, str]]) -> str | None:
        """The item of the page's own endpoint, else the last item of its blueprint (Ad ops is the
        queue; every other ad-server page is under Ad servers)."""
        here = request.endpoint or ""
        if any(endpoint == here for _, endpoint in shown):
            return here
        same = [endpoint for _, endpoint in shown if endpoint.split(".")[0] == here.split(".")[0]]
        return same[-1] if same else None
