"""Supply cells: the atoms of a set of boxes, merged where no box tells them apart.

An atom is (slot, geo value, device value, day). Enumerating atoms costs slots x regions x
devices x days per query, which is millions for a year of a large publisher. Instead, for each
slot, the days are cut only where some box on that slot starts or ends, and within each such
segment the geo and device values are grouped by which of the segment's boxes take them. Each
(slot, segment, geo group, device group) is one cell; no box can tell two atoms of a cell
apart, so the max-flow over cells equals the max-flow over atoms.

Supply is integer arithmetic: a segment's forecast times the group's geo share times its
device share, both in parts per million, rounded down once per cell.

Built with numpy a slot at a time (tens of thousands of boxes make millions of cells): which
boxes take a value on a segment is a signature, the sum of random 64-bit keys of the restricted
boxes that take it (values with equal signatures form one group, as `solver` merges atoms);
cells are the (geo group, device group) pairs of a segment that some box there takes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

PPM = 1_000_000
#: A flight (a box's days) lasts at most this many days.
MAX_FLIGHT_DAYS = 366
_NO_PAIRS = np.zeros((0, 2), dtype=np.int64)
#: Hubs: every cell of a segment, a geo group's cells (every device), a device group's cells (every
#: region), or one targeting's cells; direct boxes list their cells.
_ALL, _GEO, _DEVICE, _PATTERN, _DIRECT = 0, 1, 2, 3, -1


@dataclass(frozen=True)
class Box:
    """What a line covers: slots x geo values x device values x days (empty value lists: all)."""

    slot_ids: tuple[int, ...]
    start: date
    end: date
    geo: tuple[str, ...] = ()
    device: tuple[str, ...] = ()

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@dataclass
class SlotSupply:
    """One slot's forecast from `origin` on (after and before the safety margin) and its shares."""

    sellable: np.ndarray
    raw: np.ndarray
    geo_ppm: dict[str, int]
    device_ppm: dict[str, int]


@dataclass
class Groups:
    """The distinct (slot, values) groups of one dimension that cells refer to, as flat arrays."""

    slot: np.ndarray
    #: group g's values are code[start[g]:start[g + 1]] (indices into `vocabulary`), with their shares
    start: np.ndarray
    code: np.ndarray
    ppm: np.ndarray
    vocabulary: list[str]

    def codes(self, group: int) -> tuple[str, ...]:
        return tuple(self.vocabulary[c] for c in self.code[self.start[group] : self.start[group + 1]])

    def shares(self, wanted: tuple[str, ...]) -> np.ndarray:
        """Each group's share (ppm) of the values in `wanted` (empty: all of them)."""
        if not len(self.slot):
            return np.zeros(0, dtype=np.int64)
        ppm = self.ppm
        if wanted:
            taken = np.array([code in wanted for code in self.vocabulary], dtype=bool)
            ppm = np.where(taken[self.code], ppm, 0)
        return np.add.reduceat(ppm, self.start[:-1])


@dataclass
class Cells:
    supply: np.ndarray
    slot: np.ndarray
    first_day: np.ndarray  # ordinals
    last_day: np.ndarray
    #: each cell's geo and device values, as indices into `geo_groups` and `device_groups`
    geo: np.ndarray
    device: np.ndarray
    geo_groups: Groups
    device_groups: Groups
    #: cell indices of each input box listed as direct, in input order (empty for the others)
    of_box: list[np.ndarray]
    #: (hub, cell) rows, by hub then cell: a hub is cells of one slot and day segment that boxes
    #: share (see `_hubs`); None once the network is built from them
    hub_cells: np.ndarray | None
    n_hubs: int
    #: (box, hub) rows, by box then hub, for the input boxes that are not direct (None likewise)
    box_hubs: np.ndarray | None

    def cells_of(self, box_index: int) -> np.ndarray:
        """Every cell a box covers, direct or through its hubs."""
        hubs = self.box_hubs[self.box_hubs[:, 0] == box_index, 1]
        through = self.hub_cells[np.isin(self.hub_cells[:, 0], hubs), 1]
        return np.unique(np.concatenate([self.of_box[box_index], through]))


@dataclass
class _Dimension:
    """How one slot's values of a dimension group on each segment."""

    group: np.ndarray  # segments x values: the value's group, numbered by its first value
    count: np.ndarray  # groups per segment
    share: np.ndarray  # segments x groups: ppm
    key: np.ndarray  # segments x groups: a hash of the group's values
    codes: list[str]
    ppm: np.ndarray


