"""Availability for prospective lines, and the holds and bookings that reserve inventory.

Supply atoms are (slot, geo value, device value, day): the slot's forecast for the day times its
geo and device shares (integers, parts per million), less the site's safety margin. A request or
a reservation covers a box of atoms. Only reservations connected to the request through shared
atoms are loaded into the engine; everything else cannot change its answer.

Creating a hold or booking locks the inventory rows of the sites involved (an UPDATE, so
PostgreSQL row-locks them and SQLite takes its write lock) before availability is re-checked,
so two reps cannot sell the same last impressions.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import numpy as np
import sqlalchemy as sa

from app.audit.service import record
from app.auth.models import User
from app.catalog.models import AdUnit, AdUnitLevel, Status
from app.catalog.service import ad_unit_path
from app.errors import Conflict, DomainError, Errors
from app.extensions import db
from app.inventory import booked
from app.inventory.incremental import augment
from app.inventory.models import ForecastDay, InventoryLock, Reservation, ReservationKind, TrafficShare
from app.inventory.solver import Line
from app.inventory.supply import PPM, Box, SlotSupply
from app.validation import clean_line, day_problem, line_problem, quantity_problem

#: Dimensions that split supply into atoms, with their value codes (from the traffic shares).
SUPPLY_DIMENSIONS = ("geo", "device")
MAX_FLIGHT_DAYS = 366
#: How far ahead a flight may end.
MAX_LEAD_DAYS = 730


@dataclass
class Contender:
    reservation_id: int
    kind: str
    label: str
    needs: int
    takes: int
    sponsorship: bool
    expires_at: datetime | None


@dataclass
class Suggestion:
    description: str
    available: int
    #: What it adds over the request as asked.
    adds: int


@dataclass
class Availability:
    box: Box
    matched: int
    margin: int
    available: int
    shortfall: int
    contenders: list[Contender]
    binding: str
    forecast_date: date | None
    requested: int | None = None
    suggestions: list[Suggestion] = field(default_factory=list)

    @property
    def fits(self) -> bool:
        return self.requested is None or self.requested <= self.available

    def as_json(self) -> dict:
        return {
            "matched": self.matched,
            "safety_margin": self.margin,
            "available": self.available,
            "requested": self.requested,
            "fits": self.fits,
            "shortfall": self.shortfall,
            "binding_constraint": self.binding,
            "forecast_date": self.forecast_date.isoformat() if self.forecast_date else None,
            "contending": [
                {
                    "id": c.reservation_id,
                    "kind": c.kind,
                    "label": c.label,
                    "needs": c.needs,
                    "takes_from_request": c.takes,
                    "sponsorship": c.sponsorship,
                }
                for c in self.contenders
            ],
            "suggestions": [
                {"description": s.description, "available": s.available, "adds": s.adds} for s in self.suggestions
            ],
        }


# -- Supply --------------------------------------------------------------------------------------


def _margins(slot_ids, default_pct: int) -> dict[int, int]:
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


def _load_supply(slot_ids: set[int], origin: date, last: date, *, margin_pct: int) -> dict[int, SlotSupply]:
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
    margins = _margins(slots, margin_pct)
    return {
        slot: SlotSupply(
            sellable=forecast[i] * (100 - margins[slot]) // 100,
            raw=forecast[i],
            geo_ppm=shares.get((slot, "geo")) or {"all": PPM},
            device_ppm=shares.get((slot, "device")) or {"all": PPM},
        )
        for slot, i in pos.items()
    }


def _box_supply(box: Box, supply: dict[int, SlotSupply]) -> tuple[int, int]:
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


def _supply_key(margin_pct: int) -> tuple:
    """What every cluster's supply depends on: the forecast run and the safety margins."""
    from app.inventory.models import ForecastRun

    run = db.session.execute(sa.select(sa.func.max(ForecastRun.id), sa.func.count(ForecastRun.id))).one()
    margins = db.session.execute(
        sa.select(AdUnit.id, AdUnit.safety_margin_pct).where(AdUnit.safety_margin_pct.is_not(None)).order_by(AdUnit.id)
    ).all()
    return (*run, margin_pct, tuple(map(tuple, margins)))


