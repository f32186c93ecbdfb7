"""Supply cells built with numpy are the cells of the first, loop-by-loop build, cell for cell."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.inventory.supply import PPM, Box, SlotSupply, build_cells
from tests.support.reference_cells import reference_cells

ORIGIN = date(2027, 1, 4)
GEO = ("de", "fr", "it", "nl", "zz")  # zz: a value no slot has traffic for
DEVICE = ("desktop", "mobile", "tablet")


def _shares(draw, codes):
    weights = draw(st.lists(st.integers(0, 5), min_size=len(codes), max_size=len(codes)))
    total = sum(weights) or 1
    ppm = [w * PPM // total for w in weights]
    ppm[0] += PPM - sum(ppm)
    return dict(zip(codes, ppm, strict=True))


@st.composite
def instances(draw):
    """A few slots with daily forecasts and shares, and boxes (some direct) crossing them."""
    days = draw(st.integers(1, 30))
    supply = {}
    for slot in range(1, draw(st.integers(1, 3)) + 1):
        forecast = np.array(draw(st.lists(st.integers(0, 10**6), min_size=days, max_size=days)), dtype=np.int64)
        geo = draw(st.lists(st.sampled_from(GEO[:4]), min_size=1, max_size=4, unique=True))
        device = draw(st.lists(st.sampled_from(DEVICE), min_size=1, max_size=3, unique=True))
        supply[slot] = SlotSupply(forecast * 9 // 10, forecast, _shares(draw, geo), _shares(draw, device))
    boxes = []
    for _ in range(draw(st.integers(1, 12))):
        start = draw(st.integers(0, days - 1))
        slots = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3, unique=True))  # slot 4: no supply
        boxes.append(
            Box(
                tuple(slots),
                ORIGIN + timedelta(days=start),
                ORIGIN + timedelta(days=draw(st.integers(start, days + 2))),
                tuple(draw(st.lists(st.sampled_from(GEO), max_size=3, unique=True))),
                tuple(draw(st.lists(st.sampled_from(DEVICE), max_size=2, unique=True))),
            )
        )
    direct = set(draw(st.lists(st.integers(0, len(boxes) - 1), max_size=3, unique=True)))
    return boxes, supply, direct


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_the_cells_are_those_of_the_reference_build(instance):
    boxes, supply, direct = instance
    cells = build_cells(boxes, supply, ORIGIN, direct=direct)
    expected = reference_cells(boxes, supply, ORIGIN, direct=direct)
    for name in ("supply", "slot", "first_day", "last_day"):
        assert getattr(cells, name).tolist() == getattr(expected, name).tolist(), name
    geo = [set(cells.geo_groups.codes(g)) for g in cells.geo]
    device = [set(cells.device_groups.codes(g)) for g in cells.device]
    assert geo == [set(codes) for codes in expected.geo]
    assert device == [set(codes) for codes in expected.device]
    assert [list(c) for c in cells.of_box] == [list(c) for c in expected.of_box]
    # Hubs may be shared differently; each box reaches the same cells through them.
    for i in range(len(boxes)):
        reached = {*expected.of_box[i], *(c for h in expected.hubs_of_box[i] for c in expected.hubs[h])}
        assert cells.cells_of(i).tolist() == sorted(reached)
    hub_cells = [cells.hub_cells[cells.hub_cells[:, 0] == h, 1] for h in range(cells.n_hubs)]
    assert all(len(np.unique(c)) == len(c) for c in hub_cells)
    assert len(np.unique(cells.box_hubs, axis=0)) == len(cells.box_hubs)


def test_a_groups_share_counts_only_the_values_asked_for():
    supply = {1: SlotSupply(np.full(7, 1000), np.full(7, 1000), {"de": 600_000, "fr": 400_000}, {"all": PPM})}
    box = Box((1,), ORIGIN, ORIGIN + timedelta(days=6))
    cells = build_cells([box], supply, ORIGIN, direct=set())
    assert cells.supply.tolist() == [7000]
    assert cells.geo_groups.shares(("fr",)).tolist() == [400_000]
    assert cells.geo_groups.shares(()).tolist() == [PPM]
