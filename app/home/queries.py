"""What the home page's sections read beside the other domains' queries: each role's work, bounded
(the first few, and how many there are in all), each list in a fixed number of statements."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app.adserver.models import JobStatus, PushJob
from app.auth.models import User
from app.auth.service import users_page_query
from app.catalog.models import AdUnit
from app.extensions import db
from app.inventory.models import Reservation, ReservationKind
from app.orders.models import Order, OrderStatus, PushState
from app.proposals.models import Proposal, ProposalLine, ProposalStatus
from app.workflow.models import ApprovalRequest, RequestStatus, SigningLink

S = ProposalStatus
#: A rep's open proposals, in the order they need the rep: a rejection to answer, an approved
#: version to send, then what waits on others, then drafts.
OPEN = (S.REJECTED, S.APPROVED, S.SUBMITTED, S.SENT, S.DRAFT)


def active_unit_counts() -> list[tuple[str, int]]:
    """(level, how many active ad units) for each level of the tree."""
    return db.session.execute(
        sa.select(AdUnit.level, sa.func.count()).where(AdUnit.status == "active").group_by(AdUnit.level)
    ).all()


def users_for_admin() -> list[User]:
    """Every user, the active ones first, by name."""
    return list(db.session.scalars(users_page_query()))


def _count(query: sa.Select) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0


# -- A rep's work -------------------------------------------------------------------------------


def open_proposals_of(user_id: int, *, limit: int) -> tuple[list[Proposal], int]:
    """The rep's open proposals, the most pressing first (see OPEN), then the latest changed; and
    how many there are."""
    query = sa.select(Proposal).where(
        Proposal.owner_id == user_id,
        Proposal.deleted_at.is_(None),
        Proposal.status.in_([s.value for s in OPEN]),
    )
    urgency = sa.case({s.value: n for n, s in enumerate(OPEN)}, value=Proposal.status)
    found = db.session.scalars(query.order_by(urgency, Proposal.updated_at.desc(), Proposal.id.desc()).limit(limit))
    return list(found), _count(query)


def rejections_of(proposal_ids: list[int]) -> dict[int, ApprovalRequest]:
    """proposal id -> the latest rejected approval request (who rejected it and why)."""
    if not proposal_ids:
        return {}
    found: dict[int, ApprovalRequest] = {}
    for request in db.session.scalars(
        sa.select(ApprovalRequest)
        .where(ApprovalRequest.proposal_id.in_(proposal_ids), ApprovalRequest.status == RequestStatus.REJECTED.value)
        .options(selectinload(ApprovalRequest.decided_by))
        .order_by(ApprovalRequest.decided_at.desc(), ApprovalRequest.id.desc())
    ):
        found.setdefault(request.proposal_id, request)
    return found


def pending_requests_of(proposal_ids: list[int]) -> dict[int, list[ApprovalRequest]]:
    """proposal id -> its requests pending now (whom it waits for)."""
    found: dict[int, list[ApprovalRequest]] = {i: [] for i in proposal_ids}
    if not proposal_ids:
        return found
    for request in db.session.scalars(
        sa.select(ApprovalRequest)
        .where(ApprovalRequest.proposal_id.in_(proposal_ids), ApprovalRequest.status == RequestStatus.PENDING.value)
        .options(selectinload(ApprovalRequest.approver_user))
        .order_by(ApprovalRequest.step, ApprovalRequest.id)
    ):
        found[request.proposal_id].append(request)
    return found


def signing_links_of(proposal_ids: list[int]) -> dict[int, SigningLink]:
    """proposal id -> the latest link sent to the buyer that still opens (not used, not revoked)."""
    if not proposal_ids:
        return {}
    found: dict[int, SigningLink] = {}
    for link in db.session.scalars(
        sa.select(SigningLink)
        .where(
            SigningLink.proposal_id.in_(proposal_ids), SigningLink.used_at.is_(None), SigningLink.revoked_at.is_(None)
        )
        .order_by(SigningLink.id.desc())
    ):
        found.setdefault(link.proposal_id, link)
    return found


def holds_expiring(user_id: int, *, now: datetime, until: datetime, limit: int) -> tuple[list[tuple], int]:
    """Live holds that expire before `until`, on the rep's proposals' lines or (held from the
    availability panel) made by the rep, the soonest first, as (hold, line or None, proposal or
    None); and how many there are."""
    query = (
        sa.select(Reservation, ProposalLine, Proposal)
        .outerjoin(ProposalLine, ProposalLine.id == Reservation.proposal_line_id)
        .outerjoin(Proposal, Proposal.id == ProposalLine.proposal_id)
        .where(
            Reservation.kind == ReservationKind.HOLD.value,
            Reservation.released_at.is_(None),
            Reservation.expires_at > now,
            Reservation.expires_at <= until,
            sa.or_(
                Proposal.owner_id == user_id,
                sa.and_(Reservation.proposal_line_id.is_(None), Reservation.created_by_id == user_id),
            ),
        )
    )
    found = db.session.execute(query.order_by(Reservation.expires_at, Reservation.id).limit(limit)).all()
    return [tuple(row) for row in found], _count(query)


# -- Ad ops' work -------------------------------------------------------------------------------


def orders_to_set_up(*, limit: int) -> tuple[list[Order], int]:
    """Signed orders not in the ad server yet (never pushed) or that ad ops must book by hand, the
    oldest first; and how many there are."""
    query = sa.select(Order).where(
        sa.or_(Order.push_state == PushState.NOT_PUSHED.value, Order.status == OrderStatus.NEEDS_ATTENTION.value)
    )
    found = db.session.scalars(
        query.options(selectinload(Order.proposal)).order_by(Order.created_at, Order.id).limit(limit)
    )
    return list(found), _count(query)


def failed_pushes(*, limit: int) -> tuple[list[PushJob], int]:
    """Pushes that failed for good and wait for ad ops, the latest first; and how many there are."""
    query = sa.select(PushJob).where(PushJob.status == JobStatus.DEAD.value)
    found = db.session.scalars(query.order_by(PushJob.finished_at.desc(), PushJob.id.desc()).limit(limit))
    return list(found), _count(query)
