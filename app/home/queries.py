"""What the home page's sections read beside the accounts' queries."""

from __future__ import annotations

import sqlalchemy as sa

from app.auth.models import User
from app.catalog.models import AdUnit
from app.extensions import db


def active_unit_counts() -> list[tuple[str, int]]:
    """(level, how many active ad units) for each level of the tree."""
    return db.session.execute(
        sa.select(AdUnit.level, sa.func.count()).where(AdUnit.status == "active").group_by(AdUnit.level)
    ).all()


def users_for_admin() -> list[User]:
    """Every user, the active ones first, by name."""
    return list(db.session.scalars(sa.select(User).order_by(User.active.desc(), User.name)))
