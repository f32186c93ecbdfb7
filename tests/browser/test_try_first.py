"""The README's "Demo logins" table walked in Chromium: one test per row, each from the demo's first
sign-in, doing what its "Try first" cell says with a person's clicks and finding what it promises.

Deep checks live in the tests of each feature (test_home, test_approval_paths, test_ad_ops_first_hour,
test_finance, test_targeting, test_proposal_header); this file checks that a new user who follows the
README meets every promised thing, step by step. Menu clicks go through `go()`, which opens the
dropdown a link sits in, so the walk survives the menu being regrouped.
"""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import expect

from app.extensions import current_clock
from tests.browser.conftest import sign_in
from tests.browser.picking import choose
from tests.browser.test_approval_paths import sign_in_as
from tests.browser.test_proposal_header import pdf_text

VP = "vp@harbour.example"
REP2 = "rep2@harbour.example"


def go(page, label: str) -> None:
    """Click the main menu's link `label`, opening the dropdown that holds it first if it is hidden."""
    menu = page.get_by_role("navigation", name="Main")
    link = menu.get_by_role("link", name=label, exact=True)
    if not link.is_visible():
        page.wait_for_load_state()  # Bootstrap's script has run: its dropdowns open
        holder = menu.locator(".dropdown").filter(
            has=page.get_by_role("link", name=label, exact=True, include_hidden=True)
        )
        holder.locator(".dropdown-toggle").first.click()
    link.click()


def switch(page, role: str | None = None, *, email: str | None = None) -> None:
    """Sign out (the session's cookie goes) and sign in as the next person."""
    page.context.clear_cookies()
    if email:
        sign_in_as(page, email)
    else:
        sign_in(page, role)


def open_proposal(page, campaign: str) -> None:
    go(page, "Proposals")
    page.get_by_role("row", name=re.compile(campaign)).get_by_role("link").first.click()
    expect(page.get_by_role("heading", name=re.compile(campaign))).to_be_visible()


def submit(page, campaign: str) -> None:
    open_proposal(page, campaign)
    plan = page.get_by_test_id("submit-plan")
    if plan.get_by_label("I have read the warnings").count():
        plan.get_by_label("I have read the warnings").check()
    plan.get_by_role("button", name="Submit for approval").click()
    expect(page.get_by_text("Approvers have been asked")).to_be_visible()


def ana_submits(page, *campaigns: str) -> None:
    switch(page, "sales_rep")
    for campaign in campaigns:
        submit(page, campaign)


def queue_card(page, campaign: str):
    go(page, "Approvals")
    return page.get_by_test_id("request").filter(has_text=campaign)


def open_winter_launch(page) -> None:
    go(page, "Orders")
    page.get_by_role("row", name=re.compile("Winter launch")).get_by_role("link").first.click()
    expect(page.get_by_role("heading", name=re.compile("Winter launch"))).to_be_visible()


def delivered(page) -> list[int]:
    """Each line's delivered impressions on an order's page."""
    expect(page.get_by_test_id("delivered").first).to_be_visible()
    return [int(text.replace(",", "")) for text in page.get_by_test_id("delivered").all_inner_texts()]


def today(live_server):
    with live_server.app.app_context():
        return current_clock().today()


