"""Fixtures shared by every suite.

Databases: each backend (SQLite, and PostgreSQL on a throwaway server) gets a template database,
migrated with Alembic and loaded with the demo publisher once per run; every test then works on
its own copy (a file copy on SQLite, CREATE DATABASE ... TEMPLATE on PostgreSQL), so tests are
isolated and can commit like the real app does.

Strict mode (FLIGHTDECK_STRICT=1, `make test STRICT=1`): a suite that cannot run fails instead of
being skipped.
"""

from __future__ import annotations

import shutil
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from app.auth.models import User
from app.clock import Clock
from app.db import utcnow
from app.extensions import db, install_settings
from app.settings import Settings
from config import yes_no
from tests.support.postgres import PostgresServer, find_bin_dir
from tests.support.smtp import SmtpServer

STRICT = yes_no("FLIGHTDECK_STRICT", False)
DEMO_PASSWORD = "flightdeck-demo"
#: One demo user per role, by the role's name.
DEMO_USERS = {
    "admin": "admin@harbour.example",
    "sales_rep": "rep@harbour.example",
    "sales_manager": "manager@harbour.example",
    "ad_ops": "adops@harbour.example",
    "finance": "finance@harbour.example",
}


def unavailable(reason: str) -> None:
    """Skip the test, or fail it in strict mode, when a real part it needs is missing."""
    if STRICT:
        pytest.fail(f"strict mode: {reason}", pytrace=False)
    pytest.skip(reason)


def make_app(url: str, **overrides) -> Flask:
    return create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False, **overrides})


def build_database(url: str, *, demo: bool = True) -> None:
    """Migrate the database at `url` to the newest revision and load the demo publisher into it."""
    import flask_migrate

    from app.demo.load import load_demo

    app = make_app(url)
    with app.app_context():
        flask_migrate.upgrade()
        if demo:
            now = utcnow()
            today = now.astimezone(ZoneInfo(app.config["PUBLISHER_TIMEZONE"])).date()
            load_demo(today=today, now=now, hash_method=app.config["PASSWORD_HASH_METHOD"])
            db.session.commit()
        db.session.remove()
        db.engine.dispose()


class Databases:
    """Template databases per backend, built on first use, and per-test copies of them."""

    def __init__(self, root: Path):
        self.root = root
        self.templates: dict[str, str] = {}
        self.postgres: PostgresServer | None = None
        self.postgres_error: str | None = None

    def server(self) -> PostgresServer:
        if self.postgres is None and self.postgres_error is None:
            bin_dir = find_bin_dir()
            if bin_dir is None:
                self.postgres_error = "PostgreSQL binaries (initdb, pg_ctl) not found; PostgreSQL suite not run"
            else:
                try:
                    self.postgres = PostgresServer(bin_dir).start()
                except RuntimeError as exc:
                    self.postgres_error = f"PostgreSQL server did not start: {exc}"
        if self.postgres is None:
            unavailable(self.postgres_error or "PostgreSQL unavailable")
        return self.postgres  # type: ignore[return-value]

    def _admin(self, sql: str) -> None:
        engine = sa.create_engine(self.server().url(), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text(sql))
        engine.dispose()

    def template(self, backend: str) -> str:
        if backend not in self.templates:
            if backend == "sqlite":
                url = f"sqlite:///{self.root / 'template.sqlite'}"
            else:
                self._admin("CREATE DATABASE flightdeck_template")
                url = self.server().url("flightdeck_template")
            build_database(url)
            self.templates[backend] = url
        return self.templates[backend]

    def copy(self, backend: str, directory: Path) -> tuple[str, Callable[[], None]]:
        template = self.template(backend)
        if backend == "sqlite":
            path = directory / "test.sqlite"
            shutil.copyfile(template.removeprefix("sqlite:///"), path)
            return f"sqlite:///{path}", lambda: None
        name = f"t_{uuid.uuid4().hex[:12]}"
        self._admin(f"CREATE DATABASE {name} TEMPLATE flightdeck_template")
        return self.server().url(name), lambda: self._admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def empty(self, backend: str) -> tuple[str, Callable[[], None]]:
        """A new, empty database (not migrated)."""
        if backend == "sqlite":
            path = self.root / f"empty-{uuid.uuid4().hex[:8]}.sqlite"
            return f"sqlite:///{path}", lambda: path.unlink(missing_ok=True)
        name = f"e_{uuid.uuid4().hex[:12]}"
        self._admin(f"CREATE DATABASE {name}")
        return self.server().url(name), lambda: self._admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def close(self) -> None:
        if self.postgres is not None:
            self.postgres.stop()


@pytest.fixture(scope="session")
def databases(tmp_path_factory) -> Iterator[Databases]:
    store = Databases(tmp_path_factory.mktemp("databases"))
    yield store
    store.close()


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Integration tests run on every backend; the other suites on SQLite."""
    if "backend" in metafunc.fixturenames and "/integration/" in str(metafunc.definition.path):
        only_postgres = metafunc.definition.get_closest_marker("postgres_only") is not None
        metafunc.parametrize("backend", BACKENDS[1:] if only_postgres else BACKENDS, indirect=True)


@pytest.fixture(autouse=True)
def _fresh_backoffs(monkeypatch) -> None:
    """Work that failed in one test (by id, in its database) is not left out of the next test's runs."""
    from app.proposals import versions
    from app.transaction import Backoff
    from app.workflow import signing

    monkeypatch.setattr(versions, "_failed_pdfs", Backoff(versions._failed_pdfs.seconds))
    monkeypatch.setattr(signing, "_failed_orders", Backoff(signing._failed_orders.seconds))


