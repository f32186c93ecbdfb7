"""`flask demo load`: the demo publisher, loaded into an empty database."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from app.db import utcnow
from app.demo.load import database_is_empty, load_demo
from app.extensions import current_settings, db
from app.transaction import in_transaction

demo_cli = AppGroup("demo", help="The demo publisher.")


@demo_cli.command("load")
@click.option("--if-empty", is_flag=True, help="Do nothing (and succeed) when the database has users.")
@in_transaction(db.session)
def load_command(if_empty: bool) -> None:
    """Load the demo publisher: users, accounts, ad units, targeting and a year of traffic."""
    if not database_is_empty():
        if if_empty:
            click.echo("Database already has data; demo not loaded.")
            return
        raise click.ClickException("The database is not empty; the demo loads only into an empty one.")
    now = utcnow()
    today = current_settings().day_of(now)
    counts = load_demo(today=today, now=now, hash_method=current_app.config["PASSWORD_HASH_METHOD"])
    click.echo("Demo publisher loaded: " + ", ".join(f"{n:,} {what.replace('_', ' ')}" for what, n in counts.items()))
