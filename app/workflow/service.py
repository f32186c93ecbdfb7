"""The approval workflow: submission (which freezes a version), approvers' decisions step by step,
withdrawal, and each approver's queue. The rules are in approval_rules, who built a version in
authors, reminders and expiry in reminders. Services flush; the request commits."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.audit.service import record
from app.auth.models import User
from app.errors import Conflict, Forbidden, ValidationFailed
from app.extensions import db
from app.proposals import access, versions
from app.proposals.models import Proposal, ProposalStatus, ProposalVersion
from app.proposals.states import transition
from app.roles import Role
from app.settings import Settings
from app.workflow import events, notify
from app.workflow.approval_rules import approver_label, plan_for
from app.workflow.authors import approvers_of, authors_of, building, hand_to_admins, stuck_message
from app.workflow.models import ApprovalRequest, RequestStatus, SigningLink

S = ProposalStatus


# -- Submission and decisions ---------------------------------------------------------------------


def submit(
    proposal: Proposal,
    *,
    actor: User,
    now: datetime,
    acknowledged: bool,
    settings: Settings,
    render: dict | None = None,
):
    """Freeze a version, check it against the rules, and start its first approval step (or approve
    it at once when no rule asks for approval)."""
    access.require_edit(actor, proposal)
    if not proposal.lines:
        raise ValidationFailed({"submit": ["Add at least one line before submitting."]})
    today = settings.day_of(now)
    for check in events.submission_checks.values():
        check(proposal, today=today, make_good_days=settings.make_good_window_days).raise_if_any()
    plan = plan_for(proposal, standard_terms=settings.standard_terms, submitter=actor)
    if plan.blocks:
        raise ValidationFailed({"submit": [f"{rule.message} ({'; '.join(reasons)})" for rule, reasons in plan.blocks]})
    if plan.stuck:
        raise ValidationFailed({"submit": [stuck_message(step, why) for step, why in plan.stuck]})
    if plan.warnings and not acknowledged:
        raise ValidationFailed({"acknowledge": ["Read the warnings and tick the box to submit anyway."]})
    version = versions.freeze_version(
        proposal, actor=actor, now=now, render=render, publisher_name=settings.publisher_name
    )
    transition(proposal, S.SUBMITTED, actor=actor, now=now, why=f"Version {version.number} submitted for approval.")
    if plan.warnings:
        record(
            actor=actor,
            entity_type="proposal",
            entity_id=proposal.id,
            action="warnings acknowledged",
            at=now,
            summary="; ".join(f"{rule.message} ({'; '.join(r)})" for rule, r in plan.warnings),
        )
    authors = authors_of(proposal.id, version)
    # What the rep was warned of and submitted anyway is a fact every approver reads too.
    warned = [f"the rep was warned: {rule.message} ({'; '.join(r)})" for rule, r in plan.warnings]
    for n, step in enumerate(plan.steps):
        for rule, _label, reasons in step.approvals:
            request = ApprovalRequest(
                proposal_id=proposal.id,
                version_id=version.id,
                step=step.step,
                rule_id=rule.id,
                rule_name=rule.name,
                step_mode=step.mode,
                approver_role=rule.approver_role,
                approver_user_id=rule.approver_user_id,
                reasons=[*reasons, *warned],
                status=RequestStatus.PENDING.value if n == 0 else RequestStatus.WAITING.value,
                created_at=now,
                pending_since=now if n == 0 else None,
            )
            if why := hand_to_admins(rule, authors):
                # Nobody decides a version they built: the admins decide instead.
                request.approver_user_id, request.approver_role = None, Role.ADMIN.value
                request.reasons = [*reasons, f"{why}: an admin decides"]
            db.session.add(request)
    db.session.flush()
    _advance(proposal, version.id, actor=actor, now=now, settings=settings)
    if proposal.status == S.SUBMITTED.value:
        notify.approvers_asked(
            [r for r in requests_of(proposal, version.id) if r.status == RequestStatus.PENDING.value],
            now=now,
            settings=settings,
        )
    return version


def requests_of(proposal: Proposal, version_id: int | None = None) -> list[ApprovalRequest]:
    query = sa.select(ApprovalRequest).where(ApprovalRequest.proposal_id == proposal.id)
    if version_id is not None:
        query = query.where(ApprovalRequest.version_id == version_id)
    return list(
        db.session.scalars(query.order_by(ApprovalRequest.version_id, ApprovalRequest.step, ApprovalRequest.id))
    )


def _advance(
    proposal: Proposal, version_id: int, *, actor: User | None, now: datetime, settings: Settings
) -> list[ApprovalRequest]:
    """Open the next step when the current one is decided (returning its requests); approve the
    proposal after the last."""
    requests = requests_of(proposal, version_id)
    for step in sorted({r.step for r in requests}):
        mine = [r for r in requests if r.step == step]
        if any(r.status == RequestStatus.WAITING.value for r in mine):
            opened = [r for r in mine if r.status == RequestStatus.WAITING.value]
            for r in opened:
                r.status, r.pending_since = RequestStatus.PENDING.value, now
            return opened
        approved = [r for r in mine if r.status == RequestStatus.APPROVED.value]
        pending = [r for r in mine if r.status == RequestStatus.PENDING.value]
        mode = mine[0].step_mode
        done = (approved and mode == "any") or not pending
        if not done:
            return []
        for r in pending:
            r.status, r.comment = RequestStatus.SKIPPED.value, "Not needed: the step was approved."
    transition(proposal, S.APPROVED, actor=actor, now=now, why="Every approval step is approved.")
    order = events.handler("change_approved")(
        proposal, now=now, today=settings.day_of(now), margin_pct=settings.safety_margin_pct
    )
    if order is not None:
        notify.rep_told(
            proposal,
            "Change order applied",
            f"The change is approved and applied to {order.number}." + _comments(requests),
            now=now,
            settings=settings,
        )
        return []
    notify.rep_told(
        proposal,
        "Approved",
        "Every approval step said yes: the proposal can go to the buyer." + _comments(requests),
        now=now,
        settings=settings,
    )
    return []


@dataclass(frozen=True)
class Decision:
    """Where a request stands after one decision, for the approver's message."""

    approved: bool
    #: the decision's step is decided (approved, or the whole request rejected)
    step_done: bool
    #: the proposal left approval (every step approved, or rejected)
    proposal_done: bool
    #: who the proposal waits for now ("Finance (Sofia Lindqvist)"), in the same step or the next one
    waiting_for: list[str] = field(default_factory=list)
    next_step: int | None = None


