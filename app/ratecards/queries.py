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


def cards_for(user: User, *, on: date) -> list[RateCard]:
    """Active cards valid on `on` that `user` may price with."""
    cards = db.session.scalars(
        sa.select(RateCard)
        .where(RateCard.status == Status.ACTIVE.value, RateCard.valid_from <= on, RateCard.valid_to >= on)
        .order_by(RateCard.name)
    ).all()
    roles = {r.value for r in user.role_set}
    usable = [c for c in cards if not c.allowed_roles or roles & set(c.allowed_roles) or Role.ADMIN in user.role_set]
    # Cards for everyone (the standard card) come first: they are the default choice.
    return sorted(usable, key=lambda c: (bool(c.allowed_roles), c.name))
