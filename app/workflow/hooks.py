"""What workflow registers with the domains beneath it, at start-up (`create_app`)."""

from __future__ import annotations

from app.audit.subjects import Subject, register_subject
from app.workflow.models import ApprovalRule


def register() -> None:
    register_subject("approval_rule", Subject(ApprovalRule, "workflow.edit_rule", "rule_id"))
