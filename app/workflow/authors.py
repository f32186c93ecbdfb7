"""Who built a version: its proposal's owner and whoever created, changed or submitted anything in
it (the proposal's history). Nobody decides a version they built: a step whose approvers all built
it goes to the admins, and a step nobody at all could decide refuses the submission."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.auth.models import User, UserRole
from app.extensions import db
from app.proposals.models import Proposal, ProposalVersion
from app.roles import ROLE_LABELS, Role
from app.workflow.models import ApprovalRequest, ApprovalRule

if TYPE_CHECKING:
    from app.workflow.approval_rules import StepPlan


# -- Who built a version -----------------------------------------------------------------------

#: What builds a version, as the proposal's history calls it: creating the proposal, changing it or
#: its lines ("line added", "line 2 changed", ...), freezing and submitting it. Deciding, sending,
#: withdrawing and holding do not.
#: Proposal history entries that build a version (their actors may not decide it). A make-good is
#: created in its rep's name; "make-good drafted" names whoever clicked (a manager, ad ops).
BUILDING_ACTIONS = (
    "created",
    "updated",
    "make-good drafted",
    "version made",
    "status submitted",
    "warnings acknowledged",
)


def building(proposal_id, until=None):
    """Conditions on AuditEvent: an event that built the proposal (up to the moment `until`)."""
    return (
        AuditEvent.entity_type == "proposal",
        AuditEvent.entity_id == proposal_id,
        sa.true() if until is None else AuditEvent.at <= until,
        sa.or_(AuditEvent.action.in_(BUILDING_ACTIONS), AuditEvent.action.like("line %")),
    )


def authors_of(proposal_id: int, version: ProposalVersion) -> set[int]:
    """Everyone who built the version: its proposal's owner, and whoever created, changed or
    submitted anything in it (the proposal's history, up to the version's freezing)."""
    proposal = db.session.get(Proposal, proposal_id)
    actors = db.session.scalars(
        sa.select(AuditEvent.actor_id)
        .where(*building(proposal_id, version.created_at), AuditEvent.actor_id.is_not(None))
        .distinct()
    )
    return {proposal.owner_id, version.created_by_id, *actors} - {None}


def authors_so_far(proposal: Proposal) -> set[int]:
    """Everyone who has built the draft so far (the next version's authors, but for its submitter)."""
    actors = db.session.scalars(
        sa.select(AuditEvent.actor_id).where(*building(proposal.id), AuditEvent.actor_id.is_not(None)).distinct()
    )
    return {proposal.owner_id, *actors} - {None}


def active_holders(role: str) -> list[int]:
    return db.session.scalars(
        sa.select(User.id).join(UserRole).where(UserRole.role == role, User.active.is_(True))
    ).all()


def undecidable(step: StepPlan, authors: set[int], holders=active_holders) -> str | None:
    """Why nobody could decide the step on a version these people built (None: somebody could).
    A step of "any" needs one of its rules decidable, a step of "all" every one. `holders` gives a
    role's active users (a plan of several steps reads each role once)."""
    whys = []
    for rule, _label, _reasons in step.approvals:
        handed = hand_to_admins(rule, authors, holders)
        if rule.approver_user_id is not None and not handed:
            whys.append(None)
            continue
        role = Role.ADMIN.value if handed else rule.approver_role
        if role is None or set(holders(role)) - authors:
            whys.append(None)
            continue
        every = f"every {ROLE_LABELS[Role(role)].lower()} built this version"
        whys.append(f"{rule.name}: {handed}, and {every}" if handed else f"{rule.name}: {every}")
    stuck = [w for w in whys if w]
    if not stuck or (step.mode == "any" and len(stuck) < len(whys)):
        return None
    return "; ".join(stuck)


def stuck_message(step: int, why: str) -> str:
    return (
        f"Step {step} cannot be decided by anyone ({why}: created, changed or is submitting it). "
        "Ask an admin to add another admin, or another member of the approving group, then submit."
    )


def hand_to_admins(rule: ApprovalRule, authors: set[int], holders=active_holders) -> str | None:
    """Why the admins decide instead of the rule's approver (None: they do not): a named approver
    who built the version, or a group every active member of which built it (`holders`: as for
    `undecidable`)."""
    if rule.approver_user_id is not None:
        return f"{rule.approver_user.name} built this version" if rule.approver_user_id in authors else None
    if rule.approver_role is None or rule.approver_role == Role.ADMIN.value:
        return None
    if set(holders(rule.approver_role)) <= authors:
        return f"every {ROLE_LABELS[Role(rule.approver_role)].lower()} built this version"
    return None


def approvers_of(request: ApprovalRequest) -> list[User]:
    """Who may decide the request (for notifications)."""
    if request.approver_user_id:
        users = [request.approver_user] if request.approver_user else []
    else:
        users = list(
            db.session.scalars(
                sa.select(User).join(UserRole).where(UserRole.role == request.approver_role, User.active.is_(True))
            )
        )
    authors = authors_of(request.proposal_id, request.version)
    return [u for u in users if u.id not in authors]
