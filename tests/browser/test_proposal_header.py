"""A rep's new proposal in Chromium: the defaults work together at the year end, the form says when
a flight spans two rate cards, the buyer list follows the advertiser and agency, notes for the
buyer reach the PDF and internal notes never do, and a draft downloads as a PDF marked DRAFT."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pypdf
from playwright.sync_api import expect

from app.clock import FixedClock
from app.extensions import CLOCK, current_clock
from tests.browser.conftest import sign_in
from tests.browser.test_proposal_builder import add_line


def pdf_text(download) -> str:
    reader = pypdf.PdfReader(io.BytesIO(download.value.path().read_bytes()))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def open_new_proposal(page) -> None:
    page.get_by_role("link", name="Proposals", exact=True).first.click()
    page.get_by_role("link", name="New proposal").click()
    expect(page.get_by_role("heading", name="New proposal")).to_be_visible()


def test_at_the_year_end_the_defaults_take_a_first_line_and_a_flight_across_two_cards_is_explained(page, live_server):
    # The demo's cards are this year's and next year's; on 7 December the four weeks from next
    # Monday cross the year end.
    app = live_server.app
    with app.app_context():
        clock = current_clock()
        year = clock.today().year
    app.extensions[CLOCK] = FixedClock(clock.time_zone, datetime(year, 12, 7, 10, tzinfo=UTC))

    sign_in(page, "sales_rep")
    open_new_proposal(page)
    page.get_by_label("Advertiser").select_option(label="Hearthly Home Stores")
    page.get_by_label("Campaign").fill("Winter sale")
    # Nothing to warn about: the default card prices the default flight.
    expect(page.get_by_test_id("flight-check")).to_have_count(0)
    page.get_by_role("button", name="Create proposal").click()
    expect(page.get_by_text("add its lines")).to_be_visible()

    add_line(page, "Sport Display", "200000")
    line = page.get_by_test_id("line")
    expect(line).to_have_count(1)
    expect(line).not_to_contain_text("outside it")
    expect(page.get_by_test_id("line-rate")).to_contain_text("£")

    # Stretching the flight into next year: the form says so as soon as the date changes.
    page.get_by_role("link", name="Edit details").click()
    page.get_by_label("to", exact=True).fill(f"{year + 1}-01-10")
    page.get_by_label("to", exact=True).dispatch_event("change")
    check = page.get_by_test_id("flight-check")
    expect(check).to_contain_text("spans more than one rate card")
    expect(check).to_contain_text(f"Standard {year} covers")
    expect(check).to_contain_text(f"Standard {year + 1} covers 1 Jan {year + 1} to 10 Jan {year + 1}")
    expect(check).to_contain_text(f"end the flight by 31 Dec {year}")
    # Choosing next year's card does not fit either (the flight starts in December): still said.
    page.get_by_label("Rate card").select_option(label=f"Standard {year + 1} (GBP)")
    expect(check).to_contain_text(f"start it on 1 Jan {year + 1} or later")
    # Saving anyway is refused with the same words, on the field.
    page.get_by_role("button", name="Save").click()
    expect(page.locator('[data-field-error="start_day"]')).to_contain_text("spans more than one rate card")
    # Following the advice clears it.
    page.get_by_label("Flight from").fill(f"{year + 1}-01-04")
    page.get_by_label("Flight from").dispatch_event("change")
    expect(page.get_by_test_id("flight-check")).to_have_count(0)


def test_the_buyer_list_offers_the_chosen_advertisers_and_agencys_contacts(page):
    sign_in(page, "sales_rep")
    open_new_proposal(page)
    buyer = page.get_by_label("Buyer", exact=True)
    expect(buyer.locator("option")).to_have_text(["— none yet —"])
    page.get_by_label("Advertiser").select_option(label="Corvane Motors UK")
    expect(buyer.locator("option")).to_have_text(
        ["— none yet —", "Helen Marsh (Corvane Motors UK)", "Sam Whitaker (Corvane Motors UK)"]
    )
    buyer.select_option(label="Sam Whitaker (Corvane Motors UK)")
    page.get_by_label("Agency").select_option(label="Lanternfish Media")
    expect(buyer.locator("option")).to_have_text(
        [
            "— none yet —",
            "Helen Marsh (Corvane Motors UK)",
            "Sam Whitaker (Corvane Motors UK)",
            "Ollie Grant (Lanternfish Media)",
            "Zara Hussain (Lanternfish Media)",
        ]
    )
    expect(buyer).to_have_value(buyer.locator("option", has_text="Sam Whitaker").get_attribute("value"))
    page.get_by_label("Advertiser").select_option(label="Hearthly Home Stores")
    expect(buyer.locator("option")).to_contain_text(["Megan Doyle (Hearthly Home Stores)"])
    expect(buyer.locator("option", has_text="Corvane")).to_have_count(0)


def test_the_client_sees_notes_for_the_buyer_and_never_internal_notes_nor_the_budget_goal(page, live_server):
    with live_server.app.app_context():
        year = current_clock().today().year + 1

    sign_in(page, "sales_rep")
    open_new_proposal(page)
    page.get_by_label("Advertiser").select_option(label="Halden Auto Group")
    page.get_by_label("Campaign").fill("Spring launch")
    page.get_by_label("Rate card").select_option(label=f"Standard {year} (GBP)")
    page.get_by_label("Flight from").fill(f"{year}-02-01")
    page.get_by_label("to", exact=True).fill(f"{year}-02-14")
    page.get_by_label("Budget goal").fill("3000")
    expect(page.get_by_text("Printed on the PDF the buyer receives.")).to_be_visible()
    expect(page.get_by_text("For your colleagues and approvers only: never on the PDF.")).to_be_visible()
    expect(page.get_by_text("Internal: the builder measures the total against it")).to_be_visible()
    page.get_by_label("Notes for the buyer").fill("Creative is due ten working days before launch.")
    page.get_by_label("Internal notes").fill("Gary will walk away above 5k; manager agreed 10 % if pushed.")
    page.get_by_role("button", name="Create proposal").click()
    add_line(page, "Sport Display", "500000")
    expect(page.get_by_test_id("total-gross")).to_have_text("£4,200.00")

    # The draft, before submitting: marked DRAFT, not signable, and no version is made.
    with page.expect_download() as download:
        page.get_by_role("link", name="Download draft PDF").click()
    text = pdf_text(download)
    for expected in ("DRAFT", "Draft — not for signature", "Spring launch", "£4,200.00", "Creative is due"):
        assert expected in text, expected
    for hidden in ("walk away", "budget goal", "Budget goal", "3,000", "Signature"):
        assert hidden not in text, hidden
    expect(page.get_by_text("No version yet")).to_be_visible()

    # The version the buyer signs: the same notes for the buyer, still nothing internal.
    expect(page.get_by_test_id("warning")).to_contain_text("credit is on hold")
    page.get_by_label("I have read the warnings").check()
    page.get_by_role("button", name="Submit for approval").click()
    expect(page.get_by_text("Version 1 submitted")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_test_id("pdf-link").click()
    text = pdf_text(download)
    assert "Creative is due" in text and "Signature" in text and "DRAFT" not in text
    for hidden in ("walk away", "budget goal", "Budget goal", "3,000"):
        assert hidden not in text, hidden
