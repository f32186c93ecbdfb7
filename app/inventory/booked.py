"""The booked set, solved once per inventory version, and each request augmenting from it.

Holds and bookings fall into clusters: slots that quantity lines join (a line on two slots joins
them). Lines of different clusters never share supply, so each cluster is solved on its own.
Sponsorships take their share of each atom first and do not move, so they join no slots: a
sponsorship belongs to every cluster it touches, with the part of its box on that cluster.

A cluster's cells and booked max flow are built once and kept per process, keyed by what they
depend on (its reservations, the forecast run, the safety margins, today). A reservation made or
released changes the key of its own cluster only. A request then costs one max flow on the
residual graphs of the clusters it touches (`incremental.augment`), not a rebuild.
"""

from __future__ import annotations

import contextlib
import ctypes
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from app.inventory.incremental import BookedNetwork, solve_booked
from app.inventory.supply import PPM, Box, Cells, SlotSupply, build_cells


@dataclass
class Cluster:
    slots: frozenset[int]
    #: its reservations (sponsorships cut to the cluster's slots), in the order they take supply
    members: list
    cells: Cells
    network: BookedNetwork
    origin: int  # ordinal of the first day of `cumulative`
    #: slot -> running total of its sellable forecast from `origin` (one more entry than days)
    cumulative: dict[int, np.ndarray]
    shares: dict[int, SlotSupply]


@dataclass
class Parts:
    """The request's part of the cells of one cluster."""

    cells: np.ndarray
    #: its impressions in each cell, after the safety margin and before sponsorships
    supply: np.ndarray
    #: after the cluster's sponsorships took their share
    capacity: np.ndarray
    first_day: np.ndarray
    last_day: np.ndarray


@dataclass
class _Partition:
    ids: frozenset[int]
    cluster_of: dict[int, int]
    #: per cluster: its slots, its reservations, and the facts of them its solution depends on
    slots: list[frozenset[int]]
    members: list[list]
    facts: list[tuple]


@dataclass
class _Store:
    partition: _Partition | None = None
    #: key -> solved cluster, exactly the clusters of the live set
    solved: dict = field(default_factory=dict)


_stores: dict[str, _Store] = defaultdict(_Store)
_lock = threading.Lock()
#: One cluster is solved at a time per process: two requests after the same change solve it once.
_building = threading.Lock()


