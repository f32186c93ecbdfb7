"""`flask finance export` and `flask finance close`: what the finance page does, from the command line."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup

from app.auth.models import User
from app.db import utcnow
from app.errors import DomainError
from app.extensions import current_clock, db
from app.finance import maintained, queries, revenue, service
from app.formats import plural
from app.roles import Role
from app.transaction import in_transaction

finance_cli = AppGroup("finance", help="Revenue exports and month close.")


def _period(raw: str, today, *, latest=None) -> object:
    try:
        return revenue.parse_period(raw, today=today, latest=latest)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


@finance_cli.command("export")
@click.option("--period", required=True, help="The month, YYYY-MM (the first month with --to).")
@click.option("--to", "last", default=None, help="The last month of a range, YYYY-MM.")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv", show_default=True)
@click.option("--calendar", type=click.Choice(["calendar", "broadcast"]), default="calendar", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Copy the file here too.")
@in_transaction(db.session)
def export_command(period: str, last: str | None, fmt: str, calendar: str, output: Path | None) -> None:
    """Export revenue rows with a control summary (rows, totals per currency, SHA-256), recorded
    like an export from the page; months ahead (as far as the page looks) carry what is booked.
    Streams: memory stays flat however many rows."""
    today = current_clock().today()
    first = _period(period, today, latest=revenue.horizon(today))
    final = _period(last, today, latest=revenue.horizon(today)) if last else first
    if final < first:
        raise click.BadParameter("--to comes before --period.")
    if output is not None and not output.parent.is_dir():
        raise click.BadParameter(f"{output.parent} is not a directory.", param_hint="--output")
    directory = service.export_dir(current_app.instance_path, current_app.config["FINANCE_EXPORT_DIR"])
    estimate = max(1, queries.estimate_rows(first, final, queries.Filters()))
    with click.progressbar(length=estimate, label="Exporting", show_pos=True, file=sys.stderr) as bar:
        made = service.run_export(
            fmt,
            first,
            final,
            queries.Filters(),
            directory=directory,
            actor=None,
            actor_label="flask finance export",
            today=today,
            now=utcnow(),
            calendar=calendar,
            progress=bar.update,
        )
    path = directory / made.filename
    if output is not None:
        shutil.copyfile(path, output)
        path = output
    click.echo(f"{path}")
    click.echo(f"rows: {made.rows:,}")
    for currency, sums in made.totals.items():
        click.echo(f"{currency}: " + ", ".join(f"{k} {v}" for k, v in sums.items()))
    click.echo(f"sha256: {made.sha256}")


@finance_cli.command("close")
@click.option("--period", required=True, help="The month to close, YYYY-MM.")
@click.option("--by", "email", required=True, help="The e-mail of the finance user or admin closing it.")
@in_transaction(db.session)
def close_command(period: str, email: str) -> None:
    """Close a month: freeze its figures; later changes post adjustments into the next open month."""
    today = current_clock().today()
    first = _period(period, today)
    actor = db.session.scalar(sa.select(User).where(sa.func.lower(User.email) == email.strip().lower()))
    if actor is None or not actor.active or not actor.has_role(Role.FINANCE, Role.ADMIN):
        raise click.BadParameter(f"{email} is not an active finance user or admin.", param_hint="--by")
    try:
        closed = service.close_month(first, actor=actor, today=today, now=utcnow())
    except DomainError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"{first:%B %Y} closed: {plural(closed.rows, 'row', 'rows')}.")


@finance_cli.command("check-revenue")
def check_revenue_command() -> None:
    """Check that the revenue kept for the finance page (by line and month, and its month sums)
    equals the revenue computed from the orders; exits 1 listing the differences."""
    problems = maintained.check(limit=maintained.CHECK_LIMIT)
    if problems:
        for problem in problems:
            click.echo(problem, err=True)
        count = plural(len(problems), "difference", "differences")
        if len(problems) >= maintained.CHECK_LIMIT:
            count = f"at least {count} (the first ones shown)"
        raise click.ClickException(f"{count}: `flask finance rebuild-revenue` writes the kept revenue afresh.")
    click.echo("Revenue kept for the finance page equals the revenue computed from the orders.")


@finance_cli.command("rebuild-revenue")
@in_transaction(db.session)
def rebuild_revenue_command() -> None:
    """Write the revenue kept for the finance page afresh from the orders (after loading data
    around the app, e.g. with SQL)."""
    click.echo(f"{plural(maintained.rebuild(today=current_clock().today()), 'row', 'rows')} written.")


@finance_cli.command("roll-day")
@in_transaction(db.session)
def roll_day_command() -> None:
    """Move the finance page's month under way on to today (cron, daily after the publisher's
    midnight); until it runs, the page sums that month from the kept rows, a little slower."""
    today = current_clock().today()
    maintained.roll_day(today)
    click.echo(f"The finance page's month under way is as of {today:%d %B %Y}.")
