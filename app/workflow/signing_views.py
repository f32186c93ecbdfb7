"""The buyer's pages: no account, only the signed link from the e-mail."""

from __future__ import annotations

import functools

from flask import Blueprint, Response, render_template, request
from flask_wtf import FlaskForm

from app.access import public
from app.boundary import off_the_request
from app.db import utcnow
from app.errors import DomainError, ValidationFailed
from app.extensions import current_clock, current_settings, db
from app.proposals import versions
from app.proposals.pdf import logo_data_url
from app.proposals.snapshot import VersionSnapshot
from app.transaction import abandon
from app.workflow import signing

bp = Blueprint("signing", __name__, url_prefix="/sign")


@bp.record_once
def _make_orders_off_the_request(state) -> None:
    if make_order_off_the_request not in signing.order_makers:
        signing.order_makers.append(make_order_off_the_request)


def make_order_off_the_request(proposal_id: int) -> None:
    """After the commit of a buyer's acceptance, by BACKGROUND_WORK (`off_the_request`): the order
    made and booked in the background (the buyer's page answers at once, and the thread also makes
    any order a restart left unmade), by the worker, or before the answer leaves (tests)."""
    off_the_request(
        functools.partial(_make_orders, [proposal_id]),
        in_thread=functools.partial(_make_orders, [proposal_id], and_waiting=True),
        name=f"order-of-proposal-{proposal_id}",
    )


def _make_orders(proposal_ids: list[int], *, and_waiting: bool = False) -> None:
    """The accepted proposals' orders; `and_waiting`: then any other acceptance still without one
    (a thread cut short by a restart: the next acceptance makes its order, as a worker would)."""
    settings = current_settings()
    signing.make_orders(
        proposal_ids,
        and_waiting=and_waiting,
        now=utcnow(),
        today=current_clock().today(),
        margin_pct=settings.safety_margin_pct,
        settings=settings,
    )


def _page(template: str, **context) -> str:
    """A buyer's page, headed by the publisher's logo (inlined: the page fetches nothing else) or name."""
    return render_template(template, publisher_logo=logo_data_url(current_settings().publisher_logo), **context)


def _refusal(exc: DomainError):
    return _page("workflow/sign_refused.html", message=exc.message), exc.status_code


@bp.route("/<token>", methods=["GET", "POST"])
@public
def sign(token: str):
    try:
        link = signing.link_for(token, now=utcnow(), today=current_clock().today())
    except DomainError as exc:
        return _refusal(exc)
    errors: dict = {}
    if request.method == "POST":
        decision = request.form.get("decision")
        if not FlaskForm().validate_on_submit():
            errors = {"form": ["The page expired: reload it and answer again."]}
        elif decision not in ("accept", "decline"):
            errors = {"decision": ["Choose Accept and sign, or Decline."]}
        else:
            try:
                signature = signing.answer(
                    link,
                    accept=decision == "accept",
                    name=request.form.get("name", ""),
                    title=request.form.get("title", ""),
                    agreed=request.form.get("agree") == "on",
                    comment=request.form.get("comment", ""),
                    address=request.remote_addr or "",
                    user_agent=request.headers.get("User-Agent", ""),
                    now=utcnow(),
                    today=current_clock().today(),
                    margin_pct=current_settings().safety_margin_pct,
                    settings=current_settings(),
                )
            except ValidationFailed as exc:
                abandon(db.session)
                errors = exc.errors
            else:
                return _page("workflow/sign_done.html", signature=signature, proposal=link.proposal)
    return _page(
        "workflow/sign.html",
        link=link,
        p=VersionSnapshot.of(link.version),
        token=token,
        errors=errors,
        form=FlaskForm(),
    ), (400 if errors else 200)


@bp.route("/<token>/proposal.pdf")
@public
def pdf(token: str):
    try:
        link = signing.link_for(token, now=utcnow(), today=current_clock().today())
    except DomainError as exc:
        return _refusal(exc)
    settings = current_settings()
    pdf, _ = versions.pdf_of(link.version, publisher_name=settings.publisher_name, logo_path=settings.publisher_logo)
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{link.proposal.number}-v{link.version.number}.pdf"'},
    )
