"""Submitting for approval and the buyer's Accept, timed through the WSGI app (no network): a demo
proposal grown to a realistic size (LINES lines, every line held), as the embedded set-up runs it
(no worker: BACKGROUND_WORK=thread, pushes sent after the request as ADSERVER_PUSH_AFTER_REQUEST
does outside production). Only the two requests are timed; what each leaves to the background is
let finish before the next request."""

from __future__ import annotations

import re
import statistics
import time
from pathlib import Path

import sqlalchemy as sa

from app.extensions import db
from bench.result import Result

LINES = 20
ROUNDS = 3
PASSWORD = "flightdeck-demo"


def _login(client, email: str) -> None:
    client.post("/logout")
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302


def _grown(app, client, campaign: str) -> int:
    """A copy of the demo's Autumn savings (finance approves it) with LINES lines, every one held."""
    from app.catalog.models import Product
    from app.proposals.models import Proposal

    with app.app_context():
        demo = db.session.scalar(sa.select(Proposal).where(Proposal.campaign_name == "Autumn savings"))
        start, end = demo.start_day.isoformat(), demo.end_day.isoformat()
        form = {
            "advertiser_id": demo.advertiser_id,
            "agency_id": demo.agency_id or "",
            "campaign_name": campaign,
            "rate_card_id": demo.rate_card_id,
            "owner_id": demo.owner_id,
            "start_day": start,
            "end_day": end,
            "time_zone": demo.time_zone,
            "discount_pct": "",
        }
        products = [
            p.id
            for p in db.session.scalars(sa.select(Product).order_by(Product.id))
            if "cpm" in p.pricing_models and (p.min_quantity or 0) <= 100_000 and p.status == "active"
        ]
    response = client.post("/proposals/new", data=form)
    assert response.status_code == 302, response.status_code
    proposal_id = int(response.location.rsplit("/", 1)[1])
    for n in range(LINES):
        client.post(
            f"/proposals/{proposal_id}/lines",
            data={"product": str(products[n % len(products)]), "quantity": "100000", "start": start, "end": end},
        )
    client.post(f"/proposals/{proposal_id}/hold")
    with app.app_context():
        proposal = db.session.get(Proposal, proposal_id)
        assert len(proposal.lines) == LINES, len(proposal.lines)
    return proposal_id


def _timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    response = fn()
    return (time.perf_counter() - start) * 1000, response


def _one_deal(app, client, n: int) -> tuple[float, float]:
    """Submit a grown proposal (timed), approve it, send it, and the buyer's Accept (timed)."""
    from app import background
    from app.accounts.models import Contact
    from app.mail.models import OutboxMessage
    from app.proposals.models import Proposal
    from app.workflow.models import ApprovalRequest

    _login(client, "rep@harbour.example")
    proposal_id = _grown(app, client, f"Bench deal {n}")
    submit_ms, response = _timed(
        lambda: client.post(f"/workflow/proposals/{proposal_id}/submit", data={"acknowledge": "on"})
    )
    assert response.status_code == 302, response.status_code
    background.wait(120)
    _login(client, "finance@harbour.example")
    with app.app_context():
        requests = db.session.scalars(
            sa.select(ApprovalRequest.id).where(
                ApprovalRequest.proposal_id == proposal_id, ApprovalRequest.status == "pending"
            )
        ).all()
    for request_id in requests:
        client.post(f"/workflow/requests/{request_id}/decide", data={"decision": "approve"})
    _login(client, "rep@harbour.example")
    with app.app_context():
        proposal = db.session.get(Proposal, proposal_id)
        assert proposal.status == "approved", proposal.status
        contact = db.session.scalar(sa.select(Contact.id).where(Contact.account_id == proposal.advertiser_id))
    client.post(f"/workflow/proposals/{proposal_id}/send", data={"contact": str(contact)})
    with app.app_context():
        mail = db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
        token = re.search(r"/sign/([A-Za-z0-9_-]+)", mail.text).group(1)
    client.post("/logout")
    client.get(f"/sign/{token}")
    answer = {"decision": "accept", "name": "Alex Buyer", "title": "Media manager", "agree": "on"}
    accept_ms, response = _timed(lambda: client.post(f"/sign/{token}", data=answer))
    assert response.status_code == 200, response.status_code
    background.wait(120)
    return submit_ms, accept_ms


def run(tmp: Path) -> list[Result]:
    from bench.pages import _app

    # a database of its own: the proposals suite loads the demo publisher into tmp's with no extra accounts
    own = tmp / "workflow"
    own.mkdir(exist_ok=True)
    app = _app(own, extra_accounts=0, BACKGROUND_WORK="thread", ADSERVER_PUSH_AFTER_REQUEST=True)
    client = app.test_client()
    times = [_one_deal(app, client, n) for n in range(ROUNDS)]
    scale = f"{LINES} lines"
    return [
        Result("submit_for_approval", statistics.median(t[0] for t in times), "ms", 500, scale=scale),
        Result("buyer_accept", statistics.median(t[1] for t in times), "ms", 500, scale=scale),
    ]
