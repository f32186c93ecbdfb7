"""Browser tests: Playwright drives Debian's Chromium against the app on a loopback port.

Never downloads a browser: Chromium must be at /usr/bin/chromium (`.ci/run` installs it).
Every page a test visits is checked twice over: nothing is refused under the Content-Security-Policy,
and axe-core (npm, a development dependency) finds no serious or critical accessibility violation.
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
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_WATCH = Path(__file__).with_name("axe_watch.js")
#: Runs the accessibility checks still due on a page and resolves when none is pending (axe_watch.js).
AXE_SETTLED = "() => window.__axeSettled ? window.__axeSettled() : null"


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
def axe_violations() -> AxeViolations:
    """What axe-core found serious or critical on the pages a test visited."""
    return AxeViolations()


class AxeViolations:
    """axe's reports, one entry per page, rule and element however often a page was checked."""

    def __init__(self) -> None:
        self.found: dict[tuple[str, str, str], str] = {}
        self.errors: list[str] = []
        #: Pages (GET, HTML) the browser showed, and those axe checked, by URL.
        self.visited: list[str] = []
        self.checked: set[str] = set()

    def record(self, report: dict) -> None:
        url = report["url"]
        self.checked.add(url.split("#", 1)[0])
        if "error" in report:
            self.errors.append(f"{url}: axe could not run: {report['error']}")
        for violation in report.get("violations", []):
            for node in violation["nodes"]:
                key = (url, violation["id"], node["target"])
                detail = " ".join(node["summary"].split())
                self.found.setdefault(
                    key,
                    f"{url}\n  {violation['id']} ({violation['impact']}): {violation['help']}\n"
                    f"    at {node['target']}\n    {node['html'][:200]}\n    {detail[:400]}",
                )

    def note_visit(self, response) -> None:
        request = response.request
        html = (response.headers.get("content-type") or "").startswith("text/html")
        shown = request.is_navigation_request() and request.method == "GET" and html and response.status < 300
        if shown and request.frame.parent_frame is None and response.url not in self.visited:
            self.visited.append(response.url)

    def unchecked(self) -> list[str]:
        return [url for url in self.visited if url not in self.checked]

    def clear(self) -> None:
        self.found.clear()
        self.errors.clear()

    def __bool__(self) -> bool:
        return bool(self.found or self.errors)

    def __str__(self) -> str:
        lines = [f"axe-core found {len(self.found)} serious or critical accessibility violation(s):"]
        return "\n".join([*lines, *self.found.values(), *self.errors])


def watch_accessibility(context, violations: AxeViolations) -> None:
    """axe-core and its watcher (axe_watch.js) in every document of `context`."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make setup-dev` (axe-core comes from npm)")
    context.expose_function("__axeReport", violations.record)
    context.add_init_script(path=str(AXE))
    context.add_init_script(path=str(AXE_WATCH))
    context.on("response", violations.note_visit)


def settle(page) -> None:
    """Run the accessibility checks still due on `page` and wait for them (a page still loading is
    waited for first)."""
    from playwright.sync_api import Error

    for attempt in range(3):
        try:
            page.evaluate(AXE_SETTLED)
            return
        except Error as exc:
            if attempt == 2 or not any(word in str(exc) for word in ("destroyed", "navigat")):
                raise
            page.wait_for_load_state()


def check_what_was_left_unchecked(page, violations: AxeViolations) -> None:
    """A page the test left before axe had finished with it is opened again (GET never writes) and
    checked; after a sign-out it may show the sign-in page instead, which is checked all the same."""
    for open_page in page.context.pages:
        settle(open_page)
    for url in violations.unchecked():
        page.goto(url)
        settle(page)


@pytest.fixture
def page(browser, live_server, request, csp_violations, axe_violations) -> Iterator:
    # reduced motion: Bootstrap then skips its transitions, so axe never sees a colour half-way through one
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}, reduced_motion="reduce"
    )
    context.set_default_timeout(10_000)
    watch_accessibility(context, axe_violations)
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
    else:
        check_what_was_left_unchecked(page, axe_violations)
    context.close()
    # every page the journeys visit works under the CSP: nothing inline was refused
    assert csp_violations == [], "\n".join(csp_violations)
    # and has no serious or critical accessibility violation (labels, contrast, names, landmarks ...)
    assert not axe_violations, str(axe_violations)


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
