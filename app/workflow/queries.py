"""Reads for the workflow's pages."""

from __future__ import annotations

import sqlalchemy as sa

from app.auth.models import User
from app.extensions import db
from app.workflow.models import ApprovalRule


def rules_in_order() -> list[ApprovalRule]:
    """The approval rules as the rules page lists them: by kind, step and name."""
    return list(
        db.session.scalars(sa.select(ApprovalRule).order_by(ApprovalRule.kind, ApprovalRule.step, ApprovalRule.name))
    )


def active_users() -> list[User]:
    """Who a rule may name as its approver."""
    return list(db.session.scalars(sa.select(User).where(User.active.is_(True)).order_by(User.name)))
