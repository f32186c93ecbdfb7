"""The daily impressions forecast of one ad unit, from its traffic history. Pure numpy: no database.

The model is multiplicative: a deseasonalised level, times the weekday's factor, times growth.

- Weekday factors: each day against the centred weekly mean around it, averaged per weekday over
  the last year, so a trend or a season does not leak into the weekly pattern.
- Time of year: when the history covers a year, the level of a future day is the smoothed level of
  the same weekday 364 days earlier, grown by a year. That is how the Q4 peak, the Christmas drop or
  the summer dip come back without being modelled one by one.
- Otherwise the level is the recent one (an exponentially weighted mean of the last weeks, which
  follows a change of level sooner than a plain mean) carried forward with the trend.
- Trend: with a year and four weeks of history, the growth is the ratio of the last four weeks to
  the same four weeks a year earlier (the season cancels out). With less, a line is fitted to the
  log of the weekly levels by least trimmed squares: it fits the steadiest half of the weeks, so a
  peak or a lull is not taken for growth. Over one year that line is still noisy for a single
  unit, so the caller may pass a pooled trend instead (the median of the site's slots).

A history is a float array of impressions per day, oldest first, ending the day before the
forecast starts; NaN marks a day without data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

#: A year back, in whole weeks: 364 days earlier is the same weekday.
YEAR = 364
DAYS_PER_YEAR = 365.25
#: Days compared with the same days a year earlier to measure growth, when the history allows.
ANCHOR_DAYS = 28
#: The recent level: an exponentially weighted mean of this many days, with this half-life.
LEVEL_DAYS = 56
LEVEL_HALF_LIFE = 10.0
#: Width of the centred mean that smooths last year's levels: wide enough that noise is not copied
#: into next year, narrow enough that a sudden change (the Christmas drop) spreads over two weeks at most.
PROFILE_WIDTH = 15
#: Fewer weekly levels than this and no trend is fitted: the recent level is carried flat.
MIN_TREND_WEEKS = 8
#: Annual growth is kept between -50 % and +100 %: beyond that a fitted trend is an artefact.
GROWTH_LIMITS = (-0.5, 1.0)
#: The seasonal-naive baseline averages the same weekday over this many weeks.
NAIVE_WEEKS = 4

#: What ForecastRun.method records.
METHOD = (
    f"weekday factors x growth x the smoothed level of {YEAR} days earlier ({PROFILE_WIDTH}-day mean) "
    f"when the history covers a year, else the recent level ({LEVEL_HALF_LIFE:g}-day half-life)"
)


def forecast_series(history: np.ndarray, first_day: date, horizon: int, *, trend: float | None = None) -> np.ndarray:
    """Expected impressions for each of the `horizon` days from `first_day` (int64, never negative).

    `trend` is the annual growth (0.09 for 9 %) to assume when the history is too short to compare
    with a year earlier, such as the median of the site's slots: one unit's own trend line over a
    single year is noisy. None: the unit's own.
    """
    if horizon <= 0:
        return np.zeros(0, dtype=np.int64)
    deseasonalised = _Deseasonalised.of(history, first_day)
    if deseasonalised is None:
        return np.zeros(horizon, dtype=np.int64)
    adjusted, factors = deseasonalised.adjusted, deseasonalised.factors
    n = len(adjusted)
    growth = _year_on_year(adjusted)
    if growth is None:
        growth = _trimmed_trend(adjusted) if trend is None else float(np.log1p(trend) / DAYS_PER_YEAR)
    growth = _clip(growth)
    days = np.arange(horizon)
    level = _recent_level(adjusted, growth, days)
    if n >= YEAR:
        profile = _centred_mean(adjusted, PROFILE_WIDTH)[n - YEAR + days % YEAR]
        years = days // YEAR + 1
        level = np.where(np.isnan(profile), level, profile * np.exp(growth * YEAR * years))
    expected = np.nan_to_num(level * factors[_weekdays(first_day, 0, horizon)], nan=0.0, posinf=0.0)
    return np.rint(np.maximum(expected, 0.0)).astype(np.int64)


def annual_growth(history: np.ndarray, first_day: date) -> float | None:
    """The unit's own growth per year (0.09 for 9 %); None when its history is too short to tell."""
    deseasonalised = _Deseasonalised.of(history, first_day)
    if deseasonalised is None:
        return None
    growth = _year_on_year(deseasonalised.adjusted)
    if growth is None:
        weeks = np.sum(~np.isnan(deseasonalised.adjusted[-YEAR:])) // 7
        if weeks < MIN_TREND_WEEKS:
            return None
        growth = _trimmed_trend(deseasonalised.adjusted)
    return float(np.expm1(_clip(growth) * DAYS_PER_YEAR))


