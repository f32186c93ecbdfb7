"""The demo's approval paths in Chromium, as the README's "Demo logins" tells each role to try them:
Summer drive reaches the sales manager and finance, Autumn savings finance, Spring relaunch the
sales manager and then the VP; each message says where the request stands."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.conftest import DEMO_PASSWORD

NAV = "Main"


def sign_in_as(page, email: str) -> None:
    """Sign in as a demo user who is not the first of a role (the VP)."""
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")


def switch(page, role: str | None = None, *, email: str | None = None) -> None:
    page.context.clear_cookies()
    if email:
        sign_in_as(page, email)
    else:
        sign_in(page, role)


def open_proposal(page, campaign: str) -> None:
    page.get_by_role("navigation", name=NAV).get_by_role("link", name="Proposals").click()
    page.get_by_role("row", name=re.compile(campaign)).get_by_role("link").first.click()
    expect(page.get_by_role("heading", name=re.compile(campaign))).to_be_visible()


def rep_submits(page, campaign: str) -> None:
    sign_in(page, "sales_rep")
    open_proposal(page, campaign)
    plan = page.get_by_test_id("submit-plan")
    if plan.get_by_label("I have read the warnings").count():
        plan.get_by_label("I have read the warnings").check()
    plan.get_by_role("button", name="Submit for approval").click()
    expect(page.get_by_text("Approvers have been asked")).to_be_visible()


def card_in_queue(page, campaign: str):
    page.get_by_role("navigation", name=NAV).get_by_role("link", name="Approvals").click()
    return page.get_by_test_id("request").filter(has_text=campaign)


def test_summer_drive_waits_for_finance_after_the_manager_and_the_rep_hears_only_when_it_is_approved(page):
    sign_in(page, "sales_rep")
    open_proposal(page, "Summer drive")
    # Halden Auto Group is on credit hold: while the draft is open the page says what that means.
    expect(page.get_by_text("The advertiser's credit is on hold: approval will be needed.")).to_be_visible()
    steps = page.get_by_test_id("steps")
    expect(steps).to_contain_text("Sales manager")
    expect(steps).to_contain_text("largest discount 20 % is above 15 %")
    expect(steps).to_contain_text("advertiser on credit hold: yes")
    page.context.clear_cookies()
    rep_submits(page, "Summer drive")

    switch(page, "sales_manager")
    card = card_in_queue(page, "Summer drive")
    expect(card.get_by_test_id("reasons")).to_contain_text("largest discount 20 % is above 15 %")
    card.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("your approval is recorded; waiting for Finance (Sofia Lindqvist).")).to_be_visible()
    expect(page.get_by_test_id("request").filter(has_text="Summer drive")).to_have_count(0)

    switch(page, "sales_rep")
    open_proposal(page, "Summer drive")
    expect(page.get_by_text("Waiting for approval: Finance (step 1).")).to_be_visible()
    mails = page.get_by_test_id("mails")
    expect(mails).not_to_contain_text("Step 1 approved")  # the step is not done: nothing to tell the rep
    expect(mails).not_to_contain_text("Approved:")

    switch(page, "finance")
    card = card_in_queue(page, "Summer drive")
    reasons = card.get_by_test_id("reasons")
    for fact in ("new advertiser: yes", "advertiser on credit hold: yes", "non-standard terms: no"):
        expect(reasons).to_contain_text(fact)
    expect(reasons).to_contain_text("the rep was warned: the advertiser's credit is on hold")
    card.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("approved. Every step said yes: Ana Ruiz can send it to the buyer.")).to_be_visible()

    switch(page, "sales_rep")
    open_proposal(page, "Summer drive")
    expect(page.get_by_text("Approved: every step said yes.")).to_be_visible()
    expect(page.get_by_test_id("mails")).to_contain_text("Approved: ")
    expect(page.get_by_test_id("mails")).not_to_contain_text("Step 1 approved")
    # Decided: the credit hold no longer announces an approval to come.
    expect(page.get_by_text("approval will be needed")).to_have_count(0)


def test_autumn_savings_reaches_finance_and_not_the_manager(page):
    rep_submits(page, "Autumn savings")
    switch(page, "sales_manager")
    card_in_queue(page, "Summer drive")  # open the queue
    expect(page.get_by_test_id("request").filter(has_text="Autumn savings")).to_have_count(0)
    switch(page, "finance")
    card = card_in_queue(page, "Autumn savings")
    expect(card).to_contain_text("Finance: new advertiser, credit hold or non-standard terms")
    expect(card.get_by_test_id("reasons")).to_contain_text("new advertiser: yes")
    expect(card.get_by_test_id("reasons")).to_contain_text("advertiser on credit hold: no")
    card.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("approved. Every step said yes")).to_be_visible()


def test_spring_relaunch_reaches_the_vp_after_the_manager(page):
    rep_submits(page, "Spring relaunch")
    switch(page, email="vp@harbour.example")
    card_in_queue(page, "Spring relaunch")
    expect(page.get_by_test_id("request").filter(has_text="Step 2")).to_have_count(0)  # not their turn yet

    switch(page, "sales_manager")
    card = card_in_queue(page, "Spring relaunch")
    expect(card.get_by_test_id("reasons")).to_contain_text("is above 50,000")
    card.get_by_role("button", name="Approve").click()
    expect(
        page.get_by_text("step 1 is approved; step 2 is with Daniel Moreau. Ana Ruiz has been told.")
    ).to_be_visible()

    switch(page, email="vp@harbour.example")
    card = card_in_queue(page, "Spring relaunch").filter(has_text="Step 2")
    expect(card.get_by_test_id("reasons")).to_contain_text("is above 250,000")
    card.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("approved. Every step said yes: Ana Ruiz can send it to the buyer.")).to_be_visible()

    switch(page, "sales_rep")
    open_proposal(page, "Spring relaunch")
    expect(page.get_by_test_id("mails")).to_contain_text("Step 1 approved")
    expect(page.get_by_text("Approved: every step said yes.")).to_be_visible()
