"""Revenue exports of a year of a large publisher: 1,000,000 rows (one per order line and month its
flight touches) to CSV and to XLSX, each in a fresh process, so its peak memory is the export's own;
and the finance page over that year and its month drill-down, through the WSGI app signed in as
finance, on the publisher's 4 January 2027 (January under way, so its rows are summed as read).

BENCH_FINANCE_ROWS scales the year down for a quick run (default 1,000,000).
"""

from __future__ import annotations

import json
import os
import random
import resource
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from bench.result import Result

ROWS = int(os.environ.get("BENCH_FINANCE_ROWS", "1000000"))
TODAY = date(2027, 1, 4)
FIRST_MONTH, LAST_MONTH = date(2027, 1, 1), date(2027, 12, 1)
#: distinct flights per number of months touched (1 to 6): many orders share a few hundred flights
FLIGHTS_PER_LENGTH = 50
#: how many months a line's flight touches, and how often
MONTHS_TOUCHED, MONTHS_WEIGHTS = (1, 2, 3, 4, 5, 6), (10, 20, 30, 20, 12, 8)
#: every DELIVERED_EVERY-th line has delivery on DELIVERY_DAYS days spread over its flight
DELIVERED_EVERY, DELIVERY_DAYS = 5, 6
BATCH = 20_000
#: (format, target in seconds)
EXPORTS = (("csv", 60), ("xlsx", 180))
#: the finance page's targets (ms) and how many timed requests each (the median is reported)
PAGE_TARGET_MS, PAGE_ROUNDS = 300, 7
PEAK_TARGET_MB = 300
ROOT = Path(__file__).resolve().parent.parent


def _config(database: Path) -> dict:
    return {"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}", "WTF_CSRF_ENABLED": False}


def _flights(rng: random.Random) -> dict[int, list[tuple[date, date]]]:
    """FLIGHTS_PER_LENGTH flights for each number of months touched, all inside the exported year."""
    from app.finance.revenue import month_end

    pool: dict[int, list[tuple[date, date]]] = {}
    for months in MONTHS_TOUCHED:
        flights = pool[months] = []
        for _ in range(FLIGHTS_PER_LENGTH):
            first = rng.randrange(0, 13 - months)
            last = first + months - 1
            start = date(2027, first + 1, rng.randint(1, 20 if months == 1 else 28))
            end_month = date(2027, last + 1, 1)
            end = date(2027, last + 1, rng.randint(start.day + 7 if months == 1 else 1, month_end(end_month).day))
            flights.append((start, end))
    return pool


def _insert(table, rows: list[dict]) -> None:
    import sqlalchemy as sa

    from app.extensions import db

    for start in range(0, len(rows), BATCH):
        db.session.execute(sa.insert(table), rows[start : start + BATCH])


