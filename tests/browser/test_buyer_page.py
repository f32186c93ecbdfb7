"""The buyer's signing page in Chromium: the publisher heads it, and no request goes unanswered."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.support.signing import open_signing_link


def test_the_buyer_meets_the_publisher_not_flightdecks_sign_in_and_nothing_is_missing(page, live_server):
    open_signing_link(live_server.app, "a-browser-signing-token")
    missing = []
    page.on("response", lambda response: missing.append(response.url) if response.status == 404 else None)

    page.goto("/sign/a-browser-signing-token")  # the link in the buyer's e-mail
    expect(page.get_by_role("button", name="Accept and sign")).to_be_visible()
    brand = page.get_by_test_id("publisher-brand")
    expect(brand).to_have_text("Harbour Media Group")  # no logo configured: the name as a wordmark
    expect(page.get_by_role("banner")).to_contain_text("Harbour Media Group")
    expect(page.get_by_role("link", name="Flightdeck")).to_have_count(0)
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)  # no staff menu, no sign-in link
    expect(page.get_by_role("contentinfo")).not_to_contain_text("Flightdeck")

    icon = page.locator("link[rel=icon]").get_attribute("href")
    assert page.request.get(icon).headers["content-type"].startswith("image/svg+xml")
    ico = page.request.get("/favicon.ico")  # what every browser asks for by itself
    assert ico.ok and ico.headers["content-type"].startswith("image/svg+xml")

    page.get_by_label("Why (your contact reads it)").fill("The budget moved to next quarter.")
    page.get_by_role("button", name="Decline").click()
    expect(page.get_by_test_id("sign-done")).to_contain_text("we have your answer")
    expect(page.get_by_test_id("publisher-brand")).to_have_text("Harbour Media Group")
    assert missing == [], missing
