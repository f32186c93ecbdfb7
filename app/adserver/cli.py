"""`flask adserver worker` (runs continuously), `flask adserver sync-delivery` and `flask adserver push`."""

from __future__ import annotations

import contextlib
import signal
from datetime import timedelta

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup

from app.adserver import outbox
from app.adserver.delivery import sync_connection, sync_due
from app.adserver.models import Connection
from app.adserver.outbox import Settings
from app.adserver.service import queue_push
from app.db import utcnow
from app.extensions import current_clock, current_settings, db
from app.orders.models import Order
from app.proposals import versions
from app.transaction import in_transaction
from app.workflow import signing

adserver_cli = AppGroup("adserver", help="Push orders to ad servers and bring delivery back.")


def _settings():
    return Settings.from_config(current_app.config)


def _draw_pdfs() -> list[str]:
    """Versions frozen in a request whose PDF is not drawn yet (BACKGROUND_WORK=worker)."""
    settings = current_settings()
    drawn = versions.draw_pending(publisher_name=settings.publisher_name, logo_path=settings.publisher_logo)
    return [f"version {version_id}: PDF drawn" for version_id in drawn]


def _make_orders() -> list[str]:
    """Proposals accepted by their buyer whose order is not made yet (BACKGROUND_WORK=worker)."""
    settings = current_settings()
    made = signing.make_orders(
        [],
        and_waiting=True,
        now=utcnow(),
        today=current_clock().today(),
        margin_pct=settings.safety_margin_pct,
        settings=settings,
    )
    return [f"proposal {proposal_id}: order made" for proposal_id in made]


def _sync_due():
    config = current_app.config
    return sync_due(
        now=utcnow(),
        every=timedelta(hours=config["DELIVERY_SYNC_HOURS"]),
        lease=timedelta(seconds=config["ADSERVER_LEASE_SECONDS"]),
        timeout=config["ADSERVER_TIMEOUT_SECONDS"],
        api_version=config["GAM_API_VERSION"],
    )


@adserver_cli.command("worker")
@click.option("--once", is_flag=True, help="Make waiting orders, send due pushes, draw waiting PDFs, sync, and stop.")
@click.option("--name", default=None, help="This worker's name in the push history (default host:pid).")
def worker_command(once: bool, name: str | None) -> None:
    """Make the orders of accepted proposals, send queued pushes with retries and backoff, draw the
    PDFs of submitted versions, and sync delivery once a day. Several workers may run at once on
    PostgreSQL; stop one with Ctrl-C or SIGTERM (it finishes the job in hand)."""
    worker = name or outbox.worker_name()
    settings = _settings()
    if once:
        for line in _make_orders():
            click.echo(line)
        for outcome in outbox.drain(worker=worker, settings=settings):
            click.echo(f"{outcome.order_number}: {outcome.outcome}: {outcome.message}")
        for line in _draw_pdfs():
            click.echo(line)
        for report in _sync_due():
            click.echo(str(report))
        return
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    click.echo(f"Worker {worker} polling every {current_app.config['ADSERVER_POLL_SECONDS']} s. Ctrl-C stops it.")
    with contextlib.suppress(KeyboardInterrupt):
        outbox.run_forever(
            worker=worker,
            settings=settings,
            poll_seconds=current_app.config["ADSERVER_POLL_SECONDS"],
            sync=lambda: [*_make_orders(), *_draw_pdfs(), *(str(r) for r in _sync_due())],
            stop=lambda: bool(stopping),
            echo=click.echo,
        )
    click.echo("Worker stopped.")


@adserver_cli.command("sync-delivery")
@click.option("--connection", "name", default=None, help="Only this connection (by name).")
def sync_delivery_command(name: str | None) -> None:
    """Fetch delivery per line and day from every active connection now, and check drift."""
    query = sa.select(Connection).where(Connection.active.is_(True))
    if name:
        query = query.where(Connection.name == name)
    connections = db.session.scalars(query.order_by(Connection.id)).all()
    if name and not connections:
        raise click.ClickException(f"No active connection called {name!r}.")
    failed = False
    for connection in connections:
        report = sync_connection(
            connection,
            now=utcnow(),
            timeout=current_app.config["ADSERVER_TIMEOUT_SECONDS"],
            api_version=current_app.config["GAM_API_VERSION"],
        )
        click.echo(str(report))
        failed = failed or bool(report.error)
    if failed:
        raise SystemExit(1)


@adserver_cli.command("push")
@click.argument("number")
@in_transaction(db.session)
def push_command(number: str) -> None:
    """Queue a push of order NUMBER (e.g. O-2026-0001) to its connection."""
    order = db.session.scalar(sa.select(Order).where(Order.number == number))
    if order is None:
        raise click.ClickException(f"No order {number}.")
    job = queue_push(order, reason="queued from the command line", now=utcnow())
    if job is None:
        raise click.ClickException("No ad-server connection: an admin adds one under Ad servers.")
    click.echo(f"Push of {number} queued as job {job.id}.")
