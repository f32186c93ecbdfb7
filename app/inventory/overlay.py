"""A solved cluster brought up to date after a few holds or bookings were made or released.

Solving a cluster from nothing rebuilds all its cells (seconds at tens of thousands of lines). A
reservation made or released only changes the cells of its own slots over its own days, so only
there are cells built again: on each slot it covers, the window of days it touches, widened to
where the cluster's unchanged reservations start or end. No cell crosses those days, so the old
cells of the window are dropped whole and `build_cells` cuts the window again from the
reservations that cover it now (clipped to it). Cells outside the windows stay as they are.

That is exact, not close: `build_cells` cuts a slot's days only where its boxes start or end and
groups regions and devices by the boxes active in each day segment, so the cells of a window
depend only on the boxes that cover it, and the cluster has the very cells a solve from nothing
would build (in another order), with the same integer supply. The booked max flow is then solved
on them again, which costs a small part of building the cells.
"""

from __future__ import annotations

import bisect
import functools
from collections import defaultdict
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING

import numpy as np

from app.inventory.incremental import BookedNetwork, solve_booked
from app.inventory.supply import Box, Cells, Groups, SlotSupply, build_cells

if TYPE_CHECKING:
    from app.inventory.booked import Cluster


def box_in(r, slots: frozenset[int], today: date) -> Box:
    """A reservation's box on the cluster's slots, from today on."""
    cut = tuple(s for s in r.ad_unit_ids if s in slots)
    return Box(cut, max(r.start_day, today), r.end_day, tuple(r.geo), tuple(r.device))


def apply_changes(c: Cluster, members: list, changed: list, *, today: date, load_supply, line_of) -> Cluster | None:
    """The cluster with `members` (sorted by id) instead of its own, where `changed` are the
    reservations made or released since (None when a window cannot be cut: solve it afresh)."""
    old_ids = {r.id for r in c.members}
    boxes = [box_in(r, c.slots, today) for r in members]
    windows = _windows(c, [b for r, b in zip(members, boxes, strict=True) if r.id in old_ids], changed, today)
    drop = np.zeros(len(c.cells.supply), dtype=bool)
    for slot, first, last in windows:
        on_slot = c.cells.slot == slot
        inside = on_slot & (c.cells.first_day >= first) & (c.cells.last_day <= last)
        crossing = on_slot & (c.cells.first_day <= last) & (c.cells.last_day >= first) & ~inside
        if crossing.any():
            return None
        drop |= inside

    origin, cumulative, shares = _supply_reaching(c, windows, load_supply)
    pieces, owner = [], []
    for slot, first, last in windows:
        for i, b in enumerate(boxes):
            if slot in b.slot_ids and b.start <= b.end and b.start.toordinal() <= last and b.end.toordinal() >= first:
                start, end = max(b.start.toordinal(), first), min(b.end.toordinal(), last)
                pieces.append(Box((slot,), date.fromordinal(start), date.fromordinal(end), b.geo, b.device))
                owner.append(i)
    if windows:
        lo, hi = min(w[1] for w in windows), max(w[2] for w in windows)
        window_supply = {s: _slice(shares[s], lo - origin, hi - origin + 1) for s in {w[0] for w in windows}}
        direct = {k for k, i in enumerate(owner) if members[i].share is not None}
        fresh = build_cells(pieces, window_supply, date.fromordinal(lo), direct=direct)
    else:
        fresh = build_cells([], {}, today, direct=set())
    cells, kept = _splice(c, members, drop, fresh, owner)
    # A quantity line reaches its cells through hubs: its Line (id, quantity) stays as it was.
    before = {line.id: line for line in c.network.lines if not line.is_sponsorship and not len(line.atoms)}
    lines = [
        before.get(str(r.id)) if r.share is None and not len(cells.of_box[i]) else None for i, r in enumerate(members)
    ]
    lines = [line or line_of(r, cells.of_box[i]) for i, (r, line) in enumerate(zip(members, lines, strict=True))]
    carried = None if len(kept) > int(kept.sum()) else functools.partial(_carry_over, c.network, cells)
    network = solve_booked(
        cells.supply, lines, hub_cells=cells.hub_cells, n_hubs=cells.n_hubs, box_hubs=cells.box_hubs, start=carried
    )
    # As after a solve from nothing: the network holds the hub rows the next change reads.
    cells.hub_cells = cells.box_hubs = None
    return replace(
        c, members=members, cells=cells, network=network, origin=origin, cumulative=cumulative, shares=shares
    )