# Fails on main at its last assertion: a real gap outside this test's scope (the builder's line
# preview shows no available impressions, issue 16's "The builder's preview shows available
# impressions"); see the KNOWN GAP comment at the end.
def test_rep_ana_walks_her_try_first(page, live_server):
    day = today(live_server)
    sign_in(page, "sales_rep")
    # Home: open proposals with their state and next step, expiring holds, her 11 accounts.
    work = page.get_by_test_id("home-rep-work")
    expect(work.get_by_role("heading", name="Your open proposals")).to_be_visible()
    for campaign in ("Summer drive", "Autumn savings", "Spring relaunch"):
        row = work.get_by_test_id("open-proposal").filter(has_text=campaign)
        expect(row.get_by_test_id("proposal-state")).to_have_text("Draft")
        expect(row.get_by_test_id("next-step")).not_to_be_empty()
    expect(page.get_by_role("heading", name="Holds expiring in the next 3 days")).to_be_visible()
    accounts = page.get_by_role("region", name=re.compile("Your accounts"))
    expect(accounts.get_by_role("row")).to_have_count(12)  # a heading row and her 11 accounts

    # Proposals › Summer drive: a region typed into Geography; the price and availability follow.
    open_proposal(page, "Summer drive")
    line = page.get_by_test_id("line").nth(1)
    before = line.get_by_test_id("line-rate").inner_text()
    line.get_by_text("Edit line 2").click()
    form = line.get_by_test_id("line-form")
    choose(form, "Geography", "Scot")
    preview = line.get_by_test_id("line-preview")
    expect(preview.get_by_test_id("waterfall")).to_contain_text("Premium: geography")
    expect(preview.get_by_test_id("sell-through")).to_be_visible()
    previewed = preview.get_by_test_id("net-rate").inner_text()
    assert previewed != before
    # The README promises availability following in the preview (issue 16: "available impressions,
    # not only the sell-through percentage, as the rep edits, before saving"). Checked at the end of
    # the test so that the rest of the walk is checked too.
    preview_says_available = preview.get_by_text(re.compile(r"[Aa]vailable")).count() > 0
    form.get_by_role("button", name="Save line 2").click()
    expect(page.get_by_test_id("line").nth(1).get_by_test_id("line-rate")).to_have_text(previewed)

    page.get_by_role("button", name="Hold every line").click()
    expect(page.get_by_text("3 of 3 lines held.")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download draft PDF").click()
    assert "DRAFT" in pdf_text(download)
    expect(page.get_by_text("No version yet")).to_be_visible()

    # Submit: Grace (sales manager) and Sofia (finance) in step 1; a version whose PDF the buyer signs.
    plan = page.get_by_test_id("submit-plan")
    expect(plan.get_by_test_id("warning")).to_contain_text("credit is on hold")
    plan.get_by_label("I have read the warnings").check()
    plan.get_by_role("button", name="Submit for approval").click()
    expect(page.get_by_text("Version 1 submitted. Approvers have been asked.")).to_be_visible()
    approvals = page.get_by_test_id("approvals")
    expect(approvals).to_contain_text("Sales manager")  # Grace
    expect(approvals).to_contain_text("Finance")  # Sofia
    expect(page.get_by_test_id("pdf-link")).to_be_visible()

    # Autumn savings goes to finance only; Spring relaunch to Grace and then Daniel.
    open_proposal(page, "Autumn savings")
    steps = page.get_by_test_id("steps")
    expect(steps).to_contain_text("Finance")
    expect(steps).not_to_contain_text("Sales manager")
    open_proposal(page, "Spring relaunch")
    steps = page.get_by_test_id("steps")
    expect(steps).to_contain_text("Sales manager")
    expect(steps).to_contain_text("is above 250,000")

    # New proposal: the buyer list offers the advertiser's contacts; which notes go on the PDF.
    go(page, "Proposals")
    page.get_by_role("link", name="New proposal").click()
    # as a person does, choose once the page has loaded: a change made before htmx has set up the
    # form's triggers would not reach the server (it failed so in CI while the machine was busy)
    page.wait_for_load_state()
    page.get_by_label("Advertiser").select_option(label="Corvane Motors UK")
    expect(page.get_by_label("Buyer", exact=True).locator("option")).to_contain_text(
        ["Helen Marsh (Corvane Motors UK)"], timeout=15_000
    )
    expect(page.get_by_text("Printed on the PDF the buyer receives.")).to_be_visible()
    expect(page.get_by_text("For your colleagues and approvers only: never on the PDF.")).to_be_visible()

    # Catalog › Football Pre-roll: 2,000,000 in London over the next three weeks; why not, what would; price it.
    go(page, "Catalog")
    page.get_by_role("link", name="Football Pre-roll", exact=True).click()
    form = page.get_by_test_id("availability-form")
    choose(form, "Geography", "London")
    form.get_by_label("From").fill((day + timedelta(days=1)).isoformat())
    form.get_by_label("To").fill((day + timedelta(days=21)).isoformat())
    form.get_by_label("Impressions").fill("2000000")
    form.get_by_role("button", name="Check availability").click()
    panel = page.get_by_test_id("availability-panel")
    expect(panel.get_by_test_id("verdict")).to_contain_text("Does not fit")
    expect(panel.get_by_test_id("suggestions")).to_contain_text("Ask for at most")
    pricing = page.get_by_test_id("pricing-form")
    # The same three weeks typed into the Price form (its own default flight, 4 weeks from next
    # Monday, crosses the year end in December and this year's card refuses it).
    pricing.get_by_label("From").fill((day + timedelta(days=1)).isoformat())
    pricing.get_by_label("To").fill((day + timedelta(days=21)).isoformat())
    pricing.get_by_label("Impressions").fill("2000000")
    pricing.get_by_role("button", name="Price it").click()
    expect(page.get_by_test_id("pricing-panel").get_by_test_id("gross")).to_contain_text("£")

    # Inventory › Holds and bookings: her holds and Winter launch's bookings.
    go(page, "Inventory")
    page.get_by_role("link", name="Holds and bookings").click()
    expect(page.get_by_role("heading", name="Your holds and bookings")).to_be_visible()
    rows = page.get_by_test_id("reservations").get_by_role("row")
    expect(rows.filter(has_text="Winter launch").first).to_contain_text("booking")
    expect(rows.filter(has_text=re.compile(r"P-\d{4}-\d{4} line 1: Halden Auto Group"))).to_contain_text("hold")

    # KNOWN GAP (issue 16, "The builder's preview shows available impressions"): the line preview
    # (templates/pricing/_panel.html through proposals.preview_line) shows the sell-through
    # percentage only, no available impressions and no busy state.
    assert preview_says_available, (
        "README: 'watch the price and availability follow' - the builder's line preview shows no "
        "available impressions while the rep edits (only 'Sell-through of the targeted inventory')"
    )


def test_rep_tom_may_read_anas_account_but_not_change_it(page):
    sign_in_as(page, REP2)
    go(page, "Accounts")
    page.get_by_role("row").filter(has_text="Ana Ruiz").first.get_by_role("link").first.click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.locator("dt", has_text="Owner").locator("+ dd")).to_have_text("Ana Ruiz")
    expect(page.get_by_role("link", name="Edit", exact=True)).to_have_count(0)


