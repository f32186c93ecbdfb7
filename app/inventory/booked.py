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
import functools
import gc
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from app.inventory.incremental import BookedNetwork, solve_booked
from app.inventory.overlay import apply_changes
from app.inventory.stored import StoredSolutions
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

    @functools.cached_property
    def held(self) -> dict:
        """Its reservations by line id."""
        return {str(r.id): r for r in self.members}

    @functools.cached_property
    def kinds(self) -> dict[str, str]:
        """Each reservation's kind in words (a sponsorship, a booking or a hold), by line id."""
        return {line_id: ("sponsorship" if r.share is not None else r.kind) for line_id, r in self.held.items()}

    @functools.cached_property
    def needs(self) -> dict[str, int]:
        """What each flow line still needs, by line id."""
        return {line.id: line.quantity for line in self.network.flow_lines}

    def __getstate__(self) -> dict:
        # A copy taken at once, without what requests fill in lazily: other threads may add those
        # while the cluster is being stored, and pickling a dict that grows fails.
        return {k: v for k, v in self.__dict__.copy().items() if k not in _LAZY_CLUSTER}


_LAZY_CLUSTER = frozenset({"held", "kinds", "needs"})


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
    cluster_of: dict[int, int]
    #: per cluster: its slots, its reservations, and the facts of them its solution depends on
    slots: list[frozenset[int]]
    members: list[list]
    facts: list[tuple]


@dataclass
class _Entry:
    """One cluster of the live set: its slots, its reservations (sorted by id) and, once solved, its
    solution; or, after changes, the solution before them and the reservations made or released
    since, applied when the cluster is next asked for (`_up_to_date`)."""

    slots: frozenset[int]
    members: list
    solved: Cluster | None = None
    pending: tuple[Cluster, list] | None = None


@dataclass
class _Store:
    """The solved clusters of one database's live set, as of `ids` (on `basis`: supply, today)."""

    ids: frozenset[int] | None = None
    basis: tuple | None = None
    live: dict = field(default_factory=dict)
    cluster_of: dict[int, int] = field(default_factory=dict)
    entries: list[_Entry] = field(default_factory=list)


_stores: dict[str, _Store] = defaultdict(_Store)
_lock = threading.Lock()
#: One change is applied at a time per process: two requests after the same change apply it once.
_building = threading.Lock()
#: Kept reservations from which a change also moves the kept state out of the garbage collector's way
#: (`_out_of_the_collectors_way`): below it a full collection is short, and costs more than it saves.
FREEZE_FROM = 5_000
#: More reservations made or released than this since the last answer: the changed clusters are solved afresh.
MAX_CHANGES = 500


def _fact(r) -> tuple:
    """What a cluster's solution depends on of one reservation: its slots, audience, days and quantity."""
    return (r.id, tuple(r.ad_unit_ids), tuple(r.geo), tuple(r.device), r.start_day, r.end_day, r.quantity, r.share)


def _facts(members: list) -> tuple:
    return tuple(_fact(r) for r in members)


def _partition(live: list) -> _Partition:
    """Slots joined by the quantity lines that cover several of them; each cluster's reservations
    (a sponsorship in every cluster it touches), in the order they take supply."""
    root_of = _roots(live)
    roots = sorted(set(root_of.values()))
    number = {root: i for i, root in enumerate(roots)}
    cluster_of = {s: number[root] for s, root in root_of.items()}
    slots: list[set[int]] = [set() for _ in roots]
    for s, n in cluster_of.items():
        slots[n].add(s)
    members: list[list] = [[] for _ in roots]
    for r in sorted(live, key=lambda r: r.id):
        for n in sorted({cluster_of[s] for s in r.ad_unit_ids}):
            members[n].append(r)
    facts = [_facts(group) for group in members]
    return _Partition(cluster_of, [frozenset(s) for s in slots], members, facts)


def _roots(live, slots=()) -> dict[int, int]:
    """Each slot's root once the quantity lines join the slots they cover (a sponsorship joins
    none): `slots`, and every slot a reservation of `live` covers."""
    parent = {s: s for s in slots}

    def find(x: int) -> int:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for r in live:
        covered = list(r.ad_unit_ids)
        for s in covered:
            find(s)
        if r.share is None:
            for s in covered[1:]:
                parent[find(s)] = find(covered[0])
    return {s: find(s) for s in parent}


