"""Targeting is picked from searchable lists, from the keyboard, the same way on every page that
chooses it: the builder's line, the product page's panels, the premium form of a rate card."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from app.extensions import current_clock
from tests.browser.conftest import sign_in
from tests.browser.picking import choose


def test_a_rep_types_to_find_two_regions_chooses_them_from_the_keyboard_and_the_price_follows(page):
    sign_in(page, "sales_rep")
    page.get_by_role("link", name="Proposals", exact=True).click()
    page.get_by_role("row", name=re.compile("Summer drive")).get_by_role("link").first.click()
    line = page.get_by_test_id("line").nth(1)
    before = line.get_by_test_id("line-rate").inner_text()
    line.get_by_text("Edit line 2").click()
    form = line.get_by_test_id("line-form")

    regions = form.get_by_role("combobox", name="Geography", exact=True)
    regions.click()
    regions.press_sequentially("north")
    listbox = page.get_by_role("listbox", name="Geography")
    expect(listbox.get_by_role("option")).to_have_text(["North East", "North West", "Northern Ireland"])
    regions.press("ArrowDown")  # North West
    regions.press("Enter")
    regions.press_sequentially("scot")
    expect(listbox.get_by_role("option")).to_have_text(["Scotland"])
    regions.press("Enter")
    regions.press("Escape")
    expect(form.locator("select[name=geo] option:checked")).to_have_text(["North West", "Scotland"])
    # a screen reader hears the field by its label and what is chosen in it
    expect(regions).to_have_accessible_description("Chosen: North West, Scotland")

    preview = line.get_by_test_id("line-preview")
    expect(preview.get_by_test_id("waterfall")).to_contain_text("Premium: geography")
    previewed = preview.get_by_test_id("net-rate").inner_text()
    assert previewed != before
    form.get_by_role("button", name="Save line 2").click()
    expect(page.get_by_test_id("line").nth(1).get_by_test_id("line-rate")).to_have_text(previewed)
    # the saved line stays open, its regions chosen in the picker
    chosen = page.get_by_test_id("line").nth(1).get_by_test_id("line-form").locator(".ts-control .item")
    expect(chosen).to_have_text([re.compile("North West"), re.compile("Scotland")])


def test_the_premium_form_offers_only_the_chosen_features_values(page, live_server):
    with live_server.app.app_context():
        year = current_clock().today().year
    sign_in(page, "admin")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Rate cards").click()
    page.get_by_role("link", name=f"Standard {year}", exact=True).click()
    page.locator("summary", has_text="Set premium").click()
    form = page.get_by_test_id("form-premium")
    form.get_by_label("Feature").select_option(label="Device")
    values = form.get_by_role("combobox", name="Value", exact=True)
    values.click()
    listbox = page.get_by_role("listbox", name="Value")
    expect(listbox.get_by_role("option")).to_have_text(
        ["Any value", "Device: Desktop", "Device: Mobile", "Device: Tablet"]
    )
    values.press_sequentially("tab")
    values.press("Enter")
    form.get_by_label("Premium", exact=True).fill("12")
    form.get_by_role("button", name="Set premium").click()
    expect(page.get_by_test_id("premiums").get_by_role("row", name="Tablet")).to_contain_text("+12 %")

    # Another feature: its own values, none of the devices.
    page.locator("summary", has_text="Set premium").click()
    form = page.get_by_test_id("form-premium")
    form.get_by_label("Feature").select_option(label="Geography")
    form.get_by_role("combobox", name="Value", exact=True).click()
    options = page.get_by_role("listbox", name="Value").get_by_role("option")
    expect(options.first).to_have_text("Any value")
    expect(options.filter(has_text="London")).to_have_count(1)
    expect(options.filter(has_text="Device")).to_have_count(0)


def test_a_product_page_lists_next_years_card_beside_this_years(page, live_server):
    with live_server.app.app_context():
        year = current_clock().today().year
    sign_in(page, "sales_rep")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Catalog").click()
    page.get_by_role("link", name="Sport Display", exact=True).click()
    rates = page.get_by_test_id("product-rates")
    expect(rates.get_by_role("row", name=f"Standard {year}", exact=False).first).to_contain_text("£8.00")
    expect(rates.get_by_role("row", name=f"Standard {year + 1}")).to_contain_text("£8.40")


def test_the_version_comparison_writes_rates_and_costs_in_pounds(page):
    sign_in(page, "sales_rep")
    page.get_by_role("link", name="Proposals", exact=True).click()
    page.get_by_role("row", name=re.compile("Summer drive")).get_by_role("link").first.click()

    def submit() -> None:
        acknowledge = page.get_by_label("I have read the warnings")
        if acknowledge.count():
            acknowledge.check()
        page.get_by_role("button", name="Submit for approval").click()

    submit()
    page.get_by_role("button", name="Withdraw to edit").click()
    line = page.get_by_test_id("line").nth(1)
    before = line.get_by_test_id("line-rate").inner_text()
    line.get_by_text("Edit line 2").click()
    form = line.get_by_test_id("line-form")
    choose(form, "Geography", "Scotland")
    form.get_by_role("button", name="Save line 2").click()
    expect(page.get_by_test_id("line").nth(1).get_by_test_id("line-rate")).not_to_have_text(before)
    submit()
    page.get_by_role("button", name="Compare the two chosen versions").click()

    changed = page.get_by_test_id("diff-changed")
    money = re.compile(r"^£\d[\d,]*\.\d{2}$")
    rate = re.compile(r"^£\d[\d,]*\.\d{2,4}$")
    for label, pattern in (("Net rate", rate), ("Cost", money)):
        cells = changed.get_by_role("row", name=label).get_by_role("cell")
        expect(cells.nth(1)).to_have_text(pattern)
        expect(cells.nth(2)).to_have_text(pattern)
    expect(page.get_by_test_id("diff-totals").get_by_role("row", name="Gross").get_by_role("cell").nth(1)).to_have_text(
        money
    )


def test_an_admin_sets_a_products_default_regions_in_the_same_picker(page):
    sign_in(page, "admin")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Catalog").click()
    page.get_by_role("link", name="Sport Display", exact=True).click()
    page.get_by_role("link", name="Edit").click()
    choose(page, "Geography", "South E", "Londo")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("default South East, London")).to_be_visible()  # in the order chosen


def test_a_rep_asks_for_a_recommended_mix_in_two_regions_picked_from_the_keyboard(page):
    sign_in(page, "sales_rep")
    page.get_by_role("link", name="Proposals", exact=True).click()
    page.get_by_role("row", name=re.compile("Summer drive")).get_by_role("link").first.click()
    form = page.get_by_test_id("recommend-form")
    form.get_by_label("Budget").fill("20000")
    choose(form, "Geography", "London", "South E")
    expect(form.locator("select[name=geo] option:checked")).to_have_count(2)
    form.get_by_role("button", name="Recommend").click()
    recommendation = page.get_by_test_id("recommendation")
    expect(recommendation.get_by_role("button", name=re.compile(r"Add these \d+ lines"))).to_be_visible()
    expect(recommendation.locator("input[name=geo]")).to_have_count(2)
