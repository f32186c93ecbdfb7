"""The whole journey in Chromium: the rep submits, a sales manager and finance approve from their
queues, the buyer accepts through the link from the e-mail, and the order books the inventory."""

from __future__ import annotations

import re

import sqlalchemy as sa
from playwright.sync_api import expect

from app.accounts.models import Account, Contact
from app.catalog.models import Product
from app.db import utcnow
from app.extensions import current_clock, db
from app.mail.models import OutboxMessage
from app.proposals import lines
from app.proposals import service as proposals
from app.ratecards.models import RateCard
from tests.browser.conftest import sign_in
from tests.conftest import DEMO_USERS, user


def sign_out(page) -> None:
    page.context.clear_cookies()


def test_submit_approve_sign_and_book(page, live_server):
    app = live_server.app
    with app.app_context():
        year = current_clock().today().year + 1
        rep = user(DEMO_USERS["sales_rep"])
        advertiser = db.session.scalar(sa.select(Account).where(Account.name == "Ferrymoor Bank"))
        buyer = db.session.scalar(sa.select(Contact).where(Contact.account_id == advertiser.id))
        card = db.session.scalar(sa.select(RateCard).where(RateCard.name == f"Standard {year}"))
        from datetime import date

        proposal = proposals.create_proposal(
            proposals.ProposalData(
                advertiser_id=advertiser.id,
                campaign_name="Spring savings",
                rate_card_id=card.id,
                owner_id=rep.id,
                start_day=date(year, 2, 1),
                end_day=date(year, 2, 28),
                time_zone="Europe/London",
                buyer_contact_id=buyer.id,
            ),
            actor=rep,
            now=utcnow(),
            today=current_clock().today(),
        )
        product = db.session.scalar(sa.select(Product).where(Product.name == "Sport Display"))
        lines.add_line(
            proposal,
            lines.LineData(product.id, "cpm", date(year, 2, 1), date(year, 2, 28), "Europe/London", quantity=7_000_000),
            actor=rep,
            today=current_clock().today(),
            now=utcnow(),
            margin_pct=10,
        )
        db.session.commit()
        proposal_id, buyer_email = proposal.id, buyer.email

    sign_in(page, "sales_rep")
    page.goto(f"/proposals/{proposal_id}")
    expect(page.get_by_test_id("steps")).to_contain_text("Sales manager")
    page.get_by_role("button", name="Hold every line").click()
    expect(page.get_by_test_id("hold-badge")).to_have_count(1)
    page.get_by_role("button", name="Submit for approval").click()
    expect(page.get_by_text("Approvers have been asked")).to_be_visible()

    # The manager's approval leaves finance's pending in the same step; finance's completes it.
    for role, said in (
        ("sales_manager", "your approval is recorded; waiting for Finance (Sofia Lindqvist)."),
        ("finance", "approved. Every step said yes: Ana Ruiz can send it to the buyer."),
    ):
        sign_out(page)
        sign_in(page, role)
        page.goto("/workflow/queue")
        request = page.get_by_test_id("request").filter(has_text="Spring savings")
        expect(request.get_by_test_id("reasons")).not_to_be_empty()
        request.get_by_role("button", name="Approve").click()
        expect(page.get_by_text(said)).to_be_visible()

    sign_out(page)
    sign_in(page, "sales_rep")
    page.goto(f"/proposals/{proposal_id}")
    expect(page.get_by_text("Approved: every step said yes")).to_be_visible()
    page.get_by_role("button", name="Send to the buyer").click()
    expect(page.get_by_text("with the PDF and a link to sign")).to_be_visible()

    with app.app_context():
        mail = db.session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.related_id == proposal_id).order_by(OutboxMessage.id.desc())
        ).first()
        assert mail.to_addresses == [buyer_email]
        link = re.search(r"https?://\S+/sign/[A-Za-z0-9_-]+", mail.text).group(0)
        assert link.startswith(f"{live_server.url}/sign/")  # the link in the e-mail reaches this server

    sign_out(page)
    page.goto(link)
    expect(page.get_by_role("heading", name="Spring savings")).to_be_visible()
    page.get_by_label("Your name").fill("Harriet Ferrymoor")
    page.get_by_label("I accept this proposal").check()
    page.get_by_role("button", name="Accept and sign").click()
    expect(page.get_by_test_id("sign-done")).to_contain_text("accepted")
    page.goto(link)
    expect(page.get_by_test_id("sign-refused")).to_contain_text("already been answered")

    sign_in(page, "ad_ops")
    page.goto("/orders/")
    page.get_by_role("row", name=re.compile("Spring savings")).get_by_role("link").first.click()
    expect(page.get_by_test_id("order-status")).to_have_text("Booked")
    expect(page.get_by_test_id("booked")).to_have_count(1)
    # No worker runs here: the signature's request pushed the order to the sandbox before it answered.
    expect(page.get_by_test_id("push-state")).to_have_text("In the ad server")
    expect(page.get_by_test_id("remote-line")).not_to_have_text("—")
