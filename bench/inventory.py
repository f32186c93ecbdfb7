"""Availability on a synthetic publisher, the engine against the LP oracle, and booking throughput."""

from __future__ import annotations

import gc
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa

from app import create_app
from app.catalog.models import AdUnit
from app.db import utcnow
from app.extensions import db
from app.inventory.availability import availability_for
from app.inventory.models import ForecastDay, ForecastRun, Reservation, ReservationKind, TrafficShare
from app.inventory.reservations import NoLongerAvailable, reserve
from app.inventory.solver import Line, availability
from app.inventory.supply import Box
from bench.result import Result, p95

SITES, SECTIONS, SLOTS = 5, 2, 5  # 50 slots
GEOS, DEVICES, DAYS = 40, 3, 365
LINES, QUERIES = 5_000, 100
#: booked lines of the large-publisher rows (`*_50k`); smaller for a quick run
BENCH_LINES = int(os.environ.get("BENCH_LINES", "50000"))
MARGIN = 10


def _synthetic_publisher(
    url: str, seed: int = 7, *, lines: int = LINES
) -> tuple[date, list[int], list[str], list[str]]:
    """50 slots x 40 regions x 3 devices x 365 days, and `lines` booked lines of realistic targeting."""
    import flask_migrate

    rng = random.Random(seed)
    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": url})
    today = date(2027, 1, 4)
    with app.app_context():
        flask_migrate.upgrade()
        slots = []
        for s in range(SITES):
            site = AdUnit(level="site", code=f"site{s}", name=f"Site {s}", sizes=[], status="active")
            db.session.add(site)
            for c in range(SECTIONS):
                section = AdUnit(level="section", code=f"site{s}/sec{c}", name=f"Section {c}", sizes=[], parent=site)
                db.session.add(section)
                for n in range(SLOTS):
                    slot = AdUnit(
                        level="slot",
                        code=f"site{s}/sec{c}/slot{n}",
                        name=f"Slot {n}",
                        sizes=["300x250"],
                        parent=section,
                        status="active",
                    )
                    db.session.add(slot)
                    slots.append(slot)
        db.session.flush()
        geo = [f"g{i:02d}" for i in range(GEOS)]
        device = ["desktop", "mobile", "tablet"]
        forecast_rows, share_rows = [], []
        for slot in slots:
            base = rng.randint(20_000, 400_000)
            for d in range(DAYS):
                day = today + timedelta(days=d)
                weekly = (1.0, 1.02, 1.03, 1.01, 0.97, 0.85, 0.82)[day.weekday()]
                forecast_rows.append({"ad_unit_id": slot.id, "day": day, "impressions": int(base * weekly)})
            for dim, codes in (("geo", geo), ("device", device)):
                weights = [rng.random() + 0.2 for _ in codes]
                total = sum(weights)
                ppm = [int(w / total * 1_000_000) for w in weights]
                ppm[0] += 1_000_000 - sum(ppm)
                share_rows += [
                    {"ad_unit_id": slot.id, "dimension": dim, "value_code": c, "ppm": p}
                    for c, p in zip(codes, ppm, strict=True)
                ]
        db.session.execute(sa.insert(ForecastDay), forecast_rows)
        db.session.execute(sa.insert(TrafficShare), share_rows)
        db.session.add(
            ForecastRun(
                created_at=utcnow(),
                history_end=today - timedelta(days=1),
                first_day=today,
                last_day=today + timedelta(days=DAYS - 1),
                method="synthetic",
            )
        )
        slot_ids = [s.id for s in slots]
        rows = []
        for n in range(lines):
            rows.append(_random_line(rng, slot_ids, geo, device, today, n))
        for start in range(0, len(rows), 10_000):
            db.session.execute(sa.insert(Reservation), rows[start : start + 10_000])
        db.session.commit()
        db.engine.dispose()
    return today, slot_ids, geo, device