def _windows(c: Cluster, unchanged: list[Box], changed: list, today: date) -> list[tuple[int, int, int]]:
    """(slot, first day, last day) to cut again: each changed box's days on each of its slots,
    widened to the nearest days where an unchanged box starts or ends, merged where they meet."""
    touched: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for r in changed:
        b = box_in(r, c.slots, today)
        if b.end >= b.start:
            for s in b.slot_ids:
                touched[s].append((b.start.toordinal(), b.end.toordinal()))
    bounds: dict[int, set[int]] = {s: set() for s in touched}
    for b in unchanged:
        for s in b.slot_ids if b.end >= b.start else ():
            if s in bounds:
                bounds[s].update((b.start.toordinal(), b.end.toordinal() + 1))
    out = []
    for s, spans in touched.items():
        cuts = sorted(bounds[s])
        widened = []
        for first, last in spans:
            i = bisect.bisect_right(cuts, first) - 1
            j = bisect.bisect_right(cuts, last)
            widened.append((cuts[i] if i >= 0 else first, cuts[j] - 1 if j < len(cuts) else last))
        widened.sort()
        merged = [list(widened[0])]
        for first, last in widened[1:]:
            if first <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], last)
            else:
                merged.append([first, last])
        out += [(s, first, last) for first, last in merged]
    return out


def _slice(d: SlotSupply, lo: int, hi: int) -> SlotSupply:
    return SlotSupply(sellable=d.sellable[lo:hi], raw=d.raw[lo:hi], geo_ppm=d.geo_ppm, device_ppm=d.device_ppm)


def _supply_reaching(c: Cluster, windows, load_supply):
    """The cluster's supply, loaded again over a longer span when a window reaches beyond it."""
    some = next(iter(c.shares.values()))
    last = c.origin + len(some.sellable) - 1
    lo = min([c.origin, *(w[1] for w in windows)])
    hi = max([last, *(w[2] for w in windows)])
    if lo == c.origin and hi == last:
        return c.origin, c.cumulative, c.shares
    shares = load_supply(set(c.slots), date.fromordinal(lo), date.fromordinal(hi))
    return lo, {s: np.concatenate([[0], np.cumsum(d.sellable)]) for s, d in shares.items()}, shares


#: Dropped cells stay in place (empty, outside every day range) until they are this share of all.
DEAD_SHARE = 0.25
_NEVER = np.iinfo(np.int32).max


