"""Buyer sign-off: the approved version goes to the buyer with a signed link; the buyer accepts or
declines with no account; an accepted version becomes an order (made and booked by app.orders,
through the "order_signed" workflow event)."""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import secrets
from collections.abc import Callable
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from pypdf import PdfReader

from app.accounts.models import Contact
from app.audit.service import record
from app.auth.models import User
from app.errors import Conflict, DomainError, ValidationFailed
from app.extensions import db
from app.formats import plural
from app.mail.service import queue
from app.proposals import access, holds, registry, versions
from app.proposals.models import Proposal, ProposalLine, ProposalStatus
from app.proposals.states import transition
from app.settings import Settings
from app.transaction import Backoff, after_commit, in_unit_of_work, transaction
from app.validation import clean_line, line_problem
from app.workflow import events, notify
from app.workflow.models import Signature, SigningLink

S = ProposalStatus

log = logging.getLogger(__name__)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def send_to_buyer(
    proposal: Proposal, *, actor: User, now: datetime, settings: Settings, contact_id: int | None = None
) -> str:
    """E-mail the approved version, its PDF attached, with a link only this version can be signed
    through; earlier links stop working. Returns the token (for the caller's confirmation only)."""
    if not access.can_edit(actor, proposal):
        raise DomainError("Only the proposal's rep, sales managers and admins send it.")
    if proposal.status not in (S.APPROVED.value, S.SENT.value):
        raise DomainError(
            f"Proposal {proposal.number} is {proposal.status}: only an approved proposal goes to the buyer."
        )
    if contact_id is not None and contact_id != proposal.buyer_contact_id:
        contact = db.session.get(Contact, contact_id)
        if contact is None or contact.account_id not in {proposal.advertiser_id, proposal.agency_id}:
            raise ValidationFailed({"contact": ["The buyer is a contact of the advertiser or of the agency."]})
        proposal.buyer_contact = contact
        record(
            actor=actor,
            entity_type="proposal",
            entity_id=proposal.id,
            action="buyer chosen",
            at=now,
            summary=f"Buyer: {contact.name} <{contact.email}>.",
        )
    buyer = proposal.buyer_contact
    if buyer is None:
        raise ValidationFailed({"contact": ["Choose who receives it: a contact of the advertiser or the agency."]})
    version = proposal.versions[-1]
    _revoke(proposal, now=now)
    token = secrets.token_urlsafe(32)
    days = settings.signing_link_days
    link = SigningLink(
        proposal_id=proposal.id,
        version_id=version.id,
        token_hash=_hash(token),
        sent_to=buyer.email,
        created_at=now,
        created_by_id=actor.id,
        expires_at=now + timedelta(days=days),
    )
    db.session.add(link)
    if proposal.status == S.APPROVED.value:
        transition(proposal, S.SENT, actor=actor, now=now, why=f"Version {version.number} sent to {buyer.email}.")
    # Drawn now if its drawing after the submission's commit has not run (or failed).
    pdf = versions.ensure_pdf(version, publisher_name=settings.publisher_name, logo_path=settings.publisher_logo)
    queue(
        to=[buyer.email],
        subject=f"Proposal {proposal.number}: {proposal.campaign_name}",
        text=(
            f"Dear {buyer.name},\n\nplease find our proposal for {proposal.campaign_name} attached "
            f"({proposal.number}, version {version.number}).\n\nTo accept or decline it, open this link "
            f"(valid for {plural(days, 'day', 'days')}):\n{settings.link(f'/sign/{token}')}\n\n"
            f"Kind regards,\n{proposal.owner.name}\n{settings.publisher_name}\n"
        ),
        attachment=(f"{proposal.number}-v{version.number}.pdf", "application/pdf", pdf),
        related=("proposal", proposal.id),
        now=now,
    )
    record(
        actor=actor,
        entity_type="proposal",
        entity_id=proposal.id,
        action="sent to buyer",
        at=now,
        summary=f"Version {version.number} sent to {buyer.name} <{buyer.email}>; "
        f"the link expires in {plural(days, 'day', 'days')}.",
    )
    return token


