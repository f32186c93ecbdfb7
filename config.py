"""Configuration, read from the environment.

Every setting has a safe default for the embedded (SQLite) set-up except SECRET_KEY in
production, which `create_app` refuses to start without.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise RuntimeError(f"{name} must be a whole number, not {raw!r}") from exc


YES = frozenset({"1", "true", "yes", "on"})
NO = frozenset({"0", "false", "no", "off"})


def yes_no(name: str, default: bool) -> bool:
    """A yes/no setting: 1/0, true/false, yes/no, on/off in any case; empty or unset: `default`.

    Anything else stops start-up: a typo must not quietly turn TLS or secure cookies off.
    """
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if raw.lower() in YES:
        return True
    if raw.lower() in NO:
        return False
    raise RuntimeError(f"{name} must be yes or no (1/0, true/false, yes/no, on/off), not {raw!r}")


DEFAULT_PUBLIC_URL = "http://127.0.0.1:5000"


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        return f"sqlite:///{INSTANCE_DIR / 'flightdeck.sqlite'}"
    # Accept the URLs that hosting platforms hand out and point them at psycopg 3.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Config:
    #: "development", "production" or "testing"
    ENV_NAME = os.environ.get("FLIGHTDECK_ENV", "development")
    SECRET_KEY = os.environ.get("SECRET_KEY", "")
    SQLALCHEMY_DATABASE_URI = _database_url()
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}

    # Sessions: a signed cookie; its lifetime is the idle limit of a sign-in.
    PERMANENT_SESSION_LIFETIME = timedelta(minutes=_int("SESSION_LIFETIME_MINUTES", 8 * 60))
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = yes_no("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_DURATION = timedelta(days=_int("REMEMBER_DAYS", 14))

    # Sign-in throttling: after this many failures within the window, refuse for the window.
    LOGIN_MAX_FAILURES = _int("LOGIN_MAX_FAILURES", 5)
    LOGIN_FAILURE_WINDOW = timedelta(minutes=_int("LOGIN_FAILURE_WINDOW_MINUTES", 15))
    #: Failures from one address over all e-mails before that address pauses as well.
    LOGIN_MAX_FAILURES_PER_ADDRESS = _int("LOGIN_MAX_FAILURES_PER_ADDRESS", 50)
    #: Proxies in front of the app (nginx, Caddy, a load balancer) whose X-Forwarded-For and
    #: X-Forwarded-Proto are believed; 0: none, the connecting address is the client's.
    TRUSTED_PROXIES = _int("TRUSTED_PROXIES", 0)
    #: `flask auth purge` deletes sign-in attempts and ended sessions older than this (attempts the
    #: throttle still counts are always kept).
    SIGN_IN_HISTORY_DAYS = _int("SIGN_IN_HISTORY_DAYS", 30)
    #: werkzeug method string; scrypt is a memory-hard KDF.
    PASSWORD_HASH_METHOD = os.environ.get("PASSWORD_HASH_METHOD", "scrypt")

    # The publisher that runs this instance.
    PUBLISHER_NAME = os.environ.get("PUBLISHER_NAME", "Harbour Media Group")
    #: Path to an image file (PNG, JPEG or SVG) for the cover of proposal PDFs; empty: the name alone.
    PUBLISHER_LOGO = os.environ.get("PUBLISHER_LOGO", "")
    #: The address people reach the app at: every link in every e-mail starts with it. Empty:
    #: DEFAULT_PUBLIC_URL, with a warning at start-up in production (`make run` sets its own).
    PUBLIC_URL = os.environ.get("PUBLIC_URL", "").strip()
    #: Approval requests waiting longer than this are reminded, then escalated to the admins.
    APPROVAL_REMIND_HOURS = _int("APPROVAL_REMIND_HOURS", 24)
    APPROVAL_ESCALATE_HOURS = _int("APPROVAL_ESCALATE_HOURS", 72)
    #: How long the link a buyer signs through stays valid.
    SIGNING_LINK_DAYS = _int("SIGNING_LINK_DAYS", 14)
    #: Terms every proposal may carry without finance approving them (anything else is non-standard).
    STANDARD_TERMS = os.environ.get("STANDARD_TERMS", "")
    PUBLISHER_CURRENCY = os.environ.get("PUBLISHER_CURRENCY", "GBP")
    PUBLISHER_TIMEZONE = os.environ.get("PUBLISHER_TIMEZONE", "Europe/London")

    # Ad servers: the push outbox's worker (`flask adserver worker`) and the daily delivery sync.
    #: Tries of a push before it is dead and waits for ad ops (errors a retry cannot fix stop at once).
    ADSERVER_MAX_ATTEMPTS = _int("ADSERVER_MAX_ATTEMPTS", 8)
    #: The first retry waits this long; each next one twice as long, up to the maximum.
    ADSERVER_BACKOFF_SECONDS = _int("ADSERVER_BACKOFF_SECONDS", 30)
    ADSERVER_MAX_BACKOFF_SECONDS = _int("ADSERVER_MAX_BACKOFF_SECONDS", 3600)
    #: How long one call to an ad server may take before it counts as timed out.
    ADSERVER_TIMEOUT_SECONDS = _int("ADSERVER_TIMEOUT_SECONDS", 30)
    #: A claimed push whose worker died is tried again after this long.
    ADSERVER_LEASE_SECONDS = _int("ADSERVER_LEASE_SECONDS", 600)
    ADSERVER_POLL_SECONDS = _int("ADSERVER_POLL_SECONDS", 5)
    #: Send a request's pushes before its response leaves, for set-ups without a worker (the
    #: default outside production; a production deployment runs `flask adserver worker`).
    ADSERVER_PUSH_AFTER_REQUEST = yes_no(
        "ADSERVER_PUSH_AFTER_REQUEST", os.environ.get("FLIGHTDECK_ENV", "development") != "production"
    )
    DELIVERY_SYNC_HOURS = _int("DELIVERY_SYNC_HOURS", 24)
    #: Who does what a request leaves for after its answer (a submitted version's PDF, the order of a
    #: proposal the buyer accepted): "thread" (a background thread of the web process: set-ups
    #: without a worker, the default outside production) or "worker" (`flask adserver worker`,
    #: production's default).
    BACKGROUND_WORK = os.environ.get(
        "BACKGROUND_WORK", "worker" if os.environ.get("FLIGHTDECK_ENV", "development") == "production" else "thread"
    )
    #: The Ad Manager SOAP API version the gam adapter speaks (one googleads supports).
    GAM_API_VERSION = os.environ.get("GAM_API_VERSION", "v202608")

    #: Where finance exports are written (default: instance/exports); they are served from there.
    FINANCE_EXPORT_DIR = os.environ.get("FINANCE_EXPORT_DIR", "")

    #: Keep the solved booked lines on disk, so that a process that starts reads them instead of
    #: solving them again (`app/inventory/stored.py`); the folder defaults to instance/solutions.
    INVENTORY_STORE_SOLUTIONS = yes_no("INVENTORY_STORE_SOLUTIONS", True)
    INVENTORY_SOLUTION_DIR = os.environ.get("INVENTORY_SOLUTION_DIR", "")

    PAGE_SIZE = _int("PAGE_SIZE", 25)
    #: Percent of the forecast never sold, unless a site sets its own.
    SAFETY_MARGIN_PCT = _int("SAFETY_MARGIN_PCT", 10)
    #: How long a hold lasts unless extended.
    HOLD_DAYS = _int("HOLD_DAYS", 7)
    #: A make-good runs from the day after the line it makes good ended until this many days after its order's last day.
    MAKE_GOOD_WINDOW_DAYS = _int("MAKE_GOOD_WINDOW_DAYS", 60)
    #: Largest upload (CSV imports) in bytes.
    MAX_CONTENT_LENGTH = _int("MAX_UPLOAD_BYTES", 5 * 1024 * 1024)
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session

    # E-mail. No MAIL_SERVER: nothing leaves the app; admins read the mail on the outbox page.
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
    MAIL_PORT = _int("MAIL_PORT", 25)
    #: STARTTLS after connecting (usually port 587); MAIL_USE_SSL: TLS from the start (usually 465).
    MAIL_USE_TLS = yes_no("MAIL_USE_TLS", False)
    MAIL_USE_SSL = yes_no("MAIL_USE_SSL", False)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    MAIL_FROM = os.environ.get("MAIL_FROM", "Flightdeck <flightdeck@localhost>")
    #: Failed attempts before a message is given up as failed.
    MAIL_MAX_ATTEMPTS = _int("MAIL_MAX_ATTEMPTS", 5)
    MAIL_TIMEOUT_SECONDS = _int("MAIL_TIMEOUT_SECONDS", 10)


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    SECRET_KEY = Config.SECRET_KEY or "dev-only-not-secret"


class ProductionConfig(Config):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = yes_no("SESSION_COOKIE_SECURE", True)


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "testing"
    # Tests create many users; a cheap hash keeps them fast. Production never uses this.
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
    # Tests never mail real people, whatever the environment says; they point at their own server.
    MAIL_SERVER = ""
    # After the commit, before the response (as before): tests read the PDF and the order as soon as
    # the request returns. The tests of the background thread and of the worker choose those.
    BACKGROUND_WORK = "inline"
    # Each test's database is new: nothing to gain from stored solutions (their tests turn them on).
    INVENTORY_STORE_SOLUTIONS = False


CONFIGS = {
    "development": DevelopmentConfig,
    "production": ProductionConfig,
    "testing": TestingConfig,
}


def config_for(name: str | None = None) -> type[Config]:
    name = name or os.environ.get("FLIGHTDECK_ENV", "development")
    try:
        return CONFIGS[name]
    except KeyError:
        raise RuntimeError(f"FLIGHTDECK_ENV must be one of {', '.join(CONFIGS)}, not {name!r}") from None