def waiting_label(request: ApprovalRequest) -> str:
    """Who decides a request, in words: the named approver, or the group and its members' names."""
    label = approver_label(request.approver_role, request.approver_user)
    if request.approver_user_id is not None:
        return label
    names = [u.name for u in approvers_of(request)]
    return f"{label} ({' or '.join(names)})" if names else label


def _waiting_for(request: ApprovalRequest) -> list[str]:
    pending = [
        r
        for r in requests_of(request.proposal, request.version_id)
        if r.step == request.step and r.status == RequestStatus.PENDING.value
    ]
    return list(dict.fromkeys(waiting_label(r) for r in pending))


def _deciders(proposal: Proposal, request: ApprovalRequest) -> str:
    """Who approved the request's step, in words."""
    names = [
        r.decided_by.name
        for r in requests_of(proposal, request.version_id)
        if r.step == request.step and r.status == RequestStatus.APPROVED.value and r.decided_by
    ]
    return "approved by " + " and ".join(dict.fromkeys(names))


def _comments(requests) -> str:
    """The approvers' comments, for the e-mail that tells the rep a step or the request is approved
    (an approval that completes nothing sends no e-mail, so its comment waits for this one)."""
    said = [
        f"- {r.decided_by.name} ({r.rule_name}): {r.comment}"
        for r in requests
        if r.status == RequestStatus.APPROVED.value and r.comment and r.decided_by
    ]
    return "\n\nComments:\n" + "\n".join(said) if said else ""


def can_decide(user: User, request: ApprovalRequest) -> bool:
    """The request's approver (the named user, or a member of its group), who built no part of the
    version under decision."""
    if user.id in authors_of(request.proposal_id, request.version):
        return False
    if request.approver_user_id is not None:
        return request.approver_user_id == user.id
    return user.has_role(Role(request.approver_role)) if request.approver_role else False


