"""The outbox pages (admins only), and the hook that delivers a request's mail after its commit."""

from __future__ import annotations

import io

from flask import Blueprint, Response, current_app, render_template, request, send_file, url_for
from flask.blueprints import BlueprintSetupState

from app.access import allow
from app.auth.roles import Role
from app.db import utcnow
from app.errors import NotFound
from app.extensions import db
from app.mail import queries
from app.mail.models import MailStatus, OutboxMessage
from app.mail.service import QUEUED_IN_SESSION, deliver_pending
from app.mail.transport import MailSettings
from app.validation import page_number

bp = Blueprint("mail", __name__, url_prefix="/mail")

#: related_type -> (endpoint, its id argument): where "what the mail is about" links to.
RELATED_PAGES = {
    "proposal": ("proposals.detail", "proposal_id"),
    "account": ("accounts.detail", "account_id"),
}


@bp.record_once
def check_settings(state: BlueprintSetupState) -> None:
    """Refuse to start with mail settings that could never work, rather than fail at every send."""
    problems = MailSettings.from_config(state.app.config).problems()
    if problems:
        raise RuntimeError("; ".join(problems))


@bp.after_app_request
def deliver_after_request(response: Response) -> Response:
    """Deliver the mail this request queued, right after the view's commit, without the view asking.

    Does nothing unless `queue` ran during the request. What the view left uncommitted is rolled
    back first, as the end of the request would do anyway: delivery commits, and must commit its
    own changes only. A failure is logged and never changes the response; the messages stay
    queued for `flask mail deliver`. The sending happens before the response leaves, so the
    request waits for it (with one mail server round trip per message, MAIL_TIMEOUT_SECONDS at
    the most when the server is down).
    """
    if not db.session.info.pop(QUEUED_IN_SESSION, False):
        return response
    try:
        db.session.rollback()
        deliver_pending(now=utcnow())
    except Exception:
        current_app.logger.exception("E-mail delivery after %s %s failed", request.method, request.path)
        db.session.rollback()
    return response


@bp.route("/outbox")
@allow(Role.ADMIN)
def outbox():
    status = request.args.get("status", "")
    status = status if status in set(MailStatus) else ""
    page = db.paginate(
        queries.outbox_newest_first(status),
        page=page_number(request.args),
        per_page=current_app.config["PAGE_SIZE"],
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
