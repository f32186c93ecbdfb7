"""Change orders and make-goods: what happens to an order after it is signed.

A change order reopens the signed proposal as a draft: the rep edits its lines (each remembers the
order line it became), submits it through the approval rules like any version, and once approved
it is applied to the order: lines updated and re-booked, new lines booked, removed lines
cancelled, and a push queued so the ad server follows. A make-good is a new draft proposal with a
free line linked to the under-delivered order line; it goes through the normal flow.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa

from app.audit.service import record
from app.auth.models import User
from app.errors import DomainError, Errors, Forbidden
from app.extensions import db
from app.formats import impression_count
from app.orders import events, make_goods
from app.orders.models import LineStatus, Order, OrderLine, OrderStatus
from app.orders.service import (
    OPERATORS,
    book_line,
    local_today,
    order_line_fields,
    order_of,
    release_booking,
    retotal,
)
from app.pricing.service import cards_to_price_with
from app.proposals import access, holds, lines, service
from app.proposals.models import Proposal, ProposalLine, ProposalStatus
from app.proposals.snapshot import VersionSnapshot
from app.proposals.states import transition
from app.roles import Role

S = ProposalStatus


def start_change_order(order: Order, *, actor: User, now: datetime) -> Proposal:
    """Reopen the signed proposal as a draft whose lines edit the order's lines."""
    proposal = order.proposal
    if not access.can_edit(actor, proposal):
        raise Forbidden("Only the order's rep, sales managers and admins open a change order (they edit it).")
    if proposal.status != S.SIGNED.value:
        raise DomainError(f"A change order for {order.number} is already open: {proposal.number} is {proposal.status}.")
    transition(proposal, S.DRAFT, actor=actor, now=now, why=f"Change order opened for {order.number}.")
    return proposal


def discard_change_order(order: Order, *, actor: User, now: datetime) -> Proposal:
    """Abandon an open change order: the proposal's lines and terms go back to the signed version
    and it is signed again, as if the change had never been opened. The order never moved."""
    proposal = order.proposal
    if not access.can_edit(actor, proposal):
        raise Forbidden("Only the order's rep, sales managers and admins discard a change order.")
    if proposal.status not in (S.DRAFT.value, S.REJECTED.value):
        raise DomainError(
            f"{proposal.number} is {proposal.status}: withdraw it to edit first, then discard the change order."
        )
    signed = VersionSnapshot.of(order.version)
    holds.release_holds(proposal, reason=f"change order of {order.number} discarded", actor=actor, now=now)
    proposal.lines.clear()
    db.session.flush()
    # The first signed version was frozen before its lines had order lines: they match by position.
    ordered = sorted(order.lines, key=lambda line: line.status != LineStatus.CANCELLED.value)  # running lines win
    order_line_at = {line.position: line.id for line in ordered}
    for data in signed.lines:
        proposal.lines.append(
            ProposalLine(
                position=data.position,
                product_id=data.product.id,
                pricing_model=data.pricing_model,
                targeting=data.targeting,
                start_day=data.start,
                end_day=data.end,
                time_zone=data.time_zone,
                quantity=data.quantity,
                budget=data.budget,
                discount_pct=data.discount_pct,
                price={"price": data.price.to_json()} if data.price else None,
                problems=list(data.problems),
                units=data.units,
                net_rate=data.net_rate,
                gross=data.gross,
                commission=data.commission,
                net=data.net,
                available=data.available,
                order_line_id=data.order_line_id or order_line_at.get(data.position),
                make_good_of_id=data.make_good_of_id,
                updated_at=now,
            )
        )
    proposal.campaign_name, proposal.rate_card_id = signed.campaign_name, signed.rate_card.id
    flight = signed.flight
    proposal.start_day, proposal.end_day = flight.start, flight.end
    proposal.time_zone, proposal.notes, proposal.terms = flight.time_zone, signed.notes, signed.terms
    proposal.buyer_notes = signed.buyer_notes
    proposal.discount_pct = signed.discount_pct
    proposal.budget_goal = signed.budget_goal
    proposal.expires_on = signed.expires_on
    transition(
        proposal, S.SIGNED, actor=actor, now=now, why=f"Change order discarded: back to version {order.version.number}."
    )
    return proposal


