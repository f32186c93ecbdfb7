"""Clusters brought up to date after holds and releases answer exactly as clusters solved from nothing."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest

from app.inventory import booked
from app.inventory.availability import _line
from app.inventory.incremental import augment
from app.inventory.live import Held
from app.inventory.supply import PPM, Box, SlotSupply

TODAY = date(2027, 1, 4)
DAYS = 70
SLOTS = (1, 2, 3, 4, 5)
GEO = ("g0", "g1", "g2", "g3")
DEVICE = ("desktop", "mobile")


def _ppm(rng: random.Random, codes) -> dict[str, int]:
    weights = [rng.randint(1, 9) for _ in codes]
    ppm = {c: w * PPM // sum(weights) for c, w in zip(codes, weights, strict=True)}
    ppm[codes[0]] += PPM - sum(ppm.values())
    return ppm


def _forecast(seed: int):
    """Each slot's daily sellable forecast from TODAY, and its region and device shares."""
    rng = random.Random(seed)
    daily = {s: np.array([rng.randint(500, 5_000) for _ in range(DAYS + 30)], dtype=np.int64) for s in SLOTS}
    shares = {s: (_ppm(rng, GEO), _ppm(rng, DEVICE)) for s in SLOTS}

    def load_supply(slots, origin: date, last: date) -> dict[int, SlotSupply]:
        lo, hi = (origin - TODAY).days, (last - TODAY).days + 1
        return {
            s: SlotSupply(daily[s][lo:hi] * 9 // 10, daily[s][lo:hi], shares[s][0], shares[s][1]) for s in sorted(slots)
        }

    return load_supply


def _reservation(rng: random.Random, n: int) -> Held:
    first = rng.choice(SLOTS)
    # Two-slot lines stay within {1, 2} or {3, 4}: clusters mostly keep their shape.
    pair = tuple(sorted({first, first + 1 if first % 2 else first - 1}))
    slots = (first,) if first == 5 or rng.random() < 0.6 else pair
    start = TODAY + timedelta(days=rng.randrange(-5, DAYS - 10))
    end = start + timedelta(days=rng.randint(0, 25))
    geo = tuple(sorted(rng.sample(GEO, rng.randint(1, 3)))) if rng.random() < 0.5 else ()
    device = (rng.choice(DEVICE),) if rng.random() < 0.3 else ()
    sponsorship = rng.random() < 0.1
    if sponsorship:
        slots = tuple(sorted(rng.sample(SLOTS, rng.randint(1, 3))))
    return Held(
        id=n,
        kind="hold",
        label=f"R{n}",
        ad_unit_ids=slots,
        geo=geo,
        device=device,
        start_day=start,
        end_day=end,
        quantity=None if sponsorship else rng.randint(1_000, 60_000),
        share=Decimal(rng.choice(("0.1", "0.25", "0.5"))) if sponsorship else None,
        expires_at=datetime(2027, 2, 1),
    )


def _query(rng: random.Random) -> Box:
    slots = tuple(sorted(rng.sample(SLOTS, rng.randint(1, 2))))
    start = TODAY + timedelta(days=rng.randrange(0, DAYS - 5))
    end = start + timedelta(days=rng.randint(0, 30))
    geo = tuple(sorted(rng.sample(GEO, rng.randint(1, 2)))) if rng.random() < 0.4 else ()
    device = (rng.choice(DEVICE),) if rng.random() < 0.3 else ()
    return Box(slots, start, end, geo, device)


def _answer(clusters: list[booked.Cluster], box: Box) -> tuple[int, int, int]:
    """What the query can add to the clusters' booked flows, its supply in their cells, and their shortfall."""
    parts = [booked.parts_of(c, box) for c in clusters]
    added = augment(
        [c.network for c in clusters],
        np.concatenate([np.full(len(p.cells), k, dtype=np.int64) for k, p in enumerate(parts)] or [[]]),
        np.concatenate([p.cells for p in parts] or [[]]),
        np.concatenate([p.capacity for p in parts] or [[]]),
    )
    supply = sum(int(p.supply.sum()) for p in parts)
    return added.available, supply, sum(c.network.shortfall for c in clusters)


def _clusters(load_supply):
    """The solved clusters of a box's slots, kept in `store` (None: solved from nothing, kept nowhere)."""

    def clusters(live, box, store):
        return booked.clusters_for(
            box.slot_ids,
            live,
            today=TODAY,
            supply_key=("test",),
            store=store,
            load_supply=load_supply,
            line_of=lambda r, cells: _line(r, cells, TODAY),
        )

    return clusters


@pytest.mark.parametrize("seed", range(60))
def test_holds_and_releases_applied_to_solved_clusters_answer_as_a_solve_from_nothing(seed, monkeypatch):
    rng = random.Random(seed)
    load_supply = _forecast(seed)
    applied = []

    def counted(*args, **kwargs):
        applied.append(1)
        return booked.overlay_apply(*args, **kwargs)

    monkeypatch.setattr(booked, "overlay_apply", booked.apply_changes, raising=False)
    monkeypatch.setattr(booked, "apply_changes", counted)

    clusters = _clusters(load_supply)

    store = f"overlay-test-{seed}"
    booked._stores.pop(store, None)
    live = [_reservation(rng, n) for n in range(8)]
    next_id = len(live)
    for step in range(10):
        for _ in range(3):
            box = _query(rng)
            assert _answer(clusters(live, box, store), box) == _answer(clusters(live, box, None), box), (seed, step)
        if live and rng.random() < 0.4:
            for r in rng.sample(live, rng.randint(1, min(2, len(live)))):
                live.remove(r)
        else:
            for _ in range(rng.randint(1, 2)):
                live.append(_reservation(rng, next_id))
                next_id += 1
    booked._stores.pop(store, None)
    assert applied, "no change was applied to a solved cluster"


def test_a_change_is_applied_when_its_cluster_is_asked_for_and_costs_other_clusters_nothing(monkeypatch):
    """Holds on slot 5's cluster: answers on slot 1 apply nothing; the next answer on slot 5 applies
    both holds at once, and answers as a solve from nothing."""
    load_supply = _forecast(7)
    applied = []
    apply_changes = booked.apply_changes
    monkeypatch.setattr(booked, "apply_changes", lambda *a, **kw: applied.append(len(a[2])) or apply_changes(*a, **kw))

    clusters = _clusters(load_supply)

    def on(slot: int, n: int, start: int = 3) -> Held:
        return Held(
            n,
            "hold",
            f"R{n}",
            (slot,),
            (),
            (),
            TODAY + timedelta(days=start),
            TODAY + timedelta(days=20),
            20_000,
            None,
            datetime(2027, 2, 1),
        )

    store = "overlay-lazy"
    booked._stores.pop(store, None)
    live = [on(1, 1), on(5, 2)]
    here, there = Box((1,), TODAY, TODAY + timedelta(days=30)), Box((5,), TODAY, TODAY + timedelta(days=30))
    clusters(live, here, store)  # both clusters solved
    live += [on(5, 3, start=6), on(5, 4, start=9)]
    clusters(live, here, store)
    live.append(on(5, 5, start=12))
    assert _answer(clusters(live, here, store), here) == _answer(clusters(live, here, None), here)
    assert applied == []  # slot 1's answers paid nothing for slot 5's holds
    assert _answer(clusters(live, there, store), there) == _answer(clusters(live, there, None), there)
    assert applied == [3]  # the three holds, applied at once
    booked._stores.pop(store, None)
