"""Buyer sign-off through the signed link, and the order it makes."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.accounts.models import Contact
from app.errors import Conflict, DomainError, ValidationFailed
from app.extensions import current_clock, current_settings, db
from app.inventory.models import Reservation
from app.mail.models import OutboxMessage
from app.orders.models import Order
from app.proposals import holds
from app.proposals.pdf import sha256_of
from app.workflow import reminders, service, signing
from tests.conftest import DEMO_USERS, now, reconfigure, user
from tests.integration.test_workflow import proposal_with, rep
from tests.support.pdfs import pdf_with_pages


def approved(quantity: int = 500_000):
    """A held, approved proposal with a buyer (finance approves the new advertiser)."""
    proposal = proposal_with(quantity=quantity)
    proposal.buyer_contact = db.session.scalar(sa.select(Contact).where(Contact.account_id == proposal.advertiser_id))
    holds.hold_all(proposal, actor=rep(), hold_days=7, today=current_clock().today(), now=now(), margin_pct=10)
    service.submit(proposal, actor=rep(), now=now(), acknowledged=True, render={}, settings=current_settings())
    for request in service.requests_of(proposal):
        if request.status == "pending":
            service.decide(
                request,
                approve=True,
                comment="",
                actor=user(DEMO_USERS[request.approver_role]),
                now=now(),
                settings=current_settings(),
            )
    assert proposal.status == "approved"
    return proposal


def sent(proposal) -> str:
    signing.send_to_buyer(proposal, actor=rep(), now=now(), settings=current_settings())
    mail = db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
    assert mail.to_addresses == [proposal.buyer_contact.email] and mail.attachments[0]["filename"].endswith(".pdf")
    return re.search(r"/sign/([A-Za-z0-9_-]+)", mail.text).group(1)


def test_a_version_whose_pdf_is_not_there_yet_is_drawn_and_stored_when_sent_to_the_buyer(ctx):
    proposal = approved()
    version = proposal.versions[-1]
    version.pdf = version.pdf_sha256 = None  # as when its drawing after the commit failed
    sent(proposal)
    mail = db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
    assert version.pdf.startswith(b"%PDF") and version.pdf_sha256 == sha256_of(version.pdf)
    assert mail.attachment_data == version.pdf


def accept(token: str, **kw):
    link = signing.link_for(token, now=now())
    args = dict(
        accept=True,
        name="Sara Buyer",
        title="Head of media",
        agreed=True,
        comment="",
        address="127.0.0.1",
        user_agent="pytest",
        now=now(),
        today=current_clock().today(),
        margin_pct=10,
    )
    args.update(kw)
    return signing.answer(link, **args, settings=current_settings())


def test_the_buyer_accepts_through_the_link_and_the_holds_become_bookings(ctx):
    proposal = approved()
    holds = [line.hold_id for line in proposal.lines]
    signature = accept(sent(proposal))
    assert proposal.status == "signed" and signature.pdf_sha256 == proposal.versions[-1].pdf_sha256
    order = db.session.scalar(sa.select(Order).where(Order.proposal_id == proposal.id))
    assert order.status == "booked" and order.gross == proposal.versions[-1].snapshot["totals"]["gross"]
    booking = db.session.get(Reservation, order.lines[0].booking_id)
    assert booking.kind == "booking" and booking.quantity == 500_000
    assert all(db.session.get(Reservation, h).released_at is not None for h in holds)


def test_a_used_tampered_expired_or_replaced_link_is_refused(ctx):
    proposal = approved()
    first = sent(proposal)
    second = sent(proposal)  # sending again replaces the first link
    with pytest.raises(DomainError, match="no longer works"):
        signing.link_for(first, now=now())
    with pytest.raises(DomainError, match="not valid"):
        signing.link_for(second[:-2] + "xx", now=now())
    with pytest.raises(DomainError, match="expired"):
        signing.link_for(second, now=now() + timedelta(days=15))
    accept(second)
    with pytest.raises(Conflict):
        signing.link_for(second, now=now())


def test_acceptance_needs_a_name_and_the_terms_ticked(ctx):
    proposal = approved()
    token = sent(proposal)
    with pytest.raises(ValidationFailed) as failure:
        accept(token, name=" ", agreed=False)
    assert set(failure.value.errors) == {"name", "agree"}
    assert proposal.status == "sent"


@pytest.mark.parametrize(
    ("field", "typed"),
    [
        ("name", "\u200b"),
        ("name", "Sara\nBuyer"),
        ("name", "\u3164\u2800"),
        ("name", "Sara \u202eBuyer"),
        ("name", "S" * 201),
        ("title", "Head\nof media"),
        ("title", "Head \u2066of media"),
    ],
    ids=lambda value: repr(value)[:20],
)
def test_a_signature_needs_a_visible_one_line_name_and_title(ctx, field, typed):
    proposal = approved()
    token = sent(proposal)
    with pytest.raises(ValidationFailed) as failure:
        accept(token, **{field: typed})
    assert set(failure.value.errors) == {field}
    assert proposal.status == "sent"


def test_a_signature_is_stored_as_the_cleaner_leaves_it(ctx):
    signature = accept(sent(approved()), name="  Sara\u00a0\u200eBuyer ", title="Head of\u3000media")
    assert (signature.name, signature.title) == ("Sara Buyer", "Head of media")


def test_a_decline_releases_the_holds(ctx):
    proposal = approved()
    holds = [line.hold_id for line in proposal.lines]
    accept(sent(proposal), accept=False, comment="Budget moved to Q3")
    assert proposal.status == "declined"
    assert all(db.session.get(Reservation, h).released_at is not None for h in holds)


def test_a_withdrawn_proposal_cannot_be_signed(ctx):
    proposal = approved()
    token = sent(proposal)
    service.withdraw(proposal, actor=rep(), now=now())
    with pytest.raises(DomainError):
        signing.link_for(token, now=now())


def test_a_countersigned_io_marks_the_version_signed_and_makes_the_order(ctx):
    proposal = approved()
    with pytest.raises(ValidationFailed):
        signing.countersigned(
            proposal,
            b"not a pdf",
            actor=rep(),
            now=now(),
            today=current_clock().today(),
            margin_pct=10,
            max_bytes=5_000_000,
        )
    signature = signing.countersigned(
        proposal,
        pdf_with_pages(1),
        actor=rep(),
        now=now(),
        today=current_clock().today(),
        margin_pct=10,
        max_bytes=5_000_000,
    )
    assert proposal.status == "signed" and signature.io_sha256 and signature.uploaded_by_id == rep().id
    assert db.session.scalar(sa.select(Order).where(Order.proposal_id == proposal.id)).status == "booked"


def test_an_offer_past_its_expiry_cannot_be_signed_even_with_a_live_link(ctx):
    proposal = approved()
    token = sent(proposal)
    proposal.expires_on = current_clock().today() - timedelta(days=1)
    with pytest.raises(DomainError, match="offer expired"):
        signing.link_for(token, now=now(), today=current_clock().today())


def test_every_link_in_every_email_of_a_deal_starts_at_public_url_and_opens_a_page(ctx):
    reconfigure(ctx, PUBLIC_URL="http://127.0.0.1:5101/")
    first = db.session.scalar(sa.select(sa.func.max(OutboxMessage.id))) or 0
    proposal = approved()  # approvers asked, the rep told
    accept(sent(proposal))  # the buyer's link, the rep told it is signed
    reminders.remind(now=now() + timedelta(days=10), settings=current_settings())  # reminders and escalations
    mails = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.id > first)).all()
    links = [link for mail in mails for link in re.findall(r"https?://\S+", mail.text)]
    assert len({mail.subject.split(":")[0] for mail in mails}) >= 4 and len(links) >= 5
    pages = ctx.url_map.bind("127.0.0.1:5101")
    for link in links:
        assert link.startswith("http://127.0.0.1:5101/") and "//" not in link.removeprefix("http://")
        pages.match(link.removeprefix("http://127.0.0.1:5101"), method="GET")  # raises when no page is there


def test_an_acceptance_whose_order_the_worker_gave_up_on_says_so_instead_of_in_a_moment(app):
    """The worker tries to make an accepted proposal's order for ORDER_RETRY_DAYS; after that the
    rep's page must not keep promising it "in a moment"."""
    from app.transaction import transaction
    from tests.conftest import DEMO_PASSWORD

    reconfigure(app, BACKGROUND_WORK="worker")  # the order is left to a worker that is not running
    with app.app_context():
        proposal = approved()
        token = sent(proposal)
        with transaction(db.session):  # as a request answers: the order is handed over after the commit
            signature = accept(token)
        proposal_id, signature_id = proposal.id, signature.id
    client = app.test_client()
    client.post("/login", data={"email": DEMO_USERS["sales_rep"], "password": DEMO_PASSWORD})
    page = client.get(f"/proposals/{proposal_id}").get_data(as_text=True)
    assert 'data-testid="order-being-made"' in page and 'data-testid="order-not-made"' not in page
    with app.app_context():
        signature = db.session.get(signing.Signature, signature_id)
        signature.at -= timedelta(days=signing.ORDER_RETRY_DAYS + 1)
        db.session.commit()
    page = client.get(f"/proposals/{proposal_id}").get_data(as_text=True)
    assert 'data-testid="order-not-made"' in page and 'data-testid="order-being-made"' not in page
    assert "tried for 30 days and stopped" in page
