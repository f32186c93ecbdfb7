"""The approval workflow: rules admins configure, the plan a rep sees before submitting, submission
(which freezes a version), approvers' decisions step by step, and the proposal's state machine.
Services flush; the request commits."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask import current_app

from app.audit.models import AuditEvent
from app.audit.service import record, record_change
from app.auth.models import User, UserRole
from app.auth.roles import ROLE_LABELS, Role
from app.catalog.models import Product
from app.db import Unchecked, name_taken, stale, utcnow
from app.errors import Conflict, DomainError, Errors, Forbidden, ValidationFailed
from app.extensions import db
from app.orders.models import Order
from app.proposals import access, holds, registry, versions
from app.proposals.models import Proposal, ProposalStatus, ProposalVersion
from app.validation import clean_line, line_problem
from app.workflow import notify
from app.workflow import rules as engine
from app.workflow.models import ApprovalRequest, ApprovalRule, RequestStatus, RuleKind, SigningLink

# -- The proposal's state machine ---------------------------------------------------------------

S = ProposalStatus
TRANSITIONS = {
    S.DRAFT: {S.SUBMITTED, S.EXPIRED},
    S.SUBMITTED: {S.APPROVED, S.REJECTED, S.DRAFT, S.EXPIRED},
    S.APPROVED: {S.SENT, S.DRAFT, S.EXPIRED},
    S.REJECTED: {S.SUBMITTED, S.DRAFT, S.EXPIRED},
    S.SENT: {S.SIGNED, S.DECLINED, S.DRAFT, S.EXPIRED},
    S.SIGNED: set(),
    S.DECLINED: set(),
    S.EXPIRED: set(),
}
#: Only for a proposal that has an order (a change order): it reopens, and it is signed again when
#: approved (applied at once) or discarded (back to the signed version).
CHANGE_ORDER_TRANSITIONS = {
    S.SIGNED: {S.DRAFT},
    S.APPROVED: {S.SIGNED},
    S.DRAFT: {S.SIGNED},
    S.REJECTED: {S.SIGNED},
}


def _has_order(proposal: Proposal) -> bool:
    return db.session.scalar(sa.select(Order.id).where(Order.proposal_id == proposal.id).limit(1)) is not None


def transition(proposal: Proposal, to: ProposalStatus, *, actor: User | None, now: datetime, why: str) -> None:
    """The one guard every status change goes through; each change is audited."""
    current = ProposalStatus(proposal.status)
    allowed = TRANSITIONS[current]
    if to in CHANGE_ORDER_TRANSITIONS.get(current, set()) and _has_order(proposal):
        allowed = allowed | {to}
    if to not in allowed:
        raise DomainError(f"Proposal {proposal.number} is {current.value}: it cannot become {to.value}.")
    proposal.status = to.value
    proposal.updated_at = now
    record(
        actor=actor,
        entity_type="proposal",
        entity_id=proposal.id,
        action=f"status {to.value}",
        at=now,
        summary=why,
        before={"status": current.value},
        after={"status": to.value},
    )


# -- Rules ----------------------------------------------------------------------------------------


@dataclass
class RuleData:
    name: str
    kind: str
    conditions: list[dict]
    combinator: str = "all"
    step: int | None = None
    approver_role: str | None = None
    approver_user_id: int | None = None
    step_mode: str = "all"
    message: str = ""
    active: bool = True


RULE_LABELS = {
    "name": "name",
    "kind": "kind",
    "conditions": "conditions",
    "combinator": "and/or",
    "step": "step",
    "approver_role": "approver group",
    "approver_user_id": "approver",
    "step_mode": "all or any approver",
    "message": "message",
    "active": "active",
}


def check_rule(data: RuleData, *, rule: ApprovalRule | None = None) -> Errors:
    errors = Errors()
    name = data.name = clean_line(data.name)
    if problem := line_problem(name, label="rule's name", max_length=200):
        errors.add("name", problem)
    elif name_taken(ApprovalRule, name, other_than=rule.id if rule else None):
        errors.add("name", f"A rule named “{name}” exists already.")
    if data.kind not in RuleKind._value2member_map_:
        errors.add("kind", "Choose what the rule does.")
    if data.combinator not in ("all", "any"):
        errors.add("combinator", "Choose whether all or any of the conditions must hold.")
    if not data.conditions:
        errors.add("conditions", "Add at least one condition: a rule with none would apply to everything.")
    for n, condition in enumerate(data.conditions, start=1):
        try:
            engine.check_condition(condition)
        except engine.RuleProblem as exc:
            errors.add("conditions", f"Condition {n}: {exc}")
    if data.kind == RuleKind.APPROVAL.value:
        if data.step is None or not 1 <= data.step <= 20:
            errors.add("step", "Place the rule in a step from 1 to 20.")
        if bool(data.approver_role) == bool(data.approver_user_id):
            errors.add("approver_role", "Choose an approver group or a named user (one of the two).")
        elif data.approver_role and data.approver_role not in Role._value2member_map_:
            errors.add("approver_role", "Choose a group from the list.")
        elif data.approver_user_id:
            user = db.session.get(User, data.approver_user_id)
            if user is None or not user.active:
                errors.add("approver_user_id", "Choose an active user.")
        if data.step_mode not in ("all", "any"):
            errors.add("step_mode", "Choose whether all or any approver of the step must approve.")
    elif not data.message.strip():
        errors.add("message", "Say what the rep is told, e.g. “discount above 40 %”.")
    return errors


def save_rule(
    rule: ApprovalRule | None, data: RuleData, *, expected_version: int | Unchecked | None, actor: User, now: datetime
):
    """Create a rule (`rule` None: `expected_version` None) or change one at the version the change was made from."""
    if rule is not None and stale(rule.version, expected_version):
        raise Conflict("Someone else changed this rule since you opened it. Reload to see their change.")
    check_rule(data, rule=rule).raise_if_any()
    before = {k: getattr(rule, k) for k in RULE_LABELS} if rule else None
    created = rule is None
    if created:
        rule = ApprovalRule(created_at=now)
        db.session.add(rule)
    for key in RULE_LABELS:
        value = getattr(data, key)
        setattr(rule, key, value.strip() if isinstance(value, str) else value)
    if data.kind != RuleKind.APPROVAL.value:
        rule.step = rule.approver_role = rule.approver_user_id = None
    rule.updated_at = now
    db.session.flush()
    after = {k: getattr(rule, k) for k in RULE_LABELS}
    if created:
        record(
            actor=actor,
            entity_type="approval_rule",
            entity_id=rule.id,
            action="created",
            at=now,
            summary=f"Rule “{rule.name}” created.",
            after=after,
        )
    else:
        record_change(
            actor=actor,
            entity_type="approval_rule",
            entity_id=rule.id,
            at=now,
            before=before,
            after=after,
            labels=RULE_LABELS,
        )
    return rule


def approver_label(role: str | None, user: User | None) -> str:
    if user is not None:
        return user.name
    return ROLE_LABELS.get(Role(role), role) if role else "—"


# -- Facts and the plan ---------------------------------------------------------------------------


def facts(proposal: Proposal, snapshot: dict) -> dict:
    products = {
        p.id: {"category": p.category, "line_item_type": p.line_item_type}
        for p in db.session.scalars(sa.select(Product))
    }
    earlier = db.session.scalar(
        sa.select(sa.func.count(Proposal.id)).where(
            Proposal.advertiser_id == proposal.advertiser_id,
            Proposal.status == ProposalStatus.SIGNED.value,
            Proposal.id != proposal.id,
        )
    )
    return engine.facts_of(
        snapshot,
        new_advertiser=not earlier,
        standard_terms=current_app.config.get("STANDARD_TERMS", ""),
        products=products,
    )


@dataclass
class StepPlan:
    step: int
    mode: str
    #: (rule, approver label, reasons)
    approvals: list[tuple[ApprovalRule, str, list[str]]] = field(default_factory=list)


@dataclass
class Plan:
    warnings: list[tuple[ApprovalRule, list[str]]]
    blocks: list[tuple[ApprovalRule, list[str]]]
    steps: list[StepPlan]
    #: rules that could not be evaluated (a field removed since): shown to admins, never silently ignored
    broken: list[tuple[ApprovalRule, str]]
    #: (step, why) for each step nobody could decide, because everyone who may built the version
    stuck: list[tuple[int, str]] = field(default_factory=list)


def plan_for(proposal: Proposal, snapshot: dict | None = None, *, submitter: User | None = None) -> Plan:
    """Which rules apply to the proposal as it stands (or to a version's snapshot), and why; with a
    submitter, also which steps nobody could decide if they submitted it now."""
    snapshot = snapshot or versions.snapshot(proposal, number=len(proposal.versions) + 1, now=utcnow())
    sheet = facts(proposal, snapshot)
    warnings, blocks, broken = [], [], []
    steps: dict[int, StepPlan] = {}
    for rule in db.session.scalars(
        sa.select(ApprovalRule).where(ApprovalRule.active.is_(True)).order_by(ApprovalRule.id)
    ):
        try:
            ok, reasons = engine.matches(rule.conditions, rule.combinator, sheet)
        except engine.RuleProblem as exc:
            broken.append((rule, str(exc)))
            continue
        if not ok:
            continue
        if rule.kind == RuleKind.WARNING.value:
            warnings.append((rule, reasons))
        elif rule.kind == RuleKind.BLOCK.value:
            blocks.append((rule, reasons))
        else:
            step = steps.setdefault(rule.step, StepPlan(rule.step, "any"))
            if rule.step_mode == "all":
                step.mode = "all"
            step.approvals.append((rule, approver_label(rule.approver_role, rule.approver_user), reasons))
    plan = Plan(warnings, blocks, [steps[n] for n in sorted(steps)], broken)
    if submitter is not None:
        authors = _authors_so_far(proposal) | {submitter.id}
        plan.stuck = [(step.step, why) for step in plan.steps if (why := _undecidable(step, authors))]
    return plan


def try_rule(data: RuleData) -> tuple[list[Proposal], int]:
    """The open proposals a rule (saved or not) would apply to, and how many open proposals there are."""
    # Only the conditions matter for a trial (a missing name or step does not).
    if problems := check_rule(data).errors.get("conditions"):
        raise ValidationFailed({"conditions": list(problems)})
    open_ = db.session.scalars(
        sa.select(Proposal).where(
            Proposal.deleted_at.is_(None),
            Proposal.status.in_([s.value for s in (S.DRAFT, S.SUBMITTED, S.REJECTED, S.APPROVED, S.SENT)]),
        )
    ).all()
    hits = []
    for proposal in open_:
        snapshot = versions.snapshot(proposal, number=0, now=utcnow())
        ok, _ = engine.matches(data.conditions, data.combinator, facts(proposal, snapshot))
        if ok:
            hits.append(proposal)
    return hits, len(open_)


# -- Submission and decisions ---------------------------------------------------------------------


def submit(proposal: Proposal, *, actor: User, now: datetime, acknowledged: bool, render: dict | None = None):
    """Freeze a version, check it against the rules, and start its first approval step (or approve
    it at once when no rule asks for approval)."""
    access.require_edit(actor, proposal)
    if not proposal.lines:
        raise ValidationFailed({"submit": ["Add at least one line before submitting."]})
    from app.clock import publisher_today
    from app.workflow import changes

    if (order := changes.order_of(proposal)) is not None:
        changes.check_change(proposal, order, today=publisher_today()).raise_if_any()
    registry.check_before_submit(
        proposal, today=publisher_today(), make_good_days=current_app.config["MAKE_GOOD_WINDOW_DAYS"]
    ).raise_if_any()
    plan = plan_for(proposal, submitter=actor)
    if plan.blocks:
        raise ValidationFailed({"submit": [f"{rule.message} ({'; '.join(reasons)})" for rule, reasons in plan.blocks]})
    if plan.stuck:
        raise ValidationFailed({"submit": [stuck_message(step, why) for step, why in plan.stuck]})
    if plan.warnings and not acknowledged:
        raise ValidationFailed({"acknowledge": ["Read the warnings and tick the box to submit anyway."]})
    version = versions.freeze_version(
        proposal, actor=actor, now=now, render=render, publisher_name=current_app.config["PUBLISHER_NAME"]
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
                reasons=reasons,
                status=RequestStatus.PENDING.value if n == 0 else RequestStatus.WAITING.value,
                created_at=now,
                pending_since=now if n == 0 else None,
            )
            if why := _hand_to_admins(rule, authors):
                # Nobody decides a version they built: the admins decide instead.
                request.approver_user_id, request.approver_role = None, Role.ADMIN.value
                request.reasons = [*reasons, f"{why}: an admin decides"]
            db.session.add(request)
    db.session.flush()
    _advance(proposal, version.id, actor=actor, now=now)
    if proposal.status == S.SUBMITTED.value:
        notify.approvers_asked(
            [r for r in requests_of(proposal, version.id) if r.status == RequestStatus.PENDING.value], now=now
        )
    return version


def requests_of(proposal: Proposal, version_id: int | None = None) -> list[ApprovalRequest]:
    query = sa.select(ApprovalRequest).where(ApprovalRequest.proposal_id == proposal.id)
    if version_id is not None:
        query = query.where(ApprovalRequest.version_id == version_id)
    return list(
        db.session.scalars(query.order_by(ApprovalRequest.version_id, ApprovalRequest.step, ApprovalRequest.id))
    )


def _advance(proposal: Proposal, version_id: int, *, actor: User | None, now: datetime) -> list[ApprovalRequest]:
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
    from app.clock import publisher_today
    from app.workflow import changes

    if changes.order_of(proposal) is not None:
        order = changes.apply_change_order(
            proposal, now=now, today=publisher_today(), margin_pct=current_app.config["SAFETY_MARGIN_PCT"]
        )
        notify.rep_told(
            proposal, "Change order applied", f"The change is approved and applied to {order.number}.", now=now
        )
        return []
    notify.rep_told(proposal, "Approved", "Every approval step said yes: the proposal can go to the buyer.", now=now)
    return []


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


def _building(proposal_id, until=None):
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
        .where(*_building(proposal_id, version.created_at), AuditEvent.actor_id.is_not(None))
        .distinct()
    )
    return {proposal.owner_id, version.created_by_id, *actors} - {None}


def _authors_so_far(proposal: Proposal) -> set[int]:
    """Everyone who has built the draft so far (the next version's authors, but for its submitter)."""
    actors = db.session.scalars(
        sa.select(AuditEvent.actor_id).where(*_building(proposal.id), AuditEvent.actor_id.is_not(None)).distinct()
    )
    return {proposal.owner_id, *actors} - {None}


def _active_holders(role: str) -> list[int]:
    return db.session.scalars(
        sa.select(User.id).join(UserRole).where(UserRole.role == role, User.active.is_(True))
    ).all()


def _undecidable(step: StepPlan, authors: set[int]) -> str | None:
    """Why nobody could decide the step on a version these people built (None: somebody could).
    A step of "any" needs one of its rules decidable, a step of "all" every one."""
    whys = []
    for rule, _label, _reasons in step.approvals:
        handed = _hand_to_admins(rule, authors)
        if rule.approver_user_id is not None and not handed:
            whys.append(None)
            continue
        role = Role.ADMIN.value if handed else rule.approver_role
        if role is None or set(_active_holders(role)) - authors:
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


def _hand_to_admins(rule: ApprovalRule, authors: set[int]) -> str | None:
    """Why the admins decide instead of the rule's approver (None: they do not): a named approver
    who built the version, or a group every active member of which built it."""
    if rule.approver_user_id is not None:
        return f"{rule.approver_user.name} built this version" if rule.approver_user_id in authors else None
    if rule.approver_role is None or rule.approver_role == Role.ADMIN.value:
        return None
    if set(_active_holders(rule.approver_role)) <= authors:
        return f"every {ROLE_LABELS[Role(rule.approver_role)].lower()} built this version"
    return None


def can_decide(user: User, request: ApprovalRequest) -> bool:
    """The request's approver (the named user, or a member of its group), who built no part of the
    version under decision."""
    if user.id in authors_of(request.proposal_id, request.version):
        return False
    if request.approver_user_id is not None:
        return request.approver_user_id == user.id
    return user.has_role(Role(request.approver_role)) if request.approver_role else False


def decide(request: ApprovalRequest, *, approve: bool, comment: str, actor: User, now: datetime) -> None:
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
    request.decided_by_id, request.decided_at, request.comment = actor.id, now, comment
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
        notify.approvers_asked(_advance(proposal, request.version_id, actor=actor, now=now), now=now)
        if proposal.status == S.SUBMITTED.value:
            notify.rep_told(
                proposal,
                f"Step {request.step} approved",
                f"{actor.name} approved step {request.step} ({request.rule_name})"
                + (f": {comment}" if comment else "."),
                now=now,
            )
        return
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
    )


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


def queue_for(user: User) -> list[ApprovalRequest]:
    """Pending requests the user may decide, oldest first (never on a version they built)."""
    roles = [r.value for r in user.role_set]
    built = (
        sa.select(AuditEvent.id)
        .where(*_building(ApprovalRequest.proposal_id, ProposalVersion.created_at), AuditEvent.actor_id == user.id)
        .exists()
    )
    query = (
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
        .order_by(ApprovalRequest.pending_since, ApprovalRequest.id)
    )
    return list(db.session.scalars(query))


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


# -- Reminders, escalation, expiry (meant for cron) ----------------------------------------------


def remind(*, now: datetime) -> tuple[int, int]:
    """Remind approvers of requests waiting longer than APPROVAL_REMIND_HOURS; after
    APPROVAL_ESCALATE_HOURS, tell the next level (the admins). Returns (reminded, escalated)."""
    from datetime import timedelta

    remind_after = timedelta(hours=current_app.config["APPROVAL_REMIND_HOURS"])
    escalate_after = timedelta(hours=current_app.config["APPROVAL_ESCALATE_HOURS"])
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
            notify.escalated(request, [a for a in admins if a.id not in authors], waited=waited, now=now)
            request.escalated_at = now
            escalated += 1
        elif waited >= remind_after and request.reminded_at is None:
            notify.approvers_asked([request], now=now, reminder=True)
            request.reminded_at = now
            reminded += 1
    return reminded, escalated


def expire(*, now: datetime, today) -> int:
    """Proposals whose offer expired before the buyer signed: their holds are released."""
    # Offers that are out (a draft or a rejected proposal is the rep's to change or delete).
    open_statuses = [s.value for s in (S.SUBMITTED, S.APPROVED, S.SENT)]
    found = db.session.scalars(
        sa.select(Proposal).where(
            Proposal.deleted_at.is_(None),
            Proposal.expires_on < today,
            Proposal.status.in_(open_statuses),
            # a change order's proposal is already signed: the offer's expiry no longer applies
            ~sa.select(Order.id).where(Order.proposal_id == Proposal.id).exists(),
        )
    ).all()
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