def decide(
    request: ApprovalRequest, *, approve: bool, comment: str, actor: User, now: datetime, settings: Settings
) -> Decision:
    """Record an approver's answer; tell the rep when it decides a step or the whole request (an
    approval that leaves others of its step pending tells nobody) and the next step's approvers."""
    if not can_decide(actor, request):
        raise Forbidden(
            "This request is not yours to decide (and nobody decides a version they created, changed or submitted)."
        )
    if request.status != RequestStatus.PENDING.value:
        raise Conflict(f"This request was already {request.status}: nothing changed.")
    proposal = request.proposal
    # Touch the proposal first: its version column makes a decision taken at the same moment by
    # someone else (or the same form sent twice) fail with a conflict instead of both counting.
    proposal.updated_at = now
    db.session.flush()
    latest = proposal.versions[-1].id if proposal.versions else None
    if proposal.status != S.SUBMITTED.value or request.version_id != latest:
        raise Conflict("This version is no longer waiting for approval: nothing changed.")
    comment = (comment or "").strip()[:2000]
    if not approve and not comment:
        raise ValidationFailed({"comment": ["Say why, so the rep knows what to change."]})
    request.status = (RequestStatus.APPROVED if approve else RequestStatus.REJECTED).value
    request.decided_by, request.decided_at, request.comment = actor, now, comment
    record(
        actor=actor,
        entity_type="proposal",
        entity_id=proposal.id,
        action="approved" if approve else "rejected",
        at=now,
        summary=f"Step {request.step} ({request.rule_name}): {'approved' if approve else 'rejected'}"
        + (f": {comment}" if comment else "."),
    )
    if approve:
        opened = _advance(proposal, request.version_id, actor=actor, now=now, settings=settings)
        notify.approvers_asked(opened, now=now, settings=settings)
        if proposal.status != S.SUBMITTED.value:
            return Decision(approved=True, step_done=True, proposal_done=True)
        if not opened:
            # The step still waits for someone else: nothing to tell the rep yet.
            return Decision(approved=True, step_done=False, proposal_done=False, waiting_for=_waiting_for(request))
        waiting_for = list(dict.fromkeys(waiting_label(r) for r in opened))
        notify.rep_told(
            proposal,
            f"Step {request.step} approved",
            f"Step {request.step} is approved ({_deciders(proposal, request)}). "
            f"Step {opened[0].step} is with {' and '.join(waiting_for)} now."
            + _comments(r for r in requests_of(proposal, request.version_id) if r.step == request.step),
            now=now,
            settings=settings,
        )
        return Decision(
            approved=True, step_done=True, proposal_done=False, waiting_for=waiting_for, next_step=opened[0].step
        )
    for other in requests_of(proposal, request.version_id):
        if other.status in (RequestStatus.PENDING.value, RequestStatus.WAITING.value):
            other.status = RequestStatus.CANCELLED.value
    transition(proposal, S.REJECTED, actor=actor, now=now, why=f"Rejected by {actor.name}: {comment}")
    notify.rep_told(
        proposal,
        "Rejected",
        f"{actor.name} rejected step {request.step} ({request.rule_name}):\n\n{comment}\n\n"
        "Change the proposal and submit it again.",
        now=now,
        settings=settings,
    )
    return Decision(approved=False, step_done=True, proposal_done=True)


def withdraw(proposal: Proposal, *, actor: User, now: datetime) -> None:
    """Back to draft to change it: pending requests are cancelled; the next submission makes a new
    version and starts approval again."""
    if not access.can_edit(actor, proposal):
        raise Forbidden("Only the proposal's rep, sales managers and admins withdraw it.")
    for request in requests_of(proposal):
        if request.status in (RequestStatus.PENDING.value, RequestStatus.WAITING.value):
            request.status = RequestStatus.CANCELLED.value
    # A link sent to the buyer no longer opens anything.
    for link in db.session.scalars(
        sa.select(SigningLink).where(SigningLink.proposal_id == proposal.id, SigningLink.revoked_at.is_(None))
    ):
        link.revoked_at = now
    transition(
        proposal, S.DRAFT, actor=actor, now=now, why="Withdrawn to edit; approval starts again on the next submission."
    )


def _queue(user: User) -> sa.Select:
    """Pending requests the user may decide (never on a version they built)."""
    roles = [r.value for r in user.role_set]
    built = (
        sa.select(AuditEvent.id)
        .where(*building(ApprovalRequest.proposal_id, ProposalVersion.created_at), AuditEvent.actor_id == user.id)
        .exists()
    )
    return (
        sa.select(ApprovalRequest)
        .join(Proposal, Proposal.id == ApprovalRequest.proposal_id)
        .join(ProposalVersion, ProposalVersion.id == ApprovalRequest.version_id)
        .where(
            ApprovalRequest.status == RequestStatus.PENDING.value,
            Proposal.owner_id != user.id,
            ProposalVersion.created_by_id != user.id,
            ~built,
            Proposal.deleted_at.is_(None),
            sa.or_(ApprovalRequest.approver_user_id == user.id, ApprovalRequest.approver_role.in_(roles)),
        )
    )


def queue_for(user: User, *, limit: int | None = None) -> list[ApprovalRequest]:
    """Pending requests the user may decide, oldest first (the first `limit` of them, if given)."""
    query = _queue(user).order_by(ApprovalRequest.pending_since, ApprovalRequest.id)
    if limit is not None:
        query = query.limit(limit)
    return list(db.session.scalars(query))


def queue_length(user: User) -> int:
    """How many requests wait for the user."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(_queue(user).subquery())) or 0
