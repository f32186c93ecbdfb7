"""Finance in Chromium: filter a month, see the chart, download the XLSX and find the page's totals in it;
see the months new orders book into, export exactly them, and read why recognised differs from booked."""

from __future__ import annotations

import csv
from decimal import Decimal

import openpyxl
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.functional.test_finance_pages import booked_ahead, moved_back


def amount(text: str) -> Decimal:
    return Decimal("".join(ch for ch in text if ch.isdigit() or ch in ".-"))


def test_finance_filters_a_month_sees_the_chart_and_downloads_the_xlsx(page, live_server, tmp_path):
    first, _last = moved_back(live_server.app)
    sign_in(page, "finance")
    page.get_by_role("link", name="Finance").click()
    page.get_by_label("From", exact=True).fill(first)
    page.get_by_label("To", exact=True).fill(first)
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_test_id("revenue-chart")).to_be_visible()
    net = amount(page.get_by_test_id("totals-GBP").get_by_test_id("total-net").inner_text())
    recognised = amount(page.get_by_test_id("totals-GBP").get_by_test_id("total-recognised").inner_text())
    assert net > 0

    page.get_by_label("Format").select_option("xlsx")
    page.get_by_test_id("export-form").get_by_role("button").click()
    expect(page.get_by_test_id("control-summary")).to_contain_text("Rows")
    with page.expect_download() as info:
        page.get_by_test_id("download").click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)

    sheet = openpyxl.load_workbook(path, read_only=True)["Revenue"]
    rows = list(sheet.iter_rows(values_only=True))
    headings, body = rows[0], rows[1:]
    net_column, recognised_column = headings.index("Net booked"), headings.index("Recognised")
    assert {r[0] for r in body} == {first}
    assert Decimal(str(round(sum(r[net_column] for r in body), 2))) == net
    assert Decimal(str(round(sum(r[recognised_column] or 0 for r in body), 2))) == recognised
    expect(page.get_by_test_id("export-rows")).to_have_text(str(len(body)))


def test_closing_a_month_asks_first_and_then_freezes_it(page, live_server):
    first, _last = moved_back(live_server.app)
    sign_in(page, "finance")
    page.goto(f"/finance/?from={first}&to={first}")
    button = page.get_by_test_id("close-month")
    page.once("dialog", lambda dialog: dialog.dismiss())
    button.click()
    expect(page.get_by_test_id("close-month")).to_be_visible()  # dismissed: nothing closed
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("close-month").click()
    expect(page.get_by_text("is closed")).to_be_visible()
    expect(page.get_by_test_id("months")).to_contain_text("closed")


def test_finance_sees_the_months_ahead_exports_what_is_shown_and_reads_why_recognised_differs(
    page, live_server, tmp_path
):
    last, until = booked_ahead(live_server.app, months=2)
    sign_in(page, "finance")
    page.get_by_role("link", name="Finance").click()
    expect(page.get_by_test_id("range-shown")).to_contain_text(
        f"through {until:%B %Y}, the last month with booked revenue"
    )
    months = page.get_by_test_id("months")
    expect(months.get_by_role("link", name=f"{until:%B %Y}")).to_be_visible()
    last_row = months.get_by_role("row").filter(has=page.get_by_role("link", name=f"{last:%B %Y}"))
    expect(last_row.get_by_test_id("month-variance")).to_contain_text("ahead of the straight line on 1 line")
    expect(last_row.get_by_test_id("month-variance")).to_contain_text("behind the straight line on 1 line")
    net = amount(page.get_by_test_id("totals-GBP").get_by_test_id("total-net").inner_text())

    export = page.get_by_test_id("export-form")
    expect(export).to_contain_text(f"to {until:%B %Y}, no filters")
    export.get_by_label("Format").select_option("csv")
    export.get_by_role("button", name=f"to {until:%b %Y}").click()
    with page.expect_download() as info:
        page.get_by_test_id("download").click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert f"{until:%Y-%m}" in {r["Period"] for r in rows}
    assert sum(Decimal(r["Net booked"]) for r in rows) == net

    page.get_by_role("link", name="Finance").first.click()
    page.get_by_test_id("months").get_by_role("link", name=f"{last:%B %Y}").click()
    expect(page.get_by_test_id("month-variance")).to_contain_text("more than booked")
    whys = page.get_by_test_id("line-why")
    expect(whys.nth(0)).to_contain_text("Ahead of the straight line")
    expect(whys.nth(1)).to_contain_text("Behind the straight line")