def _synthetic_year(wanted: int, seed: int = 11) -> dict[str, int]:
    """Booked orders whose lines give `wanted` export rows in the exported year, with some delivery.

    Bulk Core inserts with explicit ids: no ORM objects, so a million rows' worth loads in seconds.
    Orders reuse the demo's proposals, advertisers, agencies and products.
    """
    import sqlalchemy as sa

    from app.accounts.models import Account
    from app.adserver.models import DeliveryDay
    from app.catalog.models import Product
    from app.extensions import db
    from app.orders.models import Order, OrderLine
    from app.proposals.models import Proposal, ProposalVersion

    rng = random.Random(seed)
    flights = _flights(rng)
    now = datetime(2027, 1, 4, 9, tzinfo=UTC)
    proposals = db.session.execute(
        sa.select(Proposal.id, sa.func.coalesce(sa.func.max(ProposalVersion.number), 0))
        .outerjoin(ProposalVersion, ProposalVersion.proposal_id == Proposal.id)
        .group_by(Proposal.id)
        .order_by(Proposal.id)
    ).all()
    versions = dict(proposals)
    accounts = db.session.execute(sa.select(Account.id, Account.kind, Account.currency, Account.agency_commission_pct))
    advertisers, agencies = [], []
    for account_id, kind, currency, commission_pct in accounts:
        (advertisers if kind == "advertiser" else agencies).append((account_id, currency, commission_pct))
    products = [p.id for p in db.session.scalars(sa.select(Product).order_by(Product.id)) if "cpm" in p.pricing_models]
    order_id = (db.session.scalar(sa.select(sa.func.max(Order.id))) or 0) + 1
    version_id = (db.session.scalar(sa.select(sa.func.max(ProposalVersion.id))) or 0) + 1
    line_id = (db.session.scalar(sa.select(sa.func.max(OrderLine.id))) or 0) + 1
    counts = {"orders": 0, "order_lines": 0, "delivery_days": 0, "rows": 0}
    orders, order_versions, lines, delivery = [], [], [], []

    def flush() -> None:
        # versions before orders before lines before delivery: each refers to the one before
        for table, batch in ((ProposalVersion, order_versions), (Order, orders), (OrderLine, lines)):
            _insert(table, batch)
            batch.clear()
        _insert(DeliveryDay, delivery)
        delivery.clear()

    remaining = wanted
    while remaining > 0:
        proposal_id = proposals[counts["orders"] % len(proposals)][0]
        versions[proposal_id] += 1
        advertiser_id, currency, _ = rng.choice(advertisers)
        agency_id, _, commission_pct = rng.choice(agencies) if agencies and rng.random() < 0.3 else (None, "", 0)
        order_gross = order_net = Decimal(0)
        for position in range(1, rng.randint(1, 20) + 1):
            months = min(rng.choices(MONTHS_TOUCHED, MONTHS_WEIGHTS)[0], remaining)
            start, end = rng.choice(flights[months])
            quantity = rng.randrange(100, 5_000) * 1_000
            net_rate = Decimal(rng.randrange(40_000, 250_000)) / 10_000
            gross = (net_rate * quantity / 1000).quantize(Decimal("0.01"))
            commission = (gross * Decimal(commission_pct) / 100).quantize(Decimal("0.01"))
            lines.append(
                {
                    "id": line_id,
                    "order_id": order_id,
                    "position": position,
                    "product_id": products[line_id % len(products)],
                    "pricing_model": "cpm",
                    "targeting": {},
                    "start_day": start,
                    "end_day": end,
                    "time_zone": "Europe/London",
                    "quantity": quantity,
                    "net_rate": net_rate,
                    "gross": gross,
                    "commission": commission,
                    "net": gross - commission,
                    "shortfall": 0,
                    "status": "active",
                    "billing_source": "ad_server",
                    "billing_cap": "contract",
                    "drift": [],
                }
            )
            if line_id % DELIVERED_EVERY == 0:
                span = (end - start).days + 1
                per_day = quantity // span
                for k in range(DELIVERY_DAYS):
                    impressions = int(per_day * (0.8 + 0.4 * rng.random()))
                    delivery.append(
                        {
                            "order_line_id": line_id,
                            "day": start + timedelta(days=k * span // DELIVERY_DAYS),
                            "impressions": impressions,
                            "clicks": impressions // 800,
                            "synced_at": now,
                        }
                    )
                counts["delivery_days"] += DELIVERY_DAYS
            order_gross += gross
            order_net += gross - commission
            line_id += 1
            counts["order_lines"] += 1
            remaining -= months
            if remaining == 0:
                break
        order_versions.append(
            {
                "id": version_id,
                "proposal_id": proposal_id,
                "number": versions[proposal_id],
                "snapshot": {},
                "created_at": now,
            }
        )
        orders.append(
            {
                "id": order_id,
                "number": f"O-2027-{order_id:06d}",
                "proposal_id": proposal_id,
                "version_id": version_id,
                "advertiser_id": advertiser_id,
                "agency_id": agency_id,
                "currency": currency,
                "status": "booked",
                "gross": order_gross,
                "net": order_net,
                "created_at": now,
                "revision": 1,
                "push_state": "pushed",
            }
        )
        order_id += 1
        version_id += 1
        counts["orders"] += 1
        if len(lines) >= BATCH:
            flush()
    flush()
    counts["rows"] = wanted
    return counts


def _database(tmp: Path) -> tuple[Path, int]:
    """The demo publisher plus a synthetic year of orders; the rows the year's export should have."""
    import flask_migrate

    from app import create_app
    from app.demo.load import load_demo
    from app.extensions import db
    from app.finance import maintained, queries

    database = tmp / "finance.sqlite"
    app = create_app(_config(database))
    with app.app_context():
        flask_migrate.upgrade()
        now = datetime(2027, 1, 4, 9, tzinfo=UTC)
        load_demo(today=TODAY, now=now, hash_method=app.config["PASSWORD_HASH_METHOD"])
        db.session.commit()
        # the demo's own order counts too: the synthetic year makes up the rest
        demo_rows = sum(1 for _ in queries.rows(FIRST_MONTH, LAST_MONTH, queries.Filters(), calendar="calendar"))
        counts = _synthetic_year(max(ROWS - demo_rows, 0))
        db.session.commit()
        # written around the app (Core inserts): the revenue kept for the finance page, afresh
        start = time.perf_counter()
        kept = maintained.rebuild(today=TODAY)
        db.session.commit()
        print(f"finance: revenue kept for the page rebuilt, {kept:,} rows, {time.perf_counter() - start:.1f} s")
    print(
        f"finance: {counts['orders']:,} orders, {counts['order_lines']:,} lines, "
        f"{counts['delivery_days']:,} delivery days; expecting {demo_rows + counts['rows']:,} rows",
        flush=True,
    )
    return database, demo_rows + counts["rows"]


def _peak_rss_kb() -> int:
    """This process's peak resident set (KB), from /proc/self/status (VmHWM).

    Not getrusage's ru_maxrss: Linux carries it across exec from the process that spawned us (the
    parent's resident set at fork, or its peak with vfork, which subprocess uses), so a child of
    a 400 MB runner would report 400 MB before doing anything. VmHWM starts afresh at exec.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # not Linux: the best there is


def export_in_child(fmt: str, database: str, path: str) -> None:
    """Run in a fresh process: build the app, export the year, print rows, seconds and peak RSS as JSON.

    Only the export call is timed; the peak RSS is the whole process's (app and imports included).
    """
    from app import create_app
    from app.finance import export, queries

    app = create_app(_config(Path(database)))
    with app.app_context():
        baseline_kb = _peak_rss_kb()
        start, cpu = time.perf_counter(), time.process_time()
        summary = export.write(
            fmt,
            queries.rows(FIRST_MONTH, LAST_MONTH, queries.Filters(), calendar="calendar"),
            Path(path),
            filters={},
        )
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    report = {
        "rows": summary.rows,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "peak_mb": _peak_rss_kb() / 1024,
        "baseline_mb": baseline_kb / 1024,
        "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "size_mb": summary.size_bytes / 1e6,
    }
    print(json.dumps(report))


def _export(fmt: str, database: Path, tmp: Path) -> dict:
    path = tmp / f"revenue.{fmt}"
    code = "import sys; from bench.finance import export_in_child; export_in_child(*sys.argv[1:])"
    done = subprocess.run(
        [sys.executable, "-c", code, fmt, str(database), str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    path.unlink(missing_ok=True)
    if done.returncode:
        raise RuntimeError(f"the {fmt} export failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _median_ms(client, url: str) -> float:
    """The median of PAGE_ROUNDS requests (after one to warm up), in ms."""
    samples = []
    for n in range(PAGE_ROUNDS + 1):
        start = time.perf_counter()
        response = client.get(url)
        if n:
            samples.append((time.perf_counter() - start) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")
    return sorted(samples)[len(samples) // 2]


def pages(database: Path) -> list[Result]:
    """The finance page over the year and the month drill-down (the month under way, summed as read,
    and a month ahead; its first and last page), signed in as finance; the slower drill-down counts."""
    from app import create_app
    from app.clock import FixedClock
    from app.extensions import install_settings
    from app.settings import Settings

    app = create_app(_config(database))
    settings = Settings.from_config(app.config)
    install_settings(app, settings, FixedClock(settings.time_zone, at=datetime(2027, 1, 4, 9, tzinfo=UTC)))
    client = app.test_client()
    client.post("/login", data={"email": "finance@harbour.example", "password": "flightdeck-demo"})
    year = _median_ms(client, "/finance/?from=2027-01&to=2027-12")
    months = {
        url: _median_ms(client, url)
        for url in ("/finance/months/2027-01", "/finance/months/2027-06", "/finance/months/2027-06?page=100000")
    }
    size = len(client.get("/finance/months/2027-01").data)
    print(
        f"finance: year page {year:.0f} ms; drill-down "
        + ", ".join(f"{url} {ms:.0f} ms" for url, ms in months.items())
        + f"; a drill-down page is {size / 1000:.0f} KB",
        flush=True,
    )
    scale = f"{ROWS} rows"
    return [
        Result(f"finance_year_page_{_size(ROWS)}", year, "ms", PAGE_TARGET_MS, scale=scale),
        Result(f"finance_month_page_{_size(ROWS)}", max(months.values()), "ms", PAGE_TARGET_MS, scale=scale),
    ]


def run(tmp: Path) -> list[Result]:
    start = time.perf_counter()
    database, expected = _database(tmp)
    print(f"finance: set-up {time.perf_counter() - start:.1f} s", flush=True)
    results, peaks = pages(database), []
    for fmt, target in EXPORTS:
        report = _export(fmt, database, tmp)
        print(
            f"finance: {fmt} {report['rows']:,} rows, {report['size_mb']:.0f} MB, {report['seconds']:.1f} s "
            f"({report['cpu_seconds']:.1f} s CPU), "
            f"peak RSS {report['peak_mb']:.0f} MB (app loaded: {report['baseline_mb']:.0f} MB; "
            f"ru_maxrss, inherited from this runner: {report['ru_maxrss_mb']:.0f} MB)",
            flush=True,
        )
        # a figure for the wrong number of rows would mislead: refuse it
        if abs(report["rows"] - expected) > max(expected // 1000, 10):
            raise RuntimeError(f"the {fmt} export has {report['rows']:,} rows, expected {expected:,}")
        results.append(Result(f"export_{fmt}_{_size(ROWS)}", report["seconds"], "s", target, scale=f"{ROWS} rows"))
        peaks.append(report["peak_mb"])
    results.append(Result("export_peak_mb", max(peaks), "MB", PEAK_TARGET_MB, scale=f"{ROWS} rows"))
    return results


def _size(rows: int) -> str:
    """1m for the real run; the exact count when scaled down, so a quick run is never mistaken for it."""
    return "1m" if rows == 1_000_000 else str(rows)
