"""What workflow registers with the domains beneath it, at start-up (`create_app`): the approval
rules the audit pages name; for proposals, who may read one because they are asked to approve it, and
the approvals, signatures and submission plan on its page."""

from __future__ import annotations

import functools

import sqlalchemy as sa

from app.audit.subjects import Subject, register_subject
from app.auth.models import User
from app.db import utcnow
from app.extensions import db
from app.proposals import registry
from app.proposals.models import Proposal
from app.settings import Settings
from app.workflow import signing
from app.workflow.approval_rules import approver_label, plan_for
from app.workflow.models import ApprovalRequest, ApprovalRule, Signature
from app.workflow.service import requests_of


def register() -> None:
    register_subject("approval_rule", Subject(ApprovalRule, "workflow.edit_rule", "rule_id"))
    registry.readers["approver"] = asked_to_approve
    registry.page_panels["workflow"] = page_panel
    registry.builder_panels["workflow"] = builder_panel


def asked_to_approve(user: User, proposal: Proposal) -> bool:
    """Whether the user, or one of their roles, is asked to approve the proposal."""
    roles = [r.value for r in user.role_set]
    return bool(
        db.session.scalar(
            sa.select(ApprovalRequest.id)
            .where(
                ApprovalRequest.proposal_id == proposal.id,
                sa.or_(ApprovalRequest.approver_user_id == user.id, ApprovalRequest.approver_role.in_(roles)),
            )
            .limit(1)
        )
    )


def builder_panel(proposal: Proposal, user: User, *, editable: bool, settings: Settings) -> dict:
    """What submitting would need, shown under the lines while the rep can still change them."""
    return {
        "plan": plan_for(proposal, standard_terms=settings.standard_terms, submitter=user)
        if editable and proposal.lines
        else None
    }


def page_panel(proposal: Proposal, user: User, *, editable: bool) -> dict:
    """The proposal's approval requests and the buyer's signatures."""
    return {
        "signatures": db.session.scalars(sa.select(Signature).where(Signature.proposal_id == proposal.id)).all(),
        # an acceptance whose order the worker stopped trying to make (its page must not say "in a moment")
        "order_given_up": functools.partial(signing.order_given_up, now=utcnow()),
        "order_retry_days": signing.ORDER_RETRY_DAYS,
        "requests": requests_of(proposal),
        "approver": approver_label,
    }