def _clusters(
    box: Box, live: list, *, today: date, margin_pct: int, cached: bool, extra: list = ()
) -> list[booked.Cluster]:
    """The solved clusters of the slots `box` covers (with `extra` reservations, never cached)."""
    store = str(db.session.get_bind().url) if cached and not extra else None
    return booked.clusters_for(
        box.slot_ids,
        [*live, *extra],
        today=today,
        supply_key=_supply_key(margin_pct),
        store=store,
        load_supply=lambda slots, origin, last: _load_supply(slots, origin, last, margin_pct=margin_pct),
        line_of=lambda r, cells: _line(r, cells, today),
    )


def forecast_date() -> date | None:
    from app.inventory.models import ForecastRun

    return db.session.scalar(sa.select(sa.func.max(ForecastRun.history_end)))


# -- Reservations as boxes ----------------------------------------------------------------------


def live_reservations_query(now: datetime, *, from_day: date) -> sa.Select:
    return sa.select(Reservation).where(
        Reservation.released_at.is_(None),
        Reservation.end_day >= from_day,
        sa.or_(Reservation.kind == ReservationKind.BOOKING.value, Reservation.expires_at > now),
    )


def _box_of(reservation: Reservation, today: date | None = None) -> Box:
    """The reservation's box, from `today` on when given (days before it are gone)."""
    start = max(reservation.start_day, today) if today else reservation.start_day
    return Box(
        tuple(reservation.ad_unit_ids), start, reservation.end_day, tuple(reservation.geo), tuple(reservation.device)
    )


# -- Availability --------------------------------------------------------------------------------


def check_box(box: Box, *, today: date) -> None:
    errors = Errors()
    if not box.slot_ids:
        errors.add("product_id", "Choose a product or ad units: the line covers no active slot.")
    unbounded = {
        name: problem
        for name, day, label in (("start", box.start, "flight's first day"), ("end", box.end, "flight's last day"))
        if (problem := day_problem(day, label=label))
    }
    for name, problem in unbounded.items():
        errors.add(name, problem)
    if unbounded:
        errors.raise_if_any()
    if box.end < box.start:
        errors.add("end", f"The flight ends ({box.end}) before it starts ({box.start}).")
    elif box.end < today:
        errors.add("end", "The flight is over: inventory can only be reserved from today on.")
    elif box.days > MAX_FLIGHT_DAYS:
        errors.add("end", f"A flight lasts at most {MAX_FLIGHT_DAYS} days.")
    elif box.end > today + timedelta(days=MAX_LEAD_DAYS):
        errors.add("end", "Inventory can be checked up to two years ahead: the forecast does not reach further.")
    errors.raise_if_any()


def availability_for(
    box: Box,
    *,
    now: datetime,
    today: date,
    margin_pct: int,
    requested: int | None = None,
    exclude: set[int] = frozenset(),
    with_suggestions: bool = False,
) -> Availability:
    """Exact availability of `box` next to every live hold and booking (but those in `exclude`)."""
    check_box(box, today=today)
    # Days before today are gone: availability is counted from today.
    box = replace(box, start=max(box.start, today))
    live = [r for r in _live(now, today) if r.id not in exclude]
    clusters = _clusters(box, live, today=today, margin_pct=margin_pct, cached=not exclude)
    solved = _solve_request(box, clusters, margin_pct=margin_pct, today=today)
    result = Availability(
        box=box,
        matched=solved.matched,
        margin=solved.matched - solved.sellable,
        available=solved.available,
        shortfall=sum(c.network.shortfall for c in clusters),
        contenders=solved.contenders,
        binding=_binding(solved, requested),
        forecast_date=forecast_date(),
        requested=requested,
    )
    if with_suggestions and requested is not None and not result.fits:
        result.suggestions = suggestions(box, result, now=now, today=today, margin_pct=margin_pct, exclude=exclude)
    return result


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


#: database URL -> (inventory version, reservations not released and not over)
_unreleased: dict[str, tuple[tuple, list[Held]]] = {}


def _live(now: datetime, today: date) -> list[Held]:
    """Live holds and bookings. Every change to them bumps the inventory locks' versions, so the
    parsed list is kept per process until the versions move (an expired hold needs no change: it
    is filtered by `now`). Workers never share it; each checks the database first."""
    locks = db.session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(InventoryLock.version), 0), sa.func.count(InventoryLock.site_id))
    ).one()
    version = (*locks, today)
    key = str(db.session.get_bind().url)
    cached = _unreleased.get(key)
    if cached is None or cached[0] != version:
        rows = db.session.execute(
            sa.select(
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
            ).where(Reservation.released_at.is_(None), Reservation.end_day >= today)
        ).all()
        held = [Held(r[0], r[1], r[2], tuple(r[3]), tuple(r[4] or ()), tuple(r[5] or ()), *r[6:]) for r in rows]
        cached = (version, held)
        _unreleased[key] = cached
    return [r for r in cached[1] if r.kind == ReservationKind.BOOKING or (r.expires_at and r.expires_at > now)]


