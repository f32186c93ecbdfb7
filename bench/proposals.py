"""The proposal builder on the demo publisher (one line's update; the page with 100 lines), and
PDF rendering of a version snapshot of 50 and of 500 lines."""

from __future__ import annotations

import random
import statistics
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from app import create_app
from app.proposals.pdf import render_pdf
from bench.result import Result

PRODUCTS = ["Run of site display", "Homepage takeover", "Sport section MPU", "Video pre-roll", "Newsletter"]
TARGETING = ["Run of product", "Geography: London; Device: Mobile", "Section: Sport, Business; Device: Desktop"]
#: (lines, renders, target in seconds for the median)
CASES = [(50, 5, 2), (500, 3, 20)]


def _line(rng: random.Random, position: int, first: date) -> dict:
    start = first + timedelta(days=rng.randrange(0, 60))
    impressions = rng.randrange(100, 5_000) * 1_000
    net_rate = Decimal(rng.randrange(400, 2_500)) / 100
    gross = (net_rate * impressions / 1000).quantize(Decimal("0.01"))
    rate = str(net_rate)
    steps = [
        {"key": "base", "label": "Base rate", "detail": "from the rate card", "amount": rate, "rate": rate},
        {"key": "list", "label": "List rate", "detail": "", "amount": "0", "rate": rate},
        {"key": "net", "label": "Net rate", "detail": "", "amount": "0", "rate": rate},
    ]
    return {
        "position": position,
        "product": {"id": position % len(PRODUCTS), "name": PRODUCTS[position % len(PRODUCTS)], "category": "Display"},
        "pricing_model": "cpm",
        "targeting_words": rng.choice(TARGETING),
        "start": start.isoformat(),
        "end": (start + timedelta(days=rng.randrange(6, 60))).isoformat(),
        "time_zone": "Europe/London",
        "units": impressions,
        "quantity": impressions,
        "budget": None,
        "discount_pct": "0.00",
        "list_rate": rate,
        "net_rate": rate,
        "gross": str(gross),
        "commission": "0.00",
        "net": str(gross),
        "available": impressions * 2,
        "problems": [],
        "price": {"steps": steps, "floor": None},
    }


def synthetic_snapshot(lines: int, seed: int = 5) -> dict:
    rng = random.Random(seed)
    first, last = date(2027, 2, 1), date(2027, 5, 31)
    rows = [_line(rng, i, first) for i in range(1, lines + 1)]
    gross = sum((Decimal(row["gross"]) for row in rows), Decimal("0.00"))
    impressions = sum(row["units"] for row in rows)
    return {
        "number": "P-2027-0100",
        "version": 1,
        "created_at": "2027-01-04T09:00:00+00:00",
        "campaign_name": "Spring launch",
        "status": "submitted",
        "advertiser": {"id": 1, "name": "Northwind Traders", "billing_address": "", "billing_country": "GB"},
        "agency": None,
        "buyer": {"name": "Alex Buyer", "email": "alex@northwind.example", "title": "Media manager"},
        "rep": {"name": "Rita Rep", "email": "rep@harbour.example"},
        "currency": "GBP",
        "rate_card": {"id": 1, "name": "2027"},
        "flight": {"start": first.isoformat(), "end": last.isoformat(), "time_zone": "Europe/London"},
        "budget_goal": None,
        "discount_pct": "0.00",
        "expires_on": None,
        "notes": "",
        "terms": "Standard terms apply.",
        "lines": rows,
        "totals": {
            "gross": str(gross),
            "commission": "0.00",
            "net": str(gross),
            "impressions": impressions,
            "effective_cpm": str((gross * 1000 / impressions).quantize(Decimal("0.0001"))),
        },
    }


