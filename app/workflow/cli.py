"""`flask workflow remind` and `flask workflow expire`, meant for cron."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.db import utcnow
from app.extensions import current_clock, current_settings, db
from app.formats import ngettext
from app.mail.service import deliver_pending
from app.mail.views import mail_settings
from app.transaction import after_commit, in_transaction
from app.workflow.reminders import expire, remind

workflow_cli = AppGroup("workflow", help="Approval reminders and offer expiry.")


@workflow_cli.command("remind")
@in_transaction(db.session)
def remind_command() -> None:
    """Remind approvers of old requests; escalate the oldest to the admins."""
    reminded, escalated = remind(now=utcnow(), settings=current_settings())
    after_commit(db.session, lambda: deliver_pending(settings=mail_settings(), now=utcnow(), limit=500))
    click.echo(f"{reminded} reminded, {escalated} escalated.")


@workflow_cli.command("expire")
@in_transaction(db.session)
def expire_command() -> None:
    """Close proposals whose offer expired and release their holds."""
    count = expire(now=utcnow(), today=current_clock().today())
    click.echo(ngettext("%(num)s proposal expired.", "%(num)s proposals expired.", count))