def _random_box(rng: random.Random, slot_ids, geo, device, today) -> Box:
    first = rng.randrange(len(slot_ids))
    section = first - first % SLOTS
    count = rng.choice((1, 1, 1, 2, 3))
    slots = tuple(sorted({slot_ids[section + (first + i) % SLOTS] for i in range(count)}))
    weeks = rng.randint(1, 12)
    start = today + timedelta(days=rng.randrange(0, DAYS - 7 * weeks))
    geo_pick = tuple(sorted(rng.sample(geo, rng.randint(1, 5)))) if rng.random() < 0.4 else ()
    device_pick = tuple(sorted(rng.sample(device, rng.randint(1, 2)))) if rng.random() < 0.3 else ()
    return Box(slots, start, start + timedelta(days=7 * weeks - 1), geo_pick, device_pick)


def _random_line(rng, slot_ids, geo, device, today, n) -> dict:
    now = utcnow()
    if n < 5:  # a few run-of-site sponsorships
        site = n % SITES
        slots = slot_ids[site * SECTIONS * SLOTS : (site + 1) * SECTIONS * SLOTS]
        start = today + timedelta(days=rng.randrange(0, DAYS - 28))
        return dict(
            kind="booking",
            label=f"Sponsor {n}",
            ad_unit_ids=slots,
            geo=[],
            device=[],
            start_day=start,
            end_day=start + timedelta(days=27),
            quantity=None,
            share=0.1,
            created_at=now,
            release_reason="",
        )
    box = _random_box(rng, slot_ids, geo, device, today)
    # About a sixth of a week's traffic of one slot in its targeting: the booked set stays feasible.
    quantity = rng.randint(2_000, 30_000) * max(1, box.days // 7)
    return dict(
        kind="booking",
        label=f"Line {n}",
        ad_unit_ids=list(box.slot_ids),
        geo=list(box.geo),
        device=list(box.device),
        start_day=box.start,
        end_day=box.end,
        quantity=quantity,
        share=None,
        created_at=now,
        release_reason="",
    )


def _hold(box: Box, today: date) -> None:
    reserve(
        ReservationKind.HOLD,
        box,
        label="bench",
        quantity=1_000,
        actor=None,
        now=utcnow(),
        today=today,
        margin_pct=MARGIN,
        hold_days=7,
    )


def _after_holds(rng: random.Random, slot_ids, geo, device, today: date, count: int) -> list[float]:
    """Milliseconds of the first request after each of `count` holds, on the hold's own box."""
    samples = []
    while len(samples) < count:
        box = _random_box(rng, slot_ids, geo, device, today)
        try:
            _hold(box, today)
        except NoLongerAvailable:  # a box sold out at larger scales: the hold is not made
            db.session.rollback()
            continue
        db.session.commit()
        start = time.perf_counter()
        availability_for(box, now=utcnow(), today=today, margin_pct=MARGIN)
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def bench_availability(tmp: Path) -> list[Result]:
    url = f"sqlite:///{tmp / 'inventory.sqlite'}"
    today, slot_ids, geo, device = _synthetic_publisher(url)
    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": url})
    rng = random.Random(11)
    samples, nodes = [], []
    with app.app_context():
        for _ in range(QUERIES):
            box = _random_box(rng, slot_ids, geo, device, today)
            start = time.perf_counter()
            answer = availability_for(box, now=utcnow(), today=today, margin_pct=MARGIN)
            samples.append((time.perf_counter() - start) * 1000)
            nodes.append(len(answer.contenders))
        after_change = _after_holds(rng, slot_ids, geo, device, today, 5)
        db.engine.dispose()
    print(
        f"  availability: median {statistics.median(samples):.1f} ms, first request (solves every cluster) "
        f"{samples[0]:.0f} ms, contenders median {statistics.median(nodes)}"
    )
    return [
        Result("availability_p95", p95(samples), "ms", 100, scale=f"{LINES} lines"),
        Result("availability_after_a_change", statistics.median(after_change), "ms", 0, scale=f"{LINES} lines"),
    ]


def _status_mb(field: str) -> float:
    """A figure of this process from /proc/self/status (VmRSS: resident now, VmHWM: its peak), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return 0.0


def availability_in_child(url: str, today: str, queries: str, holds: str, solutions: str = "") -> None:
    """Run in a fresh process: the first answer (solving every cluster, or reading them from the
    `solutions` folder when another process stored them there), then warm answers, then answers
    right after a hold; print the timings and this process's memory as JSON."""
    config = {"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": url}
    if solutions:
        config.update(INVENTORY_STORE_SOLUTIONS=True, INVENTORY_SOLUTION_DIR=solutions)
    app = create_app(config)
    day = date.fromisoformat(today)
    rng = random.Random(11)
    geo, device = [f"g{i:02d}" for i in range(GEOS)], ["desktop", "mobile", "tablet"]
    report: dict = {"loaded_mb": _status_mb("VmRSS")}
    with app.app_context():
        slot_ids = sorted(db.session.scalars(sa.select(AdUnit.id).where(AdUnit.level == "slot")))
        samples, cpu = [], []
        for _ in range(int(queries) + 1):
            box = _random_box(rng, slot_ids, geo, device, day)
            start, start_cpu = time.perf_counter(), time.process_time()
            availability_for(box, now=utcnow(), today=day, margin_pct=MARGIN)
            samples.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)
        report.update(
            cold_s=samples[0] / 1000,
            cold_cpu_s=cpu[0] / 1000,
            warm_p95_ms=p95(samples[1:]),
            warm_cpu_p95_ms=p95(cpu[1:]),
            rss_mb=_status_mb("VmRSS"),
            peak_mb=_status_mb("VmHWM"),
        )
        after = _after_holds(rng, slot_ids, geo, device, day, int(holds))
        report["after_hold_ms"] = statistics.median(after) if after else None
        db.engine.dispose()
    print(json.dumps(report))