def _line(reservation: Reservation, cells: np.ndarray, today: date) -> Line:
    if reservation.share is not None:
        return Line(str(reservation.id), cells, share=Fraction(reservation.share))
    # Days before today are gone; the part of the quantity still to deliver is pro rata.
    total_days = (reservation.end_day - reservation.start_day).days + 1
    remaining_days = (reservation.end_day - max(reservation.start_day, today)).days + 1
    quantity = reservation.quantity * min(remaining_days, total_days) // total_days
    return Line(str(reservation.id), cells, quantity=quantity)


@dataclass
class _Place:
    """Part of the request's supply that lines use up: a slot, days, regions and who takes it."""

    slot: int
    first_day: int
    last_day: int
    geo: tuple[str, ...]
    taken_by: dict[str, int]


@dataclass
class _Solved:
    matched: int
    sellable: int
    available: int
    contenders: list[Contender]
    #: parts of the request's supply that lines use up
    places: list[_Place]
    #: sponsorships taking some of the request's supply
    sponsors: set[str]
    kinds: dict[str, str]


def _solve_request(box: Box, clusters: list[booked.Cluster], *, margin_pct: int, today: date) -> _Solved:
    """The request against the solved clusters: its free supply, plus what it can add to their flows."""
    matched, sellable = _box_supply(box, _load_supply(set(box.slot_ids), box.start, box.end, margin_pct=margin_pct))
    parts = [booked.parts_of(c, box) for c in clusters]
    network = np.concatenate([np.full(len(p.cells), k, dtype=np.int64) for k, p in enumerate(parts)] or [[]])
    added = augment(
        [c.network for c in clusters],
        network,
        np.concatenate([p.cells for p in parts] or [[]]),
        np.concatenate([p.capacity for p in parts] or [[]]),
    )
    # Supply of the request that no reservation touches is its own.
    free = max(0, sellable - sum(int(p.supply.sum()) for p in parts))

    held = {str(r.id): r for c in clusters for r in c.members}
    takes: dict[str, int] = defaultdict(int)
    places: list[_Place] = []
    starts = np.cumsum([0] + [len(p.cells) for p in parts])
    for k, taken_by in added.to_lines.items():
        for line_id, amount in taken_by.items():
            takes[line_id] += amount
        n = int(network[k])
        part, j = parts[n], k - starts[n]
        if int(added.to_query[k]) + sum(taken_by.values()) >= part.capacity[j]:
            cell = int(part.cells[j])
            slot = int(clusters[n].cells.slot[cell])
            geo = booked.part_geo(clusters[n], cell, box)
            places.append(_Place(slot, int(part.first_day[j]), int(part.last_day[j]), geo, taken_by))
    needs = {line.id: line.quantity for c in clusters for line in c.network.lines if not line.is_sponsorship}
    contenders = [
        _contender(held[line_id], needs[line_id], takes.get(line_id, 0), sponsorship=False)
        for line_id in added.touching
    ]
    sponsor_takes: dict[str, int] = defaultdict(int)
    for c, p in zip(clusters, parts, strict=True):
        for line_id, amount in booked.sponsor_takes(c, p).items():
            sponsor_takes[line_id] += amount
    for line_id, amount in sponsor_takes.items():
        contenders.append(
            _contender(held[line_id], _sponsor_needs(held[line_id], today, margin_pct), amount, sponsorship=True)
        )
    return _Solved(
        matched=matched,
        sellable=sellable,
        available=free + added.available,
        contenders=sorted(contenders, key=lambda c: (-c.takes, c.reservation_id)),
        places=places,
        sponsors={line_id for line_id, amount in sponsor_takes.items() if amount},
        kinds={line_id: ("sponsorship" if r.share is not None else r.kind) for line_id, r in held.items()},
    )


def _contender(r, needs: int, takes: int, *, sponsorship: bool) -> Contender:
    return Contender(r.id, r.kind, r.label, needs, takes, sponsorship, r.expires_at)


