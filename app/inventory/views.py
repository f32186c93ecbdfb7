from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from app import nonces
from app.access import allow
from app.auth.roles import Role
from app.catalog.models import AdUnit, AdUnitLevel, Product, Status
from app.catalog.service import product_slots
from app.clock import publisher_today
from app.db import utcnow
from app.errors import DomainError, Errors, Forbidden, NotFound, ValidationFailed
from app.extensions import db
from app.forms import form_sent_before, options, redirect_to_created, show_errors
from app.inventory import queries, service
from app.inventory.forms import HoldForm
from app.inventory.models import Reservation, ReservationKind
from app.inventory.service import Box
from app.transaction import abandon
from app.validation import parse_id, parse_number, quantity_problem

bp = Blueprint("inventory", __name__, url_prefix="/inventory")

SELLERS = (Role.SALES_REP, Role.SALES_MANAGER, Role.ADMIN)
OVERSEERS = (Role.SALES_MANAGER, Role.ADMIN, Role.AD_OPS)


def _settings() -> dict:
    return {"margin_pct": current_app.config["SAFETY_MARGIN_PCT"]}


def default_flight(today: date) -> tuple[date, date]:
    """Next Monday for four weeks: a sensible first question."""
    start = today + timedelta(days=7 - today.weekday())
    return start, start + timedelta(days=27)


def read_request(args) -> tuple[Box | None, int | None, Product | None, Errors]:
    """A prospective line from a query string or form: product (or slots), targeting, flight, quantity."""
    errors = Errors()
    product = None
    slot_ids: list[int] = []
    if product_id := parse_id(args.get("product")):
        product = db.session.get(Product, product_id)
        if product is None or product.status != Status.ACTIVE:
            errors.add("product", "Choose an active product.")
        else:
            slot_ids = [u.id for u in product_slots(product)]
    if raw_slots := args.get("slots"):
        chosen = list(dict.fromkeys(parse_id(s) for s in raw_slots.split(",")))
        sellable = set(
            db.session.scalars(
                sa.select(AdUnit.id).where(
                    AdUnit.id.in_([s for s in chosen if s]),
                    AdUnit.level == AdUnitLevel.SLOT.value,
                    AdUnit.status == Status.ACTIVE.value,
                )
            )
        )
        if None in chosen or not set(chosen) <= sellable:
            errors.add("slots", "Slots are the ids of active ad slots, separated by commas.")
        else:
            slot_ids = [s for s in chosen if s in slot_ids] if product else chosen
    if not product and not args.get("slots"):
        errors.add("product", "Choose a product or ad units.")
    targeting = {}
    for dim in service.SUPPLY_DIMENSIONS:
        values = [v for v in args.getlist(dim) if v]
        if values and product is not None and dim not in product.customisable:
            errors.add(dim, f"{product.name} does not let a rep choose the {dim}.")
        targeting[dim] = tuple(sorted(set(values)))
    dates = {}
    for name in ("start", "end"):
        raw = args.get(name, "")
        try:
            dates[name] = date.fromisoformat(raw)
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
    if errors:
        return None, quantity, product, errors
    box = Box(tuple(slot_ids), dates["start"], dates["end"], targeting["geo"], targeting["device"])
    return box, quantity, product, errors


@bp.route("/availability")
@allow()
def availability_json():
    """Availability as JSON: ?product=ID (or slots=1,2) &geo=..&device=..&start=&end=&quantity=."""
    box, quantity, _product, errors = read_request(request.args)
    if errors:
        return {"errors": errors.errors}, 400
    try:
        answer = service.availability_for(
            box, now=utcnow(), today=publisher_today(), requested=quantity, with_suggestions=True, **_settings()
        )
    except ValidationFailed as exc:
        return {"errors": exc.errors}, 400
    return answer.as_json()


@bp.route("/panel")
@allow()
def panel():
    """The availability panel (an htmx fragment) that the catalog page embeds."""
    box, quantity, product, errors = read_request(request.args)
    answer = None
    if not errors:
        try:
            answer = service.availability_for(
                box, now=utcnow(), today=publisher_today(), requested=quantity, with_suggestions=True, **_settings()
            )
        except ValidationFailed as exc:
            errors = Errors()
            errors.errors = exc.errors
    return render_template(
        "inventory/_panel.html",
        answer=answer,
        errors=errors.errors,
        product=product,
        quantity=quantity,
        args=request.args,
        can_hold=current_user.has_role(*SELLERS),
        hold_form=FlaskForm(),
        hold_days=current_app.config["HOLD_DAYS"],
    )


def _hold_form_page(form: HoldForm, status: int):
    """The hold form again, each problem on its field; nothing was held."""
    return render_template("inventory/hold_form.html", form=form, hold_days=current_app.config["HOLD_DAYS"]), status


