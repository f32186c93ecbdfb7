"""A person's first steps in Chromium."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import sign_in


def test_the_demo_rep_signs_in_and_sees_their_home_page(page):
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))
    sign_in(page, "sales_rep")
    expect(page.get_by_role("heading", name="Good to see you, Ana")).to_be_visible()
    rep_section = page.get_by_test_id("home-rep")
    expect(rep_section.get_by_role("heading", name="Your accounts")).to_be_visible()
    expect(rep_section.locator("tbody tr")).to_have_count(11)  # 9 advertisers and 2 agencies in the demo
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Users")).to_have_count(0)
    expect(page.get_by_text("Signed in as Ana Ruiz.")).to_be_visible()


def test_a_rep_fixes_a_bad_commission_and_creates_an_agency(page):
    sign_in(page, "sales_rep")
    page.get_by_role("link", name="Accounts").click()
    page.get_by_role("link", name="New account").click()
    page.get_by_label("Type").select_option("agency")
    page.get_by_label("Name").fill("Tidewater Media")
    page.get_by_label("Agency commission (%)").fill("150")
    page.get_by_role("button", name="Create").click()
    error = page.locator('[data-field-error="agency_commission_pct"]')
    expect(error).to_contain_text("between 0 % and 100 %")
    expect(page.get_by_label("Name")).to_have_value("Tidewater Media")  # nothing typed is lost
    page.get_by_label("Agency commission (%)").fill("12.5")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", name="Tidewater Media")).to_be_visible()
    expect(page.get_by_text("Created agency Tidewater Media.")).to_be_visible()
    expect(page.get_by_text("12.5 %")).to_be_visible()


def test_an_admin_signs_out_from_the_user_menu(page):
    sign_in(page, "admin")
    expect(page.get_by_test_id("home-admin")).to_be_visible()
    page.get_by_test_id("user-menu").click()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    page.goto("/admin/users")
    expect(page).to_have_url(re.compile(r"/login"))


def test_an_inline_style_is_refused_by_the_csp_and_the_suite_notices(page, csp_violations):
    page.goto("/login")
    page.evaluate("document.body.insertAdjacentHTML('beforeend', '<p style=\"color: red\">inline</p>')")
    page.evaluate(
        "const s = document.createElement('script'); s.textContent = 'window.ran = 1'; document.body.append(s)"
    )
    expect(page.locator("p", has_text="inline")).to_be_visible()
    assert page.evaluate("window.ran") is None  # the inline script never ran
    page.wait_for_timeout(200)
    assert any("inline style" in v for v in csp_violations) and any("inline script" in v for v in csp_violations)
    csp_violations.clear()  # seen and expected: the page fixture fails a test on any other
