"""Supply from the database: each slot's daily forecast and traffic shares, less its site's safety margin.

Supply atoms are (slot, geo value, device value, day): the slot's forecast for the day times its
geo and device shares (integers, parts per million), less the site's safety margin.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import numpy as np
import sqlalchemy as sa

from app.catalog.models import AdUnit
from app.extensions import db
from app.inventory.models import ForecastDay, ForecastRun, TrafficShare
from app.inventory.supply import PPM, Box, SlotSupply


def site_margins(slot_ids, default_pct: int) -> dict[int, int]:
    """Safety margin in percent per slot, from its site."""
    units = {u.id: (u.parent_id, u.safety_margin_pct) for u in db.session.scalars(sa.select(AdUnit))}
    margins = {}
    for slot_id in slot_ids:
        unit_id = slot_id
        while units[unit_id][0] is not None:
            unit_id = units[unit_id][0]
        pct = units[unit_id][1]
        margins[slot_id] = int(pct) if pct is not None else default_pct
    return margins


def load_supply(slot_ids: set[int], origin: date, last: date, *, margin_pct: int) -> dict[int, SlotSupply]:
    """Each slot's daily forecast from `origin` to `last`, raw and after its site's safety margin."""
    slots = sorted(slot_ids)
    days = (last - origin).days + 1
    pos = {s: i for i, s in enumerate(slots)}
    forecast = np.zeros((len(slots), days), dtype=np.int64)
    rows = db.session.execute(
        sa.select(ForecastDay.ad_unit_id, ForecastDay.day, ForecastDay.impressions).where(
            ForecastDay.ad_unit_id.in_(slots), ForecastDay.day >= origin, ForecastDay.day <= last
        )
    ).all()
    for unit_id, day, impressions in rows:
        forecast[pos[unit_id], (day - origin).days] = impressions
    shares: dict[tuple[int, str], dict[str, int]] = defaultdict(dict)
    for unit_id, dim, code, ppm in db.session.execute(
        sa.select(TrafficShare.ad_unit_id, TrafficShare.dimension, TrafficShare.value_code, TrafficShare.ppm).where(
            TrafficShare.ad_unit_id.in_(slots)
        )
    ):
        shares[(unit_id, dim)][code] = ppm
    margins = site_margins(slots, margin_pct)
    return {
        slot: SlotSupply(
            sellable=forecast[i] * (100 - margins[slot]) // 100,
            raw=forecast[i],
            geo_ppm=shares.get((slot, "geo")) or {"all": PPM},
            device_ppm=shares.get((slot, "device")) or {"all": PPM},
        )
        for slot, i in pos.items()
    }


def box_supply(box: Box, supply: dict[int, SlotSupply]) -> tuple[int, int]:
    """(raw, sellable) impressions of a box whose days are the whole of `supply`."""
    raw = sellable = 0
    for slot in box.slot_ids:
        data = supply.get(slot)
        if data is None:
            continue
        geo = sum(p for c, p in data.geo_ppm.items() if not box.geo or c in box.geo)
        device = sum(p for c, p in data.device_ppm.items() if not box.device or c in box.device)
        raw += int(data.raw.sum()) * geo // PPM * device // PPM
        sellable += int(data.sellable.sum()) * geo // PPM * device // PPM
    return raw, sellable


def supply_key(margin_pct: int) -> tuple:
    """What every cluster's supply depends on: the forecast run and the safety margins."""
    run = db.session.execute(sa.select(sa.func.max(ForecastRun.id), sa.func.count(ForecastRun.id))).one()
    margins = db.session.execute(
        sa.select(AdUnit.id, AdUnit.safety_margin_pct).where(AdUnit.safety_margin_pct.is_not(None)).order_by(AdUnit.id)
    ).all()
    return (*run, margin_pct, tuple(map(tuple, margins)))


def forecast_date() -> date | None:
    """The last day of traffic history the current forecast was made from."""
    return db.session.scalar(sa.select(sa.func.max(ForecastRun.history_end)))
