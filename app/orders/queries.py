"""What the order pages read: the orders list with its filters, each order's first day, the
advertisers a user has orders for, an order's make-goods and its countersigned IO, and which order a
booking is for (the holds and bookings page asks, through app.inventory.bookings)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app.accounts.models import Account
from app.extensions import db
from app.inventory.bookings import BookedFor
from app.orders.models import Order, OrderLine, OrderStatus, PushState
from app.proposals.models import Proposal, ProposalLine
from app.workflow.models import Signature


@dataclass(frozen=True)
class OrderFilters:
    """The orders list's filters, already parsed (an unknown status or push state is ignored)."""

    status: str = ""
    push: str = ""
    advertiser_id: int | None = None
    starts_from: date | None = None
    starts_to: date | None = None
    q: str = ""


def orders_list(filters: OrderFilters, *, owner_id: int | None) -> sa.Select:
    """The orders that match, newest first; with `owner_id`, only the orders of that rep's proposals."""
    query = sa.select(Order)
    if owner_id is not None:
        query = query.join(Proposal, Proposal.id == Order.proposal_id).where(Proposal.owner_id == owner_id)
    if filters.status in OrderStatus._value2member_map_:
        query = query.where(Order.status == filters.status)
    if filters.push in PushState._value2member_map_:
        query = query.where(Order.push_state == filters.push)
    if filters.advertiser_id:
        query = query.where(Order.advertiser_id == filters.advertiser_id)
    first_day = sa.select(sa.func.min(OrderLine.start_day)).where(OrderLine.order_id == Order.id).scalar_subquery()
    if filters.starts_from:
        query = query.where(first_day >= filters.starts_from)
    if filters.starts_to:
        query = query.where(first_day <= filters.starts_to)
    if filters.q:
        query = query.where(Order.number.icontains(filters.q, autoescape=True))
    return query.options(selectinload(Order.proposal)).order_by(Order.created_at.desc(), Order.id.desc())


def first_days(order_ids: list[int]) -> dict[int, date]:
    """Each order's first day (its earliest line's start)."""
    return dict(
        db.session.execute(
            sa.select(OrderLine.order_id, sa.func.min(OrderLine.start_day))
            .where(OrderLine.order_id.in_(order_ids))
            .group_by(OrderLine.order_id)
        ).all()
    )


def advertisers_with_orders(*, owner_id: int | None) -> list[Account]:
    """The advertisers that have orders (with `owner_id`, orders of that rep's proposals), by name."""
    theirs = sa.select(Order.advertiser_id)
    if owner_id is not None:
        theirs = theirs.join(Proposal, Proposal.id == Order.proposal_id).where(Proposal.owner_id == owner_id)
    return list(
        db.session.scalars(sa.select(Account).where(Account.id.in_(theirs.distinct())).order_by(Account.name)).all()
    )


def make_goods_by_line(line_ids: list[int]) -> dict[int, Proposal]:
    """order line id -> the proposal that makes it good."""
    return {
        pl.make_good_of_id: pl.proposal
        for pl in db.session.scalars(sa.select(ProposalLine).where(ProposalLine.make_good_of_id.in_(line_ids)))
    }


def io_signature_of(order: Order) -> Signature | None:
    """The latest countersigned IO uploaded for the order's version, if any."""
    return db.session.scalars(
        sa.select(Signature)
        .where(Signature.version_id == order.version_id, Signature.io_sha256.is_not(None))
        .order_by(Signature.id.desc())
    ).first()


def bookings_owned_by(user_id: int) -> sa.Select:
    """The ids of the bookings of the orders whose proposal the user owns."""
    return (
        sa.select(OrderLine.booking_id)
        .join(Order, Order.id == OrderLine.order_id)
        .join(Proposal, Proposal.id == Order.proposal_id)
        .where(Proposal.owner_id == user_id, OrderLine.booking_id.is_not(None))
    )


def orders_of_bookings(reservation_ids: list[int]) -> dict[int, BookedFor]:
    """reservation id -> the order whose line it books."""
    rows = db.session.execute(
        sa.select(OrderLine.booking_id, Order.id, Order.number, Proposal.campaign_name)
        .join(Order, Order.id == OrderLine.order_id)
        .join(Proposal, Proposal.id == Order.proposal_id)
        .where(OrderLine.booking_id.in_(reservation_ids))
    )
    return {booking_id: BookedFor(order_id, number, campaign) for booking_id, order_id, number, campaign in rows}
