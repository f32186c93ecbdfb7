"""What auth registers with the domains beneath it, at start-up (`create_app`)."""

from __future__ import annotations

from app.audit.subjects import Subject, register_subject
from app.auth.models import User


def register() -> None:
    register_subject("user", Subject(User, "auth.edit_user", "user_id"))
