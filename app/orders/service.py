"""Orders: the signed version made an order, its lines booked (each hold turned into a booking after a
final availability check), and ad ops pausing, resuming or cancelling a line. Change orders and
make-goods are in app.orders.changes. Services flush; the request commits."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from app.audit.service import record
from app.auth.models import User
from app.catalog.models import Product
from app.errors import DomainError, Forbidden
from app.extensions import db
from app.inventory.availability import availability_for
from app.inventory.models import Reservation, ReservationKind
from app.inventory.reservations import LABEL_LENGTH, release, reserve
from app.numbering import next_number
from app.orders import events
from app.orders.models import LineStatus, Order, OrderLine, OrderStatus
from app.proposals import holds
from app.proposals.models import Proposal
from app.proposals.snapshot import SnapshotLine, VersionSnapshot
from app.roles import Role

#: who may pause, resume or cancel a line in the ad server, and offer make-goods
OPERATORS = (Role.AD_OPS, Role.ADMIN)
#: Roles that see every order; a rep sees the orders of their own proposals.
READ_ALL = (Role.AD_OPS, Role.ADMIN, Role.SALES_MANAGER, Role.FINANCE)


def can_read(user: User, order: Order) -> bool:
    return user.has_role(*READ_ALL) or order.proposal.owner_id == user.id


def can_operate(user: User) -> bool:
    """Ad ops and admins push orders and pause, resume or cancel their lines."""
    return user.has_role(*OPERATORS)


def can_change(user: User, order: Order) -> bool:
    """Who is offered a change order or a make-good on the order's page."""
    return user.has_role(*OPERATORS, Role.SALES_MANAGER) or order.proposal.owner_id == user.id


def order_of(proposal: Proposal) -> Order | None:
    return db.session.scalar(sa.select(Order).where(Order.proposal_id == proposal.id))


def order_number_of(proposal: Proposal) -> str | None:
    """The number of the order the proposal was signed into, if any (orders build on proposals)."""
    return db.session.scalar(sa.select(Order.number).where(Order.proposal_id == proposal.id))


def orders_panel(proposal: Proposal, user: User, *, editable: bool) -> dict:
    """The orders the proposal was signed into, named on its page."""
    return {"orders": db.session.scalars(sa.select(Order).where(Order.proposal_id == proposal.id)).all()}


def order_line_fields(data: SnapshotLine) -> dict:
    """An order line's commercial fields, as a signed version's line has them."""
    return {
        "position": data.position,
        "product_id": data.product.id,
        "pricing_model": data.pricing_model,
        "targeting": data.targeting,
        "start_day": data.start,
        "end_day": data.end,
        "time_zone": data.time_zone,
        "quantity": data.booked_quantity,
        "net_rate": data.net_rate,
        "gross": data.gross,
        "commission": data.commission,
        "net": data.net,
    }


def make_order(proposal: Proposal, *, now: datetime, today: date, margin_pct: int) -> Order:
    """The signed version as an order. Each line's hold becomes a booking after a final availability
    check (its own hold set aside); what no longer fits is not oversold: the order is flagged with
    the shortfall for ad ops."""
    version = proposal.versions[-1]
    snapshot = VersionSnapshot.of(version)
    order = Order(
        number=next_number("O", today.year, numbers=Order.number),
        proposal_id=proposal.id,
        version_id=version.id,
        advertiser_id=proposal.advertiser_id,
        agency_id=proposal.agency_id,
        currency=snapshot.currency,
        status=OrderStatus.BOOKED.value,
        # the version's figures as stored (a string until the row is read back), as before typed versions
        gross=str(snapshot.totals.gross),
        net=str(snapshot.totals.net),
        created_at=now,
    )
    db.session.add(order)
    by_position = {line.position: line for line in proposal.lines}
    for data in snapshot.lines:
        line = OrderLine(**order_line_fields(data), make_good_of_id=data.make_good_of_id)
        order.lines.append(line)
        proposal_line = by_position.get(data.position)
        book_line(order, line, proposal_line, data.booked_quantity, now=now, today=today, margin_pct=margin_pct)
    db.session.flush()
    for line in order.lines:
        line.revenue_changed_at = now
        if (proposal_line := by_position.get(line.position)) is not None:
            proposal_line.order_line_id = line.id
    record(
        actor=None,
        entity_type="order",
        entity_id=order.id,
        action="created",
        at=now,
        summary=f"Order {order.number} from {proposal.number} version {version.number}: {order.status_enum.label}.",
    )
    events.order_changed(order, reason="signed", now=now)
    return order