def availability_fresh_process(
    url: str, today: date, *, queries: int = QUERIES, holds: int = 0, solutions: Path | None = None
) -> dict:
    """`availability_in_child` in a new interpreter, so its memory and first solve are its own."""
    code = "import sys; from bench.inventory import availability_in_child; availability_in_child(*sys.argv[1:])"
    done = subprocess.run(
        [sys.executable, "-c", code, url, today.isoformat(), str(queries), str(holds), str(solutions or "")],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise RuntimeError(f"the availability child failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_availability_large(tmp: Path) -> list[Result]:
    """A large publisher (BENCH_LINES booked lines): first answer, warm answers and memory of a
    process that starts, as a worker does, after another process solved the booked lines and stored
    them (the first solve ever, from nothing, is printed beside it)."""
    url = f"sqlite:///{tmp / 'inventory-large.sqlite'}"
    today, *_ = _synthetic_publisher(url, lines=BENCH_LINES)
    solutions = tmp / "solutions"
    first = availability_fresh_process(url, today, queries=2, solutions=solutions)
    report = availability_fresh_process(url, today, solutions=solutions)
    print(
        f"  availability at {BENCH_LINES} lines: solved from nothing and stored {first['cold_s']:.1f} s "
        f"({first['cold_cpu_s']:.1f} s CPU, resident {first['rss_mb']:.0f} MB); "
        f"a process that starts after it: first answer {report['cold_s']:.1f} s "
        f"({report['cold_cpu_s']:.1f} s CPU), warm p95 {report['warm_p95_ms']:.0f} ms "
        f"({report['warm_cpu_p95_ms']:.0f} ms CPU), resident {report['rss_mb']:.0f} MB "
        f"(peak {report['peak_mb']:.0f} MB, app loaded {report['loaded_mb']:.0f} MB)"
    )
    scale = f"{BENCH_LINES} lines"
    return [
        Result("availability_cold_50k", report["cold_s"], "s", 5, scale=scale),
        Result("availability_p95_50k", report["warm_p95_ms"], "ms", 100, scale=scale),
        Result("worker_rss_50k", report["rss_mb"], "MB", 600, scale=scale),
    ]


def bench_after_a_change(tmp: Path) -> list[Result]:
    """The first answer after a hold, in the hold's own cluster, at BENCH_LINES booked lines."""
    url = f"sqlite:///{tmp / 'after-a-change.sqlite'}"
    today, slot_ids, geo, device = _synthetic_publisher(url, lines=BENCH_LINES)
    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": url})
    rng = random.Random(13)
    with app.app_context():
        start = time.perf_counter()
        availability_for(_random_box(rng, slot_ids, geo, device, today), now=utcnow(), today=today, margin_pct=MARGIN)
        cold = time.perf_counter() - start
        samples = _after_holds(rng, slot_ids, geo, device, today, 20)
        db.engine.dispose()
    print(
        f"  after a change: first solve {cold:.1f} s, then median {statistics.median(samples):.0f} ms, "
        f"max {max(samples):.0f} ms"
    )
    return [Result("availability_after_a_change_50k", p95(samples), "ms", 150, scale=f"{BENCH_LINES} lines")]


def bench_engine_vs_lp() -> list[Result]:
    """500 lines on 3,000 atoms (a slot's days by region): the LP oracle's time over the engine's,
    every answer equal."""
    from tests.support.oracle import oracle_availability

    rng = random.Random(3)
    impressions = [rng.randint(1_000, 50_000) for _ in range(3_000)]
    lines = []
    for i in range(500):
        start = rng.randrange(0, 2_880)
        atoms = list(range(start, start + rng.randint(30, 120)))
        lines.append(Line(f"L{i}", atoms, quantity=rng.randint(10_000, 400_000)))
    engine_times, oracle_times = [], []
    for _ in range(5):
        start = rng.randrange(0, 2_880)
        query = list(range(start, start + rng.randint(30, 120)))
        gc.collect()  # neither side pays for garbage the other made
        t = time.perf_counter()
        answer = availability(impressions, lines, query)
        engine_times.append(time.perf_counter() - t)
        gc.collect()
        t = time.perf_counter()
        expected = oracle_availability(impressions, lines, query)
        oracle_times.append(time.perf_counter() - t)
        assert (answer.available, answer.shortfall) == expected, "engine and oracle disagree"
    ratio = statistics.median(oracle_times) / statistics.median(engine_times)
    return [Result("availability_vs_lp", ratio, "x", 100, higher_is_better=True, scale="500 lines, 3000 atoms")]


def bench_booking_throughput(tmp: Path) -> list[Result]:
    """Holds per second on PostgreSQL with availability re-checked, while other sessions read."""
    from tests.support.postgres import PostgresServer, find_bin_dir

    bin_dir = find_bin_dir()
    if bin_dir is None:
        print("  booking_throughput: no PostgreSQL binaries; skipped")
        return []
    server = PostgresServer(bin_dir).start()
    try:
        url = server.create_database("bench")
        today, slot_ids, geo, device = _synthetic_publisher(url, lines=BENCH_LINES)
        app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():  # warm, as a worker is when it starts serving
            availability_for(
                _random_box(random.Random(1), slot_ids, geo, device, today),
                now=utcnow(),
                today=today,
                margin_pct=MARGIN,
            )
            db.session.remove()
        stop = threading.Event()

        def reader() -> None:
            rng = random.Random(5)
            with app.app_context():
                while not stop.is_set():
                    availability_for(
                        _random_box(rng, slot_ids, geo, device, today), now=utcnow(), today=today, margin_pct=MARGIN
                    )
                db.session.remove()

        readers = [threading.Thread(target=reader) for _ in range(2)]
        for thread in readers:
            thread.start()
        rng = random.Random(9)
        made = 0
        start = time.perf_counter()
        with app.app_context():
            while time.perf_counter() - start < 20 and made < 200:
                box = _random_box(rng, slot_ids, geo, device, today)
                try:
                    _hold(box, today)
                    db.session.commit()
                    made += 1
                except NoLongerAvailable:
                    db.session.rollback()
            elapsed = time.perf_counter() - start
            stop.set()
            for thread in readers:
                thread.join()
            db.engine.dispose()
        return [
            Result(
                "booking_throughput", made / elapsed, "holds/s", 20, higher_is_better=True, scale=f"{BENCH_LINES} lines"
            )
        ]
    finally:
        server.stop()


def run(tmp: Path) -> list[Result]:
    # The comparison runs first, before the availability bench fills the process with its caches.
    return [
        *bench_engine_vs_lp(),
        *bench_availability(tmp),
        *bench_availability_large(tmp),
        *bench_after_a_change(tmp),
        *bench_booking_throughput(tmp),
    ]
