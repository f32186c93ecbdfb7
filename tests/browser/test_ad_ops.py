"""Ad ops in Chromium: the demo's signed order in the sandbox, the next simulated day's delivery,
and a dead push retried from the queue."""

from __future__ import annotations

import re

import sqlalchemy as sa
from playwright.sync_api import expect

from app.adserver.models import PushJob
from app.extensions import db
from app.orders.models import Order
from tests.browser.conftest import sign_in


def delivered(page) -> list[int]:
    return [int(t.replace(",", "")) for t in page.get_by_test_id("delivered").all_inner_texts()]


def test_ad_ops_follow_delivery_day_by_day_and_retry_a_failed_push(page, live_server):
    sign_in(page, "ad_ops")
    page.get_by_role("link", name="Orders").click()
    page.get_by_label("Ad server").select_option(label="In the ad server")
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("row", name=re.compile("Winter launch")).get_by_role("link").first.click()
    expect(page.get_by_test_id("push-state")).to_have_text("In the ad server")
    expect(page.get_by_test_id("pacing-chart")).to_be_visible()
    before = delivered(page)
    assert all(n > 0 for n in before)
    order_url = page.url

    page.get_by_role("link", name="Ad servers").click()
    page.get_by_role("button", name="Run the next simulated day").click()
    expect(page.get_by_text("The sandbox is now 1 day ahead.")).to_be_visible()
    page.goto(order_url)
    after = delivered(page)
    assert all(a > b for a, b in zip(after, before, strict=True))  # one more day on every line

    with live_server.app.app_context():
        order = db.session.scalars(sa.select(Order).order_by(Order.id)).first()
        db.session.add(
            PushJob(
                order_id=order.id,
                connection_id=order.connection_id,
                status="dead",
                attempts=8,
                last_error="Ad Manager refused lineItem[0].costPerUnit: NOT_ALLOWED",
                reason="signed",
            )
        )
        db.session.commit()
    page.get_by_role("link", name="Ad ops").click()
    queue = page.get_by_test_id("dead-jobs")
    expect(queue).to_contain_text("lineItem[0].costPerUnit: NOT_ALLOWED")
    queue.get_by_role("button", name="Retry").click()
    expect(page.get_by_text("The push is queued again")).to_be_visible()
    expect(page.get_by_test_id("dead-jobs")).to_contain_text("None: every push went through")