def clusters_for(
    slot_ids,
    live: list,
    *,
    today: date,
    supply_key: tuple,
    store: str | None,
    load_supply,
    line_of,
    keep: bool = True,
    stored: Callable[[], StoredSolutions | None] | None = None,
) -> list[Cluster]:
    """The solved clusters that hold any of `slot_ids`.

    With a `store` (the live set of one database), solved clusters are kept and follow the live
    set: the first request after a restart solves them all; after a few reservations are made or
    released, the next request on one of their clusters brings it up to date
    (`overlay.apply_changes`: only the cells of their slots and days are cut again); requests on
    other clusters pay nothing for them. Without a store (a what-if), the clusters
    asked for are solved and not kept. A session with reservations written and not committed
    (`keep` false) starts from the kept clusters and keeps nothing of its own.

    With `stored` (a callable, called only after a restart: where the solutions are on disk), the
    first request after a restart starts from the stored live set when it was solved on the same
    basis and catches up from there; a process that solved or caught up at its start stores the
    live set for the next one."""
    solve = functools.partial(_solve, today=today, load_supply=load_supply, line_of=line_of)
    if store is None:
        part = _partition(live)
        wanted = sorted({part.cluster_of[s] for s in slot_ids if s in part.cluster_of})
        return [solve(part.slots[n], part.members[n]) for n in wanted]
    ids = getattr(live, "ids", None) or frozenset(r.id for r in live)
    basis = (supply_key, today)
    with _lock:
        found = _current(_stores[store], ids, basis, slot_ids)
    if found is not None:
        return found
    with _building:
        kept = _stores[store]  # another thread may have brought it up to date meanwhile
        found = _current(kept, ids, basis, slot_ids)
        if found is not None:
            return found
        restart = kept.basis is None
        solutions = stored() if restart and stored is not None else None
        update = functools.partial(apply_changes, today=today, load_supply=load_supply, line_of=line_of)
        if kept.ids != ids or kept.basis != basis:
            # On a new basis (a forecast run, a margin, a new day) no cluster solved on the old one is reused.
            same = kept if kept.basis == basis else (restart and _stored(solutions, basis, live)) or _Store()
            fresh = (same.basis == basis and _changed(same, live, ids)) or _repartition(same, live, ids)
            fresh.basis = basis
            if keep:
                with _lock:
                    _stores[store] = fresh
            kept = fresh
        # After a restart, bring the whole live set up to date at once (on a new basis, only the clusters asked for).
        wanted = {kept.cluster_of[s] for s in slot_ids if s in kept.cluster_of}
        behind = [e for n, e in enumerate(kept.entries) if e.solved is None and e.members and (restart or n in wanted)]
        for entry in behind:
            _up_to_date(entry, update, solve)
        if restart and behind and keep and solutions is not None:
            solutions.save(kept)
        if len(ids) >= FREEZE_FROM:
            _out_of_the_collectors_way()
        return _found(kept, slot_ids) or []


def _stored(stored: StoredSolutions | None, basis: tuple, live: list) -> _Store | None:
    """The stored live set solved on `basis`, when every reservation it shares with `live` is the same."""
    found = stored.load(basis) if stored is not None else None
    _give_back_memory()  # reading it left hundreds of MB of freed heap
    if found is None or found.basis != basis:
        return None
    if not same_reservations(found.live, live):
        # Another database at the same address, or rows changed in place: no basis, so the caller
        # repartitions, keeping only clusters whose reservations are all the same (compared whole).
        return _Store(entries=found.entries)
    _share_reservations(found, live)
    return found


def _share_reservations(found: _Store, live: list) -> None:
    """Point the stored clusters at the live list's own reservations (the same facts, checked)
    instead of copies read from the file: 50,000 of them are tens of MB, kept once."""
    mine = {r.id: r for r in live}

    def shared(members: list) -> list:
        return [mine.get(r.id, r) for r in members]

    for entry in found.entries:
        entry.members = shared(entry.members)
        for c in (entry.solved, entry.pending[0] if entry.pending else None):
            if c is not None:  # read from a file: none of its lazy caches (`Cluster.__getstate__`)
                c.members = shared(c.members)
    found.live = {i: mine.get(i, r) for i, r in found.live.items()}


def same_reservations(kept: dict, live: list) -> bool:
    """Whether every reservation of `live` that `kept` (by id) holds too has the same slots,
    audience, days and quantity."""
    return all(_fact(kept[r.id]) == _fact(r) for r in live if r.id in kept)


