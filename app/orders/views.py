"""Orders for ad ops: the list and each order with its lines, bookings and shortfalls."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, render_template, request
from flask_login import current_user

from app.access import allow
from app.auth.roles import Role
from app.errors import Forbidden, NotFound
from app.extensions import db
from app.orders.models import Order, OrderStatus
from app.proposals.models import Proposal
from app.validation import page_number

bp = Blueprint("orders", __name__, url_prefix="/orders")

STAFF = (Role.AD_OPS, Role.ADMIN, Role.SALES_MANAGER, Role.FINANCE, Role.SALES_REP)
#: Roles that see every order; a rep sees the orders of their own proposals.
READ_ALL = (Role.AD_OPS, Role.ADMIN, Role.SALES_MANAGER, Role.FINANCE)


@bp.route("/")
@allow(*STAFF)
def index():
    query = sa.select(Order)
    if not current_user.has_role(*READ_ALL):
        query = query.join(Proposal, Proposal.id == Order.proposal_id).where(Proposal.owner_id == current_user.id)
    status = request.args.get("status") or ""
    if status in OrderStatus._value2member_map_:
        query = query.where(Order.status == status)
    page = db.paginate(
        query.order_by(Order.created_at.desc(), Order.id.desc()),
        page=page_number(request.args),
        per_page=current_app.config["PAGE_SIZE"],
        error_out=False,
    )
    return render_template("orders/index.html", page=page, status=status, statuses=list(OrderStatus))


@bp.route("/<int:order_id>")
@allow(*STAFF, checks_object=True)
def detail(order_id: int):
    order = db.session.get(Order, order_id)
    if order is None:
        raise NotFound("No such order.")
    if not current_user.has_role(*READ_ALL) and order.proposal.owner_id != current_user.id:
        raise Forbidden("This order is another rep's.")
    return render_template("orders/detail.html", order=order)
