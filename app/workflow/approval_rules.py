"""Approval rules: the rules admins configure (warnings, blocks, approval steps), the facts a
version is judged on, and the plan a rep sees before submitting (which rules apply, and why).
Services flush; the request commits."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from app.audit.service import record, record_change
from app.auth.models import User
from app.catalog.models import Product
from app.db import Unchecked, name_taken, stale, utcnow
from app.errors import Conflict, Errors, ValidationFailed
from app.extensions import db
from app.proposals import versions
from app.proposals.models import Proposal, ProposalStatus
from app.proposals.snapshot import VersionSnapshot
from app.roles import ROLE_LABELS, Role
from app.validation import clean_line, line_problem
from app.workflow import conditions as engine
from app.workflow.authors import active_holders, authors_so_far, undecidable
from app.workflow.models import ApprovalRule, RuleKind

S = ProposalStatus


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


def facts(proposal: Proposal, snapshot: VersionSnapshot, *, standard_terms: str) -> dict:
    products = {
        p.id: {"category": p.category, "line_item_type": p.line_item_type}
        for p in db.session.execute(sa.select(Product.id, Product.category, Product.line_item_type))
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
        standard_terms=standard_terms,
        products=products,
    )


@dataclass
class StepPlan:
    step: int
    mode: str
    #: (rule, approver label, every condition the rule looked at with its value, in words)
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


def plan_for(
    proposal: Proposal, snapshot: VersionSnapshot | None = None, *, standard_terms: str, submitter: User | None = None
) -> Plan:
    """Which rules apply to the proposal as it stands (or to a version's snapshot), and why; with a
    submitter, also which steps nobody could decide if they submitted it now."""
    snapshot = snapshot or versions.snapshot(proposal, number=len(proposal.versions) + 1, now=utcnow())
    sheet = facts(proposal, snapshot, standard_terms=standard_terms)
    warnings, blocks, broken = [], [], []
    steps: dict[int, StepPlan] = {}
    for rule in db.session.scalars(
        sa.select(ApprovalRule).where(ApprovalRule.active.is_(True)).order_by(ApprovalRule.id)
    ):
        try:
            ok, reasons, looked_at = engine.evaluate(rule.conditions, rule.combinator, sheet)
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
            # The approver reads every fact the rule weighed, not only what made it match.
            step.approvals.append((rule, approver_label(rule.approver_role, rule.approver_user), looked_at))
    plan = Plan(warnings, blocks, [steps[n] for n in sorted(steps)], broken)
    if submitter is not None:
        authors = authors_so_far(proposal) | {submitter.id}
        holders = functools.cache(active_holders)
        plan.stuck = [(step.step, why) for step in plan.steps if (why := undecidable(step, authors, holders))]
    return plan


def try_rule(data: RuleData, *, standard_terms: str) -> tuple[list[Proposal], int]:
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
        ok, _ = engine.matches(
            data.conditions, data.combinator, facts(proposal, snapshot, standard_terms=standard_terms)
        )
        if ok:
            hits.append(proposal)
    return hits, len(open_)
