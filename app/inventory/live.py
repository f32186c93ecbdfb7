"""The live holds and bookings, as availability reads them: kept per process, reloaded by difference."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.extensions import db
from app.inventory.models import InventoryChange, InventoryLock, Reservation, ReservationKind


@dataclass(frozen=True)
class Held:
    """A reservation as availability needs it, detached from the session."""

    id: int
    kind: str
    label: str
    ad_unit_ids: tuple[int, ...]
    geo: tuple[str, ...]
    device: tuple[str, ...]
    start_day: date
    end_day: date
    quantity: int | None
    share: Decimal | None
    expires_at: datetime | None


#: `session.info` key set once a reservation was written and not committed yet: what the
#: session reads of the live set then is its own, never kept for other sessions.
UNCOMMITTED = "inventory_reservations_uncommitted"


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    if not session.in_nested_transaction():
        session.info.pop(UNCOMMITTED, None)


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(session: Session, previous_transaction) -> None:
    if not previous_transaction.nested:
        session.info.pop(UNCOMMITTED, None)


class Live(tuple):
    """The live holds and bookings at one moment, with their ids: availability compares the ids
    of every request with those of its solved clusters, and 50,000 of them are worth keeping.
    A tuple: every request of the process shares it, and none may change it."""

    def __new__(cls, held) -> Live:
        live = super().__new__(cls, held)
        live.ids = frozenset(r.id for r in live)
        return live

    @functools.cached_property
    def by_id(self) -> dict[int, Held]:
        """Each reservation by id, as it is now (a solved cluster keeps them as they were solved)."""
        return {r.id: r for r in self}


@dataclass
class _Kept:
    """The unreleased reservations of one database as of `version`, and the last live list cut from them."""

    version: tuple
    held: dict[int, Held]
    #: each site's inventory version, read before `held`: the changes since are read by site
    sites: dict[int, int]
    #: (live list, since, until): the list cut at `since`, which stays the live list until the
    #: next hold expires at `until`; one tuple, so that threads swap it whole
    cut: tuple | None = None

    def live_at(self, now: datetime) -> Live:
        cut = self.cut
        if cut is None or not (cut[1] <= now and (cut[2] is None or now < cut[2])):
            live = Live(
                r
                for r in self.held.values()
                if r.kind == ReservationKind.BOOKING or (r.expires_at and r.expires_at > now)
            )
            until = min((r.expires_at for r in live if r.kind != ReservationKind.BOOKING), default=None)
            cut = self.cut = (live, now, until)
        return cut[0]


#: database URL -> each site's inventory version and today, and the reservations not released and not over
_unreleased: dict[str, _Kept] = {}
_COLUMNS = (
    Reservation.id,
    Reservation.kind,
    Reservation.label,
    Reservation.ad_unit_ids,
    Reservation.geo,
    Reservation.device,
    Reservation.start_day,
    Reservation.end_day,
    Reservation.quantity,
    Reservation.share,
    Reservation.expires_at,
)


def live_held(now: datetime, today: date, locks: tuple[int, int] | None = None) -> Live:
    """Live holds and bookings. Every committed change to them bumps their sites' inventory
    versions, so the list is kept per process until the versions move (an expired hold needs no
    change: it is filtered by `now`); then only the reservations changed since are read again
    (`InventoryChange`), or on a new day every id and expiry, with whole rows only for
    reservations this process has not seen. Workers never share it; each checks the database
    first (or passes the versions (sum, count) it has just read as `locks`: a site's version only
    grows, so any commit moves the sum), so none answers from a list older than the last commit
    it can see."""
    if locks is None:
        locks = db.session.execute(
            sa.select(sa.func.coalesce(sa.func.sum(InventoryLock.version), 0), sa.func.count(InventoryLock.site_id))
        ).one()
    version = (tuple(locks), today)
    key = str(db.session.get_bind().url)
    cached = _unreleased.get(key)
    if cached is None or cached.version != version:
        # Read before the reservations: a change committed in between is read again next time, never missed.
        sites = dict(db.session.execute(sa.select(InventoryLock.site_id, InventoryLock.version)).all())
        same_day = cached is not None and cached.version[1] == today
        held = _caught_up(cached, sites, today) if same_day else None
        if held is None:
            held = _read_all(cached.held if same_day else {}, today)
        cached = _Kept(version, held, sites)
        if not db.session.info.get(UNCOMMITTED):
            _unreleased[key] = cached
    return cached.live_at(now)


#: More reservations changed than this since the list was read: it is read whole again.
CATCH_UP_LIMIT = 5_000


def _caught_up(cached: _Kept, sites: dict[int, int], today: date) -> dict[int, Held] | None:
    """The kept reservations with those changed since brought up to date, or None when they must
    be read whole: too many changes, or a version went back (the kept list was read inside a
    transaction that was rolled back since)."""
    since = cached.sites
    if any(sites.get(site, 0) < version for site, version in since.items()):
        return None
    moved = [(site, since.get(site, 0)) for site, version in sites.items() if version != since.get(site, 0)]
    if not moved:
        return cached.held
    changed = db.session.scalars(
        sa.select(InventoryChange.reservation_id)
        .where(sa.or_(*(sa.and_(InventoryChange.site_id == s, InventoryChange.version > v) for s, v in moved)))
        .distinct()
    ).all()
    if len(changed) > CATCH_UP_LIMIT:
        return None
    held = dict(cached.held)
    for i in changed:  # released or over since, unless read again below
        held.pop(i, None)
    unreleased = (Reservation.id.in_(changed), Reservation.released_at.is_(None), Reservation.end_day >= today)
    held.update((r.id, r) for r in _read_held(sa.and_(*unreleased)))
    return held


def _held(r) -> Held:
    return Held(r[0], r[1], r[2], tuple(r[3]), tuple(r[4] or ()), tuple(r[5] or ()), *r[6:11])


_LISTS = (Reservation.ad_unit_ids, Reservation.geo, Reservation.device)


def _read_held(where) -> list[Held]:
    """The reservations `where` says, as `Held`. Their JSON lists are read as text and decoded in
    one call, not one per value: at 50,000 reservations that was a third of a cold start."""
    columns = [sa.cast(c, sa.Text) if any(c is listed for listed in _LISTS) else c for c in _COLUMNS]
    rows = db.session.execute(sa.select(*columns).where(where)).all()
    lists = json.loads("[" + ",".join(v or "null" for r in rows for v in r[3:6]) + "]")
    return [_held((*r[:3], lists[3 * k], lists[3 * k + 1], lists[3 * k + 2], *r[6:11])) for k, r in enumerate(rows)]


def _read_all(known: dict[int, Held], today: date) -> dict[int, Held]:
    """Every unreleased reservation not over by `today`: ids and expiries, whole rows only for those not `known`."""
    unreleased = (Reservation.released_at.is_(None), Reservation.end_day >= today)
    current = db.session.scalars(sa.select(Reservation.id).where(*unreleased)).all()
    expiry = dict(
        db.session.execute(
            sa.select(Reservation.id, Reservation.expires_at).where(
                *unreleased, Reservation.kind == ReservationKind.HOLD.value
            )
        ).all()
    )
    missing = [i for i in current if i not in known]
    loaded = {}
    for at in range(0, len(missing), 5_000):
        loaded.update((r.id, r) for r in _read_held(Reservation.id.in_(missing[at : at + 5_000])))
    held = {}
    for i in current:
        r = known.get(i) or loaded[i]
        held[i] = r if r.expires_at == expiry.get(i, r.expires_at) else replace(r, expires_at=expiry[i])
    return held