def test_manager_grace_walks_her_try_first(page):
    ana_submits(page, "Summer drive", "Spring relaunch")
    switch(page, "sales_manager")
    # Home: her approval queue and accounts per rep.
    queue = page.get_by_test_id("home-approvals")
    expect(queue.get_by_test_id("approval-request").filter(has_text="Summer drive")).to_be_visible()
    expect(queue.get_by_test_id("approval-request").filter(has_text="Spring relaunch")).to_be_visible()
    expect(page.get_by_test_id("home-manager").get_by_role("row", name=re.compile("Ana Ruiz"))).to_be_visible()

    # Approvals: Summer drive waits for Finance after her; Spring relaunch's step 2 goes to the VP.
    queue_card(page, "Summer drive").get_by_role("button", name="Approve").click()
    expect(page.get_by_text("your approval is recorded; waiting for Finance (Sofia Lindqvist)")).to_be_visible()
    queue_card(page, "Spring relaunch").get_by_role("button", name="Approve").click()
    expect(page.get_by_text("step 2 is with Daniel Moreau")).to_be_visible()

    # Inventory: the heatmap, as a table; a busy cell opens.
    go(page, "Inventory")
    expect(page.get_by_test_id("heatmap")).to_be_visible()
    page.get_by_role("button", name="Show as a table").click()
    table = page.get_by_role("table", name=re.compile("Sell-through per ad slot and week"))
    expect(table).to_be_visible()
    table.get_by_role("link", name=re.compile(r"^(100|9\d|8\d) %$")).first.click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()

    # Edit any account: one of Ana's.
    go(page, "Accounts")
    page.get_by_role("row").filter(has_text="Ana Ruiz").first.get_by_role("link").first.click()
    page.get_by_role("link", name="Edit", exact=True).click()
    page.get_by_label("Notes").fill("Reviewed by Grace.")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("dd", has_text="Reviewed by Grace.")).to_be_visible()