def book_line(order: Order, line: OrderLine, proposal_line, quantity: int | None, *, now, today, margin_pct) -> None:
    """Book one order line: its hold (if any) gives way to a booking of what is still available; a line
    whose flight is over, or that has no quantity to check, is left to ad ops."""
    if line.end_day < today:
        holds.release_holds_of_line(proposal_line, reason=f"order {order.number}: the flight is over", now=now)
        return
    if not quantity:
        # A CPD or flat-fee line with no impressions given (a sponsorship, say): nothing to check
        # it against, so ad ops book it by hand rather than the order pretending it is booked.
        order.status = OrderStatus.NEEDS_ATTENTION.value
        holds.release_holds_of_line(proposal_line, reason=f"order {order.number}: booked by ad ops", now=now)
        return
    hold_id = proposal_line.hold_id if proposal_line is not None else None
    product = db.session.get(Product, line.product_id)
    box = holds.line_box(product, line.targeting, line.start_day, line.end_day, today)
    exclude = {hold_id} if hold_id else set()
    available = availability_for(box, now=now, today=today, margin_pct=margin_pct, exclude=exclude).available
    booked = min(quantity, available)
    if hold_id:
        hold = db.session.get(Reservation, hold_id)
        if hold is not None and hold.released_at is None:
            release(hold, reason=f"booked by order {order.number}", actor=None, now=now)
        proposal_line.hold_id = None
    if booked > 0:
        booking = reserve(
            ReservationKind.BOOKING,
            box,
            label=f"{order.number} line {line.position}: {order.advertiser.name if order.advertiser else ''}"[
                :LABEL_LENGTH
            ],
            quantity=booked,
            product_id=line.product_id,
            actor=None,
            now=now,
            today=today,
            margin_pct=margin_pct,
            hold_days=0,
        )
        line.booking_id = booking.id
    if booked < quantity:
        line.shortfall = quantity - booked
        order.status = OrderStatus.NEEDS_ATTENTION.value


def retotal(order: Order) -> None:
    """The order's totals are its lines' that still run: a cancelled line no longer counts."""
    running = [line for line in order.lines if line.status != LineStatus.CANCELLED.value]
    order.gross = sum((Decimal(line.gross) for line in running), Decimal(0))
    order.net = sum((Decimal(line.net) for line in running), Decimal(0))


def local_today(line: OrderLine, now: datetime) -> date:
    """Today in the line's time zone: the first day it no longer runs once cancelled."""
    return now.astimezone(ZoneInfo(line.time_zone)).date()


def release_booking(line: OrderLine, *, reason: str, now: datetime) -> None:
    if line.booking_id is None:
        return
    booking = db.session.get(Reservation, line.booking_id)
    if booking is not None and booking.released_at is None:
        release(booking, reason=reason, actor=None, now=now)
    line.booking_id = None


def set_line_status(line: OrderLine, status: LineStatus, *, actor: User, now: datetime) -> None:
    """Ad ops pause, resume or cancel a line in the ad server (no commercial change)."""
    if not actor.has_role(*OPERATORS):
        raise Forbidden("Only ad ops and admins pause, resume or cancel lines.")
    if line.status == LineStatus.CANCELLED.value:
        raise DomainError(f"Line {line.position} is cancelled: open a change order to bring it back.")
    if line.status == status.value:
        raise DomainError(f"Line {line.position} is already {status.label.lower()}.")
    order = line.order
    before = line.status
    line.status = status.value
    line.revenue_changed_at = now
    if status is LineStatus.CANCELLED:
        line.cancelled_on = local_today(line, now)
        release_booking(line, reason=f"{order.number}: line {line.position} cancelled by ad ops", now=now)
        retotal(order)
    record(
        actor=actor,
        entity_type="order",
        entity_id=order.id,
        action=f"line {status.value}",
        at=now,
        summary=f"Line {line.position} of {order.number}: {before} → {status.value}.",
    )
    events.order_changed(order, reason=f"line {line.position} {status.value}", now=now, actor=actor)
