"""E-mail through an outbox: queued in the caller's transaction, delivered after it commits.

A change and the mail that reports it commit together or not at all; sending happens only once
the change is safe, and a failed send is retried from the row instead of being lost.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa

from app.errors import Errors
from app.extensions import db
from app.mail.models import MailStatus, OutboxMessage
from app.mail.transport import MAX_ERROR_LENGTH, MailSettings, MessageRefused, ServerUnreachable, compose, transport_for
from app.transaction import after_commit, rollback, transaction
from app.validation import length_problem, normalise_email

MAX_RECIPIENTS = 50
#: Most mail servers refuse messages past 25 MB; base64 adds a third.
MAX_ATTACHMENT_BYTES = 15 * 1024 * 1024
_MIMETYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,62}/[a-z0-9][a-z0-9!#$&^_.+-]{0,62}")
_UNSAFE_FILENAME = re.compile(r"[\x00-\x1f\x7f/\\]")


def queue(
    *,
    to: list[str],
    subject: str,
    text: str,
    html: str | None = None,
    attachment: tuple[str, str, bytes] | None = None,
    related: tuple[str, int] | None = None,
    now: datetime,
) -> OutboxMessage:
    """Write a message to the outbox in the caller's transaction (flushed, not committed).

    `attachment` is (filename, mimetype, bytes); `related` is what the mail is about, such as
    ("proposal", 12), for that record's timeline. Every problem is reported at once, by field.
    """
    if isinstance(to, str):
        raise TypeError("`to` is a list of addresses, not one string")
    errors = Errors()
    addresses = _recipients(to, errors)
    subject = " ".join((subject or "").split())  # one header line, whatever the caller built it from
    if problem := length_problem(subject, label="subject", max_length=300):
        errors.add("subject", problem)
    if not (text or "").strip():
        errors.add("text", "Enter the text of the e-mail.")
    for field, value in (("subject", subject), ("text", text), ("html", html)):
        if value and "\x00" in value:
            errors.add(field, "It contains a NUL character, which no e-mail may.")
    described, data = _attachment(attachment, errors)
    if related is not None:
        kind, related_id = related
        if not kind or len(kind) > 40 or not isinstance(related_id, int) or related_id < 1:
            errors.add("related", "Give what the mail is about as (a kind of record of 1 to 40 characters, its id).")
    errors.raise_if_any()

    message = OutboxMessage(
        created_at=now,
        to_addresses=addresses,
        subject=subject,
        text=text,
        html=html or None,
        attachments=[described] if described else [],
        attachment_data=data,
        related_type=related[0] if related else None,
        related_id=related[1] if related else None,
        status=MailStatus.QUEUED.value,
        attempts=0,
    )
    db.session.add(message)
    db.session.flush()
    after_commit(db.session, _deliver_queued)
    return message


def _recipients(to: list[str], errors: Errors) -> list[str]:
    if not to:
        errors.add("to", "Give at least one recipient.")
    elif len(to) > MAX_RECIPIENTS:
        errors.add("to", f"At most {MAX_RECIPIENTS} recipients per message (this one has {len(to)}).")
    addresses: list[str] = []
    for raw in to or []:
        address, problem = normalise_email(raw)
        if problem:
            errors.add("to", f"“{raw}”: {problem}")
        elif address not in addresses:
            addresses.append(address)
    return addresses


def _attachment(attachment: tuple[str, str, bytes] | None, errors: Errors) -> tuple[dict | None, bytes | None]:
    if attachment is None:
        return None, None
    filename, mimetype, data = attachment
    mimetype = (mimetype or "").strip().lower()
    if not filename or len(filename) > 200 or _UNSAFE_FILENAME.search(filename):
        errors.add("attachment", "Name the file in 1 to 200 characters, without slashes or control characters.")
    if not _MIMETYPE.fullmatch(mimetype):
        errors.add("attachment", f"“{mimetype}” is not a media type such as application/pdf.")
    if not isinstance(data, bytes) or not data:
        errors.add("attachment", "The attached file is empty.")
    elif len(data) > MAX_ATTACHMENT_BYTES:
        errors.add("attachment", f"The attached file is larger than {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB.")
    if errors:
        return None, None
    described = {
        "filename": filename,
        "mimetype": mimetype,
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
    }
    return described, data


#: What delivers the mail a unit of work queued, right after its commit: filled in at start-up by
#: the mail blueprint (`deliver_once_committed`), which holds the app's SMTP settings. Empty: the
#: messages wait for `flask mail deliver`.
deliverers: list[Callable[[], None]] = []


def _deliver_queued() -> None:
    """Registered by `queue` to run after the commit.

    A failure is logged by the unit of work and never changes its answer; the messages stay queued
    for `flask mail deliver`. The sending happens before a web answer leaves, so the request waits
    for it (one mail server round trip per message, MAIL_TIMEOUT_SECONDS at the most when the
    server is down).
    """
    for deliver in deliverers:
        deliver()


def deliver_pending(*, settings: MailSettings, now: datetime, limit: int = 50) -> tuple[int, int]:
    """Send up to `limit` queued messages, oldest first; (sent, not sent) in this run.

    One transaction per message, so it runs after the request's own commit (`deliver_once_committed`)
    or from `flask mail deliver`. A failed message stays queued
    for the next run until MAIL_MAX_ATTEMPTS, then is failed. When the server cannot be reached
    the run stops at the first message: the rest wait for the next run instead of each waiting
    out the timeout. Without MAIL_SERVER every message is marked sent at once.
    """
    transport = transport_for(settings)
    sent = not_sent = 0
    after_id = 0
    try:
        while sent + not_sent < limit:
            with transaction(db.session):
                message = _claim_next(after_id=after_id)
                if message is None:
                    break
                after_id = message.id
                try:
                    refused = transport.send(compose(message, sender=settings.sender))
                except (ServerUnreachable, MessageRefused) as exc:
                    _record_failure(message, str(exc), settings.max_attempts)
                    failure: Exception | None = exc
                else:
                    failure = None
                    message.status = MailStatus.SENT.value
                    message.sent_at = now
                    if refused:
                        message.last_error = _clip(
                            "Sent, but refused for: " + "; ".join(f"{a} ({why})" for a, why in refused.items())
                        )
            if failure is None:
                sent += 1
                continue
            not_sent += 1
            if isinstance(failure, ServerUnreachable):
                break
    finally:
        transport.close()
    return sent, not_sent


def _claim_next(*, after_id: int) -> OutboxMessage | None:
    """The oldest queued message after `after_id` that no other worker holds, with its attempt counted.

    PostgreSQL: FOR UPDATE SKIP LOCKED gives each row to one worker; the row stays locked until
    the commit that records the outcome. SQLite ignores FOR UPDATE; there the guarded UPDATE takes
    the database's write lock, so a second worker waits for the first one's commit and then finds
    the attempt count changed, instead of sending the same message again. If it waits too long
    ("database is locked"), it stops its run: the other worker is delivering.
    """
    queued = OutboxMessage.status == MailStatus.QUEUED.value
    while True:
        message = db.session.scalars(
            sa.select(OutboxMessage)
            .where(queued, OutboxMessage.id > after_id)
            .order_by(OutboxMessage.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        ).first()
        if message is None:
            return None
        try:
            claimed = db.session.execute(
                sa.update(OutboxMessage)
                .where(OutboxMessage.id == message.id, queued, OutboxMessage.attempts == message.attempts)
                .values(attempts=OutboxMessage.attempts + 1)
            ).rowcount
        except sa.exc.OperationalError:
            rollback(db.session)
            return None
        if claimed == 1:
            return message
        rollback(db.session)  # another worker sent it meanwhile: look further on
        after_id = message.id


def _record_failure(message: OutboxMessage, error: str, max_attempts: int) -> None:
    message.last_error = _clip(error)
    if message.attempts >= max_attempts:
        message.status = MailStatus.FAILED.value


def _clip(text: str) -> str:
    return text[:MAX_ERROR_LENGTH]
