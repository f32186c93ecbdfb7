"""Availability for prospective lines: what a box of supply can still take next to every live hold and booking.

A request or a reservation covers a box of supply atoms (`app.inventory.forecast_supply`). Only
reservations connected to the request through shared atoms are loaded into the solver; everything
else cannot change its answer.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from app.catalog.ad_units import ad_unit_path
from app.catalog.models import TargetingDimension, TargetingValue
from app.errors import Errors, ValidationFailed
from app.extensions import current_settings, db
from app.formats import ngettext, plural
from app.inventory import booked
from app.inventory.forecast_supply import UNITS_ABOVE, box_supply, load_supply, reading, supply_key
from app.inventory.incremental import augment
from app.inventory.live import UNCOMMITTED, Live, live_held
from app.inventory.models import ForecastRun, Reservation, ReservationKind
from app.inventory.solver import Line
from app.inventory.stored import StoredSolutions
from app.inventory.suggestions import Suggestion, suggestions
from app.inventory.supply import MAX_FLIGHT_DAYS, Box
from app.validation import day_problem

#: Dimensions that split supply into atoms, with their value codes (from the traffic shares).
SUPPLY_DIMENSIONS = ("geo", "device")
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


def solved_clusters(
    box: Box, live: list, *, today: date, margin_pct: int, cached: bool, extra: list = ()
) -> list[booked.Cluster]:
    """The solved clusters of the slots `box` covers (with `extra` reservations, never cached)."""
    store = str(db.session.get_bind().url) if cached and not extra else None
    return booked.clusters_for(
        box.slot_ids,
        [*live, *extra] if extra else live,
        today=today,
        supply_key=supply_key(margin_pct),
        store=store,
        keep=not db.session.info.get(UNCOMMITTED),
        load_supply=lambda slots, origin, last: load_supply(slots, origin, last, margin_pct=margin_pct),
        line_of=lambda r, cells: _line(r, cells, today),
        stored=lambda: stored_solutions(store),
    )


def stored_solutions(store: str) -> StoredSolutions | None:
    """Where this database's solved live set is kept on disk (`INVENTORY_SOLUTION_DIR`), or None.

    Read from the settings here rather than passed by every caller: like the database the engine's
    caches are keyed by, where a cache is kept changes no answer (`stored`)."""
    directory = current_settings().inventory_solutions
    if directory is None:
        return None
    newest = db.session.scalar(sa.select(ForecastRun.created_at).order_by(ForecastRun.id.desc()).limit(1))
    return StoredSolutions(Path(directory), store, newest)


# -- Reservations as boxes ----------------------------------------------------------------------


def live_reservations_query(now: datetime, *, from_day: date) -> sa.Select:
    return sa.select(Reservation).where(
        Reservation.released_at.is_(None),
        Reservation.end_day >= from_day,
        sa.or_(Reservation.kind == ReservationKind.BOOKING.value, Reservation.expires_at > now),
    )


def box_of(reservation: Reservation, today: date | None = None) -> Box:
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
    """Exact availability of `box` next to every live hold and booking (but those in `exclude`).

    The versions the caches are keyed by are read once (`forecast_supply.reading`); suggestions reuse
    the answer's live set and supply, and each of them costs a max flow, not another answer."""
    check_box(box, today=today)
    # Days before today are gone: availability is counted from today.
    box = replace(box, start=max(box.start, today))
    with reading(margin_pct) as forecast:
        live = live_held(now, today, forecast.versions.locks)
        if exclude:
            live = [r for r in live if r.id not in exclude]
        clusters = solved_clusters(box, live, today=today, margin_pct=margin_pct, cached=not exclude)
        solved = _solve_request(box, clusters, margin_pct=margin_pct, today=today, live=live)
        result = Availability(
            box=box,
            matched=solved.matched,
            margin=solved.matched - solved.sellable,
            available=solved.available,
            shortfall=sum(c.network.shortfall for c in clusters),
            contenders=solved.contenders,
            binding=_binding(solved, requested),
            forecast_date=forecast.versions.history_end,
            requested=requested,
        )
        if with_suggestions and requested is not None and not result.fits:
            result.suggestions = suggestions(
                box,
                result.available,
                today=today,
                available=lambda options: _offers(options, live, today=today, margin_pct=margin_pct, exclude=exclude),
            )
    return result


def _offers(options: list[Box], live: list, *, today: date, margin_pct: int, exclude) -> list[int | None]:
    """What each suggested box offers next to the answer's live set, their clusters fetched once for all."""
    asked = [_askable(option, today) for option in options]
    slots = tuple(sorted({s for option in asked if option for s in option.slot_ids}))
    if not slots:
        return [None] * len(options)
    near = solved_clusters(
        replace(asked[0] or options[0], slot_ids=slots), live, today=today, margin_pct=margin_pct, cached=not exclude
    )
    return [
        None
        if option is None
        else _solve_request(
            option, [c for c in near if not c.slots.isdisjoint(option.slot_ids)], margin_pct=margin_pct, today=today
        ).available
        for option in asked
    ]


