"""Flightdeck: order management for the ad-sales teams of publishers."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from config import DEFAULT_PUBLIC_URL, Config, config_for

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: type[Config] | dict | None = None) -> Flask:
    """Build the app. `config` is a Config class, or a dict of overrides on the environment's."""
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(ROOT / "instance"),
    )
    if isinstance(config, dict):
        app.config.from_object(config_for(config.get("ENV_NAME")))
        app.config.update(config)
    else:
        app.config.from_object(config or config_for())
    _check_settings(app)
    Path(app.instance_path).mkdir(exist_ok=True)
    if not app.config.get("INVENTORY_SOLUTION_DIR"):
        app.config["INVENTORY_SOLUTION_DIR"] = str(Path(app.instance_path) / "solutions")
    _trust_proxies(app)

    from app import models  # noqa: F401  (registers every table on the metadata)
    from app.clock import Clock
    from app.extensions import csrf, db, install_settings, login_manager, migrate
    from app.settings import Settings

    # Read once: a later change to app.config changes nothing (tests change a setting with install_settings).
    settings = Settings.from_config(app.config)
    install_settings(app, settings, Clock(settings.time_zone))

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)

    from app import boundary
    from app.access import check_every_route_has_a_rule, enforce_access
    from app.accounts.views import bp as accounts_bp
    from app.adserver.views import bp as adserver_bp
    from app.audit.views import bp as audit_bp
    from app.auth.views import bp as auth_bp
    from app.auth.views import load_user
    from app.catalog.views import bp as catalog_bp
    from app.errors import register_error_handlers
    from app.finance.views import bp as finance_bp
    from app.headers import SessionInterface, add_security_headers
    from app.home.views import bp as home_bp
    from app.inventory.views import bp as inventory_bp
    from app.mail.views import bp as mail_bp
    from app.orders.views import bp as orders_bp
    from app.pricing.views import bp as pricing_bp
    from app.proposals.views import bp as proposals_bp
    from app.ratecards.views import bp as ratecards_bp
    from app.routing import install as install_routing
    from app.routing import refuse_nul_bytes
    from app.templating import register_template_helpers
    from app.workflow.signing_views import bp as signing_bp
    from app.workflow.views import bp as workflow_bp

    install_routing(app)
    login_manager.user_loader(load_user)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Sign in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    for bp in (
        home_bp,
        auth_bp,
        accounts_bp,
        catalog_bp,
        ratecards_bp,
        inventory_bp,
        pricing_bp,
        proposals_bp,
        workflow_bp,
        signing_bp,
        orders_bp,
        adserver_bp,
        finance_bp,
        audit_bp,
        mail_bp,
    ):
        app.register_blueprint(bp)
    # The buyer's page sends no Referer (its token is in the URL), and over HTTPS CSRFProtect
    # refuses a form without one; the page checks its form's CSRF token itself (FlaskForm).
    csrf.exempt(signing_bp)
    app.before_request(refuse_nul_bytes)
    app.before_request(enforce_access)
    app.after_request(add_security_headers)
    app.session_interface = SessionInterface()
    register_error_handlers(app)
    register_template_helpers(app)
    _register_hooks()
    _register_cli(app)
    check_every_route_has_a_rule(app)
    boundary.install(app)  # after every blueprint: each view becomes one unit of work
    return app


def _check_settings(app: Flask) -> None:
    if not app.config.get("SECRET_KEY"):
        raise RuntimeError("SECRET_KEY is not set: set it in the environment (see README, Production).")
    if not isinstance(app.config.get("TRUSTED_PROXIES"), int) or app.config["TRUSTED_PROXIES"] < 0:
        raise RuntimeError("TRUSTED_PROXIES must be 0 (no proxy) or the number of proxies in front of the app.")
    from app.validation import currency_problem, time_zone_problem

    if problem := currency_problem(app.config["PUBLISHER_CURRENCY"]):
        raise RuntimeError(f"PUBLISHER_CURRENCY: {problem}")
    if problem := time_zone_problem(app.config["PUBLISHER_TIMEZONE"]):
        raise RuntimeError(f"PUBLISHER_TIMEZONE: {problem}")
    _check_public_url(app)


def _trust_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXIES proxies, the client's address and scheme are the ones they forward.

    Only X-Forwarded-For and -Proto: the Host header is the proxy's to pass through, and believing
    X-Forwarded-Host, which a proxy that does not set it lets through from the client, would let
    anyone choose the host of the links the app builds.
    """
    hops = app.config["TRUSTED_PROXIES"]
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]


def _check_public_url(app: Flask) -> None:
    """Every link in every e-mail starts with PUBLIC_URL: refuse one that cannot be a link, and warn in
    production when it is unset, since the default reaches nobody but this machine."""
    from urllib.parse import urlsplit

    url = (app.config.get("PUBLIC_URL") or "").strip()
    if not url:
        if app.config.get("ENV_NAME") == "production":
            app.logger.warning(
                "PUBLIC_URL is not set: links in e-mails (the buyer's signing link, approval requests) point at "
                "%s, which buyers and approvers cannot reach. Set it to the address people use (see README).",
                DEFAULT_PUBLIC_URL,
            )
        url = DEFAULT_PUBLIC_URL
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise RuntimeError(
            f"PUBLIC_URL must be an http:// or https:// address such as https://deals.example, not {url!r}"
        )
    app.config["PUBLIC_URL"] = url.rstrip("/")


def _register_hooks() -> None:
    """Each domain fills in the registries of the domains beneath it (the records the audit pages name,
    the order page's panels, what proposals ask of workflow and orders, what workflow hands to orders): a lower
    domain never imports a higher one (see .importlinter). The app refuses to start while a required
    one is missing."""
    from app.accounts import hooks as accounts
    from app.adserver import hooks as adserver
    from app.auth import hooks as auth
    from app.catalog import hooks as catalog
    from app.catalog import panels as product_panels
    from app.finance import hooks as finance
    from app.inventory import bookings
    from app.inventory import hooks as inventory
    from app.orders import events as order_events
    from app.orders import hooks as orders
    from app.orders import panels as order_panels
    from app.pricing import hooks as pricing
    from app.proposals import hooks as proposals
    from app.proposals import registry
    from app.ratecards import hooks as ratecards
    from app.workflow import events as workflow_events
    from app.workflow import hooks as workflow

    registries = (registry, workflow_events, order_events, order_panels, product_panels, bookings)
    for lower in registries:
        lower.clear()  # so the checks below see this app's registrations only
    for domain in (
        auth,
        accounts,
        catalog,
        ratecards,
        inventory,
        pricing,
        proposals,
        workflow,
        orders,
        adserver,
        finance,
    ):
        domain.register()
    for lower in registries:
        lower.check_registered()


def _register_cli(app: Flask) -> None:
    from app.adserver.cli import adserver_cli
    from app.auth.cli import auth_cli, users_cli
    from app.demo.cli import demo_cli
    from app.finance.cli import finance_cli
    from app.inventory.cli import inventory_cli
    from app.mail.cli import mail_cli
    from app.workflow.cli import workflow_cli

    app.cli.add_command(users_cli)
    app.cli.add_command(auth_cli)
    app.cli.add_command(adserver_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(finance_cli)
    app.cli.add_command(inventory_cli)
    app.cli.add_command(mail_cli)
    app.cli.add_command(workflow_cli)
