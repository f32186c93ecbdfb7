"""The suite's accessibility check: axe-core runs on every page a test visits (see conftest.py)."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import settle


def test_a_field_without_a_label_after_an_htmx_swap_is_reported_by_axe_and_the_suite_notices(page, axe_violations):
    page.goto("/login")
    expect(page.get_by_label("E-mail")).to_be_visible()
    settle(page)
    assert not axe_violations  # the sign-in page itself passes
    page.evaluate(
        "document.querySelector('main').insertAdjacentHTML('beforeend', '<input id=\"nameless\">');"
        "document.body.dispatchEvent(new CustomEvent('htmx:afterSettle', {bubbles: true}))"
    )
    settle(page)
    report = str(axe_violations)
    assert "/login" in report and "label (critical)" in report and "#nameless" in report, report
    axe_violations.clear()  # seen and expected: the page fixture fails a test on any other
