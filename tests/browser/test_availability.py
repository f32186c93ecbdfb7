"""A rep asks for an over-sold combination in Chromium and sees why, and what would fit."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from playwright.sync_api import expect

from app.catalog.models import AdUnit, Product
from app.db import utcnow
from app.extensions import current_clock, db
from app.inventory.availability import availability_for
from app.inventory.models import ReservationKind
from app.inventory.reservations import reserve
from app.inventory.supply import Box
from tests.browser.conftest import sign_in
from tests.browser.picking import choose


def test_a_rep_sees_why_a_request_does_not_fit_and_what_would(page, live_server):
    app = live_server.app
    with app.app_context():
        today = current_clock().today()
        start = today + timedelta(days=7 - today.weekday(), weeks=16)  # after the demo's own reservations
        end = start + timedelta(days=6)
        slot = db.session.scalar(sa.select(AdUnit).where(AdUnit.code == "harbour-sport/football/video-pre-roll"))
        product_id = db.session.scalar(sa.select(Product.id).where(Product.name == "Football Pre-roll"))
        box = Box((slot.id,), start, end, geo=("london",))
        left = availability_for(box, now=utcnow(), today=today, margin_pct=10).available
        reserve(
            ReservationKind.BOOKING,
            box,
            label="Halden Auto Group cup final",
            quantity=left - 2_000,
            actor=None,
            now=utcnow(),
            today=today,
            margin_pct=10,
            hold_days=7,
        )
        db.session.commit()

    sign_in(page, "sales_rep")
    page.goto(f"/catalog/products/{product_id}")
    form = page.get_by_test_id("availability-form")
    choose(form, "Geography", "London")
    form.get_by_label("From").fill(start.isoformat())
    form.get_by_label("To").fill(end.isoformat())
    form.get_by_label("Impressions").fill("20000")
    form.get_by_role("button", name="Check availability").click()

    panel = page.get_by_test_id("availability-panel")
    expect(panel.get_by_test_id("verdict")).to_contain_text("Does not fit: 18,000 short.")
    expect(panel.get_by_test_id("available")).to_have_text("2,000")
    expect(panel.get_by_test_id("binding")).to_contain_text(
        "Limited by 1 booking on Harbour Sport › Football › Video pre-roll"
    )
    expect(panel.get_by_test_id("contenders")).to_contain_text("Halden Auto Group cup final")
    suggestions = panel.get_by_test_id("suggestions")
    expect(suggestions).to_contain_text("Ask for at most 2,000 impressions.")
    expect(suggestions).to_contain_text("Target every region")
    expect(suggestions).to_contain_text("Move the flight 1 week later")

    # Asking for what fits offers a hold.
    form.get_by_label("Impressions").fill("2000")
    form.get_by_role("button", name="Check availability").click()
    expect(panel.get_by_test_id("verdict")).to_contain_text("Fits.")
    panel.get_by_label("Hold for").fill("Halden Auto Group, extra")
    panel.get_by_role("button", name="Hold for 7 days").click()
    expect(page.get_by_text("Held 2,000 impressions until")).to_be_visible()
