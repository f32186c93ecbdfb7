"""The audit log is append-only, in the ORM and in the database itself."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DatabaseError

from app.audit.models import AuditEvent
from app.audit.service import AuditLogIsAppendOnly, record
from app.extensions import db
from tests.conftest import now


def an_event() -> AuditEvent:
    event = record(actor=None, entity_type="account", entity_id=1, action="created", at=now(), summary="x")
    db.session.commit()
    return event


def test_the_orm_refuses_to_change_an_event(ctx):
    event = an_event()
    event.summary = "rewritten"
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.flush()


def test_the_orm_refuses_to_delete_an_event(ctx):
    event = an_event()
    db.session.delete(event)
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.flush()


@pytest.mark.parametrize("statement", ["UPDATE audit_events SET summary = 'x'", "DELETE FROM audit_events"])
def test_the_database_refuses_to_change_or_delete_events(ctx, statement):
    an_event()
    count = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))
    with pytest.raises(DatabaseError, match="append-only"):
        db.session.execute(sa.text(statement))
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == count
