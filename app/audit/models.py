"""The append-only audit log."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import UTCDateTime
from app.extensions import db

if TYPE_CHECKING:
    # Auth writes to the audit log (sign-ins), so audit sits below auth and names its user by string.
    from app.auth.models import User


class AuditEvent(db.Model):
    """Who did what to which entity, when, with a before/after summary.

    Rows are only ever inserted: the ORM refuses updates and deletes (see `app.audit.service`) and
    the database does too, through triggers created by the migration.
    """

    __tablename__ = "audit_events"
    __table_args__ = (sa.Index("ix_audit_events_entity", "entity_type", "entity_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    #: The signed-in user; None for the system, a CLI command without a user, or a buyer.
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    #: How the actor is shown even if they are renamed later ("Ana Ruiz", "system", "buyer ...").
    actor_label: Mapped[str] = mapped_column(sa.String(200))
    #: "user", "account", "proposal", ...
    entity_type: Mapped[str] = mapped_column(sa.String(40))
    entity_id: Mapped[int]
    #: A short verb phrase: "created", "updated", "deactivated", ...
    action: Mapped[str] = mapped_column(sa.String(60))
    #: One readable sentence of what changed.
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    #: Field values before and after, only the fields that changed.
    before: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)

    actor: Mapped[User | None] = relationship("User", lazy="joined")