@pytest.fixture
def backend(request) -> str:
    return getattr(request, "param", "sqlite")


@contextmanager
def app_on(database: tuple[str, Callable[[], None]], **overrides) -> Iterator[Flask]:
    """An app on `database` (a URL and how to drop it), released and dropped afterwards."""
    url, drop = database
    application = make_app(url, **overrides)
    try:
        yield application
    finally:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()
        drop()


@pytest.fixture
def app(backend: str, databases: Databases, tmp_path: Path) -> Iterator[Flask]:
    """The app on a fresh copy of the demo publisher's database."""
    with app_on(databases.copy(backend, tmp_path)) as application:
        yield application


@pytest.fixture
def ctx(app: Flask) -> Iterator[Flask]:
    """An app context, for calling services and queries directly."""
    with app.app_context():
        yield app
        db.session.rollback()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


class Auth:
    """Signs the test client in and out, like flaskr's `auth` fixture."""

    def __init__(self, client: FlaskClient):
        self.client = client

    def login(self, email: str = DEMO_USERS["sales_rep"], password: str = DEMO_PASSWORD):
        return self.client.post("/login", data={"email": email, "password": password})

    def login_as(self, role: str):
        response = self.login(DEMO_USERS[role])
        assert response.status_code == 302, f"demo {role} could not sign in"
        return response

    def logout(self):
        return self.client.post("/logout")


@pytest.fixture
def auth(client: FlaskClient) -> Auth:
    return Auth(client)


def user(email: str) -> User:
    """A demo user by e-mail (needs an app context)."""
    found = db.session.scalar(sa.select(User).where(User.email == email))
    assert found is not None, email
    return found


def now() -> datetime:
    return utcnow()


def reconfigure(app: Flask, **config) -> None:
    """Change settings of a running app as a restart with this config would: the app reads its
    settings once, at start-up, so changing app.config alone changes nothing."""
    app.config.update(config)
    settings = Settings.from_config(app.config)
    install_settings(app, settings, Clock(settings.time_zone))


# -- Which suites ran ---------------------------------------------------------------------------

_outcomes: dict[str, Counter] = defaultdict(Counter)
_skip_reasons: dict[str, str] = {}


def _suite_of(nodeid: str) -> str:
    parts = nodeid.split("/")
    suite = parts[1] if len(parts) > 2 and parts[0] == "tests" else "other"
    if suite == "integration":
        suite += " (PostgreSQL)" if "postgresql" in nodeid else " (SQLite)"
    return suite


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    suite = _suite_of(report.nodeid)
    if report.when == "call" or (report.when == "setup" and not report.passed):
        outcome = "skipped" if report.skipped else ("passed" if report.passed else "failed")
        _outcomes[suite][outcome] += 1
        if report.skipped and suite not in _skip_reasons:
            _skip_reasons[suite] = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else ""


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if not _outcomes:
        return
    terminalreporter.section("suites")
    for suite in sorted(_outcomes):
        counts = _outcomes[suite]
        ran = counts["passed"] + counts["failed"]
        state = "RAN" if ran else "NOT RUN"
        detail = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()) if n)
        reason = f" — {_skip_reasons[suite]}" if suite in _skip_reasons and not ran else ""
        terminalreporter.write_line(f"{state:8} {suite:28} {detail}{reason}")
    terminalreporter.write_line(f"strict mode: {'on' if STRICT else 'off'}")


class QueryCounter:
    """Counts the SQL statements the app sends, to catch N+1 queries on list pages."""

    def __init__(self, app: Flask):
        self.app, self.count = app, 0

    def _count(self, *args) -> None:
        self.count += 1

    @contextmanager
    def counting(self) -> Iterator[QueryCounter]:
        with self.app.app_context():
            engine = db.engine
        self.count = 0
        sa.event.listen(engine, "before_cursor_execute", self._count)
        try:
            yield self
        finally:
            sa.event.remove(engine, "before_cursor_execute", self._count)


@pytest.fixture
def queries(app: Flask) -> QueryCounter:
    return QueryCounter(app)


# -- E-mail ------------------------------------------------------------------------------------


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server on loopback that keeps what it receives.

    `.messages` (parsed EmailMessage objects), `.envelopes`, `.host`, `.port`, `.wait_for(count)`,
    and `.config`, the settings that point an app at it: `app_on(database, **smtp_server.config)`.
    """
    with SmtpServer() as server:
        yield server


@pytest.fixture
def mail_app(backend: str, databases: Databases, tmp_path: Path, smtp_server: SmtpServer) -> Iterator[Flask]:
    """Like `app`, with MAIL_SERVER and MAIL_PORT pointing at `smtp_server`."""
    with app_on(databases.copy(backend, tmp_path), **smtp_server.config) as application:
        yield application
