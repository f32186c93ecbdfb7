"""Holds on a proposal's lines: inventory kept for the line while the buyer decides, released when
the line changes or the proposal goes. Services flush; the request commits.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa

from app.auth.models import User
from app.catalog.products import product_slots
from app.errors import DomainError
from app.extensions import db
from app.inventory.models import Reservation, ReservationKind
from app.inventory.reservations import LABEL_LENGTH, extend_hold, release, reserve
from app.inventory.supply import Box
from app.pricing import rules
from app.proposals.access import require_edit
from app.proposals.models import Proposal, ProposalLine

# -- Holds ----------------------------------------------------------------------------------------


def release_holds_of_line(line: ProposalLine | None, *, reason: str, now: datetime) -> None:
    if line is not None:
        release_hold(line, reason=reason, actor=None, now=now)


def release_holds(proposal: Proposal, *, reason: str, actor: User | None, now: datetime) -> None:
    for line in proposal.lines:
        release_hold(line, reason=reason, actor=actor, now=now)


def release_hold(line: ProposalLine, *, reason: str, actor: User | None, now: datetime) -> None:
    if line.hold_id is None:
        return
    hold = db.session.get(Reservation, line.hold_id)
    if hold is not None:
        release(hold, reason=reason, actor=actor, now=now)
    line.hold_id = None


def hold_of(line: ProposalLine, now: datetime) -> Reservation | None:
    """The line's hold while it counts (not released, not expired)."""
    return holds_of([line], now)[line.id]


def holds_of(lines: list[ProposalLine], now: datetime) -> dict[int, Reservation | None]:
    """Each line's live hold (or None), read in one query."""
    ids = [line.hold_id for line in lines if line.hold_id]
    found = {r.id: r for r in db.session.scalars(sa.select(Reservation).where(Reservation.id.in_(ids)))} if ids else {}

    def live(hold: Reservation | None) -> Reservation | None:
        if hold is None or hold.released_at is not None or (hold.expires_at and hold.expires_at <= now):
            return None
        return hold

    return {line.id: live(found.get(line.hold_id)) for line in lines}


def hold_line(
    line: ProposalLine, *, actor: User, today: date, now: datetime, margin_pct: int, hold_days: int
) -> Reservation:
    """Hold the line's impressions (CPM lines; the others hold what they expect to deliver)."""
    proposal = line.proposal
    require_edit(actor, proposal)
    # Clicks at the same moment take turns on the line's row (PostgreSQL; SQLite has one writer), and
    # each sees the hold the one before it made: the later ones extend it instead of adding one.
    db.session.refresh(line, ["hold_id"], with_for_update=True)
    quantity = line.units if line.pricing_model == rules.CPM else line.quantity
    if line.price is None or not quantity:
        raise DomainError(
            f"Line {line.position} has no price or no impressions yet (CPD and flat-fee lines hold the impressions "
            "entered for them): nothing to hold."
        )
    if (current := hold_of(line, now)) is not None:
        return extend_hold(current, actor=actor, now=now, today=today, margin_pct=margin_pct, hold_days=hold_days)
    release_stray_holds(line, reason="the line is held again", actor=actor, now=now)
    hold = reserve(
        ReservationKind.HOLD,
        line_box(line.product, line.targeting, line.start_day, line.end_day, today),
        label=f"{proposal.number} line {line.position}: {proposal.advertiser.name}"[:LABEL_LENGTH],
        quantity=quantity,
        product_id=line.product_id,
        actor=actor,
        now=now,
        today=today,
        margin_pct=margin_pct,
        hold_days=hold_days,
        proposal_line_id=line.id,
    )
    line.hold_id = hold.id
    return hold


def release_stray_holds(line: ProposalLine, *, reason: str, actor: User | None, now: datetime) -> None:
    """Release the line's unreleased holds other than the live one it points at: an expired hold
    (it no longer counts, but it would keep the line from a new one), or one the line forgot."""
    live = hold_of(line, now)
    for hold in db.session.scalars(
        sa.select(Reservation).where(
            Reservation.proposal_line_id == line.id,
            Reservation.kind == ReservationKind.HOLD.value,
            Reservation.released_at.is_(None),
            Reservation.id != (live.id if live else 0),
        )
    ):
        release(hold, reason=reason, actor=actor, now=now)
    if live is None:
        line.hold_id = None


def line_box(product, targeting: dict, start_day: date, end_day: date, today: date) -> Box:
    """The inventory a line covers from today on: its product's slots, its regions and devices."""
    return Box(
        tuple(u.id for u in product_slots(product)),
        max(start_day, today),
        end_day,
        tuple(targeting.get("geo", ())),
        tuple(targeting.get("device", ())),
    )


def hold_all(proposal: Proposal, **kwargs) -> tuple[int, list[str]]:
    """Hold every line that can be held; say which could not and why."""
    held, problems = 0, []
    for line in proposal.lines:
        try:
            with db.session.begin_nested():
                hold_line(line, **kwargs)
            held += 1
        except DomainError as exc:
            problems.append(f"Line {line.position}: {exc.message}")
    return held, problems