def _askable(option: Box, today: date) -> Box | None:
    """A suggested box from today on, or None when it is no flight one may ask about."""
    try:
        check_box(option, today=today)
    except ValidationFailed:
        return None
    return replace(option, start=max(option.start, today))


def _line(reservation: Reservation, cells: np.ndarray, today: date) -> Line:
    if reservation.share is not None:
        return Line(str(reservation.id), cells, share=Fraction(reservation.share))
    # Days before today are gone; the part of the quantity still to deliver is pro rata.
    total_days = (reservation.end_day - reservation.start_day).days + 1
    remaining_days = (reservation.end_day - max(reservation.start_day, today)).days + 1
    quantity = reservation.quantity * min(remaining_days, total_days) // total_days
    return Line(str(reservation.id), cells, quantity=quantity)


@dataclass
class _Places:
    """The parts of the request's supply that lines use up, as arrays (a request may have thousands):
    each one's slot, days and what lines take of it, and the rows of who takes it."""

    slot: np.ndarray
    first_day: np.ndarray
    last_day: np.ndarray
    taken: np.ndarray
    #: the cluster and cell of each, for its regions (worked out for the few places named)
    cluster: np.ndarray
    cell: np.ndarray
    #: (place, line) rows: the lines taking some of each place, as indices into `line_ids`
    row_place: np.ndarray
    row_line: np.ndarray
    line_ids: list[str]

    def __len__(self) -> int:
        return len(self.slot)


@dataclass
class _Solved:
    matched: int
    sellable: int
    available: int
    contenders: list[Contender]
    #: parts of the request's supply that lines use up
    places: _Places
    clusters: list[booked.Cluster]
    box: Box
    #: sponsorships taking some of the request's supply
    sponsors: set[str]
    kinds: dict[str, str]


def _solve_request(
    box: Box, clusters: list[booked.Cluster], *, margin_pct: int, today: date, live: list = ()
) -> _Solved:
    """The request against the solved clusters: its free supply, plus what it can add to their
    flows. Contenders read as they are in `live` (a hold extended or relabelled changes no cluster,
    which keeps the reservation as it was solved)."""
    matched, sellable = box_supply(box, load_supply(set(box.slot_ids), box.start, box.end, margin_pct=margin_pct))
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

    current = live.by_id if isinstance(live, Live) else {r.id: r for r in live}
    held = {line_id: current.get(r.id, r) for c in clusters for line_id, r in c.held.items()}
    line_takes = np.zeros(len(added.line_ids), dtype=np.int64)
    np.add.at(line_takes, added.taken_line, added.taken_amount)
    takes = {added.line_ids[i]: int(line_takes[i]) for i in np.flatnonzero(line_takes)}
    places = _places_used_up(clusters, parts, network, added)
    needs = {line_id: quantity for c in clusters for line_id, quantity in c.needs.items()}
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
        clusters=clusters,
        box=box,
        sponsors={line_id for line_id, amount in sponsor_takes.items() if amount},
        kinds={line_id: kind for c in clusters for line_id, kind in c.kinds.items()},
    )


def _places_used_up(clusters: list[booked.Cluster], parts: list[booked.Parts], network: np.ndarray, added) -> _Places:
    """The parts that lines use up: some line takes of them, and the query does not get what is left."""
    n_parts = len(network)
    part_taken = np.zeros(n_parts, dtype=np.int64)
    np.add.at(part_taken, added.taken_part, added.taken_amount)
    some = np.zeros(n_parts, dtype=bool)
    some[added.taken_part] = True

    def column(name: str) -> np.ndarray:
        return np.concatenate([getattr(p, name) for p in parts] or [np.zeros(0, np.int64)])

    used_up = np.flatnonzero(some & (added.to_query + part_taken >= column("capacity")))
    place_of = np.full(n_parts, -1, dtype=np.int64)
    place_of[used_up] = np.arange(len(used_up))
    cluster, cell = network[used_up], column("cells")[used_up]
    slot = np.zeros(len(used_up), dtype=np.int64)
    for k in np.unique(cluster):
        mine = cluster == k
        slot[mine] = clusters[int(k)].cells.slot[cell[mine]]
    rows = place_of[added.taken_part] >= 0
    return _Places(
        slot=slot,
        first_day=column("first_day")[used_up],
        last_day=column("last_day")[used_up],
        taken=part_taken[used_up],
        cluster=cluster,
        cell=cell,
        row_place=place_of[added.taken_part[rows]],
        row_line=added.taken_line[rows],
        line_ids=added.line_ids,
    )


def _contender(r, needs: int, takes: int, *, sponsorship: bool) -> Contender:
    return Contender(r.id, r.kind, r.label, needs, takes, sponsorship, r.expires_at)