def _partition(live: list) -> _Partition:
    """Slots joined by the quantity lines that cover several of them; each cluster's reservations
    (a sponsorship in every cluster it touches), in the order they take supply."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for r in live:
        slots = list(r.ad_unit_ids)
        for s in slots:
            find(s)
        if r.share is None:
            root = find(slots[0])
            for s in slots[1:]:
                parent[find(s)] = root
    roots = sorted({find(s) for s in parent})
    number = {root: i for i, root in enumerate(roots)}
    cluster_of = {s: number[find(s)] for s in parent}
    slots: list[set[int]] = [set() for _ in roots]
    for s, n in cluster_of.items():
        slots[n].add(s)
    members: list[list] = [[] for _ in roots]
    for r in sorted(live, key=lambda r: r.id):
        for n in sorted({cluster_of[s] for s in r.ad_unit_ids}):
            members[n].append(r)
    facts = [
        tuple(
            (r.id, tuple(r.ad_unit_ids), tuple(r.geo), tuple(r.device), r.start_day, r.end_day, r.quantity, r.share)
            for r in group
        )
        for group in members
    ]
    return _Partition(frozenset(r.id for r in live), cluster_of, [frozenset(s) for s in slots], members, facts)


def clusters_for(
    slot_ids, live: list, *, today: date, supply_key: tuple, store: str | None, load_supply, line_of
) -> list[Cluster]:
    """The solved clusters that hold any of `slot_ids`.

    With a `store` (the live set of one database), solved clusters are kept while their
    reservations stay the same: the first request after a restart solves them all; after a
    reservation is made or released, the next request on its cluster solves that one again.
    Without a store (a what-if), the clusters asked for are solved and not kept."""
    ids = frozenset(r.id for r in live)
    kept = _stores[store] if store is not None else _Store()
    with _lock:
        part = kept.partition if kept.partition is not None and kept.partition.ids == ids else _partition(live)
        kept.partition = part
        keys = [(part.slots[n], part.facts[n], supply_key, today) for n in range(len(part.slots))]
        current = set(keys)
        # Drop what no longer holds; after a restart, solve the whole live set at once.
        kept.solved = {key: found for key, found in kept.solved.items() if key in current}
        cold = store is not None and not kept.solved
    wanted = sorted({part.cluster_of[s] for s in slot_ids if s in part.cluster_of})
    out = []
    for n in range(len(keys)) if cold else wanted:
        with _building:
            found = kept.solved.get(keys[n])
            if found is None:
                found = _solve(part.slots[n], part.members[n], today=today, load_supply=load_supply, line_of=line_of)
                with _lock:
                    if keys[n] in current:
                        kept.solved[keys[n]] = found
        if n in wanted:
            out.append(found)
    return out


def _solve(slots: frozenset[int], members: list, *, today: date, load_supply, line_of) -> Cluster:
    boxes = []
    for r in members:
        cut = tuple(s for s in r.ad_unit_ids if s in slots)
        boxes.append(Box(cut, max(r.start_day, today), r.end_day, tuple(r.geo), tuple(r.device)))
    origin = min(b.start for b in boxes)
    last = max(b.end for b in boxes)
    supply = load_supply(set(slots), origin, last)
    direct = {i for i, r in enumerate(members) if r.share is not None}
    cells = build_cells(boxes, supply, origin, direct=direct)
    lines = [line_of(r, cells.of_box[i]) for i, r in enumerate(members)]
    network = solve_booked(cells.supply, lines, hub_cells=cells.hub_cells, n_hubs=cells.n_hubs, box_hubs=cells.box_hubs)
    # Only the network needs them: the hubs go with the solve, and the heap they fragmented too.
    cells.hub_cells = cells.box_hubs = None
    _give_back_memory()
    return Cluster(
        slots=slots,
        members=members,
        cells=cells,
        network=network,
        origin=origin.toordinal(),
        cumulative={s: np.concatenate([[0], np.cumsum(d.sellable)]) for s, d in supply.items()},
        shares=supply,
    )


def _give_back_memory() -> None:
    """Hand freed heap pages back to the system: glibc keeps them, and a solve frees hundreds of MB."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to hand back this way
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def parts_of(c: Cluster, box: Box) -> Parts:
    """The request's part of each cell of the cluster it overlaps, in impressions."""
    cells = c.cells
    first, last = box.start.toordinal(), box.end.toordinal()
    hit = np.isin(cells.slot, box.slot_ids) & (cells.first_day <= last) & (cells.last_day >= first)
    geo_share = cells.geo_groups.shares(box.geo)[cells.geo]
    device_share = cells.device_groups.shares(box.device)[cells.device]
    chosen = np.flatnonzero(hit & (geo_share > 0) & (device_share > 0))
    lo = np.maximum(cells.first_day[chosen], first)
    hi = np.minimum(cells.last_day[chosen], last)
    slot = cells.slot[chosen]
    days = np.zeros(len(chosen), dtype=np.int64)
    for s in np.unique(slot):
        mine = slot == s
        running = c.cumulative[int(s)]
        days[mine] = running[hi[mine] - c.origin + 1] - running[lo[mine] - c.origin]
    supply = days * geo_share[chosen] // PPM * device_share[chosen] // PPM
    whole = cells.supply[chosen]
    remaining = c.network.remaining[chosen]
    # Sponsorships take the same share of the part as of the whole cell.
    capacity = np.where(whole > 0, remaining * supply // np.maximum(whole, 1), 0)
    return Parts(cells=chosen, supply=supply, capacity=np.minimum(capacity, remaining), first_day=lo, last_day=hi)


def part_geo(c: Cluster, cell: int, box: Box) -> tuple[str, ...]:
    """The regions of a cell that the request takes."""
    codes = c.cells.geo_groups.codes(int(c.cells.geo[cell]))
    return tuple(code for code in codes if not box.geo or code in box.geo)


def sponsor_takes(c: Cluster, parts: Parts) -> dict[str, int]:
    """What each sponsorship of the cluster takes of the request's parts."""
    out = {}
    whole = np.maximum(c.cells.supply[parts.cells], 1)
    for line_id, takes in c.network.sponsor_takes.items():
        mine = takes[parts.cells]
        if mine.any() or np.isin(parts.cells, _atoms(c, line_id)).any():
            out[line_id] = int((mine * parts.supply // whole).sum())
    return out


def _atoms(c: Cluster, line_id: str) -> np.ndarray:
    for line in c.network.lines:
        if line.id == line_id:
            return np.asarray(line.atoms, dtype=np.int64)
    return np.zeros(0, dtype=np.int64)