def build_cells(boxes: list[Box], supply: dict[int, SlotSupply], origin: date, *, direct: set[int]) -> Cells:
    """Cells of `boxes`. Boxes in `direct` list their cells; the others reach theirs through hubs
    of a slot's day segment, shared by the boxes there that take the same cells (see `_hubs`)."""
    rng = np.random.default_rng(20_261_207)
    box_key = rng.integers(1, 2**63, size=max(len(boxes), 1), dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    targeting: dict[tuple, int] = {}
    for i, b in enumerate(boxes):
        if i not in direct:
            targeting.setdefault((b.geo, b.device), len(targeting))
    # Direct boxes are a targeting of their own each; the others share theirs.
    pattern = np.array(
        [len(targeting) + i if i in direct else targeting[(b.geo, b.device)] for i, b in enumerate(boxes)],
        dtype=np.int64,
    )
    values = [
        [geo for geo, _ in targeting] + [b.geo for b in boxes],
        [dev for _, dev in targeting] + [b.device for b in boxes],
    ]
    # How each targeting's boxes reach their cells (see _hubs).
    kinds = np.array(
        [(_ALL, _DEVICE)[bool(d)] if not g else (_GEO, _PATTERN)[bool(d)] for g, d in zip(*values, strict=True)],
        dtype=np.int64,
    )
    cover: dict[int, list[int]] = {}
    for i, box in enumerate(boxes):
        # A box that ended before it starts (a past flight counted from today) covers no cell.
        for slot in dict.fromkeys(box.slot_ids) if box.end >= box.start else ():
            if slot in supply:
                cover.setdefault(slot, []).append(i)
    starts = np.array([b.start.toordinal() for b in boxes], dtype=np.int64)
    ends = np.array([b.end.toordinal() for b in boxes], dtype=np.int64) + 1
    is_direct = np.zeros(len(boxes), dtype=bool)
    is_direct[list(direct)] = True
    tables = {"geo": _Table(), "device": _Table()}
    out: dict[str, list] = {k: [] for k in ("supply", "slot", "first", "last", "geo", "device")}
    hub_cells, box_hubs, direct_cells = [], [], []
    n_cells = n_hubs = 0
    for slot, member_list in cover.items():
        members = np.array(member_list, dtype=np.int64)
        bounds = np.unique(np.concatenate([starts[members], ends[members]]))
        lo, hi = np.searchsorted(bounds, starts[members]), np.searchsorted(bounds, ends[members])
        # (member, segment) for every segment each member covers
        lengths = hi - lo
        row = np.repeat(np.arange(len(members)), lengths)
        seg = lo[row] + np.arange(len(row)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        data = supply[slot]
        dims = [
            _dimension(ppm, [getattr(boxes[i], name) for i in member_list], lo, hi, len(bounds), box_key[members])
            for name, ppm in (("geo", data.geo_ppm), ("device", data.device_ppm))
        ]
        # Units: a segment and a targeting of shared boxes, or a direct box's segment.
        unit_key = seg * (len(targeting) + len(boxes)) + pattern[members[row]]
        order = np.lexsort((row, unit_key))
        first = np.ones(len(order), dtype=bool)
        first[1:] = unit_key[order][1:] != unit_key[order][:-1]
        unit_of_pair = np.empty(len(order), dtype=np.int64)
        unit_of_pair[order] = np.cumsum(first) - 1
        unit_row, unit_seg = row[order][first], seg[order][first]
        geo_dim, device_dim = dims
        unit_pattern = pattern[members[unit_row]]
        rows = [_unit_groups(d, unit_pattern, values[n], unit_seg) for n, d in enumerate(dims)]
        kind = np.where(is_direct[members[unit_row]], _DIRECT, kinds[unit_pattern])
        n_geo, n_device = max(len(geo_dim.codes), 1), max(len(device_dim.codes), 1)
        cell_keys, index, products = _slot_cells(unit_seg, kind, rows, dims, len(bounds) - 1, n_geo, n_device)
        index += n_cells
        shared = np.flatnonzero(~is_direct[members[row]])
        pair_hub, hub_pairs, count = _hubs(unit_of_pair[shared], unit_seg, kind, rows, products, index, dims)
        box_hubs.append(np.column_stack([members[row[shared[pair_hub[:, 0]]]], n_hubs + pair_hub[:, 1]]))
        hub_cells.append(np.column_stack([n_hubs + hub_pairs[:, 0], hub_pairs[:, 1]]))
        n_hubs += count
        mine = products[kind[products[:, 0]] == _DIRECT]
        cell_of = index[(unit_seg[mine[:, 0]] * n_geo + mine[:, 1]) * n_device + mine[:, 2]]
        direct_cells.append(np.column_stack([members[unit_row[mine[:, 0]]], cell_of]))
        k, rest = np.divmod(cell_keys, n_geo * n_device)
        a, b = np.divmod(rest, n_device)
        running = np.concatenate([[0], np.cumsum(data.sellable, dtype=np.int64)])
        seg_lo = np.clip(bounds[:-1] - origin.toordinal(), 0, len(data.sellable))
        seg_hi = np.clip(bounds[1:] - origin.toordinal(), 0, len(data.sellable))
        total = (running[seg_hi] - running[seg_lo])[k]
        out["supply"].append(total * geo_dim.share[k, a] // PPM * device_dim.share[k, b] // PPM)
        out["slot"].append(np.full(len(cell_keys), slot, dtype=np.int32))
        out["first"].append(bounds[k].astype(np.int32))
        out["last"].append((bounds[k + 1] - 1).astype(np.int32))
        out["geo"].append(tables["geo"].add(slot, geo_dim, k, a))
        out["device"].append(tables["device"].add(slot, device_dim, k, b))
        n_cells += len(cell_keys)
    joined = {name: (np.concatenate(parts) if parts else np.zeros(0, np.int64)) for name, parts in out.items()}
    hub_pairs = np.concatenate(hub_cells) if hub_cells else _NO_PAIRS
    direct_pairs = _sorted_pairs(direct_cells)
    split = np.searchsorted(direct_pairs[:, 0], np.arange(len(boxes) + 1))
    return Cells(
        supply=joined["supply"].astype(np.int64),
        slot=joined["slot"].astype(np.int32),
        first_day=joined["first"].astype(np.int32),
        last_day=joined["last"].astype(np.int32),
        geo=joined["geo"].astype(np.int32),
        device=joined["device"].astype(np.int32),
        geo_groups=tables["geo"].groups(),
        device_groups=tables["device"].groups(),
        of_box=[direct_pairs[split[i] : split[i + 1], 1] for i in range(len(boxes))],
        hub_cells=hub_pairs,
        n_hubs=n_hubs,
        box_hubs=_sorted_pairs(box_hubs),
    )


def _slot_cells(seg, kind, rows, dims, n_seg, n_geo, n_device) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A slot's cells: each (segment, geo group, device group) some unit takes, as keys; the cell
    index of each key; and the (unit, geo group, device group) rows of units with cells of their own."""
    geo_rows, device_rows = rows
    present = np.zeros((n_seg, n_geo, n_device), dtype=bool)
    present[seg[kind == _ALL]] = True
    g = geo_rows[kind[geo_rows[:, 0]] == _GEO]
    present[seg[g[:, 0]], g[:, 1], :] = True
    d = device_rows[kind[device_rows[:, 0]] == _DEVICE]
    present[seg[d[:, 0]], :, d[:, 1]] = True
    own = (kind == _PATTERN) | (kind == _DIRECT)
    products = _products(geo_rows[own[geo_rows[:, 0]]], device_rows[own[device_rows[:, 0]]], len(kind))
    present.reshape(-1)[(seg[products[:, 0]] * n_geo + products[:, 1]) * n_device + products[:, 2]] = True
    present &= (np.arange(n_geo) < dims[0].count[:, None])[:, :, None]
    present &= (np.arange(n_device) < dims[1].count[:, None])[:, None, :]
    flat = present.reshape(-1)
    return np.flatnonzero(flat), np.cumsum(flat) - 1, products


def _hubs(unit, seg, kind, rows, products, index, dims) -> tuple[np.ndarray, np.ndarray, int]:
    """One slot's hubs. `unit`: the unit of each (shared box, segment) pair. Returns (pair, hub)
    rows, a pair reaching one hub (a targeting's, or the segment's) or several (its geo or device
    groups'), (hub, cell) rows, hub by hub and by cell within a hub, and how many hubs there are."""
    n_units = len(kind)
    n_geo, n_device = dims[0].group.shape[1] or 1, dims[1].group.shape[1] or 1
    starts = [np.searchsorted(r[:, 0], np.arange(n_units)) for r in rows]
    counts = [np.bincount(r[:, 0], minlength=n_units) for r in rows]
    k = kind[unit]
    count = np.where(k == _GEO, counts[0][unit], np.where(k == _DEVICE, counts[1][unit], 1))
    pair = np.repeat(np.arange(len(unit)), count)
    within = np.arange(len(pair)) - np.repeat(np.cumsum(count) - count, count)
    u, k = unit[pair], k[pair]
    which = np.zeros(len(pair), dtype=np.int64)
    for n, wanted in enumerate((_GEO, _DEVICE)):
        m = k == wanted
        which[m] = rows[n][starts[n][u[m]] + within[m], 1]
    which[k == _PATTERN] = u[k == _PATTERN]
    width = max(n_geo, n_device, n_units)
    keys, hub_of = np.unique((seg[u] * 4 + k) * width + which, return_inverse=True)
    h_seg, h_kind, h_which = keys // (4 * width), keys // width % 4, keys % width
    n_g, n_d = dims[0].count[h_seg], dims[1].count[h_seg]
    p_start = np.searchsorted(products[:, 0], np.arange(n_units))
    p_count = np.bincount(products[:, 0], minlength=n_units)
    by_kind = [h_kind == _ALL, h_kind == _GEO, h_kind == _DEVICE]
    size = np.select(by_kind, [n_g * n_d, n_d, n_g], p_count[np.minimum(h_which, max(n_units - 1, 0))])
    hub = np.repeat(np.arange(len(keys)), size)
    at = np.arange(len(hub)) - np.repeat(np.cumsum(size) - size, size)
    hk, hw, hd = h_kind[hub], h_which[hub], np.maximum(n_d[hub], 1)
    by_kind = [hk == _ALL, hk == _GEO, hk == _DEVICE]
    a = np.select(by_kind, [at // hd, hw, at], 0)
    b = np.select(by_kind, [at % hd, at, hw], 0)
    own = hk == _PATTERN
    taken = p_start[hw[own]] + at[own]
    a[own], b[own] = products[taken, 1], products[taken, 2]
    cell = index[(h_seg[hub] * n_geo + a) * n_device + b]
    return np.column_stack([pair, hub_of.reshape(-1)]), np.column_stack([hub, cell]), len(keys)


def _sorted_pairs(chunks: list[np.ndarray]) -> np.ndarray:
    """(a, b) rows of every chunk, by a then b."""
    if not chunks:
        return _NO_PAIRS
    pairs = np.concatenate(chunks).astype(np.int64, copy=False).reshape(-1, 2)
    if not len(pairs):
        return pairs
    width = int(pairs[:, 1].max()) + 1
    return pairs[np.argsort(pairs[:, 0] * width + pairs[:, 1])]


def _dimension(
    ppm: dict[str, int], chosen: list[tuple[str, ...]], lo: np.ndarray, hi: np.ndarray, n_bounds: int, keys
) -> _Dimension:
    """Group the values on each segment by the signature of the restricted boxes that take them."""
    codes = list(ppm)
    position = {code: i for i, code in enumerate(codes)}
    n_seg, n_codes = n_bounds - 1, len(codes)
    pairs = [(j, position[c]) for j, wanted in enumerate(chosen) if wanted for c in set(wanted) if c in position]
    change = np.zeros((n_bounds, n_codes), dtype=np.uint64)
    if pairs:
        j, c = np.array(pairs, dtype=np.int64).T
        np.add.at(change, (lo[j], c), keys[j])
        np.subtract.at(change, (hi[j], c), keys[j])
    signature = np.cumsum(change, axis=0, dtype=np.uint64)[:n_seg]
    # Each value's group: the first value with its signature, numbered in the order of first values.
    order = np.argsort(signature, axis=1, kind="stable")
    ordered = np.take_along_axis(signature, order, axis=1)
    run_start = np.ones(ordered.shape, dtype=bool)
    run_start[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    at = np.maximum.accumulate(np.where(run_start, np.arange(n_codes), 0), axis=1)
    first_value = np.empty_like(order)
    np.put_along_axis(first_value, order, np.take_along_axis(order, at, axis=1), axis=1)
    is_first = first_value == np.arange(n_codes)
    group = np.take_along_axis(np.cumsum(is_first, axis=1) - 1, first_value, axis=1)
    value_ppm = np.array([ppm[c] for c in codes], dtype=np.int64)
    rows = np.repeat(np.arange(n_seg), n_codes)
    share = np.zeros((n_seg, max(n_codes, 1)), dtype=np.int64)
    np.add.at(share, (rows, group.ravel()), np.tile(value_ppm, n_seg))
    value_key = np.random.default_rng(n_codes).integers(1, 2**63, size=n_codes, dtype=np.uint64)
    key = np.zeros((n_seg, max(n_codes, 1)), dtype=np.uint64)
    np.add.at(key, (rows, group.ravel()), np.tile(value_key, n_seg))
    return _Dimension(group, is_first.sum(axis=1), share, key, codes, value_ppm)


def _unit_groups(d: _Dimension, unit_pattern: np.ndarray, values: list[tuple[str, ...]], seg: np.ndarray) -> np.ndarray:
    """(unit, group) rows, by unit then group: the groups each unit takes on its segment."""
    position = {code: i for i, code in enumerate(d.codes)}
    patterns, of_unit = np.unique(unit_pattern, return_inverse=True)
    of_unit = of_unit.reshape(-1)
    taken = [
        sorted({position[c] for c in values[p] if c in position}) if values[p] else None for p in patterns.tolist()
    ]
    everything = np.array([t is None for t in taken], dtype=bool)
    length = np.array([0 if t is None else len(t) for t in taken], dtype=np.int64)
    flat = np.array([c for t in taken if t for c in t], dtype=np.int64)
    start = np.cumsum(length) - length
    # Restricted units: the groups of their values; the others: every group of their segment.
    count = length[of_unit]
    unit = np.repeat(np.arange(len(of_unit)), count)
    value = flat[start[of_unit][unit] + np.arange(len(unit)) - np.repeat(np.cumsum(count) - count, count)]
    free = np.flatnonzero(everything[of_unit])
    groups = d.count[seg[free]]
    free_unit = np.repeat(free, groups)
    free_group = np.arange(len(free_unit)) - np.repeat(np.cumsum(groups) - groups, groups)
    width = max(len(d.codes), 1)
    present = np.zeros(len(of_unit) * width, dtype=bool)
    present[unit * width + d.group[seg[unit], value]] = True
    present[free_unit * width + free_group] = True
    found = np.flatnonzero(present)
    return np.column_stack([found // width, found % width])


def _products(geo: np.ndarray, device: np.ndarray, units: int) -> np.ndarray:
    """(unit, geo group, device group) rows: each unit's geo groups times its device groups."""
    device_start = np.searchsorted(device[:, 0], np.arange(units))
    device_count = np.bincount(device[:, 0], minlength=units)
    repeat = device_count[geo[:, 0]]
    row = np.repeat(np.arange(len(geo)), repeat)
    within = np.arange(len(row)) - np.repeat(np.cumsum(repeat) - repeat, repeat)
    unit = geo[row, 0]
    return np.column_stack([unit, geo[row, 1], device[device_start[unit] + within, 1]])


class _Table:
    """The distinct (slot, values) groups of one dimension, found by the hash of their values."""

    def __init__(self) -> None:
        self.slot: list[np.ndarray] = []
        self.length: list[np.ndarray] = []
        self.code: list[np.ndarray] = []
        self.ppm: list[np.ndarray] = []
        self.vocabulary: dict[str, int] = {}
        self.size = 0

    def add(self, slot: int, d: _Dimension, segment: np.ndarray, group: np.ndarray) -> np.ndarray:
        """The groups of one slot's cells (segment, group) as indices into the table."""
        _, first, inverse = np.unique(d.key[segment, group], return_index=True, return_inverse=True)
        members = d.group[segment[first]] == group[first][:, None]
        _, value = np.nonzero(members)
        words = np.array([self.vocabulary.setdefault(c, len(self.vocabulary)) for c in d.codes], dtype=np.int32)
        self.slot.append(np.full(len(first), slot, dtype=np.int64))
        self.length.append(members.sum(axis=1))
        self.code.append(words[value])
        self.ppm.append(d.ppm[value])
        ids = self.size + inverse.reshape(-1)
        self.size += len(first)
        return ids

    def groups(self) -> Groups:
        def joined(parts: list[np.ndarray], dtype) -> np.ndarray:
            return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)

        return Groups(
            slot=joined(self.slot, np.int64),
            start=np.concatenate([[0], np.cumsum(joined(self.length, np.int64))]),
            code=joined(self.code, np.int32),
            ppm=joined(self.ppm, np.int64),
            vocabulary=list(self.vocabulary),
        )