def _sponsor_needs(r, today: date, margin_pct: int) -> int:
    """What a sponsorship's share takes over what is left of its flight."""
    box = box_of(r, today)
    _, sellable = box_supply(box, load_supply(set(box.slot_ids), box.start, box.end, margin_pct=margin_pct))
    return int(sellable * Fraction(r.share))


def _binding(solved: _Solved, requested: int | None) -> str:
    """The binding constraint in words: where and by whom the request's supply is used up."""
    if not len(solved.places) and not solved.sponsors:
        if requested is not None and requested > solved.available:
            return (
                "Limited by the forecast: "
                + ngettext(
                    "%(num)s impression is expected for this targeting ",
                    "%(num)s impressions are expected for this targeting ",
                    solved.available,
                )
                + "after the safety margin, and nothing else competes for them."
            )
        return "Nothing else competes for this inventory: only the forecast and the safety margin limit it."
    # Where: the week, place and regions where others take the most of the request's supply.
    places = solved.places
    ids = set(solved.sponsors)
    where = np.zeros(0, dtype=np.int64)
    when = ""
    if len(places):
        first, last = places.first_day, places.last_day
        lowest = int(first.min())
        best, best_taken = None, -1.0
        # Each week's share of what lines take, each place's taken spread evenly over its days.
        # Ordinal 1 (1 Jan 1 AD) was a Monday.
        for monday in range(lowest - (lowest - 1) % 7, int(last.max()) + 1, 7):
            days = np.minimum(last, monday + 6) - np.maximum(first, monday) + 1
            if (days > 0).any():
                taken = float((places.taken * np.maximum(days, 0) / (last - first + 1)).sum())
                if taken > best_taken:
                    best, best_taken = monday, taken
        where = np.flatnonzero((first <= best + 6) & (last >= best))
        in_week = np.zeros(len(places), dtype=bool)
        in_week[where] = True
        ids |= {places.line_ids[i] for i in np.unique(places.row_line[in_week[places.row_place]])}
        when = f" in week {date.fromordinal(best).isocalendar()[1]}"
    counts: dict[str, int] = defaultdict(int)
    for line_id in ids:
        counts[solved.kinds.get(line_id, "booking")] += 1
    kinds = (("sponsorship", "sponsorships"), ("booking", "bookings"), ("hold", "holds"))
    who = ", ".join(plural(counts[k], k, many) for k, many in kinds if counts[k]) or "other lines"
    in_words = ""
    if len(where):
        in_words = " on " + _place({int(slot) for slot in places.slot[where]})
        regions = _regions(solved, where)
        if regions and len(regions) <= 2 and "all" not in regions:
            names = _geo_names(regions)
            in_words += " in " + " and ".join(names[code] for code in sorted(regions))
    return f"Limited by {who}{in_words}{when}."


def _regions(solved: _Solved, where: np.ndarray) -> set[str]:
    """The regions the request takes of these places: one look per cluster and region group."""
    places, regions = solved.places, set()
    groups = {
        (int(k), int(solved.clusters[int(k)].cells.geo[cell])): int(cell)
        for k, cell in zip(places.cluster[where], places.cell[where], strict=True)
    }
    for (k, _), cell in groups.items():
        regions.update(booked.part_geo(solved.clusters[k], cell, solved.box))
    return regions


def _place(slot_ids: set[int]) -> str:
    """The slot, or the section or site that holds all the slots, in words."""
    units = {u.id: u for u in db.session.scalars(UNITS_ABOVE, {"slots": sorted(slot_ids)})}
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
        return f"{plural(len(slot_ids), 'slot', 'slots')} on several sites"
    deepest = max(common, key=lambda u: len(ancestors(u)))
    return f"{plural(len(slot_ids), 'slot', 'slots')} of {ad_unit_path(units[deepest])}"


def _geo_names(codes) -> dict[str, str]:
    """The names of geo values by code (a code without one is its own name)."""
    names = dict(
        db.session.execute(
            sa.select(TargetingValue.code, TargetingValue.name)
            .join(TargetingValue.dimension)
            .where(TargetingDimension.key == "geo", TargetingValue.code.in_(sorted(codes)))
        ).all()
    )
    return {code: names.get(code) or code for code in codes}


def available_now(box: Box, *, now: datetime, today: date, margin_pct: int) -> int:
    """Only how much of `box` is available (what a hold re-checks before it is written): the same
    figure as `availability_for`, without the contenders, the binding constraint and suggestions."""
    check_box(box, today=today)
    box = replace(box, start=max(box.start, today))
    with reading(margin_pct) as forecast:
        live = live_held(now, today, forecast.versions.locks)
        clusters = solved_clusters(box, live, today=today, margin_pct=margin_pct, cached=True)
        return _solve_request(box, clusters, margin_pct=margin_pct, today=today).available
