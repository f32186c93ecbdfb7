"""What rate cards register with the domains beneath them, at start-up (`create_app`)."""

from __future__ import annotations

from app.audit.subjects import Subject, register_subject
from app.ratecards.models import RateCard


def register() -> None:
    register_subject("rate_card", Subject(RateCard, "ratecards.card", "card_id"))