def check_change(proposal: Proposal, order: Order, *, today: date) -> Errors:
    """A change cannot take a line under what it has already delivered, nor end a line (or start
    a new one) in the past."""
    errors = Errors()
    if (proposal.advertiser_id, proposal.agency_id, proposal.currency) != (
        order.advertiser_id,
        order.agency_id,
        order.currency,
    ):
        errors.add(
            "submit", f"A change order keeps {order.number}'s advertiser, agency and currency: sign a new order."
        )
    delivered = events.delivery_totals([line.id for line in order.lines])
    signed = {line.id: line for line in order.lines}
    for line in proposal.lines:
        before = signed.get(line.order_line_id)
        if line.end_day < today and (before is None or before.end_day != line.end_day):
            errors.add(
                "submit", f"Line {line.position} would end on {line.end_day}, in the past: end it today or later."
            )
        if before is None and line.start_day < today:
            errors.add("submit", f"New line {line.position} would start on {line.start_day}, in the past.")
        if line.order_line_id is None:
            continue
        done = delivered.get(line.order_line_id, (0, 0))[0]
        quantity = line.units if line.pricing_model == "cpm" else line.quantity
        if done and quantity is not None and quantity < done:
            errors.add(
                "submit",
                f"Line {line.position} has already delivered {impression_count(done)}; "
                f"its quantity cannot go below that (it is {quantity:,}).",
            )
    return errors


def check_if_change_order(proposal: Proposal, *, today: date, make_good_days: int) -> Errors:
    """Workflow's submission check: a change order's version is checked against its order (nothing
    to check for a proposal without one)."""
    order = order_of(proposal)
    return check_change(proposal, order, today=today) if order is not None else Errors()


def apply_if_change_order(proposal: Proposal, *, now: datetime, today: date, margin_pct: int) -> Order | None:
    """Workflow's "change approved": apply the approved version to the proposal's order, if it has one."""
    if order_of(proposal) is None:
        return None
    return apply_change_order(proposal, now=now, today=today, margin_pct=margin_pct)


def apply_change_order(proposal: Proposal, *, now: datetime, today: date, margin_pct: int) -> Order:
    """The approved version becomes the order's next revision; the ad server is told."""
    order = order_of(proposal)
    version = proposal.versions[-1]
    snapshot = VersionSnapshot.of(version)
    by_id = {line.id: line for line in order.lines}
    by_position = {line.position: line for line in proposal.lines}
    kept: set[int] = set()
    changes: list[str] = []
    order.status = OrderStatus.BOOKED.value
    for data in snapshot.lines:
        quantity = data.booked_quantity
        proposal_line = by_position.get(data.position)
        line = by_id.get(data.order_line_id)
        fields = order_line_fields(data)
        if line is None:
            line = OrderLine(**fields, make_good_of_id=data.make_good_of_id)
            order.lines.append(line)
            changes.append(f"line {data.position} added")
            rebook = True
        elif line.status == LineStatus.CANCELLED.value:
            # Ad ops cancelled it: it stays cancelled (bring it back by adding a new line).
            kept.add(line.id)
            changes.append(f"line {data.position} stays cancelled")
            continue
        else:
            kept.add(line.id)
            inventory_before = (line.product_id, line.targeting, line.start_day, line.end_day, line.quantity)
            for key, value in fields.items():
                setattr(line, key, value)
            rebook = inventory_before != (line.product_id, line.targeting, line.start_day, line.end_day, line.quantity)
            changes.append(f"line {data.position} {'changed' if rebook else 'kept'}")
        if rebook:
            release_booking(line, reason=f"{order.number} revision {order.revision + 1}", now=now)
            line.shortfall = 0
            book_line(order, line, proposal_line, quantity, now=now, today=today, margin_pct=margin_pct)
        elif line.shortfall:
            order.status = OrderStatus.NEEDS_ATTENTION.value
    for line in order.lines:
        if (
            line.id is not None
            and line.id not in kept
            and line.id in by_id
            and line.status != LineStatus.CANCELLED.value
        ):
            line.status = LineStatus.CANCELLED.value
            line.cancelled_on = local_today(line, now)
            release_booking(line, reason=f"{order.number}: line cancelled by a change order", now=now)
            changes.append(f"line {line.position} cancelled")
    order.version_id, order.revision = version.id, order.revision + 1
    for line in order.lines:
        line.revenue_changed_at = now  # a closed month it touched gets an adjustment
    retotal(order)
    db.session.flush()
    for line in order.lines:
        if line.status != LineStatus.CANCELLED.value and (proposal_line := by_position.get(line.position)) is not None:
            proposal_line.order_line_id = line.id
    transition(proposal, S.SIGNED, actor=None, now=now, why=f"Change order applied to {order.number}.")
    record(
        actor=None,
        entity_type="order",
        entity_id=order.id,
        action="changed",
        at=now,
        summary=f"{order.number} revision {order.revision} from version {version.number}: " + "; ".join(changes) + ".",
    )
    events.order_changed(order, reason=f"change order (revision {order.revision})", now=now)
    return order


