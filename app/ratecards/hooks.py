"""What rate cards register with the domains beneath them, at start-up (`create_app`): the cards the
audit pages name, and the cards the catalog's product page lists."""

from __future__ import annotations

from app.audit.subjects import Subject, register_subject
from app.catalog import panels
from app.ratecards.models import RateCard
from app.ratecards.queries import cards_for


def register() -> None:
    register_subject("rate_card", Subject(RateCard, "ratecards.card", "card_id"))
    panels.register_rate_cards(cards_for)
