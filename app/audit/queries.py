"""Reads of the audit log for its pages."""

from __future__ import annotations

import sqlalchemy as sa

from app.audit.models import AuditEvent


def events(entity_type: str | None = None) -> sa.Select:
    """Every entry, newest first; only one kind of record's when `entity_type` is given."""
    query = sa.select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    return query if entity_type is None else query.where(AuditEvent.entity_type == entity_type)


def history_of(entity_type: str, entity_id: int) -> sa.Select:
    """One record's entries, newest first."""
    return events(entity_type).where(AuditEvent.entity_id == entity_id)
