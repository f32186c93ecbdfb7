"""The pricing panel (an htmx fragment any page can embed) and the same price as JSON."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user

from app.access import allow
from app.accounts.models import AccountKind
from app.accounts.queries import account_choices
from app.catalog.models import PricingModel, Product
from app.db import utcnow
from app.errors import ValidationFailed
from app.extensions import current_clock, current_settings
from app.inventory.line_request import default_flight
from app.pricing import service
from app.pricing.waterfall_svg import waterfall_svg
from app.ratecards import coverage

bp = Blueprint("pricing", __name__, url_prefix="/pricing")


def price_from_args(args) -> tuple[service.Priced | None, dict[str, list[str]]]:
    line, errors = service.read_line(args, time_zone=current_settings().time_zone.key)
    if errors:
        return None, errors.errors
    try:
        return (
            service.price_line(
                line,
                actor=current_user,
                today=current_clock().today(),
                now=utcnow(),
                margin_pct=current_settings().safety_margin_pct,
            ),
            {},
        )
    except ValidationFailed as exc:
        return None, exc.errors


def product_pricing_panel(product: Product) -> dict:
    """What the product page's pricing panel shows: the rep's line and its waterfall."""
    args = request.args
    today = current_clock().today()
    cards = service.cards_to_price_with(current_user, today=today, product=product)
    # the form's first flight and card work together (the four weeks from next Monday, kept within
    # the card that prices most of them, as a new proposal's are)
    first = coverage.flight_and_card(*default_flight(today), cards)
    context = {
        "price_cards": cards,
        "price_flight": (first.start_day, first.end_day),
        "price_card_id": first.rate_card_id,
        "advertisers": account_choices(AccountKind.ADVERTISER),
        "agencies": account_choices(AccountKind.AGENCY),
        "time_zone": args.get("time_zone") or current_settings().time_zone.key,
        "priced": None,
        "chart": None,
        "price_errors": {},
    }
    if "rate_card" in args and product.is_active:
        asked = args.copy()
        asked["product"] = str(product.id)  # this page's product, whatever the query string says
        context["priced"], context["price_errors"] = price_from_args(asked)
        if context["priced"]:
            context["chart"] = waterfall_svg(context["priced"].price)
    return context


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
