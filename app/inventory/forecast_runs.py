"""Traffic history in, forecast out: the import, the nightly refresh and the backtest.

The model itself is `app.inventory.forecast_model` (pure numpy); this module reads and writes the tables.
Services flush, never commit: the CLI command (or the demo loader) commits.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import sqlalchemy as sa

from app.catalog.models import AdUnit, AdUnitLevel, Status, TargetingDimension, TargetingValue
from app.csvio import Cells, ImportFailed, RowProblem, read_rows
from app.errors import DomainError
from app.extensions import db
from app.formats import impression_count, plural
from app.inventory.forecast_model import METHOD, annual_growth, forecast_series, seasonal_naive, wmape
from app.inventory.models import ForecastDay, ForecastRun, TrafficDay, TrafficShare

#: The forecast reads at most this much history: two years and the four weeks that anchor growth.
HISTORY_WINDOW_DAYS = 2 * 364 + 28
#: Geo and device shares come from this many days of recent history.
SHARE_DAYS = 56
PPM = 1_000_000
#: The dimensions whose shares are kept per slot.
SHARE_DIMENSIONS = ("geo", "device")
#: Rows per bulk insert: large enough to be quick, small enough for every driver's parameter limits.
_CHUNK = 2_000

HISTORY_COLUMNS = ("ad_unit", "day", "impressions", "geo", "device")


class NotEnoughHistory(DomainError):
    """The backtest has nothing to hold out, or nothing to forecast it from."""


# --- Refresh -------------------------------------------------------------------------------------


def refresh_forecast(*, now: datetime, today: date, horizon_days: int = 365) -> ForecastRun:
    """Forecast every active slot from `today` for `horizon_days` days, and recompute its shares.

    Replaces the forecast days in that range (all ad units) and every slot's geo and device shares.
    A slot without history is forecast at zero and gets the publisher-wide shares.
    """
    history_end = today - timedelta(days=1)
    last_day = today + timedelta(days=horizon_days - 1)
    slot_ids = _active_slot_ids()
    histories = _histories(slot_ids, history_end - timedelta(days=HISTORY_WINDOW_DAYS - 1), history_end)
    db.session.execute(sa.delete(ForecastDay).where(ForecastDay.day >= today, ForecastDay.day <= last_day))
    trends = _site_trends(histories, today)
    rows: list[dict[str, Any]] = []
    for slot_id in slot_ids:
        expected = forecast_series(histories.get(slot_id, np.zeros(0)), today, horizon_days, trend=trends.get(slot_id))
        rows.extend(
            {"ad_unit_id": slot_id, "day": today + timedelta(days=i), "impressions": int(value)}
            for i, value in enumerate(expected)
        )
    _insert(ForecastDay, rows)
    _replace_shares(slot_ids, first=today - timedelta(days=SHARE_DAYS), last=history_end)
    run = ForecastRun(created_at=now, history_end=history_end, first_day=today, last_day=last_day, method=METHOD)
    db.session.add(run)
    db.session.flush()
    return run


def forecast_day_count(run: ForecastRun) -> int:
    """How many forecast days (slot x day) the run's range holds."""
    return db.session.scalar(
        sa.select(sa.func.count(ForecastDay.id)).where(
            ForecastDay.day >= run.first_day, ForecastDay.day <= run.last_day
        )
    )


def _active_slot_ids() -> list[int]:
    return list(
        db.session.scalars(
            sa.select(AdUnit.id)
            .where(AdUnit.level == AdUnitLevel.SLOT.value, AdUnit.status == Status.ACTIVE.value)
            .order_by(AdUnit.id)
        )
    )


def _histories(slot_ids: list[int], first: date, last: date) -> dict[int, np.ndarray]:
    """Each slot's daily impressions from its first day on record (not before `first`) to `last`.

    Days without a row are NaN, so a gap is not read as a day without traffic.
    """
    if not slot_ids:
        return {}
    rows = db.session.execute(
        sa.select(TrafficDay.ad_unit_id, TrafficDay.day, TrafficDay.impressions).where(
            TrafficDay.ad_unit_id.in_(slot_ids), TrafficDay.day >= first, TrafficDay.day <= last
        )
    ).all()
    by_slot: dict[int, list[tuple[date, int]]] = defaultdict(list)
    for slot_id, day, impressions in rows:
        by_slot[slot_id].append((day, impressions))
    histories = {}
    for slot_id, days in by_slot.items():
        start = min(day for day, _ in days)
        series = np.full((last - start).days + 1, np.nan)
        for day, impressions in days:
            series[(day - start).days] = impressions
        histories[slot_id] = series
    return histories