def _sponsor_needs(r, today: date, margin_pct: int) -> int:
    """What a sponsorship's share takes over what is left of its flight."""
    box = _box_of(r, today)
    _, sellable = _box_supply(box, _load_supply(set(box.slot_ids), box.start, box.end, margin_pct=margin_pct))
    return int(sellable * Fraction(r.share))


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _binding(solved: _Solved, requested: int | None) -> str:
    """The binding constraint in words: where and by whom the request's supply is used up."""
    if not solved.places and not solved.sponsors:
        if requested is not None and requested > solved.available:
            return (
                f"Limited by the forecast: {solved.available:,} impressions are expected for this targeting "
                "after the safety margin, and nothing else competes for them."
            )
        return "Nothing else competes for this inventory: only the forecast and the safety margin limit it."
    # Where: the week, place and regions where others take the most of the request's supply.
    taken_by_week: dict[int, float] = defaultdict(float)
    users: dict[int, set[str]] = defaultdict(set)
    places_by_week: dict[int, list[_Place]] = defaultdict(list)
    for place in solved.places:
        taken = sum(place.taken_by.values())
        first, last = place.first_day, place.last_day
        for monday in range(first - (first - 1) % 7, last + 1, 7):  # ordinal 1 (1 Jan 1 AD) was a Monday
            lo, hi = max(first, monday), min(last, monday + 6)
            taken_by_week[monday] += taken * (hi - lo + 1) / (last - first + 1)
            users[monday].update(place.taken_by)
            places_by_week[monday].append(place)
    ids = set(solved.sponsors)
    where: list[_Place] = []
    when = ""
    if taken_by_week:
        week = max(taken_by_week, key=lambda w: (taken_by_week[w], -w))
        ids |= users[week]
        where = places_by_week[week]
        when = f" in week {date.fromordinal(week).isocalendar()[1]}"
    counts: dict[str, int] = defaultdict(int)
    for line_id in ids:
        counts[solved.kinds.get(line_id, "booking")] += 1
    who = ", ".join(_plural(counts[k], k) for k in ("sponsorship", "booking", "hold") if counts[k]) or "other lines"
    in_words = ""
    if where:
        in_words = " on " + _place({p.slot for p in where})
        regions = {code for p in where for code in p.geo}
        if regions and len(regions) <= 2 and "all" not in regions:
            in_words += " in " + " and ".join(_geo_name(code) for code in sorted(regions))
    return f"Limited by {who}{in_words}{when}."


def _place(slot_ids: set[int]) -> str:
    """The slot, or the section or site that holds all the slots, in words."""
    units = {u.id: u for u in db.session.scalars(sa.select(AdUnit))}
    if len(slot_ids) == 1:
        return ad_unit_path(units[next(iter(slot_ids))])

    def ancestors(unit_id: int) -> list[int]:
        chain = []
        while unit_id is not None:
            chain.append(unit_id)
            unit_id = units[unit_id].parent_id
        return chain

    common = set.intersection(*(set(ancestors(s)) for s in slot_ids))
    if not common:
        return f"{len(slot_ids)} slots on several sites"
    deepest = max(common, key=lambda u: len(ancestors(u)))
    return f"{len(slot_ids)} slots of {ad_unit_path(units[deepest])}"


def _geo_name(code: str) -> str:
    from app.catalog.models import TargetingDimension, TargetingValue

    name = db.session.scalar(
        sa.select(TargetingValue.name)
        .join(TargetingValue.dimension)
        .where(TargetingDimension.key == "geo", TargetingValue.code == code)
    )
    return name or code


# -- What if -------------------------------------------------------------------------------------


