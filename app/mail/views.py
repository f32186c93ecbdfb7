"""The outbox pages (admins only)."""

from __future__ import annotations

import io

from flask import Blueprint, current_app, render_template, request, send_file, url_for
from flask.blueprints import BlueprintSetupState

from app.access import allow
from app.db import utcnow
from app.errors import NotFound
from app.extensions import current_settings, db
from app.mail import queries, service
from app.mail.models import MailStatus, OutboxMessage
from app.mail.transport import MailSettings
from app.roles import Role
from app.validation import page_number

bp = Blueprint("mail", __name__, url_prefix="/mail")

#: Where create_app keeps the SMTP settings, read once at start-up.
MAIL_SETTINGS = "flightdeck.mail_settings"

#: related_type -> (endpoint, its id argument): where "what the mail is about" links to.
RELATED_PAGES = {
    "proposal": ("proposals.detail", "proposal_id"),
    "account": ("accounts.detail", "account_id"),
}


@bp.record_once
def check_settings(state: BlueprintSetupState) -> None:
    """Refuse to start with mail settings that could never work, rather than fail at every send;
    keep them (read once, at start-up) and deliver each unit of work's mail after its commit."""
    settings = MailSettings.from_config(state.app.config)
    if problems := settings.problems():
        raise RuntimeError("; ".join(problems))
    state.app.extensions[MAIL_SETTINGS] = settings
    if deliver_once_committed not in service.deliverers:
        service.deliverers.append(deliver_once_committed)


def mail_settings() -> MailSettings:
    """The running app's SMTP settings, for the after-commit delivery and the CLI."""
    return current_app.extensions[MAIL_SETTINGS]


def deliver_once_committed() -> None:
    """Deliver the mail a unit of work queued, with the running app's SMTP settings."""
    service.deliver_pending(settings=mail_settings(), now=utcnow())


@bp.route("/outbox")
@allow(Role.ADMIN)
def outbox():
    status = request.args.get("status", "")
    status = status if status in set(MailStatus) else ""
    page = db.paginate(
        queries.outbox_newest_first(status),
        page=page_number(request.args),
        per_page=current_settings().page_size,
        error_out=False,
    )
    return render_template(
        "mail/outbox.html",
        page=page,
        status=status,
        statuses=list(MailStatus),
        counts=queries.count_by_status(),
        mail_server=current_app.config["MAIL_SERVER"],
    )


@bp.route("/outbox/<int:message_id>")
@allow(Role.ADMIN)
def message(message_id: int):
    message = _message(message_id)
    return render_template(
        "mail/message.html",
        message=message,
        sender=current_app.config["MAIL_FROM"],
        related_link=_related_link(message),
    )


@bp.route("/outbox/<int:message_id>/attachment")
@allow(Role.ADMIN)
def attachment(message_id: int):
    message = _message(message_id)
    described = message.attachment
    if described is None or message.attachment_data is None:
        raise NotFound("This message has no attachment.")
    response = send_file(
        io.BytesIO(message.attachment_data),
        mimetype=described["mimetype"],
        as_attachment=True,
        download_name=described["filename"],
        etag=described["sha256"],
    )
    response.headers["X-Content-SHA256"] = described["sha256"]
    return response


def _message(message_id: int) -> OutboxMessage:
    message = db.session.get(OutboxMessage, message_id)
    if message is None:
        raise NotFound("There is no such message in the outbox.")
    return message


def _related_link(message: OutboxMessage) -> str | None:
    page = RELATED_PAGES.get(message.related_type or "")
    if page is None or message.related_id is None:
        return None
    endpoint, argument = page
    return url_for(endpoint, **{argument: message.related_id})