def bench_builder(tmp: Path) -> list[Result]:
    """Server time of the builder: one line updated (priced with availability), and the page with 100 lines."""
    import sqlalchemy as sa

    from app.catalog.models import Product
    from app.extensions import db
    from app.proposals.models import Proposal, ProposalLine
    from bench.pages import _app
    from bench.result import p95

    app = _app(tmp, extra_accounts=0)
    client = app.test_client()
    client.post("/login", data={"email": "rep@harbour.example", "password": "flightdeck-demo"})
    with app.app_context():
        proposal = db.session.scalars(sa.select(Proposal).order_by(Proposal.id)).first()
        proposal_id, line_id = proposal.id, proposal.lines[0].id
        products = [
            p.id
            for p in db.session.scalars(sa.select(Product).order_by(Product.id))
            if "cpm" in p.pricing_models and (p.min_quantity or 0) <= 100_000 and p.status == "active"
        ]
        start, end = proposal.start_day.isoformat(), proposal.end_day.isoformat()
    rng = random.Random(4)
    update = []
    for n in range(60):
        form = {
            "product": str(products[0]) if n % 2 else str(proposal.lines[0].product_id),
            "pricing_model": "cpm",
            "start": start,
            "end": end,
            "quantity": str(rng.randrange(100, 900) * 1_000),
            "geo": rng.choice(["", "london", "scotland"]),
        }
        with app.app_context():  # what the line's form saw: a save without it is refused as stale
            form["seen"] = db.session.get(ProposalLine, line_id).updated_at.isoformat()
        t = time.perf_counter()
        response = client.post(f"/proposals/{proposal_id}/lines/{line_id}", data=form, headers={"HX-Request": "true"})
        update.append((time.perf_counter() - t) * 1000)
        assert response.status_code in (200, 400), response.status_code
    # A proposal of 100 lines.
    while True:
        with app.app_context():
            count = len(db.session.get(Proposal, proposal_id).lines)
        if count >= 100:
            break
        client.post(
            f"/proposals/{proposal_id}/lines",
            data={"product": str(products[count % len(products)]), "quantity": "100000", "start": start, "end": end},
        )
    page = []
    for _ in range(15):
        t = time.perf_counter()
        assert client.get(f"/proposals/{proposal_id}").status_code == 200
        page.append((time.perf_counter() - t) * 1000)
    return [
        Result("line_update_p95", p95(update[5:]), "ms", 150, scale="100 lines"),
        Result("proposal_page_100_lines", statistics.median(page), "ms", 300, scale="100 lines"),
        *bench_builder_500(app, client, proposal_id),
    ]


def bench_builder_500(app, client, proposal_id: int, lines: int = 500) -> list[Result]:
    """The same proposal grown to `lines` lines (copies of its lines, stored directly: setting up is
    not measured): one line saved through htmx (median; the answer is that line and the totals), and
    the page (median time, and its size in KB)."""
    from app.extensions import db
    from app.proposals.lines import COPIED_COLUMNS
    from app.proposals.models import Proposal, ProposalLine

    with app.app_context():
        proposal = db.session.get(Proposal, proposal_id)
        models = list(proposal.lines)
        for n in range(len(models), lines):
            model = models[n % len(models)]
            proposal.lines.append(
                ProposalLine(
                    position=n + 1, updated_at=model.updated_at, **{c: getattr(model, c) for c in COPIED_COLUMNS}
                )
            )
        db.session.commit()
        middle = proposal.lines[lines // 2]
        line_id, product_id = middle.id, middle.product_id
        start, end = middle.start_day.isoformat(), middle.end_day.isoformat()
    page, size = [], 0
    for _ in range(9):
        t = time.perf_counter()
        response = client.get(f"/proposals/{proposal_id}")
        page.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 200
        size = len(response.data)
    rng = random.Random(5)
    save = []
    for _ in range(15):
        with app.app_context():
            seen = db.session.get(ProposalLine, line_id).updated_at.isoformat()
        form = {"product": str(product_id), "pricing_model": "cpm", "start": start, "end": end, "seen": seen}
        form["quantity"] = str(rng.randrange(100, 900) * 1_000)
        t = time.perf_counter()
        response = client.post(f"/proposals/{proposal_id}/lines/{line_id}", data=form, headers={"HX-Request": "true"})
        save.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 200, response.status_code
    scale = f"{lines} lines"
    return [
        Result(f"line_save_{lines}_lines", statistics.median(save[2:]), "ms", 150, scale=scale),
        Result(f"proposal_page_{lines}_lines", statistics.median(page[1:]), "ms", 300, scale=scale),
        Result(f"proposal_page_{lines}_lines_kb", size / 1024, "KB", 1024, scale=scale),
    ]


def run(tmp: Path) -> list[Result]:
    results = bench_builder(tmp)
    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'proposals.sqlite'}"})
    with app.app_context():
        render_pdf(synthetic_snapshot(3), publisher_name="Harbour Media Group")  # loads the fonts once
        for lines, runs, target in CASES:
            snapshot = synthetic_snapshot(lines)
            samples = []
            for _ in range(runs):
                start = time.perf_counter()
                render_pdf(snapshot, publisher_name="Harbour Media Group")
                samples.append(time.perf_counter() - start)
            results.append(
                Result(f"pdf_{lines}_lines", statistics.median(samples), "s", target, scale=f"{lines} lines")
            )
    return results
