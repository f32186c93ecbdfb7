"""Form nonces: a create form sent twice (a double click, a resent POST) makes one record.

Each create form carries a random nonce in a hidden field. The first submission takes it in the
same transaction as the record it creates, and stores where that record is shown; a second
submission with the same nonce finds it taken and goes there instead of creating another. Two at
the very same moment meet on the primary key: PostgreSQL makes the second wait for the first's
commit, SQLite's write lock does the same. Nonces are forgotten after a day.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from app.db import UTCDateTime
from app.extensions import db

#: How long a used nonce is remembered: longer than anyone keeps a form open and sends it again.
KEEP = timedelta(days=1)
#: What `secrets.token_urlsafe` makes; anything else in the field is ignored.
NONCE = re.compile(r"[A-Za-z0-9_-]{16,64}")
#: The longest address a resend can be sent back to (a longer one is never remembered).
URL_LENGTH = 500


class FormNonce(db.Model):
    __tablename__ = "form_nonces"

    nonce: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    #: the path the form was posted to: the same nonce sent by another form is refused, not redirected
    action: Mapped[str] = mapped_column(sa.String(500), default="", server_default="")
    #: where the record the first submission created is shown
    url: Mapped[str] = mapped_column(sa.String(URL_LENGTH), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


def claim(nonce: str, *, user_id: int, action: str, now: datetime) -> FormNonce | str:
    """Take `nonce` for this transaction (the row, whose `url` the caller sets once the record
    exists), or, when an earlier submission of the same form (`action`, where it posts) took it, the
    URL of what that one created ("" when the nonce is someone else's or came with another form)."""
    db.session.execute(sa.delete(FormNonce).where(FormNonce.created_at < now - KEEP))
    row = FormNonce(nonce=nonce, user_id=user_id, action=action[:500], url="", created_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except IntegrityError:
        earlier = db.session.scalar(sa.select(FormNonce).where(FormNonce.nonce == nonce))
        same_form = earlier is not None and earlier.user_id == user_id and earlier.action == action[:500]
        return earlier.url if same_form else ""
    return row