def test_vp_daniel_decides_spring_relaunch_in_step_2(page):
    ana_submits(page, "Spring relaunch")
    switch(page, "sales_manager")
    queue_card(page, "Spring relaunch").get_by_role("button", name="Approve").click()
    expect(page.get_by_text("step 2 is with Daniel Moreau")).to_be_visible()

    switch(page, email=VP)
    waiting = page.get_by_test_id("home-approvals").get_by_test_id("approval-request")
    expect(waiting.filter(has_text="Spring relaunch")).to_contain_text("step 2")
    card = queue_card(page, "Spring relaunch").filter(has_text="Step 2")
    expect(card.get_by_test_id("reasons")).to_contain_text("is above 250,000")
    card.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("approved. Every step said yes")).to_be_visible()


def test_ad_ops_luca_walks_his_try_first(page, live_server):
    day = today(live_server)
    sign_in(page, "ad_ops")
    # Home: orders to set up, pushes that failed, lines at risk.
    for heading in ("Orders to set up", "Pushes that failed", "Lines at risk"):
        expect(page.get_by_role("heading", name=re.compile(heading))).to_be_visible()

    # Orders › Winter launch: in the sandbox, ad-server ids, push history, delivery, pacing chart.
    open_winter_launch(page)
    expect(page.get_by_test_id("push-state")).to_have_text("In the ad server")
    expect(page.get_by_text("Sandbox").first).to_be_visible()
    expect(page.get_by_test_id("adserver-ids").first).to_be_visible()
    expect(page.get_by_test_id("push-history")).to_be_visible()
    expect(page.get_by_test_id("delivered").first).to_be_visible()
    expect(page.get_by_test_id("pacing").first).to_be_visible()
    before = delivered(page)

    # Ad servers › Run until a date: delivery moves.
    go(page, "Ad servers")
    until = day + timedelta(days=3)
    page.get_by_label("Run the sandbox until").fill(until.isoformat())
    page.get_by_role("button", name="Run until").click()
    expect(page.get_by_text(f"delivery is in through {until:%d %b %Y}")).to_be_visible()
    page.get_by_role("button", name="Run the next simulated day").click()
    expect(page.get_by_text(re.compile(r"The sandbox is now \d+ days ahead"))).to_be_visible()
    open_winter_launch(page)
    after = delivered(page)
    assert all(a > b for a, b in zip(after, before, strict=True)), (before, after)
    go(page, "Ad servers")

    # Mappings: the connection's unmapped count.
    page.get_by_test_id("connections").get_by_role("link", name=re.compile("Mappings")).first.click()
    expect(page.get_by_role("heading", name="Mappings · Sandbox")).to_be_visible()
    expect(page.get_by_test_id("unmapped-count")).to_contain_text("unmapped")

    # Ad ops: pushes that need them, lines at risk, drift.
    go(page, "Ad ops")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    for words in ("need", "risk", "rift"):
        expect(page.get_by_role("heading", name=re.compile(words)).first).to_be_visible()

    # Approvals (sponsorships and contention) and Inventory › Holds and bookings.
    go(page, "Approvals")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    go(page, "Inventory")
    page.get_by_role("link", name="Holds and bookings").click()
    expect(
        page.get_by_test_id("reservations").get_by_role("row").filter(has_text="Winter launch").first
    ).to_be_visible()