def _make_good_flight(line: OrderLine, original: Proposal, owner: User, *, today: date, make_good_days: int):
    """From tomorrow (or the start of the order's make-good window) for as long as the original
    flight (a week to a month), inside the window, on the original card when it covers that flight,
    else on the first card the rep may use that does."""
    first, last = make_goods.make_good_window(line, days=make_good_days)
    start = max(today + timedelta(days=1), first)
    if start > last:
        raise DomainError(
            f"The make-good window of line {line.position} closed on {last}: it can no longer be made good."
        )
    length = max(6, min((line.end_day - line.start_day).days, 30))
    cards = [original.rate_card, *cards_to_price_with(owner, today=today, product=line.product)]
    for card in cards:
        begin = max(start, card.valid_from)
        end = min(begin + timedelta(days=length), card.valid_to, last)
        if card.status == "active" and begin <= end:
            return card, begin, end
    raise DomainError("No active rate card covers a make-good flight from tomorrow: add next year's card first.")


def _take_turns_on(line: OrderLine) -> None:
    """Lock the order line until the transaction ends, so two clicks on "Draft a make-good" at once
    take turns and the second sees the first's make-good: PostgreSQL locks the row (FOR UPDATE);
    SQLite ignores FOR UPDATE, so an UPDATE that changes nothing takes its write lock instead."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.select(OrderLine.id).where(OrderLine.id == line.id).with_for_update())
    else:
        db.session.execute(sa.update(OrderLine).where(OrderLine.id == line.id).values(id=OrderLine.id))


def create_make_good(
    line: OrderLine,
    *,
    actor: User,
    now: datetime,
    today: date,
    margin_pct: int,
    make_good_days: int = make_goods.MAKE_GOOD_WINDOW_DAYS,
) -> Proposal:
    """A draft proposal for the same advertiser with one free line for the undelivered impressions,
    linked to the original line; it goes through approval and signature like any proposal."""
    if not actor.has_role(*OPERATORS, Role.SALES_MANAGER) and line.order.proposal.owner_id != actor.id:
        raise Forbidden("Only the order's rep, sales managers, ad ops and admins offer a make-good.")
    _take_turns_on(line)
    (pacing,) = events.pacing_of([line], today=today)
    if pacing.state != "under_delivered" or pacing.undelivered <= 0:
        raise DomainError(f"Line {line.position} is {pacing.label.lower()}: there is nothing to make good.")
    if (existing := make_goods.live_make_good(line.id)) is not None:
        raise DomainError(f"Line {line.position} already has a make-good in {existing.proposal.number}.")
    order = line.order
    original = order.proposal
    owner = original.owner
    card, start, end = _make_good_flight(line, original, owner, today=today, make_good_days=make_good_days)
    proposal = service.create_proposal(
        service.ProposalData(
            advertiser_id=original.advertiser_id,
            campaign_name=f"Make-good for {order.number} line {line.position}"[:200],
            rate_card_id=card.id,
            owner_id=owner.id,
            start_day=start,
            end_day=end,
            time_zone=line.time_zone,
            agency_id=original.agency_id,
            buyer_contact_id=original.buyer_contact_id,
            notes=(
                f"Free delivery making good line {line.position} of {order.number}: "
                f"{impression_count(pacing.undelivered)} undelivered, worth {pacing.owed} {order.currency}."
            ),
        ),
        actor=owner,
        now=now,
        today=today,
    )
    lines.add_line(
        proposal,
        lines.LineData(
            product_id=line.product_id,
            pricing_model=line.pricing_model,
            start_day=start,
            end_day=end,
            time_zone=line.time_zone,
            targeting={k: tuple(v) for k, v in line.targeting.items()},
            quantity=pacing.undelivered,
            make_good_of_id=line.id,
        ),
        actor=owner,
        today=today,
        now=now,
        margin_pct=margin_pct,
        make_good_days=make_good_days,
    )
    # The proposal is the rep's, but whoever drafted it built it: they may not decide it.
    record(
        actor=actor,
        entity_type="proposal",
        entity_id=proposal.id,
        action="make-good drafted",
        at=now,
        summary=f"Drafted by {actor.name} to make good line {line.position} of {order.number}",
    )
    record(
        actor=actor,
        entity_type="order",
        entity_id=order.id,
        action="make-good",
        at=now,
        summary=(
            f"Make-good {proposal.number} drafted for line {line.position}: {impression_count(pacing.undelivered)} "
            f"worth {pacing.owed} {order.currency}."
        ),
    )
    return proposal
