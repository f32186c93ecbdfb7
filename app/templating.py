"""Jinja filters and globals: dates in the publisher's time zone, money, navigation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from flask import Flask, request
from flask_login import current_user

from app.extensions import current_settings
from app.formats import install_plural_forms, money, percent, rate
from app.forms import form_nonce_field
from app.roles import ROLE_LABELS, Role
from app.validation import countries

#: (label, endpoint, roles that see it; empty = everyone signed in). The work of every day is one
#: click away; what an admin sets up now and then is grouped under Admin, so the menu stays on one line.
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
    ("Ad servers", "adserver.index", (Role.ADMIN, Role.AD_OPS)),
    ("Approval rules", "workflow.rules", (Role.ADMIN,)),
    ("Users", "auth.users", (Role.ADMIN,)),
    ("Audit log", "audit.index", (Role.ADMIN,)),
    ("Outbox", "mail.outbox", (Role.ADMIN,)),
]
#: Menu groups (a dropdown) and the endpoints in them. A group shows only when a person sees two or
#: more of its items; a lone item (Ad servers for ad ops) stays in the menu itself.
NAVIGATION_GROUPS = {
    "Admin": ("adserver.index", "workflow.rules", "auth.users", "audit.index", "mail.outbox"),
}


@dataclass(frozen=True)
class NavItem:
    """One entry of the main menu: a link, or a group (`children`) shown as a dropdown."""

    label: str
    endpoint: str | None = None
    active: bool = False
    children: tuple[NavItem, ...] = ()


def menu_for(roles: set, here: str) -> list[NavItem]:
    """The main menu for someone with `roles` on the page of endpoint `here`."""
    shown = [(label, endpoint) for label, endpoint, needs in NAVIGATION if not needs or roles & set(needs)]
    active = _active(shown, here)
    items = [NavItem(label, endpoint, endpoint == active) for label, endpoint in shown]
    for group, endpoints in NAVIGATION_GROUPS.items():
        members = tuple(item for item in items if item.endpoint in endpoints)
        if len(members) < 2:
            continue
        at = items.index(members[0])
        items = [item for item in items if item not in members]
        items.insert(at, NavItem(group, active=any(m.active for m in members), children=members))
    return items


def _active(shown: list[tuple[str, str]], here: str) -> str | None:
    """The item of the page's own endpoint, else the last item of its blueprint (Ad ops is the
    queue; every other ad-server page is under Ad servers)."""
    if any(endpoint == here for _, endpoint in shown):
        return here
    same = [endpoint for _, endpoint in shown if endpoint.split(".")[0] == here.split(".")[0]]
    return same[-1] if same else None


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
        return {"nav_items": menu_for(current_user.role_set, request.endpoint or ""), "role_labels": ROLE_LABELS}
