"""Ad ops' first hour in Chromium: a push that needs an unmapped item fails at once and leads to the
mapping that fixes it; the sandbox runs until a date in one click."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa
from playwright.sync_api import expect

from app.adserver.models import IdMapping, MappingKind
from app.catalog.models import AdUnit, ProductAdUnit
from app.extensions import current_clock, db
from app.orders.models import Order
from tests.browser.conftest import sign_in


def menu(page, item: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=item).click()


def open_winter_launch(page) -> None:
    menu(page, "Orders")
    page.get_by_role("row", name=re.compile("Winter launch")).get_by_role("link").first.click()


def delivered(page) -> list[int]:
    return [int(t.replace(",", "")) for t in page.get_by_test_id("delivered").all_inner_texts()]


def test_ad_ops_read_a_failed_push_follow_it_to_the_mapping_map_the_unit_and_push_again(page, live_server):
    with live_server.app.app_context():  # an ad unit of Winter launch loses its sandbox id
        order = db.session.scalars(sa.select(Order).order_by(Order.id)).first()
        link = db.session.scalars(
            sa.select(ProductAdUnit).where(ProductAdUnit.product_id == order.lines[0].product_id)
        ).first()
        unit = db.session.get(AdUnit, link.ad_unit_id)
        unit_name = unit.name
        db.session.execute(
            sa.delete(IdMapping).where(
                IdMapping.connection_id == order.connection_id,
                IdMapping.kind == MappingKind.AD_UNIT.value,
                IdMapping.local_id == unit.id,
            )
        )
        db.session.commit()
    sign_in(page, "ad_ops")
    menu(page, "Ad servers")
    expect(page.get_by_test_id("unmapped-badge")).to_have_text("1 unmapped")  # read now, no sync needed

    open_winter_launch(page)
    page.get_by_role("button", name="Push now").click()
    alert = page.get_by_role("alert").filter(has_text="The push of")
    expect(alert).to_contain_text(f"failed: Map these first on the connection's mapping page: ad unit {unit_name}")
    expect(page.get_by_text("Push queued")).to_have_count(0)
    expect(page.get_by_test_id("push-state")).to_have_text("Push failed")

    alert.get_by_role("link", name="Map the 1 unmapped item").click()
    expect(page.get_by_test_id("needed-by-order")).to_contain_text("1 unmapped item")
    rows = page.get_by_test_id("mapping-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(unit_name)
    expect(rows.first).to_have_class(re.compile("table-warning"))
    expect(page.get_by_test_id("unmapped-count")).to_have_text("1 unmapped ad unit.")

    page.get_by_label(f"Ad-server id for {unit_name}").fill("sandbox-unit-1")
    rows.first.get_by_role("button", name="Save").click()
    expect(rows.first).to_contain_text("Saved.")
    expect(page.get_by_test_id("unmapped-count")).to_have_text("0 unmapped ad units.")  # without a reload

    menu(page, "Ad servers")
    expect(page.get_by_test_id("unmapped-badge")).to_have_count(0)
    open_winter_launch(page)
    page.get_by_role("button", name="Push now").click()
    expect(page.get_by_text(re.compile(r"O-\d{4}-\d{4} is in Sandbox: pushed\."))).to_be_visible()
    expect(page.get_by_test_id("push-state")).to_have_text("In the ad server")


def test_ad_ops_run_the_sandbox_until_a_date_and_see_delivery_move(page, live_server):
    with live_server.app.app_context():
        today = current_clock().today()
    sign_in(page, "ad_ops")
    open_winter_launch(page)
    before = delivered(page)
    order_url = page.url

    menu(page, "Ad servers")
    until = page.get_by_label("Run the sandbox until")
    until.fill((today - timedelta(days=3)).isoformat())
    page.get_by_role("button", name="Run until").click()
    expect(page.locator('[data-field-error="until"]')).to_contain_text("already delivered through")
    page.get_by_label("Run the sandbox until").fill((today + timedelta(days=400)).isoformat())
    page.get_by_role("button", name="Run until").click()
    expect(page.locator('[data-field-error="until"]')).to_contain_text("at most 366 days ahead of today")

    target = today + timedelta(days=5)
    page.get_by_label("Run the sandbox until").fill(target.isoformat())
    page.get_by_role("button", name="Run until").click()
    expect(page.get_by_text(f"The sandbox ran 6 days: delivery is in through {target:%d %b %Y}.")).to_be_visible()
    expect(page.get_by_test_id("connections")).to_contain_text(f"through {target:%d %b %Y}")

    page.goto(order_url)
    after = delivered(page)
    assert all(a > b for a, b in zip(after, before, strict=True))  # six more days on every line

    menu(page, "Ad servers")
    page.get_by_role("button", name="Run the next simulated day").click()
    expect(page.get_by_text("The sandbox is now 7 days ahead.")).to_be_visible()
