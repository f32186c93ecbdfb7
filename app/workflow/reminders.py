"""Reminders, escalation and expiry: what the cron jobs run (flask workflow remind / expire)."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from app.auth.models import User, UserRole
from app.extensions import db
from app.proposals import holds, registry
from app.proposals.models import Proposal, ProposalStatus
from app.proposals.states import transition
from app.roles import Role
from app.settings import Settings
from app.workflow import notify
from app.workflow.authors import authors_of
from app.workflow.models import ApprovalRequest, RequestStatus, SigningLink
from app.workflow.service import requests_of

S = ProposalStatus


# -- Reminders, escalation, expiry (meant for cron) ----------------------------------------------


def remind(*, now: datetime, settings: Settings) -> tuple[int, int]:
    """Remind approvers of requests waiting longer than APPROVAL_REMIND_HOURS; after
    APPROVAL_ESCALATE_HOURS, tell the next level (the admins). Returns (reminded, escalated)."""
    remind_after = timedelta(hours=settings.approval_remind_hours)
    escalate_after = timedelta(hours=settings.approval_escalate_hours)
    reminded = escalated = 0
    pending = db.session.scalars(
        sa.select(ApprovalRequest).where(
            ApprovalRequest.status == RequestStatus.PENDING.value, ApprovalRequest.pending_since.is_not(None)
        )
    ).all()
    for request in pending:
        waited = now - request.pending_since
        if waited >= escalate_after and request.escalated_at is None:
            admins = db.session.scalars(
                sa.select(User).join(UserRole).where(UserRole.role == Role.ADMIN.value, User.active.is_(True))
            ).all()
            authors = authors_of(request.proposal_id, request.version)
            notify.escalated(
                request, [a for a in admins if a.id not in authors], waited=waited, now=now, settings=settings
            )
            request.escalated_at = now
            escalated += 1
        elif waited >= remind_after and request.reminded_at is None:
            notify.approvers_asked([request], now=now, settings=settings, reminder=True)
            request.reminded_at = now
            reminded += 1
    return reminded, escalated


def expire(*, now: datetime, today) -> int:
    """Proposals whose offer expired before the buyer signed: their holds are released."""
    # Offers that are out (a draft or a rejected proposal is the rep's to change or delete).
    open_statuses = [s.value for s in (S.SUBMITTED, S.APPROVED, S.SENT)]
    found = [
        proposal
        for proposal in db.session.scalars(
            sa.select(Proposal).where(
                Proposal.deleted_at.is_(None),
                Proposal.expires_on < today,
                Proposal.status.in_(open_statuses),
            )
        )
        # a change order's proposal is already signed: the offer's expiry no longer applies
        if not registry.has_order(proposal)
    ]
    for proposal in found:
        for request in requests_of(proposal):
            if request.status in (RequestStatus.PENDING.value, RequestStatus.WAITING.value):
                request.status = RequestStatus.CANCELLED.value
        for link in db.session.scalars(
            sa.select(SigningLink).where(SigningLink.proposal_id == proposal.id, SigningLink.revoked_at.is_(None))
        ):
            link.revoked_at = now
        holds.release_holds(proposal, reason=f"proposal {proposal.number} expired", actor=None, now=now)
        transition(proposal, S.EXPIRED, actor=None, now=now, why=f"The offer expired on {proposal.expires_on}.")
    return len(found)