def _splice(c: Cluster, members: list, drop: np.ndarray, fresh: Cells, owner: list[int]) -> tuple[Cells, np.ndarray]:
    """The cluster's cells without the dropped ones, then the windows' new cells, with each
    member's direct cells and hub rows. Dropped cells are emptied in place, so nothing is
    renumbered, until they are a quarter of all: then they are removed. Also which old cells are
    kept. The old hub rows are the solved network's (the cells let theirs go after the solve)."""
    old, net = c.cells, c.network
    dead = drop | (old.first_day > old.last_day)
    compact = bool(dead.sum() > DEAD_SHARE * len(dead))
    keep = ~dead if compact else np.ones(len(dead), dtype=bool)
    cell_index = np.cumsum(keep) - 1
    base = int(keep.sum())
    # Hubs lie in one day segment, so each is dropped or kept whole.
    hub_cells = net.hub_out[:, 1:].astype(np.int64)
    hub_live = np.zeros(net.n_hubs, dtype=bool)
    hub_live[hub_cells[~dead[hub_cells[:, 1]], 0]] = True
    hub_keep = hub_live if compact else np.ones(net.n_hubs, dtype=bool)
    new_hub = np.where(hub_live, np.cumsum(hub_keep) - 1, -1)
    if compact:
        hub_cells = hub_cells[hub_keep[hub_cells[:, 0]]]
        hub_cells = np.column_stack([new_hub[hub_cells[:, 0]], cell_index[hub_cells[:, 1]]])
    n_hubs = int(hub_keep.sum())

    # (member, hub) rows of the old members still here: the flow lines' hub arcs, renumbered.
    at = {r.id: j for j, r in enumerate(c.members)}
    member_of_old = np.full(len(c.members) + 1, -1, dtype=np.int64)
    for i, r in enumerate(members):
        if r.id in at:
            member_of_old[at[r.id]] = i
    flow_members = np.array([j for j, line in enumerate(net.lines) if not line.is_sponsorship] + [len(c.members)])
    box_hubs = np.column_stack([member_of_old[flow_members[net.hub_in[:, 1]]], new_hub[net.hub_in[:, 2]]])
    box_hubs = box_hubs[(box_hubs[:, 0] >= 0) & (box_hubs[:, 1] >= 0)]
    of_box = []
    for r in members:
        j = at.get(r.id)
        cells = old.of_box[j] if j is not None else np.zeros(0, np.int64)
        of_box.append([cell_index[cells[~dead[cells]]]] if len(cells) else [])
    owner_of = np.array([*owner, -1], dtype=np.int64)
    for k, i in enumerate(owner):
        if len(fresh.of_box[k]):
            of_box[i].append(fresh.of_box[k] + base)
    fresh_rows = np.column_stack([owner_of[fresh.box_hubs[:, 0]], fresh.box_hubs[:, 1] + n_hubs])
    box_hubs = np.concatenate([box_hubs, fresh_rows])
    box_hubs = box_hubs[np.lexsort((box_hubs[:, 1], box_hubs[:, 0]))]
    hub_cells = np.concatenate([hub_cells, fresh.hub_cells + np.array([n_hubs, base])])

    arrays = {}
    for name, emptied in (("supply", 0), ("slot", -1), ("first_day", _NEVER), ("last_day", -1)):
        values = getattr(old, name)
        mine = values[keep] if compact else np.where(dead, emptied, values)
        arrays[name] = np.concatenate([mine, getattr(fresh, name)]).astype(values.dtype)
    cells = Cells(
        **arrays,
        geo=np.concatenate([old.geo[keep], fresh.geo + len(old.geo_groups.slot)]).astype(np.int32),
        device=np.concatenate([old.device[keep], fresh.device + len(old.device_groups.slot)]).astype(np.int32),
        geo_groups=_joined(old.geo_groups, fresh.geo_groups),
        device_groups=_joined(old.device_groups, fresh.device_groups),
        of_box=[np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64) for parts in of_box],
        hub_cells=hub_cells,
        n_hubs=n_hubs + fresh.n_hubs,
        box_hubs=box_hubs,
    )
    if compact:  # the dropped cells' groups go with them
        cells.geo, cells.geo_groups = _used(cells.geo, cells.geo_groups)
        cells.device, cells.device_groups = _used(cells.device, cells.device_groups)
    return cells, keep


def _joined(old: Groups, fresh: Groups) -> Groups:
    """The old groups, then the new cells' (their values put in the old vocabulary)."""
    vocabulary = {word: n for n, word in enumerate(old.vocabulary)}
    words = np.array([vocabulary.setdefault(w, len(vocabulary)) for w in fresh.vocabulary] + [0], dtype=np.int32)
    return Groups(
        slot=np.concatenate([old.slot, fresh.slot]),
        start=np.concatenate([old.start, old.start[-1] + fresh.start[1:]]),
        code=np.concatenate([old.code, words[fresh.code]]).astype(np.int32),
        ppm=np.concatenate([old.ppm, fresh.ppm]),
        vocabulary=list(vocabulary),
    )


