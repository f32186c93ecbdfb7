"""Reading the outbox: the admin's list, and the mail sent about one record (for its timeline)."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.mail.models import MailStatus, OutboxMessage


def outbox_newest_first(status: str = "") -> sa.Select:
    """Every message, newest first; only those in `status` when it is one."""
    query = sa.select(OutboxMessage).order_by(OutboxMessage.id.desc())
    if status in set(MailStatus):
        query = query.where(OutboxMessage.status == status)
    return query


def count_by_status() -> dict[str, int]:
    rows = db.session.execute(sa.select(OutboxMessage.status, sa.func.count()).group_by(OutboxMessage.status))
    return {status: count for status, count in rows}


def messages_about(related_type: str, related_id: int) -> list[OutboxMessage]:
    """The mail queued about one record, oldest first, such as every e-mail about a proposal."""
    return list(
        db.session.scalars(
            sa.select(OutboxMessage)
            .where(OutboxMessage.related_type == related_type, OutboxMessage.related_id == related_id)
            .order_by(OutboxMessage.id)
        )
    )
