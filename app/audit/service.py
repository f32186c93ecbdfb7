"""Writing to the audit log. Every state change of a domain object calls `record`."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.audit.models import AuditEvent
from app.extensions import db

if TYPE_CHECKING:
    from app.auth.models import User


def _plain(value: Any) -> Any:
    """A JSON-safe form of a field value (money stays exact, as a string)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict, dict]:
    """The fields whose values differ, as (before, after) dicts of JSON-safe values."""
    keys = [k for k in after if _plain(before.get(k)) != _plain(after.get(k))]
    keys += [k for k in before if k not in after]
    return {k: _plain(before.get(k)) for k in keys}, {k: _plain(after.get(k)) for k in keys}


def record(
    *,
    actor: User | None,
    entity_type: str,
    entity_id: int,
    action: str,
    at: datetime,
    summary: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    actor_label: str | None = None,
) -> AuditEvent:
    """Append one event. Flushes with the caller's change, so both commit or neither does."""
    event_ = AuditEvent(
        at=at,
        actor_id=actor.id if actor else None,
        actor_label=actor_label or (actor.name if actor else "system"),
        entity_type=entity_type,
        entity_id=entity_id,
        action=action,
        summary=summary,
        before=_plain(before) if before else None,
        after=_plain(after) if after else None,
    )
    db.session.add(event_)
    return event_


def record_change(
    *,
    actor: User | None,
    entity_type: str,
    entity_id: int,
    at: datetime,
    before: dict[str, Any],
    after: dict[str, Any],
    action: str = "updated",
    labels: dict[str, str] | None = None,
) -> AuditEvent | None:
    """Record an update with only the fields that changed; nothing when nothing changed."""
    old, new = changed_fields(before, after)
    if not new and not old:
        return None
    labels = labels or {}
    names = ", ".join(labels.get(k, k.replace("_", " ")) for k in new)
    return record(
        actor=actor,
        entity_type=entity_type,
        entity_id=entity_id,
        action=action,
        at=at,
        summary=f"Changed {names}.",
        before=old,
        after=new,
    )


def events_for(entity_type: str, entity_id: int) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == entity_id)
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        )
    )


class AuditLogIsAppendOnly(RuntimeError):
    pass


@event.listens_for(Session, "before_flush")
def _refuse_audit_rewrites(session: Session, flush_context, instances) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEvent) and (obj in session.deleted or session.is_modified(obj)):
            raise AuditLogIsAppendOnly("audit events are never changed or deleted")
