"""Each role's home page in Chromium: what needs them now, each item a link to where the work is done."""

from __future__ import annotations

import re
from datetime import date

import sqlalchemy as sa
from playwright.sync_api import expect

from app.accounts.models import Account
from app.adserver.models import PushJob
from app.catalog.models import Product
from app.extensions import current_clock, current_settings, db
from app.orders.models import Order, OrderStatus
from app.proposals import lines
from app.proposals import service as proposals
from app.ratecards.models import RateCard
from app.workflow import service as workflow
from tests.browser.conftest import sign_in
from tests.conftest import DEMO_USERS, now, user
from tests.functional.test_home_pages import REJECTION, rep_work_in_the_demo


def test_a_rep_reads_the_rejection_on_their_home_page_and_opens_the_proposal(page, live_server):
    rep_work_in_the_demo(live_server.app)
    sign_in(page, "sales_rep")
    expect(page.get_by_text("Proposals will appear here")).to_have_count(0)
    work = page.get_by_test_id("home-rep-work")
    first = work.get_by_test_id("open-proposal").first
    expect(first.get_by_test_id("proposal-state")).to_have_text("Rejected")
    expect(first.get_by_test_id("next-step")).to_contain_text(REJECTION)
    autumn = work.get_by_test_id("open-proposal").filter(has_text="Autumn savings")
    expect(autumn.get_by_test_id("proposal-state")).to_have_text("Awaiting approval")
    expect(autumn.get_by_test_id("next-step")).to_contain_text("Waiting for Finance")
    hold = work.get_by_test_id("expiring-hold")
    expect(hold).to_have_count(1)
    expect(hold).to_contain_text("Autumn savings, line 1")

    first.get_by_role("link", name=re.compile("Summer drive")).click()
    expect(page.get_by_role("heading", name=re.compile("Summer drive"))).to_be_visible()
    expect(page.get_by_text(REJECTION).first).to_be_visible()


def test_a_rep_finds_the_bookings_of_their_order_under_holds_and_bookings(page):
    sign_in(page, "sales_rep")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Inventory").click()
    page.get_by_role("link", name="Holds and bookings").click()
    expect(page.get_by_role("heading", name="Your holds and bookings")).to_be_visible()
    booked = page.get_by_test_id("reservations").get_by_role("row").filter(has_text="Winter launch")
    expect(booked).to_have_count(2)  # the demo order's two lines
    expect(booked.first).to_contain_text("booking")
    booked.first.get_by_role("link", name=re.compile("Winter launch")).click()
    expect(page.get_by_test_id("order-status")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("Winter launch"))).to_be_visible()


def _submitted_to_the_manager(app) -> None:
    """A rep's large proposal (7,000,000 impressions) submitted: its first step is the sales manager's."""
    with app.app_context():
        year = current_clock().today().year + 1
        rep = user(DEMO_USERS["sales_rep"])
        advertiser = db.session.scalar(sa.select(Account).where(Account.name == "Ferrymoor Bank"))
        card = db.session.scalar(sa.select(RateCard).where(RateCard.name == f"Standard {year}"))
        proposal = proposals.create_proposal(
            proposals.ProposalData(
                advertiser_id=advertiser.id,
                campaign_name="Spring savings",
                rate_card_id=card.id,
                owner_id=rep.id,
                start_day=date(year, 2, 1),
                end_day=date(year, 2, 28),
                time_zone="Europe/London",
            ),
            actor=rep,
            now=now(),
            today=current_clock().today(),
        )
        product = db.session.scalar(sa.select(Product).where(Product.name == "Sport Display"))
        lines.add_line(
            proposal,
            lines.LineData(product.id, "cpm", date(year, 2, 1), date(year, 2, 28), "Europe/London", quantity=7_000_000),
            actor=rep,
            today=current_clock().today(),
            now=now(),
            margin_pct=10,
        )
        workflow.submit(proposal, actor=rep, now=now(), acknowledged=True, settings=current_settings())
        db.session.commit()


def test_a_manager_finds_their_queue_on_the_home_page_and_goes_to_decide(page, live_server):
    _submitted_to_the_manager(live_server.app)
    sign_in(page, "sales_manager")
    approvals = page.get_by_test_id("home-approvals")
    request = approvals.get_by_test_id("approval-request").filter(has_text="Spring savings")
    expect(request).to_contain_text("Ana Ruiz")
    request.get_by_role("link", name=re.compile("Spring savings")).click()
    expect(page.get_by_role("heading", name="Waiting for your approval")).to_be_visible()
    expect(
        page.get_by_test_id("request").filter(has_text="Spring savings").get_by_role("button", name="Approve")
    ).to_be_visible()


def test_finance_reads_the_month_and_the_requests_waiting_for_them(page, live_server):
    rep_work_in_the_demo(live_server.app)
    sign_in(page, "finance")
    expect(page.get_by_text("will appear here")).to_have_count(0)
    expect(page.get_by_test_id("home-approvals").get_by_test_id("approval-request")).to_contain_text("Autumn savings")
    figures = page.get_by_test_id("month-revenue")
    expect(figures.get_by_test_id("booked")).to_have_text(re.compile(r"^£[0-9,]+\.[0-9]{2}$"))
    expect(figures.get_by_test_id("recognised")).to_have_text(re.compile(r"^£[0-9,]+\.[0-9]{2}$"))
    page.get_by_role("link", name="This month by order").click()
    expect(page.get_by_role("heading", name=current_month_heading(live_server.app))).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("Skyweave Broadband"))).to_be_visible()  # Winter launch's order


def current_month_heading(app) -> str:
    with app.app_context():
        return current_clock().today().strftime("%B %Y")


def test_ad_ops_see_what_to_set_up_and_fix_a_failed_push_on_the_mapping_page(page, live_server):
    with live_server.app.app_context():
        order = db.session.scalars(sa.select(Order).order_by(Order.id)).first()
        order.status = OrderStatus.NEEDS_ATTENTION.value
        db.session.add(
            PushJob(
                order_id=order.id,
                connection_id=order.connection_id,
                status="dead",
                attempts=1,
                last_error="Map these first on the connection's mapping page: ad unit Sport MPU (sport-mpu).",
                reason="changed",
            )
        )
        db.session.commit()
        number = order.number
    sign_in(page, "ad_ops")
    expect(page.get_by_test_id("order-to-set-up").filter(has_text=number)).to_contain_text("book them by hand")
    failed = page.get_by_test_id("failed-push").filter(has_text=number)
    expect(failed).to_contain_text("Sport MPU")
    expect(page.get_by_test_id("lines-at-risk")).to_be_visible()
    failed.get_by_role("link", name="Map the missing items").click()
    expect(page.get_by_role("heading", name="Mappings · Sandbox")).to_be_visible()
    page.go_back()
    page.get_by_test_id("order-to-set-up").filter(has_text=number).get_by_role("link").click()
    expect(page.get_by_test_id("order-status")).to_have_text("Needs ad ops")
