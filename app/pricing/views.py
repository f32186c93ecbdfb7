"""The pricing panel (an htmx fragment any page can embed) and the same price as JSON."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from flask import Blueprint, current_app, render_template, request
from flask_login import current_user

from app.access import allow
from app.accounts.models import Account, AccountKind
from app.catalog.models import DimensionKey, PricingModel
from app.clock import publisher_today
from app.db import utcnow
from app.errors import Errors, ValidationFailed
from app.extensions import db
from app.pricing import service
from app.pricing.chart import waterfall_svg
from app.validation import money_problem, parse_id, parse_number, quantity_problem

bp = Blueprint("pricing", __name__, url_prefix="/pricing")


def read_line(args) -> tuple[service.LineInput | None, Errors]:
    """A prospective line from a query string; what does not parse is reported on its field."""
    errors = Errors()
    dates = {}
    for name in ("start", "end"):
        try:
            dates[name] = date.fromisoformat((args.get(name) or "").strip())
        except ValueError:
            errors.add(name, "Enter a date as YYYY-MM-DD.")
    quantity = None
    if raw := (args.get("quantity") or "").strip():
        value = parse_number(raw)
        if value is None:
            errors.add("quantity", "Enter the impressions as a whole number above 0, such as 250000.")
        elif problem := quantity_problem(value, label="quantity"):
            errors.add("quantity", problem)
        else:
            quantity = int(value)
    budget = None
    if raw := (args.get("budget") or "").strip():
        value = parse_number(raw)
        if value is None:
            errors.add("budget", "Enter the budget as an amount above 0, such as 25000 or 25,000.00.")
        elif problem := money_problem(value, label="budget", positive=True):
            errors.add("budget", problem)
        else:
            budget = value
    discounts = {}
    for name in ("proposal_discount_pct", "line_discount_pct"):
        raw = (args.get(name) or "").strip()
        value = parse_number(raw) if raw else Decimal(0)
        if value is None:
            errors.add(name, "Enter the discount as a percentage, such as 12.5.")
        discounts[name] = value if value is not None else Decimal(0)
    ids = {}
    for name in ("rate_card", "product", "advertiser", "agency"):
        raw = (args.get(name) or "").strip()
        ids[name] = parse_id(raw) if raw else None
        if raw and ids[name] is None:
            errors.add(name, f"Choose a {name.replace('_', ' ')} from the list.")
    if errors:
        return None, errors
    line = service.LineInput(
        card_id=ids["rate_card"],
        product_id=ids["product"],
        pricing_model=(args.get("pricing_model") or "").strip(),
        start=dates["start"],
        end=dates["end"],
        time_zone=(args.get("time_zone") or current_app.config["PUBLISHER_TIMEZONE"]).strip(),
        targeting={d.value: tuple(sorted({v for v in args.getlist(d.value) if v})) for d in DimensionKey},
        quantity=quantity,
        budget=budget,
        advertiser_id=ids["advertiser"],
        agency_id=ids["agency"],
        proposal_discount_pct=discounts["proposal_discount_pct"],
        line_discount_pct=discounts["line_discount_pct"],
        currency=(args.get("currency") or "").strip().upper() or None,
    )
    return line, errors


def price_from_args(args) -> tuple[service.Priced | None, dict[str, list[str]]]:
    line, errors = read_line(args)
    if errors:
        return None, errors.errors
    try:
        return (
            service.price_line(
                line,
                actor=current_user,
                today=publisher_today(),
                now=utcnow(),
                margin_pct=current_app.config["SAFETY_MARGIN_PCT"],
            ),
            {},
        )
    except ValidationFailed as exc:
        return None, exc.errors


def accounts_of(kind: AccountKind) -> list[Account]:
    return list(db.session.scalars(sa.select(Account).where(Account.kind == kind.value).order_by(Account.name)))


@bp.route("/panel")
@allow()
def panel():
    """The price of a prospective line as a waterfall table and chart (htmx fragment)."""
    priced, errors = price_from_args(request.args)
    return render_template(
        "pricing/_panel.html",
        priced=priced,
        errors=errors,
        chart=waterfall_svg(priced.price) if priced else None,
        models=PricingModel,
    ), 400 if errors else 200


@bp.route("/quote")
@allow()
def quote():
    """The same as JSON: ?rate_card=&product=&pricing_model=&start=&end=&quantity= (or budget=) ..."""
    priced, errors = price_from_args(request.args)
    if errors:
        return {"errors": errors}, 400
    return priced.snapshot()