def suggestions(
    box: Box, base: Availability, *, now: datetime, today: date, margin_pct: int, exclude: set[int]
) -> list[Suggestion]:
    """What would add supply when a request does not fit: broader targeting, another flight, a sibling slot."""
    options: list[tuple[str, Box]] = []
    if box.geo:
        options.append(("Target every region", replace(box, geo=())))
    if box.device:
        options.append(("Target every device", replace(box, device=())))
    for weeks in (1, 2):
        moved = replace(box, start=box.start + timedelta(weeks=weeks), end=box.end + timedelta(weeks=weeks))
        options.append((f"Move the flight {_plural(weeks, 'week')} later ({moved.start} to {moved.end})", moved))
    earlier = replace(box, start=box.start - timedelta(weeks=1), end=box.end - timedelta(weeks=1))
    if earlier.start >= today:
        options.append((f"Move the flight a week earlier ({earlier.start} to {earlier.end})", earlier))
    for weeks in (1, 2):
        longer = replace(box, end=box.end + timedelta(weeks=weeks))
        options.append((f"Extend the flight by {_plural(weeks, 'week')} (to {longer.end})", longer))
    for sibling in _siblings(box.slot_ids)[:3]:
        options.append((f"Add {ad_unit_path(sibling)}", replace(box, slot_ids=(*box.slot_ids, sibling.id))))
    found = []
    for description, option in options:
        if option.days > MAX_FLIGHT_DAYS:
            continue
        answer = availability_for(option, now=now, today=today, margin_pct=margin_pct, exclude=exclude)
        found.append(Suggestion(description, answer.available, answer.available - base.available))
    return sorted((s for s in found if s.adds > 0), key=lambda s: -s.adds)


def _siblings(slot_ids: tuple[int, ...]) -> list[AdUnit]:
    """Active slots beside the request's that take one of its creative sizes."""
    units = list(db.session.scalars(sa.select(AdUnit).where(AdUnit.id.in_(slot_ids))))
    parents = {u.parent_id for u in units if u.parent_id}
    sizes = {size for u in units for size in u.sizes}
    return [
        unit
        for unit in db.session.scalars(
            sa.select(AdUnit)
            .where(
                AdUnit.parent_id.in_(parents),
                AdUnit.id.not_in(slot_ids),
                AdUnit.level == AdUnitLevel.SLOT.value,
                AdUnit.status == Status.ACTIVE.value,
            )
            .order_by(AdUnit.name)
        )
        if sizes & set(unit.sizes)
    ]


# -- Holds and bookings --------------------------------------------------------------------------


class NoLongerAvailable(Conflict):
    def __init__(self, requested: int, available: int):
        self.requested, self.available = requested, available
        super().__init__(
            f"No longer available: {requested:,} impressions were asked for, but only {available:,} are left "
            "(someone else reserved part of this inventory meanwhile)."
        )


def _sites_of(slot_ids) -> set[int]:
    units = {u.id: u for u in db.session.scalars(sa.select(AdUnit))}
    sites = set()
    for slot_id in slot_ids:
        unit = units[slot_id]
        while unit.parent_id is not None:
            unit = units[unit.parent_id]
        sites.add(unit.id)
    return sites