def _site_trends(histories: dict[int, np.ndarray], first_day: date) -> dict[int, float]:
    """For each slot, the median growth of its site's slots: one slot's own trend over a year is noisy,
    while the slots of a site share their audience's growth."""
    parents = dict(db.session.execute(sa.select(AdUnit.id, AdUnit.parent_id)).all())

    def site_of(unit_id: int) -> int:
        while parents.get(unit_id) is not None:
            unit_id = parents[unit_id]
        return unit_id

    by_site: dict[int, list[float]] = defaultdict(list)
    site = {slot_id: site_of(slot_id) for slot_id in histories}
    for slot_id, series in histories.items():
        if (growth := annual_growth(series, first_day)) is not None:
            by_site[site[slot_id]].append(growth)
    medians = {site_id: float(np.median(growths)) for site_id, growths in by_site.items()}
    return {slot_id: medians[site_id] for slot_id, site_id in site.items() if site_id in medians}


def _insert(model: type, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), _CHUNK):
        db.session.execute(sa.insert(model), rows[start : start + _CHUNK])


# --- Shares --------------------------------------------------------------------------------------


def _replace_shares(slot_ids: list[int], *, first: date, last: date) -> None:
    """Each slot's geo and device shares over `first`..`last`, in ppm adding up to exactly 10^6."""
    totals: dict[tuple[int, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    publisher: dict[str, dict[str, int]] = {dimension: defaultdict(int) for dimension in SHARE_DIMENSIONS}
    if slot_ids:
        rows = db.session.execute(
            sa.select(TrafficDay.ad_unit_id, TrafficDay.by_geo, TrafficDay.by_device).where(
                TrafficDay.ad_unit_id.in_(slot_ids), TrafficDay.day >= first, TrafficDay.day <= last
            )
        )
        for slot_id, by_geo, by_device in rows:
            for dimension, breakdown in (("geo", by_geo), ("device", by_device)):
                for code, impressions in (breakdown or {}).items():
                    totals[(slot_id, dimension)][code] += impressions
                    publisher[dimension][code] += impressions
    fallback = {dimension: _publisher_shares(dimension, publisher[dimension]) for dimension in SHARE_DIMENSIONS}
    db.session.execute(sa.delete(TrafficShare).where(TrafficShare.dimension.in_(SHARE_DIMENSIONS)))
    rows_out = []
    for slot_id in slot_ids:
        for dimension in SHARE_DIMENSIONS:
            shares = parts_per_million(totals.get((slot_id, dimension), {})) or fallback[dimension]
            rows_out.extend(
                {"ad_unit_id": slot_id, "dimension": dimension, "value_code": code, "ppm": ppm}
                for code, ppm in shares.items()
            )
    _insert(TrafficShare, rows_out)


def _publisher_shares(dimension: str, traffic: dict[str, int]) -> dict[str, int]:
    """Shares for a slot without history: all slots' recent traffic, else the configured percentages."""
    if shares := parts_per_million(traffic):
        return shares
    values = db.session.execute(
        sa.select(TargetingValue.code, TargetingValue.traffic_share_pct)
        .join(TargetingDimension)
        .where(TargetingDimension.key == dimension, TargetingValue.status == Status.ACTIVE.value)
        .order_by(TargetingValue.code)
    ).all()
    configured = {code: pct for code, pct in values if pct}
    if configured:
        # Percentages with up to four decimals: scaled to whole numbers without losing any.
        return parts_per_million({code: int(pct * 10_000) for code, pct in configured.items()})
    return parts_per_million(dict.fromkeys((code for code, _ in values), 1))


def parts_per_million(weights: dict[str, int]) -> dict[str, int]:
    """`weights` as parts per million adding up to exactly 1,000,000 (empty when they add up to 0).

    Largest remainder: each code gets the floor of its exact share, and the parts left over go to
    the largest fractions (ties to the first code in sorted order, so the result is deterministic).
    """
    total = sum(weights.values())
    if total <= 0:
        return {}
    codes = sorted(weights)
    floors = {code: weights[code] * PPM // total for code in codes}
    short = PPM - sum(floors.values())
    by_remainder = sorted(codes, key=lambda code: (-(weights[code] * PPM % total), code))
    for code in by_remainder[:short]:
        floors[code] += 1
    return floors


# --- Backtest ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Errors:
    """WMAPE (a fraction) for each week ahead, and over the whole holdout."""

    weeks: tuple[float, ...]
    overall: float


@dataclass(frozen=True)
class UnitBacktest:
    ad_unit_id: int
    code: str
    model: Errors
    baseline: Errors


@dataclass(frozen=True)
class BacktestReport:
    """How the forecast would have done on the held-out weeks, beside the seasonal-naive baseline."""

    history_end: date
    first_day: date
    last_day: date
    model: Errors
    baseline: Errors
    units: list[UnitBacktest]

    @property
    def weeks(self) -> int:
        return len(self.model.weeks)

    @property
    def beats_baseline(self) -> bool:
        return self.model.overall < self.baseline.overall


def backtest(*, holdout_days: int = 28) -> BacktestReport:
    """Hold out the last `holdout_days` of history, forecast them from the rest, and score both methods.

    Errors are reported per week ahead (week 1 = the first seven held-out days), overall and for
    each active slot with history on both sides of the cut. Missing days are left out of the score.
    """
    if holdout_days < 7:
        raise NotEnoughHistory("Hold out at least 7 days: the errors are reported per week.")
    slot_ids = _active_slot_ids()
    last_day = (
        db.session.scalar(sa.select(sa.func.max(TrafficDay.day)).where(TrafficDay.ad_unit_id.in_(slot_ids)))
        if slot_ids
        else None
    )
    if last_day is None:
        raise NotEnoughHistory("There is no traffic history to test the forecast on.")
    first_day = last_day - timedelta(days=holdout_days - 1)
    histories = _histories(slot_ids, first_day - timedelta(days=HISTORY_WINDOW_DAYS), last_day)
    codes = dict(db.session.execute(sa.select(AdUnit.id, AdUnit.code).where(AdUnit.id.in_(slot_ids))).all())
    week_of_day = np.arange(holdout_days) // 7
    weeks = int(week_of_day[-1]) + 1
    scored: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {"model": [], "baseline": []}
    pasts = {
        slot_id: series[:-holdout_days]
        for slot_id, series in histories.items()
        if len(series) > holdout_days and not np.all(np.isnan(series[:-holdout_days]))
    }
    trends = _site_trends(pasts, first_day)
    units = []
    for slot_id in slot_ids:
        if slot_id not in pasts:
            continue
        past, actual = pasts[slot_id], histories[slot_id][-holdout_days:]
        seen = ~np.isnan(actual)
        if not seen.any():
            continue
        errors = {}
        for name, predicted in (
            ("model", forecast_series(past, first_day, holdout_days, trend=trends.get(slot_id))),
            ("baseline", seasonal_naive(past, holdout_days)),
        ):
            scored[name].append((actual[seen], predicted[seen], week_of_day[seen]))
            errors[name] = _errors(actual[seen], predicted[seen], week_of_day[seen], weeks=weeks)
        units.append(UnitBacktest(slot_id, codes[slot_id], errors["model"], errors["baseline"]))
    if not units:
        raise NotEnoughHistory(
            f"No slot has history both before and within the last {plural(holdout_days, 'day', 'days')}; "
            "hold out fewer days."
        )
    overall = {}
    for name, parts in scored.items():
        actual, predicted, week = (np.concatenate(column) for column in zip(*parts, strict=True))
        overall[name] = _errors(actual, predicted, week, weeks=weeks)
    return BacktestReport(
        history_end=first_day - timedelta(days=1),
        first_day=first_day,
        last_day=last_day,
        model=overall["model"],
        baseline=overall["baseline"],
        units=sorted(units, key=lambda unit: unit.code),
    )


def _errors(actual: np.ndarray, predicted: np.ndarray, week: np.ndarray, *, weeks: int) -> Errors:
    return Errors(
        weeks=tuple(wmape(actual[week == w], predicted[week == w]) for w in range(weeks)),
        overall=wmape(actual, predicted),
    )


# --- Import --------------------------------------------------------------------------------------


def import_history(data: bytes | str, *, progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Create or update (by slot and day) the traffic of every row; nothing changes when any row is bad.

    Columns: ad_unit (a slot's code), day (YYYY-MM-DD), impressions, geo and device (breakdowns
    such as `london=1200|south-east=800`, each adding up to the impressions). `progress(n)` is
    called with the number of rows checked since the last call.
    """
    # A year of a large publisher: 500 slots x 366 days.
    rows = read_rows(data, HISTORY_COLUMNS, required=HISTORY_COLUMNS, max_rows=200_000)
    units = {
        code: (unit_id, level)
        for unit_id, code, level in db.session.execute(sa.select(AdUnit.id, AdUnit.code, AdUnit.level))
    }
    value_codes = _value_codes()
    problems: list[RowProblem] = []
    seen: dict[tuple[int, date], int] = {}
    planned: list[dict[str, Any]] = []
    step = max(1, min(500, len(rows) // 100))
    reported = 0
    for done, (line, row) in enumerate(rows, start=1):
        cells = Cells(line, row, problems)
        record = _history_row(cells, units, value_codes)
        if record is not None:
            key = (record["ad_unit_id"], record["day"])
            if key in seen:
                cells.problem(f"{cells.text('ad_unit')} on {record['day']} is already on line {seen[key]}.")
            else:
                seen[key] = line
                planned.append(record)
        if progress is not None and (done - reported >= step or done == len(rows)):
            progress(done - reported)
            reported = done
    if problems:
        raise ImportFailed(problems)
    return _upsert_traffic(planned)


def _value_codes() -> dict[str, set[str]]:
    codes: dict[str, set[str]] = {dimension: set() for dimension in SHARE_DIMENSIONS}
    for key, code in db.session.execute(
        sa.select(TargetingDimension.key, TargetingValue.code)
        .join(TargetingValue.dimension)
        .where(TargetingDimension.key.in_(SHARE_DIMENSIONS))
    ):
        codes[key].add(code)
    return codes


def _history_row(
    cells: Cells, units: dict[str, tuple[int, str]], value_codes: dict[str, set[str]]
) -> dict[str, Any] | None:
    """One row's TrafficDay values, or None after recording what is wrong with it."""
    before = len(cells.problems)
    code = cells.text("ad_unit")
    unit = units.get(code)
    if not code:
        cells.problem("ad_unit is empty.")
    elif unit is None:
        cells.problem(f"There is no ad unit with the code {code}.")
    elif unit[1] != AdUnitLevel.SLOT.value:
        cells.problem(f"{code} is a {unit[1]}, not a slot: traffic is recorded per slot.")
    day = cells.date("day")
    impressions = _count(cells, "impressions", cells.text("impressions"))
    breakdowns = {dimension: _breakdown(cells, dimension, value_codes[dimension]) for dimension in SHARE_DIMENSIONS}
    for dimension, breakdown in breakdowns.items():
        if breakdown is not None and impressions is not None and sum(breakdown.values()) != impressions:
            cells.problem(
                f"{dimension} adds up to {sum(breakdown.values()):,}, not to the {impression_count(impressions)}."
            )
    if len(cells.problems) > before or unit is None:
        return None
    return {
        "ad_unit_id": unit[0],
        "day": day,
        "impressions": impressions,
        "by_geo": breakdowns["geo"],
        "by_device": breakdowns["device"],
    }


def _count(cells: Cells, what: str, raw: str) -> int | None:
    """A whole number of 0 or more, or None after recording the problem."""
    text = raw.strip().replace(",", "").replace("_", "")
    if not text:
        cells.problem(f"{what} is empty.")
        return None
    if text.startswith("-") and text[1:].isascii() and text[1:].replace(".", "", 1).isdigit():
        cells.problem(f"{what} “{raw}” is negative.")
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > 15:
        cells.problem(f"{what} “{raw}” is not a whole number.")
        return None
    return int(text)


def _breakdown(cells: Cells, dimension: str, known: set[str]) -> dict[str, int] | None:
    """`code=impressions|...` as a dict, or None after recording every problem in it."""
    before = len(cells.problems)
    breakdown: dict[str, int] = {}
    for item in cells.items(dimension):
        code, sep, raw = item.partition("=")
        code = code.strip()
        if not sep or not code:
            cells.problem(f"{dimension} “{item}” is not code=impressions.")
            continue
        if code not in known:
            cells.problem(f"{dimension} code {code} is not a {dimension} targeting value.")
        elif code in breakdown:
            cells.problem(f"{dimension} code {code} appears twice.")
        count = _count(cells, f"{dimension} {code}", raw)
        if count is not None and code in known:
            breakdown[code] = count
    return None if len(cells.problems) > before else breakdown


def _upsert_traffic(records: Iterable[dict[str, Any]]) -> dict[str, int]:
    records = list(records)
    if not records:
        return {"rows": 0, "created": 0, "updated": 0}
    unit_ids = {r["ad_unit_id"] for r in records}
    first, last = min(r["day"] for r in records), max(r["day"] for r in records)
    existing = {
        (unit_id, day): row_id
        for row_id, unit_id, day in db.session.execute(
            sa.select(TrafficDay.id, TrafficDay.ad_unit_id, TrafficDay.day).where(
                TrafficDay.ad_unit_id.in_(unit_ids), TrafficDay.day >= first, TrafficDay.day <= last
            )
        )
    }
    updates = [
        {"id": existing[(r["ad_unit_id"], r["day"])], **r} for r in records if (r["ad_unit_id"], r["day"]) in existing
    ]
    inserts = [r for r in records if (r["ad_unit_id"], r["day"]) not in existing]
    for start in range(0, len(updates), _CHUNK):
        db.session.execute(sa.update(TrafficDay), updates[start : start + _CHUNK])
    _insert(TrafficDay, inserts)
    return {"rows": len(records), "created": len(inserts), "updated": len(updates)}