def _revoke(proposal: Proposal, *, now: datetime) -> None:
    for link in db.session.scalars(
        sa.select(SigningLink).where(
            SigningLink.proposal_id == proposal.id, SigningLink.revoked_at.is_(None), SigningLink.used_at.is_(None)
        )
    ):
        link.revoked_at = now


def link_for(token: str, *, now: datetime, today: date | None = None) -> SigningLink:
    """The link a token opens, or a clear refusal: unknown, used, replaced, or expired."""
    if not token or len(token) > 100:
        raise DomainError("This signing link is not valid. Ask your contact for a new one.")
    link = db.session.scalar(sa.select(SigningLink).where(SigningLink.token_hash == _hash(token)))
    if link is None:
        raise DomainError("This signing link is not valid. Ask your contact for a new one.")
    if link.used_at is not None:
        raise Conflict("This proposal has already been answered through this link.")
    if link.revoked_at is not None:
        raise DomainError(
            "This link no longer works: the proposal was changed or sent again since. Use the link in the latest "
            "e-mail, or ask your contact."
        )
    if link.expires_at <= now:
        raise DomainError("This signing link has expired. Ask your contact to send it again.")
    if link.proposal.status != S.SENT.value or link.proposal.versions[-1].id != link.version_id:
        raise DomainError("This proposal can no longer be signed. Ask your contact for a new one.")
    expires_on = link.proposal.expires_on
    if expires_on is not None and today is not None and expires_on < today:
        raise DomainError(f"This offer expired on {expires_on:%d %B %Y}. Ask your contact for a new one.")
    return link


def answer(
    link: SigningLink,
    *,
    accept: bool,
    name: str,
    title: str,
    agreed: bool,
    comment: str,
    address: str,
    user_agent: str,
    now: datetime,
    today: date,
    margin_pct: int,
    settings: Settings,
) -> Signature:
    """The buyer's acceptance (typed name and title, terms agreed) or refusal, with its evidence."""
    errors = {}
    name, title, comment = clean_line(name), clean_line(title), comment.strip()[:5000]
    if accept and not name:
        errors["name"] = ["Type your name to sign."]
    elif problem := line_problem(name, label="name", max_length=200, required=False):
        errors["name"] = [problem]
    if problem := line_problem(title, label="title", max_length=200, required=False):
        errors["title"] = [problem]
    if accept:
        if not agreed:
            errors["agree"] = ["Tick the box to accept the terms."]
    elif not comment and not name:
        errors["comment"] = ["Tell us why, or type your name, so your contact can follow up."]
    if errors:
        raise ValidationFailed(errors)
    proposal = link.proposal
    link.used_at = now
    signature = Signature(
        proposal_id=proposal.id,
        version_id=link.version_id,
        link_id=link.id,
        accepted=accept,
        name=name,
        title=title,
        comment=comment,
        at=now,
        address=address[:64],
        user_agent=user_agent[:500],
        pdf_sha256=link.version.pdf_sha256 or "",
    )
    db.session.add(signature)
    who = _who(signature)
    if accept:
        transition(proposal, S.SIGNED, actor=None, now=now, why=f"Accepted by {who} from {address}.")
        if in_unit_of_work(db.session):
            # Booking the order re-checks every line's availability: seconds on a large publisher.
            # The buyer's answer commits and returns first; the order follows off the request.
            after_commit(db.session, functools.partial(_hand_over_order, proposal.id))
        else:
            make_signed_order(proposal, now=now, today=today, margin_pct=margin_pct, settings=settings)
    else:
        transition(proposal, S.DECLINED, actor=None, now=now, why=f"Declined by {who}: {comment}")
        holds.release_holds(proposal, reason=f"proposal {proposal.number} declined", actor=None, now=now)
        notify.rep_told(
            proposal, "Declined", f"{who} declined version {link.version.number}: {comment}", now=now, settings=settings
        )
    return signature


def _who(signature: Signature) -> str:
    return f"{signature.name or 'The buyer'}{f', {signature.title}' if signature.title else ''}"


