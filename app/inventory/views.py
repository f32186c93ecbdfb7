from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from app import nonces
from app.access import allow
from app.catalog import queries as catalog_queries
from app.catalog.ad_units import ad_unit_path
from app.catalog.models import AdUnit, Product
from app.db import utcnow
from app.errors import DomainError, Errors, Forbidden, NotFound, ValidationFailed
from app.extensions import current_clock, current_settings, db
from app.formats import impression_count
from app.forms import form_sent_before, options, redirect_to_created, show_errors
from app.inventory import availability, bookings, queries, reservations
from app.inventory.forms import HoldForm
from app.inventory.line_request import default_flight, read_availability_request
from app.inventory.models import Reservation, ReservationKind
from app.roles import Role
from app.transaction import abandon
from app.validation import parse_id

bp = Blueprint("inventory", __name__, url_prefix="/inventory")

SELLERS = (Role.SALES_REP, Role.SALES_MANAGER, Role.ADMIN)
OVERSEERS = (Role.SALES_MANAGER, Role.ADMIN, Role.AD_OPS)


def _settings() -> dict:
    return {"margin_pct": current_settings().safety_margin_pct}


def product_availability_panel(product: Product) -> dict:
    """What the product page's availability panel shows: the rep's question and its answer."""
    start, end = default_flight(current_clock().today())
    args = request.args
    asked = "start" in args
    context = {
        "args": args,
        "errors": {},
        "answer": None,
        "flight": (args.get("start", start.isoformat()), args.get("end", end.isoformat())),
        "can_hold": current_user.has_role(*SELLERS),
        "hold_days": current_settings().hold_days,
        "supply_dimensions": [d for d in availability.SUPPLY_DIMENSIONS if d in product.customisable],
    }
    if not asked or not product.is_active:
        return context
    box, quantity, _, errors = read_availability_request(args)
    if errors:
        context["errors"] = errors.errors
        return context
    try:
        context["answer"] = availability.availability_for(
            box,
            now=utcnow(),
            today=current_clock().today(),
            requested=quantity,
            with_suggestions=True,
            margin_pct=current_settings().safety_margin_pct,
        )
    except ValidationFailed as exc:
        context["errors"] = exc.errors
    return context


@bp.route("/availability")
@allow()
def availability_json():
    """Availability as JSON: ?product=ID (or slots=1,2) &geo=..&device=..&start=&end=&quantity=."""
    box, quantity, _product, errors = read_availability_request(request.args)
    if errors:
        return {"errors": errors.errors}, 400
    try:
        answer = availability.availability_for(
            box, now=utcnow(), today=current_clock().today(), requested=quantity, with_suggestions=True, **_settings()
        )
    except ValidationFailed as exc:
        return {"errors": exc.errors}, 400
    return answer.as_json()


@bp.route("/panel")
@allow()
def panel():
    """The availability panel (an htmx fragment) that the catalog page embeds."""
    box, quantity, product, errors = read_availability_request(request.args)
    answer = None
    if not errors:
        try:
            answer = availability.availability_for(
                box,
                now=utcnow(),
                today=current_clock().today(),
                requested=quantity,
                with_suggestions=True,
                **_settings(),
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
        hold_days=current_settings().hold_days,
    )


def _hold_form_page(form: HoldForm, status: int):
    """The hold form again, each problem on its field; nothing was held."""
    return render_template("inventory/hold_form.html", form=form, hold_days=current_settings().hold_days), status


@bp.route("/holds", methods=["POST"])
@allow(*SELLERS)
def create_hold():
    form = HoldForm()
    form.product.choices = options(
        [("", "— the ad slots below —"), *((p.id, p.name) for p in catalog_queries.active_products())]
    )
    back = form.back.data or ""
    # Only a path of this site, and one short enough for a resend to be sent back to (form_nonces.url).
    if not back.startswith("/") or back.startswith("//") or len(back) > nonces.URL_LENGTH:
        form.back.data = back = url_for("inventory.holds")
    if not form.validate_on_submit():  # only the CSRF token can fail: the service checks every value
        return _hold_form_page(form, 400)
    if (earlier := form_sent_before()) is not None:
        return earlier
    box, quantity, product, errors = read_availability_request(request.form)
    try:
        errors.raise_if_any()
        hold = reservations.reserve(
            ReservationKind.HOLD,
            box,
            label=form.label.data or "",
            quantity=quantity,
            product_id=product.id if product else None,
            actor=current_user,
            now=utcnow(),
            today=current_clock().today(),
            hold_days=current_settings().hold_days,
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
    flash(
        f"Held {impression_count(hold.quantity)} until {hold.expires_at:%d %b %Y %H:%M} UTC: {hold.label}.",
        "success",
    )
    return redirect_to_created(back)


@bp.route("/holds")
@allow()
def holds():
    today, now = current_clock().today(), utcnow()
    mine_only = not current_user.has_role(*OVERSEERS)
    if mine_only:  # what they made, and the bookings of their own orders
        found = queries.reservations_by(
            current_user.id, now=now, today=today, booking_ids=bookings.owned_by(current_user.id)
        )
    else:
        found = queries.reservations_by(None, now=now, today=today)
    orders = bookings.orders_of([r.id for r in found if r.kind == ReservationKind.BOOKING])
    return render_template(
        "inventory/holds.html", reservations=found, orders=orders, mine_only=mine_only, form=FlaskForm(), now=now
    )


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
            reservations.release(reservation, reason="released by hand", actor=current_user, now=utcnow())
            flash(f"Released the hold for {reservation.label}.", "success")
    return redirect(url_for("inventory.holds"))


@bp.route("/holds/<int:reservation_id>/extend", methods=["POST"])
@allow(*SELLERS, checks_object=True)
def extend_hold(reservation_id: int):
    reservation = _own_reservation(reservation_id)
    if FlaskForm().validate_on_submit():
        try:
            reservations.extend_hold(
                reservation,
                actor=current_user,
                now=utcnow(),
                today=current_clock().today(),
                hold_days=current_settings().hold_days,
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
        today=current_clock().today(), now=utcnow(), weeks=weeks, margin_pct=current_settings().safety_margin_pct
    )
    return render_template("inventory/sell_through.html", starts=starts, rows=rows, weeks=weeks)


@bp.route("/sell-through/<int:unit_id>/<week>")
@allow()
def sell_through_cell(unit_id: int, week: str):

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
