"""HTTP under load: gunicorn (4 workers, production settings) on a PostgreSQL server the bench starts,
and 25 Locust users who sign in and browse a realistic mix of pages, all on loopback.

The users (bench/locustfiles/flightdeck.py) are reps, sales managers and finance; each signs in once,
then asks for pages without pausing (BENCH_HTTP_WAIT seconds between pages, default 0), so the figure
is the server at saturation on this machine. The p95 counts the requests after the first
BENCH_HTTP_WARMUP seconds (sign-ins with scrypt, each worker's first solve); errors count over the whole
run, and any error fails the row. CPU-ms per request is the gunicorn processes' CPU time (master and
workers, from /proc) over the run, divided by every request of the run.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa

from app import create_app
from app.extensions import db
from bench.result import Result, p95

ROOT = Path(__file__).resolve().parent.parent
LOCUSTFILE = Path(__file__).resolve().parent / "locustfiles" / "flightdeck.py"
USERS, WORKERS = 25, 4
SECONDS = int(os.environ.get("BENCH_HTTP_SECONDS", "60"))
WARMUP = int(os.environ.get("BENCH_HTTP_WARMUP", "10"))
WAIT = os.environ.get("BENCH_HTTP_WAIT", "0")
EXTRA_ACCOUNTS = 500
TICKS = os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _targets(url: str) -> dict:
    """What the users ask for: each rep's own proposals, availability and quotes for real products and cards."""
    from app.auth.models import User
    from app.catalog.models import Product
    from app.extensions import current_clock
    from app.proposals.models import Proposal
    from app.ratecards.models import RateCard

    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        today = current_clock().today()
        products = db.session.scalars(
            sa.select(Product.id).where(Product.name.in_(("Sport Display", "News Display", "Football Pre-roll")))
        ).all()
        card = db.session.scalar(sa.select(RateCard.id).where(RateCard.name == f"Standard {today.year + 1}"))
        live = sa.select(User.email, Proposal.id).join(User, User.id == Proposal.owner_id)
        owned = db.session.execute(live.where(Proposal.deleted_at.is_(None))).all()
        db.engine.dispose()
    availability, quotes = [], []
    for weeks in (4, 9, 16):
        start = today + timedelta(days=7 - today.weekday(), weeks=weeks)
        end = start + timedelta(days=13)
        for product in products:
            availability.append(f"product={product}&start={start}&end={end}&quantity=100000")
    for product in products:
        for geo in ("", "&geo=london"):
            quotes.append(
                f"product={product}&rate_card={card}&pricing_model=cpm&start={today.year + 1}-02-01"
                f"&end={today.year + 1}-02-14&quantity=500000{geo}"
            )
    searches = [quote(q) for q in ("advertiser 01", "harbour", "bench advertiser 004", "a")]
    proposals: dict[str, list[int]] = {}
    for email, proposal in owned:
        proposals.setdefault(email, []).append(proposal)
    return {"proposals": proposals, "availability": availability, "quotes": quotes, "account_searches": searches}


def _gunicorn(url: str, port: int, log: Path) -> subprocess.Popen:
    """gunicorn as the README's production recipe starts it, without TLS (SESSION_COOKIE_SECURE=0)."""
    env = {
        **os.environ,
        "FLIGHTDECK_ENV": "production",
        "SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": url,
        "SESSION_COOKIE_SECURE": "0",
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    command = [sys.executable, "-m", "gunicorn", "--workers", str(WORKERS), "--timeout", "120"]
    command += ["--bind", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"]
    with log.open("w") as out:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {log.read_text()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
                if answer.status == 200 and len(_children(server.pid)) == WORKERS:
                    return server
        except OSError:
            pass
        time.sleep(0.2)
    server.terminate()
    raise RuntimeError(f"gunicorn did not answer within 60 s: {log.read_text()}")


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time of gunicorn's master and its workers (fields 14 and 15 of /proc/PID/stat)."""
    total = 0
    for process in (pid, *_children(pid)):
        try:
            fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / TICKS


def _locust(port: int, targets: dict, tmp: Path) -> list[dict]:
    samples = tmp / "http-samples.jsonl"
    env = {
        **os.environ,
        "FLIGHTDECK_BENCH_TARGETS": json.dumps(targets),
        "FLIGHTDECK_BENCH_SAMPLES": str(samples),
        "FLIGHTDECK_BENCH_WAIT": WAIT,
    }
    command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--only-summary"]
    command += ["--users", str(USERS), "--spawn-rate", str(USERS), "--run-time", f"{SECONDS}s"]
    command += ["--host", f"http://127.0.0.1:{port}", "--stop-timeout", "30", "--loglevel", "WARNING"]
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=SECONDS + 120)
    if not samples.exists():
        raise RuntimeError(f"locust wrote no samples (exit {run.returncode}): {run.stderr[-3000:]}")
    return [json.loads(line) for line in samples.read_text().splitlines()]


def _stop(server: subprocess.Popen) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def run(tmp: Path) -> list[Result]:
    from bench.pages import load_demo_publisher
    from tests.support.postgres import PostgresServer, find_bin_dir

    bin_dir = find_bin_dir()
    if bin_dir is None:
        print("  http: no PostgreSQL binaries; skipped")
        return []
    server = PostgresServer(bin_dir).start()
    gunicorn = None
    try:
        url = server.create_database("bench_http")
        app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": url})
        load_demo_publisher(app, extra_accounts=EXTRA_ACCOUNTS, hash_method="scrypt")
        with app.app_context():
            db.engine.dispose()
        targets = _targets(url)
        port = _free_port()
        gunicorn = _gunicorn(url, port, tmp / "gunicorn.log")
        cpu_before = _cpu_seconds(gunicorn.pid)
        samples = _locust(port, targets, tmp)
        cpu = _cpu_seconds(gunicorn.pid) - cpu_before
    finally:
        if gunicorn is not None:
            _stop(gunicorn)
        server.stop()
    return _results(samples, cpu)


def _results(samples: list[dict], cpu: float) -> list[Result]:
    errors = [s for s in samples if s["error"]]
    first = min(s["start"] for s in samples)
    measured = [s for s in samples if s["start"] >= first + WARMUP and not s["error"]]
    window = max(s["start"] for s in measured) - min(s["start"] for s in measured)
    scale = f"{USERS} users, {WORKERS} workers"
    by_name: dict[str, list[float]] = {}
    for s in measured:
        by_name.setdefault(s["name"], []).append(s["ms"])
    for name, times in sorted(by_name.items()):
        print(f"  http: {name:18} {len(times):6} requests  p95 {p95(times) if len(times) > 1 else times[0]:7.1f} ms")
    for error in errors[:10]:
        print(f"  http: ERROR {error['name']}: {error['error']}")
    p95_ms = p95([s["ms"] for s in measured])
    return [
        Result("http_p95_25_users", p95_ms, "ms", 300, scale=scale),
        Result("http_errors_25_users", len(errors), "errors", 0.5, scale=scale),
        Result("http_throughput_25_users", len(measured) / window, "req/s", 0, higher_is_better=True, scale=scale),
        Result("http_cpu_ms_per_request", cpu * 1000 / len(samples), "CPU-ms", 0, scale=scale),
    ]