def test_finance_sofia_walks_her_try_first(page, tmp_path):
    ana_submits(page, "Summer drive", "Autumn savings")
    switch(page, "finance")
    # Home: this month's booked against recognised, requests waiting for finance, accounts on credit hold.
    figures = page.get_by_test_id("month-revenue")
    expect(figures.get_by_test_id("booked").first).to_have_text(re.compile(r"^£[0-9,]+\.[0-9]{2}$"))
    expect(figures.get_by_test_id("recognised").first).to_have_text(re.compile(r"^£[0-9,]+\.[0-9]{2}$"))
    waiting = page.get_by_test_id("home-approvals").get_by_test_id("approval-request")
    expect(waiting.filter(has_text="Summer drive")).to_be_visible()
    expect(waiting.filter(has_text="Autumn savings")).to_be_visible()
    holds = page.get_by_role("list", name="Accounts on credit hold")
    expect(holds).to_contain_text("Halden Auto Group")

    # Finance: from three months back through the months new orders book into; why a month differs.
    go(page, "Finance")
    expect(page.get_by_test_id("range-shown")).to_contain_text("three months back through")
    months = page.get_by_test_id("months")
    why = page.get_by_test_id("month-variance").filter(has_text=re.compile("(more|less) than booked"))
    expect(months.locator(why).first, "no month says why it recognised more or less than booked").to_be_visible()
    row = months.get_by_role("row").filter(has=why).first
    row.get_by_role("link").first.click()
    expect(page.get_by_test_id("month-variance")).to_contain_text("than booked")
    expect(page.get_by_test_id("line-why").first).not_to_be_empty()

    # Export what the page shows as XLSX and read its control summary.
    go(page, "Finance")
    export = page.get_by_test_id("export-form")
    export.get_by_label("Format").select_option("xlsx")
    export.get_by_role("button", name=re.compile("^Export")).click()
    expect(page.get_by_test_id("control-summary")).to_contain_text("Rows")
    with page.expect_download() as info:
        page.get_by_test_id("download").click()
    assert info.value.suggested_filename.endswith(".xlsx")

    # Close last month.
    go(page, "Finance")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("close-month").click()
    expect(page.get_by_text("is closed")).to_be_visible()

    # Approvals: Summer drive with every fact the rule looked at, and Autumn savings.
    card = queue_card(page, "Summer drive")
    for fact in ("new advertiser: yes", "advertiser on credit hold: yes"):
        expect(card.get_by_test_id("reasons")).to_contain_text(fact)
    expect(page.get_by_test_id("request").filter(has_text="Autumn savings")).to_be_visible()


