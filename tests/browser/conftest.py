"""Browser tests: Playwright drives Debian's Chromium against the app on a loopback port.

Never downloads a browser: Chromium must be at /usr/bin/chromium (`.ci/run` installs it).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import DEMO_PASSWORD, DEMO_USERS, app_on, unavailable
from tests.support.live_server import LiveServer

CHROMIUM = os.environ.get("FLIGHTDECK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
def browser() -> Iterator:
    if not Path(CHROMIUM).exists():
        unavailable(f"Chromium not found at {CHROMIUM}; browser suite not run (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def live_server(databases, tmp_path) -> Iterator[LiveServer]:
    """The app with CSRF on, as in production, serving a copy of the demo database."""
    with app_on(databases.copy("sqlite", tmp_path), WTF_CSRF_ENABLED=True) as app, LiveServer(app) as server:
        yield server


@pytest.fixture
def csp_violations() -> list[str]:
    """What Chromium refused under the Content-Security-Policy on the pages a test visited."""
    return []


@pytest.fixture
def page(browser, live_server, request, csp_violations) -> Iterator:
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()

    def watch(message) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            csp_violations.append(f"{page.url}: {message.text}")

    page.on("console", watch)
    yield page
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
    # every page the journeys visit works under the CSP: nothing inline was refused
    assert csp_violations == [], "\n".join(csp_violations)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def sign_in(page, role: str) -> None:
    page.goto("/login")
    page.get_by_label("E-mail").fill(DEMO_USERS[role])
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")