#: What makes the order of a proposal its buyer accepted, once that answer has committed (called
#: with the proposal's id): filled at start-up from BACKGROUND_WORK (signing_views). Empty: nothing
#: runs in the request, and `flask adserver worker` makes it (`unordered_acceptances`).
order_makers: list[Callable[[int], None]] = []


def _hand_over_order(proposal_id: int) -> None:
    for make in order_makers:
        make(proposal_id)


def make_signed_order(proposal: Proposal, *, now: datetime, today: date, margin_pct: int, settings: Settings):
    """The order the accepted version becomes (made and booked by app.orders), and the rep told;
    None when there is none to make (no longer signed, or its order is made already)."""
    if proposal.status != S.SIGNED.value or registry.has_order(proposal) is not None:
        return None
    version = proposal.versions[-1]
    signature = db.session.scalar(
        sa.select(Signature)
        .where(Signature.version_id == version.id, Signature.accepted.is_(True))
        .order_by(Signature.id.desc())
        .limit(1)
    )
    order = events.handler("order_signed")(proposal, now=now, today=today, margin_pct=margin_pct)
    notify.rep_told(
        proposal,
        "Signed",
        f"{_who(signature) if signature else 'The buyer'} accepted version {version.number}. "
        f"Order {order.number}: {order.status_enum.label}.",
        now=now,
        settings=settings,
    )
    return order


def make_order_once(proposal_id: int, *, now: datetime, today: date, margin_pct: int, settings: Settings) -> bool:
    """`make_signed_order` in a unit of work of its own (a background thread, the worker), the
    proposal's row locked first on PostgreSQL so that two makers never both book it (the order's
    unique version stops the second on SQLite). Whether this call made the order."""
    with transaction(db.session):
        db.session.execute(sa.select(Proposal.id).where(Proposal.id == proposal_id).with_for_update())
        proposal = db.session.get(Proposal, proposal_id, populate_existing=True)
        if proposal is None:
            return False
        return make_signed_order(proposal, now=now, today=today, margin_pct=margin_pct, settings=settings) is not None


def make_orders(
    proposal_ids: list[int],
    *,
    and_waiting: bool,
    now: datetime,
    today: date,
    margin_pct: int,
    settings: Settings,
) -> list[int]:
    """`make_order_once` for each of the proposals and, `and_waiting`, for every acceptance still
    without its order (`unordered_acceptances`); the ids of those whose order this call made. One
    that fails is logged and left for the next run."""
    if and_waiting:
        proposal_ids = list(dict.fromkeys([*proposal_ids, *unordered_acceptances(now=now)]))
    made = []
    for proposal_id in proposal_ids:
        try:
            if make_order_once(proposal_id, now=now, today=today, margin_pct=margin_pct, settings=settings):
                made.append(proposal_id)
            _failed_orders.succeeded(proposal_id)
        except Exception:  # one order that cannot be made never stops the others, nor the worker's other work
            log.exception("Making the order of proposal %s failed; it is tried again in ten minutes", proposal_id)
            _failed_orders.failed(proposal_id)
    return made


#: Accepted proposals whose order failed in this process: tried again after ten minutes, the others first meanwhile.
_failed_orders = Backoff(600)


#: Days after a buyer's acceptance during which the worker keeps trying to make its order.
ORDER_RETRY_DAYS = 30


def order_given_up(signature: Signature, *, now: datetime) -> bool:
    """Whether the worker stopped trying to make the order of this acceptance (it is older than
    `ORDER_RETRY_DAYS`); the caller knows the order is not there."""
    return bool(signature.accepted) and signature.at < now - timedelta(days=ORDER_RETRY_DAYS)