def test_admin_priya_walks_her_try_first(page, live_server):
    year = today(live_server).year
    # The Outbox holds a signing link once a proposal has gone to a buyer: Ana submits Autumn
    # savings, Sofia approves it, Ana sends it (the README's cell takes this for granted; a fresh
    # demo's outbox is empty).
    ana_submits(page, "Autumn savings")
    switch(page, "finance")
    queue_card(page, "Autumn savings").get_by_role("button", name="Approve").click()
    expect(page.get_by_text("approved. Every step said yes")).to_be_visible()
    switch(page, "sales_rep")
    open_proposal(page, "Autumn savings")
    page.get_by_role("button", name="Send to the buyer").click()
    expect(page.get_by_text("with the PDF and a link to sign")).to_be_visible()

    switch(page, "admin")
    # Admin › Ad servers: the sandbox; add a Google Ad Manager or Revive connection.
    go(page, "Ad servers")
    expect(page.get_by_test_id("connections")).to_contain_text("Sandbox")
    page.get_by_role("button", name="New connection").click()
    page.get_by_role("link", name=re.compile("Revive")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Revive")
    page.get_by_label(re.compile("^Name")).fill("Revive EU")
    page.get_by_label(re.compile("^Time zone")).fill("Europe/Paris")
    page.get_by_label(re.compile("^Revive URL")).fill("https://ads.example.com")
    page.get_by_label(re.compile("^Username")).fill("api")
    page.get_by_label(re.compile("^Password")).fill("s3cret-pass")
    page.get_by_role("button", name=re.compile("Save|Create")).click()
    expect(page.get_by_text("Connection “Revive EU” saved.")).to_be_visible()

    # Admin › Approval rules: open one, try it on open proposals, add one.
    go(page, "Approval rules")
    page.get_by_test_id("rules").get_by_role("link").first.click()
    page.get_by_role("button", name="Try it on open proposals").click()
    expect(page.get_by_test_id("trial-count")).to_be_visible()
    go(page, "Approval rules")
    page.get_by_role("link", name="New rule").click()
    expect(page.get_by_role("heading", name="New rule")).to_be_visible()

    # Admin › Outbox: every e-mail the demo sent, the buyer's signing link among them.
    go(page, "Outbox")
    outbox = page.get_by_test_id("outbox-table")
    expect(outbox).to_contain_text("Approval needed: ")
    outbox.get_by_role("link", name=re.compile("^Proposal P-.*Autumn savings")).click()
    expect(page.get_by_text(re.compile(r"https?://\S+/sign/")).first).to_be_visible()

    # Rate cards: Standard; a premium's values follow its feature; an overlapping season; copy.
    go(page, "Rate cards")
    page.get_by_role("link", name=f"Standard {year}", exact=True).click()
    page.locator("summary", has_text="Set premium").click()
    premium = page.get_by_test_id("form-premium")
    premium.get_by_label("Feature").select_option(label="Device")
    premium.get_by_role("combobox", name="Value", exact=True).click()
    expect(page.get_by_role("listbox", name="Value").get_by_role("option").filter(has_text="London")).to_have_count(0)
    page.keyboard.press("Escape")
    page.locator("summary", has_text="Add season").click()
    season = page.get_by_test_id("form-season")
    season.get_by_label("Season").fill("Christmas week")
    season.get_by_label("From").fill(f"{year}-12-20")
    season.get_by_label("To").fill(f"{year}-12-27")
    season.get_by_label("Adjustment (%)").fill("5")
    season.get_by_role("button", name="Add season").click()
    expect(page.get_by_text(re.compile("“Christmas week”.*overlaps")).first).to_be_visible()
    page.get_by_label("Name of the copy").fill(f"Standard {year + 1} draft")
    page.get_by_role("button", name="Copy", exact=True).click()
    expect(page.get_by_role("heading", name=f"Standard {year + 1} draft")).to_be_visible()

    # Catalog: a product, an ad unit, an audience segment.
    go(page, "Catalog")
    page.get_by_role("link", name="New product").click()
    page.get_by_label("Name", exact=True).fill("Cricket Display")
    page.get_by_label("Category").fill("Display")
    page.get_by_label("Harbour Sport › Cricket", exact=True).check()
    page.get_by_label("300x250").check()
    page.get_by_role("button", name="Create product").click()
    expect(page.get_by_text("Created product Cricket Display.")).to_be_visible()
    go(page, "Catalog")
    page.get_by_role("link", name="Ad units").click()
    page.get_by_label("Parent").select_option(label="Harbour Sport › Cricket")
    page.get_by_label("Name", exact=True).fill("Scorecard banner")
    page.get_by_label("Creative sizes").fill("728x90")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_test_id("ad-unit-tree")).to_contain_text("Scorecard banner")
    go(page, "Catalog")
    page.get_by_role("link", name="Targeting").click()
    page.locator("summary", has_text="Add a segment").click()
    segment = page.locator("form", has=page.get_by_label("Code")).filter(visible=True).first
    segment.get_by_label("Code").fill("cricket-fans")
    segment.get_by_label("Name").fill("Cricket fans")
    segment.get_by_role("button", name="Add").click()
    expect(page.get_by_role("cell", name="Cricket fans")).to_be_visible()

    # Admin › Users; Admin › Audit log.
    go(page, "Users")
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    expect(page.get_by_role("cell", name="Daniel Moreau")).to_be_visible()
    go(page, "Audit log")
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