@bp.route("/holds", methods=["POST"])
@allow(*SELLERS)
def create_hold():
    form = HoldForm()
    active = db.session.scalars(sa.select(Product).where(Product.status == Status.ACTIVE.value).order_by(Product.name))
    form.product.choices = options([("", "— the ad slots below —"), *((p.id, p.name) for p in active)])
    back = form.back.data or ""
    # Only a path of this site, and one short enough for a resend to be sent back to (form_nonces.url).
    if not back.startswith("/") or back.startswith("//") or len(back) > nonces.URL_LENGTH:
        form.back.data = back = url_for("inventory.holds")
    if not form.validate_on_submit():  # only the CSRF token can fail: the service checks every value
        return _hold_form_page(form, 400)
    if (earlier := form_sent_before()) is not None:
        return earlier
    box, quantity, product, errors = read_request(request.form)
    try:
        errors.raise_if_any()
        hold = service.reserve(
            ReservationKind.HOLD,
            box,
            label=form.label.data or "",
            quantity=quantity,
            product_id=product.id if product else None,
            actor=current_user,
            now=utcnow(),
            today=publisher_today(),
            hold_days=current_app.config["HOLD_DAYS"],
            **_settings(),
        )
    except ValidationFailed as exc:
        abandon(db.session)
        # check_box names the product "product_id", as a proposal line's does; this form calls it "product"
        show_errors(form, ValidationFailed({"product" if k == "product_id" else k: v for k, v in exc.errors.items()}))
        return _hold_form_page(form, 400)
    except DomainError as exc:  # no longer available: someone held or booked it meanwhile
        abandon(db.session)
        form.quantity.errors = [exc.message]
        return _hold_form_page(form, exc.status_code)
    flash(f"Held {hold.quantity:,} impressions until {hold.expires_at:%d %b %Y %H:%M} UTC: {hold.label}.", "success")
    return redirect_to_created(back)


@bp.route("/holds")
@allow()
def holds():
    today, now = publisher_today(), utcnow()
    mine_only = not current_user.has_role(*OVERSEERS)
    found = queries.reservations_by(current_user.id if mine_only else None, now=now, today=today)
    return render_template("inventory/holds.html", reservations=found, mine_only=mine_only, form=FlaskForm(), now=now)


def _own_reservation(reservation_id: int) -> Reservation:
    reservation = db.session.get(Reservation, reservation_id)
    if reservation is None:
        raise NotFound("There is no such hold.")
    if reservation.created_by_id != current_user.id and not current_user.has_role(*OVERSEERS):
        raise Forbidden("You can change only your own holds.")
    return reservation


@bp.route("/holds/<int:reservation_id>/release", methods=["POST"])
@allow(*SELLERS, Role.AD_OPS, checks_object=True)
def release_hold(reservation_id: int):
    reservation = _own_reservation(reservation_id)
    if FlaskForm().validate_on_submit():
        if reservation.kind != ReservationKind.HOLD:
            flash("Bookings are released by cancelling their order line, not here.", "warning")
        else:
            service.release(reservation, reason="released by hand", actor=current_user, now=utcnow())
            flash(f"Released the hold for {reservation.label}.", "success")
    return redirect(url_for("inventory.holds"))


@bp.route("/holds/<int:reservation_id>/extend", methods=["POST"])
@allow(*SELLERS, checks_object=True)
def extend_hold(reservation_id: int):
    reservation = _own_reservation(reservation_id)
    if FlaskForm().validate_on_submit():
        try:
            service.extend_hold(
                reservation,
                actor=current_user,
                now=utcnow(),
                today=publisher_today(),
                hold_days=current_app.config["HOLD_DAYS"],
                **_settings(),
            )
        except DomainError as exc:
            abandon(db.session)
            flash(exc.message, "danger")
        else:
            flash(f"Extended the hold for {reservation.label}.", "success")
    return redirect(url_for("inventory.holds"))


@bp.route("/sell-through")
@allow()
def sell_through():
    weeks = min(max(parse_id(request.args.get("weeks")) or 12, 4), 52)
    starts, rows = queries.sell_through(
        today=publisher_today(), now=utcnow(), weeks=weeks, margin_pct=current_app.config["SAFETY_MARGIN_PCT"]
    )
    return render_template("inventory/sell_through.html", starts=starts, rows=rows, weeks=weeks)


@bp.route("/sell-through/<int:unit_id>/<week>")
@allow()
def sell_through_cell(unit_id: int, week: str):
    from app.catalog.models import AdUnit
    from app.catalog.service import ad_unit_path

    unit = db.session.get(AdUnit, unit_id)
    try:
        start = date.fromisoformat(week)
        end = start + timedelta(days=6)
    except (ValueError, OverflowError):
        raise NotFound("There is no such week.") from None
    if unit is None:
        raise NotFound("There is no such ad unit.")
    found = queries.reservations_on(unit.id, start, now=utcnow())
    return render_template(
        "inventory/sell_through_cell.html",
        unit=unit,
        path=ad_unit_path(unit),
        start=start,
        end=end,
        reservations=found,
    )