def unordered_acceptances(*, now: datetime, within_days: int = ORDER_RETRY_DAYS, limit: int = 20) -> list[int]:
    """The worker's share: proposals accepted through their link in the last `within_days` days,
    still signed, whose order is not made yet (none of their lines is on an order), oldest first;
    not those whose order failed in the last ten minutes (`_failed_orders`)."""
    on_an_order = (
        sa.select(ProposalLine.id)
        .where(ProposalLine.proposal_id == Proposal.id, ProposalLine.order_line_id.is_not(None))
        .exists()
    )
    with transaction(db.session):
        candidates = db.session.scalars(
            sa.select(Proposal)
            .join(Signature, Signature.proposal_id == Proposal.id)
            .where(
                Signature.accepted.is_(True),
                Signature.link_id.is_not(None),
                Signature.at >= now - timedelta(days=within_days),
                Proposal.status == S.SIGNED.value,
                ~on_an_order,
                Proposal.id.not_in(_failed_orders.resting()),
            )
            .order_by(Signature.id)
            .limit(limit)
        ).unique()
        return [p.id for p in candidates if registry.has_order(p) is None]


def _pages(pdf: bytes) -> int:
    """How many pages the PDF has; 0 when it does not open (damaged, encrypted, not a PDF)."""
    try:
        return len(PdfReader(io.BytesIO(pdf)).pages)
    except Exception:  # pypdf raises many kinds of error on a broken file: each means "does not open"
        return 0


def io_problem(proposal: Proposal, pdf: bytes, *, max_bytes: int) -> str | None:
    """What is wrong with an uploaded countersigned IO, or None: it must be a PDF that opens and
    has pages, and not one of the PDFs Flightdeck made for this proposal (nobody signed that)."""
    if len(pdf) > max_bytes:
        return f"The file is larger than {max_bytes // 1_048_576} MB."
    if not pdf.startswith(b"%PDF-") or not _pages(pdf):
        return "Upload the countersigned insertion order as a PDF that opens and has pages."
    digest = hashlib.sha256(pdf).hexdigest()
    if any(v.pdf_sha256 == digest for v in proposal.versions):
        return (
            "This is the PDF Flightdeck made for the proposal, unchanged: upload the copy the buyer "
            "countersigned (signed and scanned, or signed electronically)."
        )
    return None


def countersigned(
    proposal: Proposal,
    pdf: bytes,
    *,
    actor: User,
    now: datetime,
    today: date,
    margin_pct: int,
    max_bytes: int,
    publisher_name: str = "",
    logo_path: str | None = None,
) -> Signature:
    """Instead of the link: the rep uploads the insertion order the buyer countersigned (a PDF) and
    marks the latest approved version signed; the order follows as for a signature by link. A
    version whose PDF was not drawn yet gets it now (`publisher_name`, `logo_path`), so the upload is
    compared with the PDF the signature records."""
    if not access.can_edit(actor, proposal):
        raise DomainError("Only the proposal's rep, sales managers and admins record a signature.")
    if proposal.status not in (S.APPROVED.value, S.SENT.value):
        raise DomainError(f"Proposal {proposal.number} is {proposal.status}: only an approved version can be signed.")
    if proposal.versions:
        versions.ensure_pdf(proposal.versions[-1], publisher_name=publisher_name, logo_path=logo_path)
    if problem := io_problem(proposal, pdf, max_bytes=max_bytes):
        raise ValidationFailed.on("io", problem)
    if proposal.status == S.APPROVED.value:
        transition(proposal, S.SENT, actor=actor, now=now, why="Sent outside Flightdeck as an insertion order.")
    _revoke(proposal, now=now)
    version = proposal.versions[-1]
    signature = Signature(
        proposal_id=proposal.id,
        version_id=version.id,
        accepted=True,
        name=f"Countersigned IO uploaded by {actor.name}",
        at=now,
        pdf_sha256=version.pdf_sha256 or "",
        io_pdf=pdf,
        io_sha256=hashlib.sha256(pdf).hexdigest(),
        uploaded_by_id=actor.id,
    )
    db.session.add(signature)
    transition(
        proposal, S.SIGNED, actor=actor, now=now, why=f"Countersigned IO uploaded (SHA-256 {signature.io_sha256})."
    )
    events.handler("order_signed")(proposal, now=now, today=today, margin_pct=margin_pct)
    return signature
