"""An admin builds a product and a rate card in Chromium; a rep then finds them in the catalog."""

from __future__ import annotations

from datetime import date

from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.browser.picking import choose


def test_an_admin_builds_a_product_and_a_rate_card_and_a_rep_finds_its_base_rate(page):
    year = date.today().year
    sign_in(page, "admin")

    # The product, entirely through the form.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Catalog").click()
    page.get_by_role("link", name="New product").click()
    page.get_by_label("Name", exact=True).fill("Cricket Display")
    page.get_by_label("Category").fill("Display")
    page.get_by_label("Harbour Sport › Cricket", exact=True).check()
    page.get_by_label("300x250").check()
    page.get_by_label("728x90").check()
    page.get_by_role("checkbox", name="Geography").check()
    page.get_by_role("button", name="Create product").click()
    expect(page.get_by_text("Created product Cricket Display.")).to_be_visible()
    expect(page.get_by_test_id("product-slots")).to_contain_text("Harbour Sport › Cricket › MPU")

    # The rate card, with a base rate and two premiums.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Rate cards").click()
    page.get_by_role("link", name="New rate card").click()
    page.get_by_label("Name", exact=True).fill(f"Cricket season {year}")
    page.get_by_label("Valid from").fill(f"{year}-01-01")
    page.get_by_label("Valid to").fill(f"{year}-12-31")
    page.get_by_role("button", name="Create rate card").click()
    expect(page.get_by_role("heading", name=f"Cricket season {year}")).to_be_visible()

    page.locator("summary", has_text="Set base rate").click()
    rate_form = page.get_by_test_id("form-rate")
    rate_form.get_by_label("Product").select_option(label="Cricket Display")
    rate_form.get_by_label("Base rate").fill("-3")
    rate_form.get_by_role("button", name="Set base rate").click()
    expect(page.get_by_test_id("form-rate").locator('[data-field-error="rate-rate"]')).to_contain_text(
        "cannot be negative"
    )
    page.get_by_test_id("form-rate").get_by_label("Base rate").fill("11.50")
    page.get_by_test_id("form-rate").get_by_role("button", name="Set base rate").click()
    expect(page.get_by_test_id("base-rates")).to_contain_text("Cricket Display")
    expect(page.get_by_test_id("base-rates")).to_contain_text("£11.50")

    for value, amount in (("Geography: London", "25"), ("Device: Mobile", "15")):
        page.locator("summary", has_text="Set premium").click()
        premium_form = page.get_by_test_id("form-premium")
        premium_form.get_by_label("Feature").select_option(label=value.split(":")[0])
        choose(premium_form, "Value", value.split(": ")[1])
        premium_form.get_by_label("Premium", exact=True).fill(amount)
        premium_form.get_by_role("button", name="Set premium").click()
    premiums = page.get_by_test_id("premiums")
    expect(premiums.get_by_role("row", name="London")).to_contain_text("+25 %")
    expect(premiums.get_by_role("row", name="Mobile")).to_contain_text("+15 %")

    # The rep finds the product with its base rate.
    page.get_by_test_id("user-menu").click()
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, "sales_rep")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Catalog").click()
    page.get_by_label("Search").fill("cricket")
    page.get_by_label("Rates from").select_option(label=f"Cricket season {year}")
    page.get_by_role("button", name="Filter").click()
    row = page.get_by_test_id("catalog-table").get_by_role("row", name="Cricket Display")
    expect(row).to_contain_text("£11.50")
    expect(row).to_contain_text("CPM")
    row.get_by_role("link", name="Cricket Display").click()
    expect(page.get_by_test_id("product-rates")).to_contain_text("£11.50")
