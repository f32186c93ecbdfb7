"""The sell-through heatmap in Chromium: its table alternative carries the same figures and links."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import sign_in


def test_a_manager_reads_the_heatmap_as_a_table_and_opens_a_sold_out_week_from_it(page):
    sign_in(page, "sales_manager")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Inventory").click()
    heatmap = page.get_by_test_id("heatmap")
    expect(heatmap).to_be_visible()
    expect(heatmap).to_have_attribute("aria-hidden", "true")  # for the eye: the table speaks for it
    table = page.get_by_role("table", name=re.compile("Sell-through per ad slot and week"))
    expect(table).to_be_attached()  # a screen reader finds it before anyone presses a button
    cells = heatmap.locator("a").count()
    assert cells > 0 and table.get_by_role("link").count() == cells  # every cell's link, once

    page.get_by_role("button", name="Show as a table").click()
    expect(table).to_be_visible()
    expect(heatmap).to_be_hidden()
    expect(page.get_by_role("button", name="Show as a heatmap")).to_have_attribute("aria-expanded", "true")
    sold_out = table.get_by_role("row").filter(has=page.get_by_role("link", name="100 %")).first
    slot = sold_out.get_by_role("rowheader").inner_text()
    sold_out.get_by_role("link", name="100 %").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(slot.split(" › ")[-1])

    page.go_back()
    page.get_by_role("button", name="Show as a table").click()
    page.get_by_role("button", name="Show as a heatmap").click()
    expect(heatmap).to_be_visible()
