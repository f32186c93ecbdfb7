"""What accounts registers with the domains beneath it, at start-up (`create_app`)."""

from __future__ import annotations

from app.accounts.models import Account
from app.audit.subjects import Subject, register_subject


def register() -> None:
    register_subject("account", Subject(Account, "accounts.detail", "account_id"))