def seasonal_naive(history: np.ndarray, horizon: int) -> np.ndarray:
    """The baseline: each day gets the mean of the same weekday over the last NAIVE_WEEKS weeks."""
    x = np.asarray(history, dtype=float)
    x = np.where(np.isfinite(x), x, np.nan)
    if horizon <= 0:
        return np.zeros(0, dtype=np.int64)
    weeks = min(NAIVE_WEEKS, len(x) // 7)
    overall = np.nanmean(x) if np.any(~np.isnan(x)) else 0.0
    if weeks == 0:
        return np.full(horizon, round(overall), dtype=np.int64)
    block = x[len(x) - 7 * weeks :].reshape(weeks, 7)
    counts = np.sum(~np.isnan(block), axis=0)
    week = np.where(counts > 0, np.nansum(block, axis=0) / np.maximum(counts, 1), overall)
    # The block ends the day before the horizon, so horizon day h falls on the weekday of column h % 7.
    return np.rint(week[np.arange(horizon) % 7]).astype(np.int64)


def wmape(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Weighted mean absolute percentage error, as a fraction: total |error| over total actual.

    Unlike the mean of daily percentages, a quiet day's miss weighs no more than its impressions.
    No actual impressions: 0 for a perfect forecast, infinity otherwise.
    """
    a = np.asarray(actual, dtype=float)
    p = np.asarray(predicted, dtype=float)
    error = float(np.abs(a - p).sum())
    total = float(np.abs(a).sum())
    if total == 0:
        return 0.0 if error == 0 else float("inf")
    return error / total


def _weekdays(first_day: date, offset: int, count: int) -> np.ndarray:
    """Weekday (Monday 0) of `count` days starting `offset` days from `first_day`."""
    return (first_day.weekday() + offset + np.arange(count)) % 7


def _centred_mean(x: np.ndarray, width: int) -> np.ndarray:
    """Mean of the days within width // 2 either side, skipping missing days (NaN where none)."""
    valid = ~np.isnan(x)
    sums = _window_sums(np.where(valid, x, 0.0), width)
    counts = _window_sums(valid.astype(float), width)
    return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def _window_sums(x: np.ndarray, width: int) -> np.ndarray:
    """Sum over the centred window of each day, as long as `x` even when `x` is shorter than the window."""
    start = (width - 1) // 2
    return np.convolve(x, np.ones(width), mode="full")[start : start + len(x)]


def _weekday_factors(x: np.ndarray, weekdays: np.ndarray) -> np.ndarray:
    """Seven multipliers with mean 1: each day's ratio to its centred week, averaged per weekday."""
    recent = slice(max(0, len(x) - YEAR), len(x))
    x, weekdays = x[recent], weekdays[recent]
    valid = ~np.isnan(x)
    week_mean = _centred_mean(x, 7)
    full = _window_sums(valid.astype(float), 7) == 7
    usable = full & valid & (week_mean > 0)
    ratio = np.where(usable, x / np.where(usable, week_mean, 1.0), np.nan)
    factors = np.ones(7)
    for day in range(7):
        ratios = ratio[(weekdays == day) & usable]
        if len(ratios):
            factors[day] = ratios.mean()
    if factors.mean() <= 0:
        return np.ones(7)
    factors = factors / factors.mean()
    return np.where(factors > 0, factors, 1.0)


@dataclass(frozen=True)
class _Deseasonalised:
    """A history divided by its weekday factors: what is left is level, trend and time of year."""

    adjusted: np.ndarray
    factors: np.ndarray

    @classmethod
    def of(cls, history: np.ndarray, first_day: date) -> _Deseasonalised | None:
        x = np.asarray(history, dtype=float)
        if len(x) == 0 or not np.any(np.isfinite(x)):
            return None
        x = np.where(np.isfinite(x), np.maximum(x, 0.0), np.nan)
        weekdays = _weekdays(first_day, -len(x), len(x))
        factors = _weekday_factors(x, weekdays)
        return cls(adjusted=x / factors[weekdays], factors=factors)


def _year_on_year(adjusted: np.ndarray) -> float | None:
    """Growth per day (log scale) from the last ANCHOR_DAYS against the same days a year earlier."""
    n = len(adjusted)
    if n < YEAR + ANCHOR_DAYS:
        return None
    now, then = adjusted[n - ANCHOR_DAYS :], adjusted[n - ANCHOR_DAYS - YEAR : n - YEAR]
    both = ~np.isnan(now) & ~np.isnan(then)
    if both.sum() < ANCHOR_DAYS // 2 or then[both].sum() <= 0 or now[both].sum() <= 0:
        return None
    return float(np.log(now[both].sum() / then[both].sum()) / YEAR)


def _clip(growth: float) -> float:
    low, high = (np.log1p(limit) / DAYS_PER_YEAR for limit in GROWTH_LIMITS)
    return float(np.clip(growth, low, high))


def _trimmed_trend(adjusted: np.ndarray) -> float:
    """Slope of the line through log weekly levels that fits the best half of the last year's weeks.

    Least trimmed squares: every pair of weeks at least four weeks apart proposes a line, the one
    whose closest half of the weeks fits best is kept and refitted on that half until it settles.
    """
    recent = adjusted[max(0, len(adjusted) - YEAR) :]
    weeks = len(recent) // 7
    if weeks < MIN_TREND_WEEKS:
        return 0.0
    block = recent[len(recent) - 7 * weeks :].reshape(weeks, 7)
    counts = np.sum(~np.isnan(block), axis=1)
    levels = np.nansum(block, axis=1) / np.maximum(counts, 1)
    keep = (counts >= 4) & (levels > 0)
    if keep.sum() < MIN_TREND_WEEKS:
        return 0.0
    t = (np.arange(weeks, dtype=float) * 7)[keep]
    y = np.log(levels[keep])
    half = int(np.ceil(len(t) / 2))
    i, j = np.triu_indices(len(t), k=1)
    apart = t[j] - t[i] >= 28
    i, j = i[apart], j[apart]
    slopes = (y[j] - y[i]) / (t[j] - t[i])
    intercepts = y[i] - slopes * t[i]
    residuals = y[None, :] - (intercepts[:, None] + slopes[:, None] * t[None, :])
    best = int(np.argmin(np.sort(residuals**2, axis=1)[:, :half].sum(axis=1)))
    chosen = np.sort(np.argsort(residuals[best] ** 2)[:half])
    slope = float(slopes[best])
    for _ in range(20):
        slope, intercept = np.polyfit(t[chosen], y[chosen], 1)
        closest = np.sort(np.argsort((y - intercept - slope * t) ** 2)[:half])
        if np.array_equal(closest, chosen):
            break
        chosen = closest
    return float(slope)


def _recent_level(adjusted: np.ndarray, growth: float, days: np.ndarray) -> np.ndarray:
    """The level of the last weeks, carried from their weighted centre to each future day by the trend."""
    n = len(adjusted)
    age = np.arange(n)[::-1].astype(float)  # 0 for the last day of history
    valid = ~np.isnan(adjusted)
    window = valid & (age < LEVEL_DAYS)
    if not window.any():
        window = valid  # nothing lately: the last weeks there are, further back
    weights = 0.5 ** ((age[window] - age[window].min()) / LEVEL_HALF_LIFE)
    level = float((weights * adjusted[window]).sum() / weights.sum())
    centre = float((weights * (age[window] + 1)).sum() / weights.sum())
    return level * np.exp(growth * (days + centre))