def _lock_sites(site_ids: set[int]) -> None:
    """Serialise reservations on these sites until the transaction ends."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    db.session.execute(
        insert(InventoryLock).values([{"site_id": s, "version": 0} for s in sorted(site_ids)]).on_conflict_do_nothing()
    )
    # An UPDATE (not a plain read): PostgreSQL locks the rows, SQLite takes its write lock.
    db.session.execute(
        sa.update(InventoryLock)
        .where(InventoryLock.site_id.in_(sorted(site_ids)))
        .values(version=InventoryLock.version + 1)
    )


#: A reservation's label is one line of at most this many characters; labels made from names are cut to it.
LABEL_LENGTH = 200


def reserve(
    kind: ReservationKind,
    box: Box,
    *,
    label: str,
    quantity: int | None = None,
    share: Decimal | None = None,
    product_id: int | None = None,
    actor: User | None,
    now: datetime,
    today: date,
    margin_pct: int,
    hold_days: int,
    proposal_line_id: int | None = None,
) -> Reservation:
    """Hold or book `box`, re-checking availability inside this transaction under the sites' lock.
    A hold for a proposal line names it: the database keeps one live hold per line."""
    errors = Errors()
    if (quantity is None) == (share is None):
        errors.add("quantity", "Enter a quantity of impressions (or a share of voice for a sponsorship).")
    if quantity is not None and (problem := quantity_problem(quantity, label="quantity")):
        errors.add("quantity", problem)
    if share is not None and not (Decimal("0") < share <= Decimal("1")):
        errors.add("share", "A share of voice is more than 0 % and at most 100 %.")
    label = clean_line(label)
    if not label:
        errors.add("label", "Say what the reservation is for.")
    elif problem := line_problem(label, label="label", max_length=LABEL_LENGTH):
        errors.add("label", problem)
    errors.raise_if_any()
    check_box(box, today=today)
    _lock_sites(_sites_of(box.slot_ids))
    db.session.flush()
    if quantity is not None:
        answer = availability_for(box, now=now, today=today, margin_pct=margin_pct, requested=quantity)
        if quantity > answer.available:
            raise NoLongerAvailable(quantity, answer.available)
    else:
        _check_sponsorship_fits(box, share, now=now, today=today, margin_pct=margin_pct)
    reservation = Reservation(
        kind=kind.value,
        label=label,
        product_id=product_id,
        ad_unit_ids=list(box.slot_ids),
        geo=list(box.geo),
        device=list(box.device),
        start_day=box.start,
        end_day=box.end,
        quantity=quantity,
        share=share,
        created_by_id=actor.id if actor else None,
        created_at=now,
        expires_at=now + timedelta(days=hold_days) if kind == ReservationKind.HOLD else None,
        proposal_line_id=proposal_line_id if kind == ReservationKind.HOLD else None,
    )
    db.session.add(reservation)
    db.session.flush()
    _lock_sites(_sites_of(box.slot_ids))  # bump again: the change is written, cached lists are stale
    amount = f"{quantity:,} impressions" if quantity is not None else f"{share * 100:.0f} % share of voice"
    record(
        actor=actor,
        entity_type="reservation",
        entity_id=reservation.id,
        action=f"{kind.value} created",
        at=now,
        summary=f"{kind.value.capitalize()} of {amount}, {box.start} to {box.end}: {reservation.label}.",
        after={"quantity": quantity, "share": share, "start": box.start, "end": box.end, "slots": list(box.slot_ids)},
    )
    return reservation


def _check_sponsorship_fits(box: Box, share: Decimal, *, now: datetime, today: date, margin_pct: int) -> None:
    """A sponsorship fits when taking its share first leaves every other line its full quantity."""
    live = _live(now, today)
    before = sum(c.network.shortfall for c in _clusters(box, live, today=today, margin_pct=margin_pct, cached=True))
    # The new sponsorship takes its share after the existing ones: it goes last.
    probe = Held(
        2**62,
        ReservationKind.BOOKING.value,
        "new",
        box.slot_ids,
        box.geo,
        box.device,
        box.start,
        box.end,
        None,
        share,
        None,
    )
    after_clusters = _clusters(box, live, today=today, margin_pct=margin_pct, cached=False, extra=[probe])
    after = sum(c.network.shortfall for c in after_clusters)
    if after > before:
        raise DomainError(
            f"No longer available: a {share * 100:.0f} % share would leave other lines {after - before:,} impressions "
            "short."
        )


def release(reservation: Reservation, *, reason: str, actor: User | None, now: datetime) -> None:
    if reservation.released_at is not None:
        return
    _lock_sites(_sites_of(reservation.ad_unit_ids))
    reservation.released_at = now
    reservation.release_reason = reason[:200]
    db.session.flush()
    _lock_sites(_sites_of(reservation.ad_unit_ids))
    record(
        actor=actor,
        entity_type="reservation",
        entity_id=reservation.id,
        action="released",
        at=now,
        summary=f"Released {reservation.kind}: {reason}.",
    )


def extend_hold(
    hold: Reservation, *, actor: User | None, now: datetime, today: date, margin_pct: int, hold_days: int
) -> Reservation:
    """Push the expiry out again, while the inventory is still available to the hold."""
    if hold.kind != ReservationKind.HOLD or hold.released_at is not None:
        raise DomainError("Only a live hold can be extended.")
    if hold.expires_at is not None and hold.expires_at <= now:
        raise DomainError("This hold has expired: check availability and hold the inventory again.")
    box = _box_of(hold)
    _lock_sites(_sites_of(box.slot_ids))
    if hold.quantity is not None:
        answer = availability_for(
            box, now=now, today=today, margin_pct=margin_pct, requested=hold.quantity, exclude={hold.id}
        )
        if hold.quantity > answer.available:
            raise NoLongerAvailable(hold.quantity, answer.available)
    before = hold.expires_at
    hold.expires_at = now + timedelta(days=hold_days)
    db.session.flush()
    _lock_sites(_sites_of(box.slot_ids))
    record(
        actor=actor,
        entity_type="reservation",
        entity_id=hold.id,
        action="hold extended",
        at=now,
        summary=f"Hold extended to {hold.expires_at:%Y-%m-%d %H:%M} UTC.",
        before={"expires_at": before},
        after={"expires_at": hold.expires_at},
    )
    return hold
