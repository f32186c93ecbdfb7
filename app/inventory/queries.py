"""Read-side queries for the inventory screens: the sell-through heatmap and reservation lists."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import sqlalchemy as sa

from app.catalog.ad_units import ad_unit_path
from app.catalog.models import AdUnit, AdUnitLevel, Status
from app.extensions import db
from app.inventory.availability import live_reservations_query
from app.inventory.forecast_supply import site_margins
from app.inventory.models import ForecastDay, Reservation, ReservationKind, TrafficShare
from app.inventory.supply import PPM


@dataclass
class Cell:
    capacity: int
    booked: int
    held: int

    @property
    def sell_through(self) -> float:
        return (self.booked + self.held) / self.capacity if self.capacity else 0.0


@dataclass
class HeatmapRow:
    unit: AdUnit
    path: str
    cells: list[Cell]


def week_starts(today: date, weeks: int) -> list[date]:
    monday = today - timedelta(days=today.weekday())
    return [monday + timedelta(weeks=i) for i in range(weeks)]


def sell_through(*, today: date, now: datetime, weeks: int, margin_pct: int) -> tuple[list[date], list[HeatmapRow]]:
    """Booked and held against the sellable forecast, per active slot and week.

    A reservation's quantity is spread over its slots and days in proportion to their forecast
    within its targeting: a picture of where it will most likely deliver, for the eye. Exact
    availability is the engine's job, not this view's.
    """
    starts = week_starts(today, weeks)
    first, last = starts[0], starts[-1] + timedelta(days=6)
    days = (last - first).days + 1
    slots = list(
        db.session.scalars(
            sa.select(AdUnit).where(AdUnit.level == AdUnitLevel.SLOT.value, AdUnit.status == Status.ACTIVE.value)
        )
    )
    slots.sort(key=ad_unit_path)
    pos = {s.id: i for i, s in enumerate(slots)}
    forecast = np.zeros((len(slots), days), dtype=np.int64)
    for unit_id, day, impressions in db.session.execute(
        sa.select(ForecastDay.ad_unit_id, ForecastDay.day, ForecastDay.impressions).where(
            ForecastDay.day >= first, ForecastDay.day <= last
        )
    ):
        if unit_id in pos:
            forecast[pos[unit_id], (day - first).days] = impressions
    shares: dict[tuple[int, str], dict[str, int]] = defaultdict(dict)
    for unit_id, dim, code, ppm in db.session.execute(
        sa.select(TrafficShare.ad_unit_id, TrafficShare.dimension, TrafficShare.value_code, TrafficShare.ppm)
    ):
        shares[(unit_id, dim)][code] = ppm
    margins = site_margins([s.id for s in slots], margin_pct)
    keep = np.array([100 - margins[s.id] for s in slots], dtype=np.int64)
    capacity = forecast * keep[:, None] // 100
    booked = np.zeros((len(slots), days))
    held = np.zeros((len(slots), days))
    # Sponsorships take their share first; then bookings before holds, earliest first, each spread
    # over what is still free in its targeting, so no cell shows more than it can carry.
    live = sorted(
        db.session.scalars(live_reservations_query(now, from_day=first)),
        key=lambda r: (r.share is None, r.kind != ReservationKind.BOOKING, r.start_day, r.id),
    )
    for r in live:
        rows = [pos[s] for s in r.ad_unit_ids if s in pos]
        lo, hi = max((r.start_day - first).days, 0), min((r.end_day - first).days, days - 1)
        if not rows or hi < lo:
            continue
        fraction = np.array(
            [
                _fraction(shares[(slots[i].id, "geo")], r.geo) * _fraction(shares[(slots[i].id, "device")], r.device)
                for i in rows
            ]
        )
        free = np.maximum(capacity[rows, lo : hi + 1] - booked[rows, lo : hi + 1] - held[rows, lo : hi + 1], 0)
        box = free * fraction[:, None]
        total_days = (r.end_day - r.start_day).days + 1
        if r.share is not None:
            amount = capacity[rows, lo : hi + 1] * fraction[:, None] * float(r.share)
            amount = np.minimum(amount, box)
        else:
            wanted = r.quantity * (hi - lo + 1) / total_days
            amount = box * min(1.0, wanted / box.sum()) if box.sum() else box
        target = booked if r.kind == ReservationKind.BOOKING else held
        target[rows, lo : hi + 1] += amount
    result = []
    for i, slot in enumerate(slots):
        cells = []
        for w in range(weeks):
            window = slice(w * 7, w * 7 + 7)
            cells.append(Cell(int(capacity[i, window].sum()), int(booked[i, window].sum()), int(held[i, window].sum())))
        result.append(HeatmapRow(slot, ad_unit_path(slot), cells))
    return starts, result


def _fraction(ppm_by_code: dict[str, int], codes: list[str]) -> float:
    if not codes or not ppm_by_code:
        return 1.0
    return sum(ppm_by_code.get(c, 0) for c in codes) / PPM


def reservations_on(unit_id: int, week_start: date, *, now: datetime) -> list[Reservation]:
    week_end = week_start + timedelta(days=6)
    found = db.session.scalars(
        live_reservations_query(now, from_day=week_start).where(
            Reservation.start_day <= week_end, Reservation.end_day >= week_start
        )
    )
    return [r for r in found if unit_id in r.ad_unit_ids]


def reservations_by(
    user_id: int | None, *, now: datetime, today: date, booking_ids: sa.Select | None = None
) -> list[Reservation]:
    """Live holds and bookings, by kind and first day: with `user_id`, the ones that user made and
    the bookings among `booking_ids` (a rep's orders' bookings, which no person made)."""
    query = live_reservations_query(now, from_day=today).order_by(Reservation.kind, Reservation.start_day)
    if user_id is not None:
        theirs = Reservation.created_by_id == user_id
        if booking_ids is not None:
            booked = sa.and_(Reservation.kind == ReservationKind.BOOKING.value, Reservation.id.in_(booking_ids))
            theirs = sa.or_(theirs, booked)
        query = query.where(theirs)
    return list(db.session.scalars(query))
