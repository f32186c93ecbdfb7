"""Supply from the database: each slot's daily forecast and traffic shares, less its site's safety margin.

Supply atoms are (slot, geo value, device value, day): the slot's forecast for the day times its
geo and device shares (integers, parts per million), less the site's safety margin.

A slot's supply is kept per process (`_slots`, a bounded LRU), keyed by what it depends on: the
forecast run, every safety margin and the ad unit tree, read in one statement (`read_versions`) by
every answer. A new forecast run or a changed margin changes that key, so the next answer in every
process reads the database again; nothing is ever served from an older key. Within one answer
(`reading`), the versions are read once and every supply lookup, suggestions included, uses them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date

import numpy as np
import sqlalchemy as sa

from app.catalog.models import AdUnit
from app.extensions import db
from app.inventory.models import ForecastDay, ForecastRun, InventoryLock, TrafficShare
from app.inventory.supply import PPM, Box, SlotSupply

#: Slots whose supply a process keeps (a year of one slot is about 12 KB).
MAX_CACHED_SLOTS = 4096


@dataclass(frozen=True)
class Versions:
    """What the per-process caches of availability are keyed by, as one statement reads them."""

    #: (sum, count) of the inventory locks' versions: every hold, booking or release moves it
    locks: tuple[int, int]
    #: (newest id, count) of the forecast runs
    run: tuple[int | None, int]
    #: the last day of traffic history of the newest forecast, and the last day any forecast reaches
    history_end: date | None
    last_day: date | None
    #: "unit id:percent" of every unit with a safety margin of its own, sorted
    margins: tuple[str, ...]
    #: a fingerprint of the ad unit tree (which unit is under which): a move changes a slot's site
    tree: int


def _versions_statement() -> sa.Select:
    margin = sa.cast(AdUnit.id, sa.String) + ":" + sa.cast(AdUnit.safety_margin_pct, sa.String)
    parts = [
        sa.select(sa.func.coalesce(sa.func.sum(InventoryLock.version), 0)),
        sa.select(sa.func.count(InventoryLock.site_id)),
        sa.select(sa.func.max(ForecastRun.id)),
        sa.select(sa.func.count(ForecastRun.id)),
        sa.select(sa.func.max(ForecastRun.history_end)),
        sa.select(sa.func.max(ForecastRun.last_day)),
        sa.select(sa.func.aggregate_strings(margin, ",")).where(AdUnit.safety_margin_pct.is_not(None)),
        sa.select(
            sa.func.coalesce(sa.func.sum(sa.cast(AdUnit.id, sa.BigInteger) * sa.func.coalesce(AdUnit.parent_id, 0)), 0)
        ),
    ]
    return sa.select(*(part.scalar_subquery() for part in parts))


_VERSIONS = _versions_statement()


def read_versions() -> Versions:
    """The versions, in one statement."""
    row = db.session.execute(_VERSIONS).one()
    locks_sum, locks_count, run_id, run_count, history_end, last_day, margins, tree = row
    return Versions(
        locks=(int(locks_sum), int(locks_count)),
        run=(run_id, int(run_count)),
        history_end=history_end,
        last_day=last_day,
        margins=tuple(sorted(margins.split(","))) if margins else (),
        tree=int(tree),
    )


@dataclass(frozen=True)
class _Kept:
    """One slot's supply from `first` to `last` (forecast days outside were not read)."""

    first: date
    last: date
    supply: SlotSupply


_slots: OrderedDict[tuple, _Kept] = OrderedDict()
_slots_lock = threading.Lock()


@dataclass(frozen=True)
class Reading:
    """The forecast as one answer reads it: the versions read once, slot supply from the process's cache."""

    versions: Versions
    margin_pct: int
    store: str

    @property
    def key(self) -> tuple:
        """What every cluster's supply depends on: the forecast run and the safety margins."""
        v = self.versions
        return (*v.run, self.margin_pct, v.margins, v.tree)

    def load(self, slot_ids, origin: date, last: date) -> dict[int, SlotSupply]:
        """Each slot's daily forecast from `origin` to `last`, raw and after its site's safety margin."""
        kept: dict[int, _Kept] = {}
        base = (self.store, self.key)
        first = origin
        with _slots_lock:
            for slot in slot_ids:
                found = _slots.get((*base, slot))
                if found is not None and found.first <= origin and last <= found.last:
                    _slots.move_to_end((*base, slot))
                    kept[slot] = found
                elif found is not None:
                    first = min(first, found.first)
        missing = sorted(set(slot_ids) - set(kept))
        if missing:
            # Read the whole forecast ahead at once, so that other flights on these slots hit.
            to = max(d for d in (last, self.versions.last_day) if d is not None)
            loaded = _load(missing, first, to, margin_pct=self.margin_pct)
            with _slots_lock:
                for slot, supply in loaded.items():
                    kept[slot] = _slots[(*base, slot)] = _Kept(first, to, supply)
                    _slots.move_to_end((*base, slot))
                while len(_slots) > MAX_CACHED_SLOTS:
                    _slots.popitem(last=False)
        return {slot: _cut(k, origin, last) for slot, k in kept.items()}


