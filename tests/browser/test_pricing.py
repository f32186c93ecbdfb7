"""A rep prices a product with customised targeting in Chromium and sees the full waterfall."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from playwright.sync_api import expect

from app.catalog.models import Product
from app.clock import FixedClock
from app.extensions import CLOCK, current_clock, db
from tests.browser.conftest import sign_in
from tests.browser.picking import choose


def test_a_rep_sees_the_waterfall_change_as_the_line_changes(page, live_server):
    with live_server.app.app_context():
        product_id = db.session.scalar(sa.select(Product.id).where(Product.name == "Sport Display"))
        year = current_clock().today().year + 1

    sign_in(page, "sales_rep")
    page.goto(f"/catalog/products/{product_id}")
    form = page.get_by_test_id("pricing-form")
    form.get_by_label("Rate card").select_option(label=f"Standard {year} (GBP)")
    choose(form, "Geography", "London")
    form.get_by_label("From").fill(f"{year}-02-01")
    form.get_by_label("To").fill(f"{year}-02-14")
    form.get_by_label("Impressions").fill("2000000")
    form.get_by_role("button", name="Price it").click()

    panel = page.get_by_test_id("pricing-panel")
    waterfall = panel.get_by_test_id("waterfall")
    expect(waterfall).to_contain_text("Premium: geography")
    expect(waterfall).to_contain_text("London: +25 % of base")
    expect(waterfall).to_contain_text("Volume tier")
    expect(panel.get_by_test_id("list-rate")).to_have_text("£9.975")
    expect(panel.get_by_test_id("waterfall-chart")).to_be_visible()

    # The panel follows the form without a reload: a line discount lowers the net rate.
    form.get_by_label("Line discount (%)").fill("10")
    expect(panel.get_by_test_id("net-rate")).to_have_text("£8.9775")
    expect(panel.get_by_test_id("waterfall")).to_contain_text("Line discount")


def test_at_the_year_end_the_price_forms_default_flight_and_card_price_at_once(page, live_server):
    # On 7 December the four weeks from next Monday cross the year end: the price form's default
    # flight keeps to the card it preselects, so pricing at once is not refused for days it lacks.
    app = live_server.app
    with app.app_context():
        clock = current_clock()
        year = clock.today().year
        product_id = db.session.scalar(sa.select(Product.id).where(Product.name == "Sport Display"))
    app.extensions[CLOCK] = FixedClock(clock.time_zone, datetime(year, 12, 7, 10, tzinfo=UTC))

    sign_in(page, "sales_rep")
    page.goto(f"/catalog/products/{product_id}")
    form = page.get_by_test_id("pricing-form")
    expect(form.get_by_label("From")).to_have_value(f"{year}-12-14")
    expect(form.get_by_label("To")).to_have_value(f"{year}-12-31")
    form.get_by_label("Impressions").fill("500000")
    form.get_by_role("button", name="Price it").click()
    panel = page.get_by_test_id("pricing-panel")
    expect(panel.get_by_test_id("net-rate")).to_be_visible()
    expect(panel).not_to_contain_text("outside it")