def _used(of_cell: np.ndarray, groups: Groups) -> tuple[np.ndarray, Groups]:
    """Only the groups some cell refers to, and the cells' groups renumbered."""
    used, of_cell = np.unique(of_cell, return_inverse=True)
    length = groups.start[used + 1] - groups.start[used]
    at = np.repeat(groups.start[used] - (np.cumsum(length) - length), length) + np.arange(int(length.sum()))
    kept = Groups(
        groups.slot[used], np.concatenate([[0], np.cumsum(length)]), groups.code[at], groups.ppm[at], groups.vocabulary
    )
    return of_cell.reshape(-1).astype(np.int32), kept


def _carry_over(old: BookedNetwork, cells: Cells, net: BookedNetwork) -> np.ndarray | None:
    """The old booked flow on the new network, where nothing was renumbered: what went through
    the kept hubs stays, what went into dropped cells is gone. Feasible, not maximum: the new
    network's max flow is solved on its residual graph. None when it cannot be carried over."""
    if len(old.direct) or len(net.direct):
        return None
    # Arc and node numbers are kept as int32: keys built from them need 64 bits.
    old = replace(old, hub_in=old.hub_in.astype(np.int64), hub_out=old.hub_out.astype(np.int64))
    net = replace(net, hub_in=net.hub_in.astype(np.int64), hub_out=net.hub_out.astype(np.int64))
    m = len(old.hub_out)
    if len(net.hub_out) < m or not np.array_equal(net.hub_out[:m, 1:], old.hub_out[:, 1:]):
        return None
    flow = np.zeros(net.n_arcs, dtype=np.int64)
    alive = cells.first_day <= cells.last_day
    flow[net.hub_out[:m, 0]] = np.where(alive[old.hub_out[:, 2]], old.flow[old.hub_out[:, 0]], 0)
    hub_alive = np.zeros(net.n_hubs, dtype=bool)
    hub_alive[net.hub_out[:, 1]] = alive[net.hub_out[:, 2]]
    # Line -> hub arcs, matched by (line id, hub) from the old network to the new.
    old_ids = [line.id for line in old.lines if not line.is_sponsorship]
    new_index = {line.id: i for i, line in enumerate(line for line in net.lines if not line.is_sponsorship)}
    new_of_old = np.array([new_index.get(i, -1) for i in old_ids] + [-1], dtype=np.int64)
    sender = new_of_old[old.hub_in[:, 1]]
    carry = (sender >= 0) & hub_alive[old.hub_in[:, 2]]
    width = max(net.n_hubs, 1)
    old_keys = sender[carry] * width + old.hub_in[carry, 2]
    order = np.argsort(old_keys)
    old_keys, old_flow = old_keys[order], old.flow[old.hub_in[carry, 0]][order]
    new_keys = net.hub_in[:, 1] * width + net.hub_in[:, 2]
    at = np.minimum(np.searchsorted(old_keys, new_keys), max(len(old_keys) - 1, 0))
    found = (old_keys[at] == new_keys) if len(old_keys) else np.zeros(len(new_keys), dtype=bool)
    flow[net.hub_in[found, 0]] = old_flow[at[found]]
    # Each line sends what its hub arcs carry; each cell passes on what its hubs bring.
    n_lines = len(new_index)
    sent = np.zeros(n_lines, dtype=np.int64)
    np.add.at(sent, net.hub_in[:, 1], flow[net.hub_in[:, 0]])
    flow[:n_lines] = sent
    into = np.zeros(net.n_cells, dtype=np.int64)
    np.add.at(into, net.hub_out[:, 2], flow[net.hub_out[:, 0]])
    flow[len(flow) - net.n_cells :] = into
    hub_in_total = np.zeros(net.n_hubs, dtype=np.int64)
    np.add.at(hub_in_total, net.hub_in[:, 2], flow[net.hub_in[:, 0]])
    hub_out_total = np.zeros(net.n_hubs, dtype=np.int64)
    np.add.at(hub_out_total, net.hub_out[:, 1], flow[net.hub_out[:, 0]])
    if not np.array_equal(hub_in_total, hub_out_total) or (flow > net.capacity).any():
        return None
    return flow