def _cut(kept: _Kept, origin: date, last: date) -> SlotSupply:
    lo, hi = (origin - kept.first).days, (last - kept.first).days + 1
    s = kept.supply
    return SlotSupply(sellable=s.sellable[lo:hi], raw=s.raw[lo:hi], geo_ppm=s.geo_ppm, device_ppm=s.device_ppm)


_current: ContextVar[Reading | None] = ContextVar("forecast_reading", default=None)


def current_reading(margin_pct: int) -> Reading:
    """The reading of the answer under way (see `reading`), or a new one: one statement."""
    found = _current.get()
    if found is not None and found.margin_pct == margin_pct and found.store == _store():
        return found
    return Reading(read_versions(), margin_pct, _store())


@contextmanager
def reading(margin_pct: int) -> Iterator[Reading]:
    """Within it, every supply lookup of this margin uses the versions read on entering (once)."""
    found = current_reading(margin_pct)
    token = _current.set(found)
    try:
        yield found
    finally:
        _current.reset(token)


def _store() -> str:
    return str(db.session.get_bind().url)


def load_supply(slot_ids: set[int], origin: date, last: date, *, margin_pct: int) -> dict[int, SlotSupply]:
    """Each slot's daily forecast from `origin` to `last`, raw and after its site's safety margin."""
    return current_reading(margin_pct).load(slot_ids, origin, last)


def supply_key(margin_pct: int) -> tuple:
    """What every cluster's supply depends on: the forecast run and the safety margins."""
    return current_reading(margin_pct).key


def _load(slots: list[int], origin: date, last: date, *, margin_pct: int) -> dict[int, SlotSupply]:
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
    out = {}
    for slot, i in pos.items():
        sellable, raw = forecast[i] * (100 - margins[slot]) // 100, forecast[i]
        sellable.flags.writeable = raw.flags.writeable = False  # shared by every answer of the process
        out[slot] = SlotSupply(
            sellable=sellable,
            raw=raw,
            geo_ppm=shares.get((slot, "geo")) or {"all": PPM},
            device_ppm=shares.get((slot, "device")) or {"all": PPM},
        )
    return out


def _ancestry() -> sa.CTE:
    chain = (
        sa.select(AdUnit.id.label("slot"), AdUnit.id.label("unit"), AdUnit.parent_id.label("parent"))
        .where(AdUnit.id.in_(sa.bindparam("slots", expanding=True)))
        .cte("ancestry", recursive=True)
    )
    up = sa.orm.aliased(AdUnit)
    return chain.union_all(sa.select(chain.c.slot, up.id, up.parent_id).join(up, up.id == chain.c.parent))


#: (slot, unit, parent): each of the slots given as the `slots` parameter and every unit above it, up
#: to its site. Built once: statements on it are run with {"slots": [...]}.
ANCESTRY = _ancestry()
#: Every unit on the paths of the `slots`.
UNITS_ABOVE = sa.select(AdUnit).where(AdUnit.id.in_(sa.select(ANCESTRY.c.unit)))
_SITE_MARGINS = (
    sa.select(ANCESTRY.c.slot, AdUnit.safety_margin_pct)
    .join(AdUnit, AdUnit.id == ANCESTRY.c.unit)
    .where(ANCESTRY.c.parent.is_(None))
)


def site_margins(slot_ids, default_pct: int) -> dict[int, int]:
    """Safety margin in percent per slot, from its site (only those slots' units are read)."""
    rows = db.session.execute(_SITE_MARGINS, {"slots": sorted(slot_ids)})
    return {slot: int(pct) if pct is not None else default_pct for slot, pct in rows}


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