def _up_to_date(entry: _Entry, update, solve) -> None:
    """Solve the entry: its changes applied to its solution before them (`overlay.apply_changes`),
    or, when there is none or a window cannot be cut, afresh."""
    if entry.pending is not None:
        before, changed = entry.pending
        entry.solved, entry.pending = update(before, entry.members, changed), None
    if entry.solved is None:
        entry.solved = solve(entry.slots, entry.members)


def _current(kept: _Store, ids: frozenset[int], basis: tuple, slot_ids) -> list[Cluster] | None:
    """The solved clusters of these slots when the kept store is of this live set and basis."""
    return _found(kept, slot_ids) if kept.ids == ids and kept.basis == basis else None


def _found(kept: _Store, slot_ids) -> list[Cluster] | None:
    """The solved clusters of these slots, or None while one of them is not solved."""
    wanted = sorted({kept.cluster_of[s] for s in slot_ids if s in kept.cluster_of})
    found = [kept.entries[n].solved for n in wanted if kept.entries[n].members]
    return None if any(c is None for c in found) else found


def _repartition(kept: _Store, live: list, ids: frozenset[int]) -> _Store:
    """The live set's clusters afresh, keeping the solution of every cluster whose reservations stay the same."""
    part = _partition(live)
    solved = {(e.slots, _facts(e.members)): e.solved for e in kept.entries if e.solved is not None}
    entries = [
        _Entry(part.slots[n], part.members[n], solved.get((part.slots[n], part.facts[n])))
        for n in range(len(part.slots))
    ]
    return _Store(ids, None, {r.id: r for r in live}, part.cluster_of, entries)


def _changed(kept: _Store, live: list, ids: frozenset[int]) -> _Store | None:
    """The store with the reservations made or released since noted on the clusters they touch, or
    None when they are too many or a new line joins clusters or slots no cluster holds. They are
    applied to a cluster when it is next asked for: a change never costs the requests of other
    clusters anything, and several changes to one cluster are applied at once."""
    added = [r for r in live if r.id not in kept.ids]
    removed = [kept.live[i] for i in kept.ids - ids]
    if len(added) + len(removed) > MAX_CHANGES:
        return None
    changes: dict[int, list] = defaultdict(list)
    for r in added:
        clusters = {kept.cluster_of.get(s) for s in r.ad_unit_ids}
        if None in clusters or (r.share is None and len(clusters) > 1):
            return None
        for n in clusters:
            changes[n].append(r)
    for r in removed:
        for n in {kept.cluster_of[s] for s in r.ad_unit_ids if s in kept.cluster_of}:
            changes[n].append(r)
    gone = {r.id for r in removed}
    entries = list(kept.entries)
    for n, changed in changes.items():
        entry = entries[n]
        members = sorted(
            [r for r in entry.members if r.id not in gone] + [r for r in changed if r.id not in gone],
            key=lambda r: r.id,
        )
        joined = any(r.id in gone and r.share is None and len(set(r.ad_unit_ids) & entry.slots) > 1 for r in changed)
        if not members or (joined and not _connected(entry.slots, members)):
            return None  # a release split the cluster: solved afresh as the clusters it is now
        before, since = entry.pending or (entry.solved, [])
        pending = (before, since + changed) if before is not None and len(since) + len(changed) <= MAX_CHANGES else None
        entries[n] = _Entry(entry.slots, members, None, pending)
    return _Store(ids, None, {r.id: r for r in live}, kept.cluster_of, entries)


def _connected(slots: frozenset[int], members: list) -> bool:
    """Whether the quantity lines among `members` still join all of `slots` into one cluster."""
    root_of = _roots(members, slots)
    return len({root_of[s] for s in slots}) == 1


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


def _out_of_the_collectors_way() -> None:
    """Move what the process holds now (the live set, the solved clusters) out of the cyclic
    garbage collector's generations, after a change rebuilt them. At 50,000 lines these are
    millions of objects that live until the next change, and a full collection walked them all: a
    100-300 ms pause in whichever request happened to trigger it.

    Cyclic garbage frozen with them (a request's objects alive at that moment) is not lost: at most
    every `COLLECT_EVERY` seconds a change thaws everything and collects it first, so one full
    collection a minute is paid by a change, not by the reads. The kept state holds no reference
    cycles: reference counting frees it when a change replaces it."""
    global _collected_at
    now = time.monotonic()
    if _collected_at is None or now - _collected_at >= COLLECT_EVERY:
        gc.unfreeze()
        gc.collect()
        _collected_at = now
    gc.freeze()


#: seconds between the full collections of `_out_of_the_collectors_way`
COLLECT_EVERY = 60.0
_collected_at: float | None = None


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
