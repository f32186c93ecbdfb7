"""`flask mail deliver`: send the queued e-mail; meant for cron, every few minutes."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.db import utcnow
from app.mail import queries
from app.mail.models import MailStatus
from app.mail.service import deliver_pending
from app.mail.views import mail_settings

mail_cli = AppGroup("mail", help="The e-mail outbox.")


@mail_cli.command("deliver")
@click.option("--limit", default=500, show_default=True, type=click.IntRange(min=1), help="Most messages to try.")
def deliver_command(limit: int) -> None:
    """Send queued e-mail, oldest first, retrying those that failed before.

    A message that keeps failing is marked failed after MAIL_MAX_ATTEMPTS attempts. Web requests
    deliver their own mail as they commit; this catches up on what could not go out then.
    """
    sent, not_sent = deliver_pending(settings=mail_settings(), now=utcnow(), limit=limit)
    waiting = queries.count_by_status().get(MailStatus.QUEUED.value, 0)
    click.echo(f"{sent} sent, {not_sent} not sent; {waiting} still queued.", err=bool(not_sent))
