"""The outbox: every e-mail the app sends is first a row here, written with the change it reports."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import UTCDateTime
from app.extensions import db


class MailStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class OutboxMessage(db.Model):
    """One e-mail: queued in the transaction of the change it reports, sent after that commits.

    With no MAIL_SERVER configured (the embedded default) a message is marked sent without leaving
    the building, and admins read it on the outbox page.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (
        sa.Index("ix_outbox_messages_related", "related_type", "related_id"),
        sa.Index("ix_outbox_messages_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Normalised addresses, in the order given.
    to_addresses: Mapped[list[str]] = mapped_column(sa.JSON)
    subject: Mapped[str] = mapped_column(sa.String(300))
    text: Mapped[str] = mapped_column(sa.Text)
    #: An HTML alternative to `text`; None: plain text only.
    html: Mapped[str | None] = mapped_column(sa.Text)
    #: [{"filename", "mimetype", "sha256", "size"}]; empty or one entry, whose bytes are `attachment_data`.
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    #: Loaded only when asked for, so list pages never read the PDFs.
    attachment_data: Mapped[bytes | None] = mapped_column(sa.LargeBinary, deferred=True)
    #: What the mail is about ("proposal", 12), for that record's timeline; None for none.
    related_type: Mapped[str | None] = mapped_column(sa.String(40))
    related_id: Mapped[int | None]
    status: Mapped[str] = mapped_column(sa.String(20), default=MailStatus.QUEUED.value)
    #: Delivery attempts so far, successful or not.
    attempts: Mapped[int] = mapped_column(default=0)
    #: What the mail server (or the connection to it) said on the last failed attempt.
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def status_enum(self) -> MailStatus:
        return MailStatus(self.status)

    @property
    def attachment(self) -> dict[str, Any] | None:
        """The attachment's description (filename, mimetype, sha256, size), if there is one."""
        return self.attachments[0] if self.attachments else None
