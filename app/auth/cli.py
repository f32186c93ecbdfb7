"""`flask users ...`: manage users from the command line (the first admin, notably); `flask auth purge`."""

from __future__ import annotations

from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup
from flask_login import config as login_config

from app.auth import service
from app.db import utcnow
from app.errors import ValidationFailed
from app.extensions import db
from app.roles import Role
from app.transaction import in_transaction

users_cli = AppGroup("users", help="Create and list users.")
auth_cli = AppGroup("auth", help="Sign-in records.")


@users_cli.command("create")
@click.option("--email", prompt=True, help="Sign-in e-mail address.")
@click.option("--name", prompt=True, help="Full name, as colleagues see it.")
@click.option(
    "--role",
    "roles",
    multiple=True,
    type=click.Choice([r.value for r in Role]),
    default=["admin"],
    show_default=True,
    help="Role to grant; repeat for several.",
)
@click.password_option(help="At least 10 characters; asked for when not given.")
@in_transaction(db.session)
def create_user_command(email: str, name: str, roles: tuple[str, ...], password: str) -> None:
    """Create a user (by default an admin)."""
    try:
        user = service.create_user(
            email=email,
            name=name,
            password=password,
            roles=roles,
            actor=None,
            now=utcnow(),
            hash_method=current_app.config["PASSWORD_HASH_METHOD"],
        )
    except ValidationFailed as exc:
        for field, messages in exc.errors.items():
            for message in messages:
                click.echo(f"error: {field}: {message}", err=True)
        raise SystemExit(1) from None
    click.echo(f"Created {user.email} ({', '.join(r.value for r in user.roles)}).")


@users_cli.command("list")
def list_users_command() -> None:
    """Print every user with their roles."""
    for user in db.session.scalars(service.users_page_query()):
        state = "" if user.active else "  [deactivated]"
        click.echo(f"{user.email:40} {user.name:30} {','.join(r.value for r in user.roles)}{state}")


def session_lifetime(config) -> timedelta:
    """How long a session's cookie can keep it alive: the longer of the session cookie's and the
    remember-me cookie's lifetimes (Flask-Login's default when the setting is absent)."""
    remember = config.get("REMEMBER_COOKIE_DURATION", login_config.COOKIE_DURATION)
    return max(_as_timedelta(config["PERMANENT_SESSION_LIFETIME"]), _as_timedelta(remember))


def _as_timedelta(value: timedelta | int) -> timedelta:
    return value if isinstance(value, timedelta) else timedelta(seconds=value)


@auth_cli.command("purge")
@in_transaction(db.session)
def purge_command() -> None:
    """Delete sign-in attempts and ended or lapsed sessions older than SIGN_IN_HISTORY_DAYS (for cron)."""
    config = current_app.config
    purged = service.purge_sign_in_records(
        now=utcnow(),
        keep=timedelta(days=config["SIGN_IN_HISTORY_DAYS"]),
        throttle_window=config["LOGIN_FAILURE_WINDOW"],
        session_lifetime=session_lifetime(config),
    )
    attempts = "attempt" if purged.attempts == 1 else "attempts"
    sessions = "session" if purged.sessions == 1 else "sessions"
    click.echo(f"Purged {purged.attempts} sign-in {attempts} and {purged.sessions} ended or lapsed {sessions}.")
