"""The cells as they were first built, one Python loop per segment and group: the reference that
`app.inventory.supply.build_cells` (numpy, a slot at a time) must agree with cell for cell."""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

import numpy as np

from app.inventory.supply import PPM, Box, SlotSupply


@dataclass
class ReferenceCells:
    supply: np.ndarray
    raw: np.ndarray
    slot: np.ndarray
    first_day: np.ndarray
    last_day: np.ndarray
    geo: list[tuple[str, ...]]
    device: list[tuple[str, ...]]
    of_box: list[np.ndarray]
    hubs: list[np.ndarray]
    hubs_of_box: list[list[int]]


def reference_cells(
    boxes: list[Box], supply: dict[int, SlotSupply], origin: date, *, direct: set[int]
) -> ReferenceCells:
    """Cells of `boxes`. Boxes in `direct` list their cells; the others reach theirs through hubs,
    one per slot, day segment and targeting, shared by every box with that targeting there."""
    cover: dict[int, list[int]] = defaultdict(list)
    for i, box in enumerate(boxes):
        for slot in box.slot_ids:
            if slot in supply:
                cover[slot].append(i)
    starts = [b.start.toordinal() for b in boxes]
    ends = [b.end.toordinal() for b in boxes]
    geo_sets = [set(b.geo) for b in boxes]
    device_sets = [set(b.device) for b in boxes]
    pattern = [(b.geo, b.device) for b in boxes]
    base = origin.toordinal()
    cache: dict = {}
    out_supply, out_raw, out_slot, out_first, out_last, out_geo, out_device = [], [], [], [], [], [], []
    of_box: list[list[int]] = [[] for _ in boxes]
    hubs: list[list[int]] = []
    hubs_of_box: list[list[int]] = [[] for _ in boxes]
    for slot, members in cover.items():
        data = supply[slot]
        sellable = np.concatenate([[0], np.cumsum(data.sellable)])
        raw = np.concatenate([[0], np.cumsum(data.raw)])
        horizon = len(data.sellable)
        bounds = sorted({starts[i] for i in members} | {ends[i] + 1 for i in members})
        for a, b in itertools.pairwise(bounds):
            active = [i for i in members if starts[i] <= a and ends[i] >= b - 1]
            if not active:
                continue
            lo, hi = min(max(a - base, 0), horizon), min(max(b - base, 0), horizon)
            seg_sellable, seg_raw = int(sellable[hi] - sellable[lo]), int(raw[hi] - raw[lo])
            geo_groups = _groups(data.geo_ppm, active, geo_sets, cache, (slot, "geo"))
            device_groups = _groups(data.device_ppm, active, device_sets, cache, (slot, "device"))
            # One hub per targeting among the shared boxes; a representative box stands for it.
            shared: dict[tuple, int] = {}
            for i in active:
                if i not in direct:
                    if pattern[i] not in shared:
                        shared[pattern[i]] = i
                        hubs.append([])
                    hubs_of_box[i].append(
                        len(hubs) - 1 if shared[pattern[i]] == i else _hub_of(hubs_of_box, shared[pattern[i]])
                    )
            hub_of_pattern = {p: _hub_of(hubs_of_box, rep) for p, rep in shared.items()}
            direct_active = [i for i in active if i in direct]
            for geo_members, geo_codes, geo_share in geo_groups:
                for device_members, device_codes, device_share in device_groups:
                    takers = geo_members & device_members
                    if not takers:
                        continue
                    cell = len(out_supply)
                    out_supply.append(seg_sellable * geo_share // PPM * device_share // PPM)
                    out_raw.append(seg_raw * geo_share // PPM * device_share // PPM)
                    out_slot.append(slot)
                    out_first.append(a)
                    out_last.append(b - 1)
                    out_geo.append(geo_codes)
                    out_device.append(device_codes)
                    for i in direct_active:
                        if i in takers:
                            of_box[i].append(cell)
                    for p, rep in shared.items():
                        if rep in takers:
                            hubs[hub_of_pattern[p]].append(cell)
    return ReferenceCells(
        supply=np.array(out_supply, dtype=np.int64),
        raw=np.array(out_raw, dtype=np.int64),
        slot=np.array(out_slot, dtype=np.int64),
        first_day=np.array(out_first, dtype=np.int64),
        last_day=np.array(out_last, dtype=np.int64),
        geo=out_geo,
        device=out_device,
        of_box=[np.array(cells, dtype=np.int64) for cells in of_box],
        hubs=[np.array(cells, dtype=np.int64) for cells in hubs],
        hubs_of_box=hubs_of_box,
    )


def _hub_of(hubs_of_box: list[list[int]], representative: int) -> int:
    """The hub the representative box joined last: the one of the current segment."""
    return hubs_of_box[representative][-1]


def _groups(
    ppm: dict[str, int], active: list[int], chosen: list[set[str]], cache: dict, where: tuple
) -> list[tuple[frozenset, tuple, int]]:
    """Values grouped by the set of active boxes that take them, with their summed share.

    Boxes that take every value join every group; how the restricted ones split the values is
    the same wherever the same restricted boxes meet on a slot, so it is worked out once.
    """
    restricted = tuple(i for i in active if chosen[i])
    everyone = frozenset(i for i in active if not chosen[i])
    if not restricted:
        return [(everyone, tuple(sorted(ppm)), sum(ppm.values()))]
    key = (*where, restricted)
    parts = cache.get(key)
    if parts is None:
        grouped: dict[frozenset, list[str]] = defaultdict(list)
        for code in ppm:
            grouped[frozenset(i for i in restricted if code in chosen[i])].append(code)
        parts = [(members, tuple(sorted(codes)), sum(ppm[c] for c in codes)) for members, codes in grouped.items()]
        cache[key] = parts
    return [(everyone | members, codes, share) for members, codes, share in parts]
