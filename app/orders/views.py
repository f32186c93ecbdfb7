"""Orders for ad ops: the list, and each order with its lines, ad-server ids, pushes, delivery and pacing."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from app.access import allow
from app.db import utcnow
from app.errors import DomainError, Forbidden, NotFound
from app.extensions import current_clock, current_settings, db
from app.forms import form_sent_before, redirect_to_created
from app.orders import changes, queries, service
from app.orders.make_goods import make_good_window
from app.orders.models import LineStatus, Order, OrderLine, OrderStatus, PushState
from app.orders.panels import panel_context
from app.roles import Role
from app.validation import page_number, parse_id

bp = Blueprint("orders", __name__, url_prefix="/orders")

STAFF = (Role.AD_OPS, Role.ADMIN, Role.SALES_MANAGER, Role.FINANCE, Role.SALES_REP)
OPS = service.OPERATORS


def _date(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


@bp.route("/")
@allow(*STAFF)
def index():
    args = request.args
    status = args.get("status") or ""
    push_state = args.get("push") or ""
    advertiser_id = parse_id(args.get("advertiser_id"))
    starts_from, starts_to = _date(args.get("starts_from")), _date(args.get("starts_to"))
    bad_dates = [n for n in ("starts_from", "starts_to") if args.get(n) and _date(args.get(n)) is None]
    q = (args.get("q") or "").strip()[:100]
    owner_id = None if current_user.has_role(*service.READ_ALL) else current_user.id
    page = db.paginate(
        queries.orders_list(
            queries.OrderFilters(status, push_state, advertiser_id, starts_from, starts_to, q), owner_id=owner_id
        ),
        page=page_number(args),
        per_page=current_settings().page_size,
        error_out=False,
    )
    starts = queries.first_days([o.id for o in page.items])
    advertisers = queries.advertisers_with_orders(owner_id=owner_id)
    filters = {
        "status": status,
        "push": push_state,
        "advertiser_id": advertiser_id or "",
        "starts_from": args.get("starts_from", "") if not bad_dates or "starts_from" not in bad_dates else "",
        "starts_to": args.get("starts_to", "") if "starts_to" not in bad_dates else "",
        "q": q,
    }
    return render_template(
        "orders/index.html",
        page=page,
        filters=filters,
        bad_dates=bad_dates,
        statuses=list(OrderStatus),
        push_states=list(PushState),
        advertisers=advertisers,
        starts=starts,
    )


def readable_order(order_id: int) -> Order:
    order = db.session.get(Order, order_id)
    if order is None:
        raise NotFound("No such order.")
    if not service.can_read(current_user, order):
        raise Forbidden("This order is another rep's.")
    return order


def _line(order: Order, line_id: int) -> OrderLine:
    line = db.session.get(OrderLine, line_id)
    if line is None or line.order_id != order.id:
        raise NotFound("No such line on this order.")
    return line


@bp.route("/<int:order_id>")
@allow(*STAFF, checks_object=True)
def detail(order_id: int):
    order = readable_order(order_id)
    today = current_clock().today()
    make_goods = queries.make_goods_by_line([line.id for line in order.lines])
    change_open = order.proposal.status != "signed"
    window_days = current_settings().make_good_window_days
    #: the last day a make-good of each line may run (a button that could only fail is not shown)
    make_good_until = {line.id: make_good_window(line, days=window_days)[1] for line in order.lines}
    return render_template(
        "orders/detail.html",
        order=order,
        make_goods=make_goods,
        make_good_until=make_good_until,
        today=today,
        change_open=change_open,
        io_signature=queries.io_signature_of(order),
        can_operate=service.can_operate(current_user),
        can_change=service.can_change(current_user, order),
        form=FlaskForm(),
        # pacing and pushes (the ad server's), billing (finance's): app/orders/panels.py
        **panel_context(order, reader=current_user, today=today),
    )


@bp.route("/<int:order_id>/change", methods=["POST"])
@allow(*STAFF, checks_object=True)
def change(order_id: int):
    order = readable_order(order_id)
    if (earlier := form_sent_before()) is not None:
        return earlier
    proposal = changes.start_change_order(order, actor=current_user, now=utcnow())
    flash(
        f"Change order open: edit the lines of {proposal.number} and submit it. "
        "The order runs as signed until the change is approved.",
        "success",
    )
    return redirect_to_created(url_for("proposals.detail", proposal_id=proposal.id))


@bp.route("/<int:order_id>/change/discard", methods=["POST"])
@allow(*STAFF, checks_object=True)
def discard_change(order_id: int):
    order = readable_order(order_id)
    changes.discard_change_order(order, actor=current_user, now=utcnow())
    flash(f"The change order is discarded: {order.proposal.number} is back to its signed version.", "success")
    return redirect(url_for("orders.detail", order_id=order.id))


@bp.route("/<int:order_id>/lines/<int:line_id>/status", methods=["POST"])
@allow(*OPS, checks_object=True)
def line_status(order_id: int, line_id: int):
    order = readable_order(order_id)
    line = _line(order, line_id)
    raw = request.form.get("status", "")
    if raw not in LineStatus._value2member_map_:
        raise DomainError("Choose active, paused or cancelled.")
    service.set_line_status(line, LineStatus(raw), actor=current_user, now=utcnow())
    flash(f"Line {line.position} is {LineStatus(raw).label.lower()}; the ad server is told.", "success")
    return redirect(url_for("orders.detail", order_id=order.id))


@bp.route("/<int:order_id>/lines/<int:line_id>/make-good", methods=["POST"])
@allow(*STAFF, checks_object=True)
def make_good(order_id: int, line_id: int):
    order = readable_order(order_id)
    line = _line(order, line_id)
    if (earlier := form_sent_before()) is not None:
        return earlier
    proposal = changes.create_make_good(
        line,
        actor=current_user,
        now=utcnow(),
        today=current_clock().today(),
        margin_pct=current_settings().safety_margin_pct,
        make_good_days=current_settings().make_good_window_days,
    )
    flash(f"Make-good {proposal.number} drafted: it goes through approval and the buyer's signature.", "success")
    return redirect_to_created(url_for("proposals.detail", proposal_id=proposal.id))
