"""`flask inventory ...`: import traffic history, refresh and test the forecast, run the engine alone."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import NoReturn

import click
from flask import current_app
from flask.cli import AppGroup

from app.csvio import ImportFailed
from app.db import utcnow
from app.extensions import current_clock, current_settings, db
from app.formats import plural
from app.inventory import forecast_runs
from app.inventory.solver import InstanceError
from app.inventory.solver_json import solve
from app.inventory.warm import warm
from app.transaction import in_transaction

inventory_cli = AppGroup("inventory", help="Traffic history, the forecast, and the availability engine.")


@inventory_cli.command("import-history")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@in_transaction(db.session)
def import_history_command(file: Path) -> None:
    """Import traffic per slot and day from a CSV file: ad_unit,day,impressions,geo,device.

    Rows for a slot and day already on record replace them. Nothing is imported when any row is bad.
    """
    data = file.read_bytes()
    # An estimate for the bar only: quoted cells may hold line breaks, and blank lines are skipped.
    rows = max(0, data.count(b"\n") - 1 + (0 if data.endswith(b"\n") else 1))
    try:
        with click.progressbar(length=rows, label="Checking rows", file=sys.stderr) as bar:
            counts = forecast_runs.import_history(data, progress=bar.update)
    except ImportFailed as exc:
        click.echo(exc.message, err=True)
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        raise SystemExit(1) from None
    created, updated = counts["created"], counts["updated"]
    imported = plural(counts["rows"], "slot-day", "slot-days")
    click.echo(f"Imported {imported} of traffic: {created:,} new, {updated:,} replaced.")


@inventory_cli.command("forecast")
@in_transaction(db.session)
def forecast_command() -> None:
    """Refresh the forecast of every active slot for the next 365 days, and its geo and device shares."""
    run = forecast_runs.refresh_forecast(now=utcnow(), today=current_clock().today())
    days = forecast_runs.forecast_day_count(run)
    click.echo(
        f"Forecast refreshed: {plural(days, 'slot-day', 'slot-days')} from {run.first_day} to {run.last_day}, "
        f"from history up to {run.history_end}."
    )


@inventory_cli.command("warm")
def warm_command() -> None:
    """Solve today's booked lines and store them, so that processes started today read them instead.

    A stored solution is only good for the day and the forecast it was solved on: run this after
    midnight and after `flask inventory forecast` (gunicorn's master runs it at every start).
    """
    clusters = warm(current_app._get_current_object())
    where = "stored" if current_settings().inventory_solutions else "not stored (INVENTORY_STORE_SOLUTIONS is off)"
    click.echo(f"{plural(clusters, 'cluster', 'clusters')} of booked lines solved for today, {where}.")


@inventory_cli.command("backtest")
@click.option("--holdout-days", default=28, show_default=True, type=click.IntRange(min=7), help="Days held out.")
def backtest_command(holdout_days: int) -> None:
    """Forecast the last weeks of history from the rest; compare with the seasonal-naive baseline.

    The error is the weighted MAPE (total absolute error over total impressions), per week ahead.
    """
    try:
        report = forecast_runs.backtest(holdout_days=holdout_days)
    except forecast_runs.NotEnoughHistory as exc:
        raise click.ClickException(exc.message) from None
    click.echo(
        f"Held out {report.first_day} to {report.last_day}, forecast from history up to {report.history_end}. "
        f"WMAPE in %, forecast / seasonal naive:"
    )
    for line in backtest_table(report):
        click.echo(line)
    verdict = "beats" if report.beats_baseline else "does NOT beat"
    click.echo(
        f"The forecast {verdict} the seasonal-naive baseline: {_percent(report.model.overall)} % "
        f"against {_percent(report.baseline.overall)} % overall."
    )


def backtest_table(report: forecast_runs.BacktestReport) -> list[str]:
    """The report as text rows: one for all slots, then one per slot."""
    width = max(len("All slots"), *(len(unit.code) for unit in report.units))
    columns = [f"Week {w + 1}" for w in range(report.weeks)] + ["All"]
    lines = [f"{'':{width}}" + "".join(f"{column:>16}" for column in columns)]

    def row(label: str, model: forecast_runs.Errors, baseline: forecast_runs.Errors) -> str:
        pairs = [*zip(model.weeks, baseline.weeks, strict=True), (model.overall, baseline.overall)]
        return f"{label:{width}}" + "".join(f"{_percent(m):>8} /{_percent(b):>6}" for m, b in pairs)

    lines.append(row("All slots", report.model, report.baseline))
    lines.extend(row(unit.code, unit.model, unit.baseline) for unit in report.units)
    return lines


def _percent(fraction: float) -> str:
    return f"{fraction * 100:.1f}" if math.isfinite(fraction) else "n/a"


@inventory_cli.command("solve")
@click.argument("instance", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def solve_command(instance: Path) -> None:
    """Run the availability engine on a JSON instance and print its answer as JSON.

    The instance format is described in app/inventory/solver_json.py.
    """
    try:
        document = json.loads(instance.read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        _refuse(f"{instance.name} is not valid JSON: {exc}")
    try:
        answer = solve(document)
    except InstanceError as exc:
        _refuse(f"{instance.name}: {exc}")
    except (AttributeError, TypeError):  # a value of the wrong type deeper in the document
        _refuse(f"{instance.name}: malformed instance (the format is in README.md, Inventory)")
    click.echo(json.dumps(answer, indent=2))


def _refuse(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    raise SystemExit(2)
