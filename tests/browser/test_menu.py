"""The main menu in Chromium: one line on a desktop screen, and usable from the keyboard."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import sign_in


def assert_on_one_line(menu) -> None:
    entries = menu.locator(".navbar-brand, .navbar-nav > .nav-item, [data-testid=user-menu]")
    boxes = entries.evaluate_all(
        "els => els.map(e => e.getBoundingClientRect())"
        ".map(r => [Math.round(r.top + r.height / 2), Math.round(r.right)])"
    )
    middles = [middle for middle, _ in boxes]
    width = menu.evaluate("nav => nav.getBoundingClientRect().right")
    assert len(boxes) >= 12 and max(middles) - min(middles) <= 4, f"the menu wraps: {boxes}"
    assert max(right for _, right in boxes) <= width, f"the menu overflows the bar: {boxes}, bar ends at {width}"


def test_the_admin_menu_stays_on_one_line_at_1400_px_and_opens_from_the_keyboard(page):
    page.set_viewport_size({"width": 1400, "height": 900})
    sign_in(page, "admin")
    menu = page.get_by_role("navigation", name="Main")
    assert_on_one_line(menu)
    page.set_viewport_size({"width": 1280, "height": 900})  # the rest of the suite's screen
    assert_on_one_line(menu)
    expect(menu.get_by_role("link", name="Users")).to_be_hidden()  # inside Admin until it opens

    menu.get_by_role("button", name="Admin").focus()
    page.keyboard.press("Enter")
    expect(menu.get_by_role("link", name="Users")).to_be_visible()
    page.keyboard.press("ArrowDown")
    expect(menu.get_by_role("link", name="Ad servers")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(menu.get_by_role("link", name="Approval rules")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/workflow/rules"))
    page.wait_for_load_state()  # Bootstrap's script has run
    expect(menu.get_by_role("button", name="Admin")).to_have_class(re.compile(r"\bactive\b"))

    menu.get_by_role("button", name="Admin").focus()
    page.keyboard.press("Enter")
    expect(menu.get_by_role("link", name="Approval rules")).to_have_attribute("aria-current", "page")
    page.keyboard.press("Escape")
    expect(menu.get_by_role("link", name="Users")).to_be_hidden()
