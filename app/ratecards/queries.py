"""Rate cards as the other domains read them."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from app.auth.models import User
from app.catalog.models import Status
from app.extensions import db
from app.ratecards.models import (
    RateCard,
)
from app.roles import Role


def cards_for(user: User, *, on: date, and_later: bool = False) -> list[RateCard]:
    """Active cards valid on `on` that `user` may price with; with `and_later`, also the cards that
    start after `on` (next year's), after the current ones, by when they start."""
    valid = [RateCard.status == Status.ACTIVE.value, RateCard.valid_to >= on]
    if not and_later:
        valid.append(RateCard.valid_from <= on)
    cards = db.session.scalars(sa.select(RateCard).where(*valid).order_by(RateCard.name)).all()
    roles = {r.value for r in user.role_set}
    usable = [c for c in cards if not c.allowed_roles or roles & set(c.allowed_roles) or Role.ADMIN in user.role_set]

    def order(card: RateCard) -> tuple:
        # Today's cards first, then later ones as they start; among cards of one period, those for
        # everyone (the standard card) come first: they are the default choice.
        starts = max(card.valid_from, on)
        return (starts, bool(card.allowed_roles), card.name)

    return sorted(usable, key=order)
