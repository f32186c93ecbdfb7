"""A rep builds a three-line proposal in Chromium, watches price and availability follow the edits,
holds it, saves a version and reads the PDF back."""

from __future__ import annotations

import io

import pypdf
from playwright.sync_api import expect

from app.extensions import current_clock
from tests.browser.conftest import sign_in
from tests.browser.picking import choose


def add_line(page, product: str, impressions: str) -> None:
    form = page.get_by_test_id("add-line-form")
    option = form.locator("#new-product option", has_text=product).first
    form.locator("#new-product").select_option(value=option.get_attribute("value"))
    form.get_by_label("Impressions").fill(impressions)
    form.get_by_role("button", name="Add").click()


def test_a_rep_builds_holds_and_exports_a_proposal(page, live_server):
    with live_server.app.app_context():
        year = current_clock().today().year + 1

    sign_in(page, "sales_rep")
    page.goto("/proposals/new")
    page.get_by_label("Advertiser").select_option(label="Halden Auto Group")
    page.get_by_label("Campaign").fill("Spring launch")
    page.get_by_label("Rate card").select_option(label=f"Standard {year} (GBP)")
    page.get_by_label("Flight from").fill(f"{year}-02-01")
    page.get_by_label("to", exact=True).fill(f"{year}-02-14")
    page.get_by_role("button", name="Create proposal").click()
    expect(page.get_by_text("add its lines")).to_be_visible()

    add_line(page, "Sport Display", "500000")
    expect(page.get_by_test_id("line")).to_have_count(1)
    add_line(page, "News Display", "400000")
    expect(page.get_by_test_id("line")).to_have_count(2)
    add_line(page, "Football Pre-roll", "20000")
    lines = page.get_by_test_id("line")
    expect(lines).to_have_count(3)
    # 8.40 x 500 + 9.45 x 400 + 29.40 x 20 = 4,200 + 3,780 + 588
    expect(page.get_by_test_id("total-gross")).to_have_text("£8,568.00")

    # Editing line 1: the preview prices London before anything is saved.
    line = lines.nth(0)
    line.get_by_text("Edit line 1").click()
    form = line.get_by_test_id("line-form")
    choose(form, "Geography", "London")
    preview = line.get_by_test_id("line-preview")
    expect(preview.get_by_test_id("waterfall")).to_contain_text("London: +25 % of base")
    expect(preview.get_by_test_id("net-rate")).to_have_text("£10.50")
    form.get_by_role("button", name="Save line 1").click()
    expect(page.get_by_test_id("line").nth(0).get_by_test_id("line-rate")).to_have_text("£10.50")
    expect(page.get_by_test_id("total-gross")).to_have_text("£9,618.00")

    page.get_by_role("button", name="Hold every line").click()
    expect(page.get_by_test_id("hold-badge")).to_have_count(3)

    # Halden Auto Group's credit is on hold in the demo: the rep acknowledges the warning.
    expect(page.get_by_test_id("warning")).to_contain_text("credit is on hold")
    page.get_by_label("I have read the warnings").check()
    page.get_by_role("button", name="Submit for approval").click()
    expect(page.get_by_text("Version 1 submitted")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_test_id("pdf-link").click()
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(download.value.path().read_bytes())).pages)
    for expected in ("Spring launch", "Sport Display", "News Display", "Football Pre-roll", "£9,618.00"):
        assert expected in text, expected
