"""Submitting for approval and the buyer's Accept answer first: the version's PDF, and the order the
accepted version becomes, follow after the response, made by a background thread (no worker) or by
`flask adserver worker` (production). The PDF's fingerprint is the one its snapshot gives, and the
buyer's mail and signature carry that PDF and that fingerprint."""

from __future__ import annotations

import re
import threading

import pytest
import sqlalchemy as sa

from app import background
from app.accounts.models import Contact
from app.audit.models import AuditEvent
from app.extensions import current_settings, db
from app.mail.models import OutboxMessage
from app.proposals import registry, versions
from app.proposals.models import Proposal, ProposalVersion
from app.proposals.pdf import sha256_of
from app.workflow import events
from app.workflow.models import ApprovalRequest, Signature
from tests.conftest import DEMO_PASSWORD, DEMO_USERS, app_on
from tests.functional.test_version_pdf_pages import first_version, submit, with_a_line


@pytest.fixture(params=["thread", "worker"])
def drawing(request, backend, databases, tmp_path):
    """The app with the PDF drawn by a background thread, or left to the worker."""
    with app_on(databases.copy(backend, tmp_path), BACKGROUND_WORK=request.param) as application:
        yield application, request.param
        background.wait(60)


@pytest.fixture
def left_to_the_worker(backend, databases, tmp_path):
    """The app with the PDF left to the worker (production's set-up)."""
    with app_on(databases.copy(backend, tmp_path), BACKGROUND_WORK="worker") as application:
        yield application
        background.wait(60)


class Renderer:
    """The real renderer, counting its calls; while `gate` is closed a call waits for it (up to ten
    seconds) and notes, by proposal number, whether it was opened: a request that waited for its PDF
    never sees it opened."""

    def __init__(self, monkeypatch):
        self.real, self.calls, self.opened = versions.render_pdf, 0, []
        self.gate = threading.Event()
        monkeypatch.setattr(versions, "render_pdf", self)

    def __call__(self, snapshot, **kwargs):
        self.calls += 1
        self.opened.append((snapshot["number"], self.gate.wait(10)))
        return self.real(snapshot, **kwargs)


def snapshot_fingerprint(app, version: ProposalVersion) -> str:
    """The SHA-256 of the PDF the version's snapshot gives (the same snapshot, the same bytes)."""
    with app.app_context():
        settings = current_settings()
        return sha256_of(
            versions.render_pdf(
                version.snapshot, publisher_name=settings.publisher_name, logo_path=settings.publisher_logo
            )
        )


def drawn_entries(app, proposal_id: int) -> list[dict]:
    with app.app_context():
        return [
            e.after
            for e in db.session.scalars(
                sa.select(AuditEvent).where(
                    AuditEvent.entity_type == "proposal",
                    AuditEvent.entity_id == proposal_id,
                    AuditEvent.action == "version PDF drawn",
                )
            )
        ]


def login(client, role: str) -> None:
    client.post("/logout")
    assert client.post("/login", data={"email": DEMO_USERS[role], "password": DEMO_PASSWORD}).status_code == 302


def test_a_submission_answers_before_its_pdf_is_drawn_and_the_pdf_follows(drawing, monkeypatch):
    app, mode = drawing
    client = app.test_client()
    renderer = Renderer(monkeypatch)
    login(client, "sales_rep")
    proposal_id = with_a_line(app, client)
    assert submit(client, proposal_id) == 302
    version = first_version(app, proposal_id)
    assert version.pdf is None and version.number == 1  # committed and answered: no PDF yet
    page = client.get(f"/proposals/{proposal_id}").get_data(as_text=True)
    assert f'href="/proposals/{proposal_id}/versions/1.pdf"' in page
    renderer.gate.set()  # only now may a drawing go on
    if mode == "thread":
        assert background.wait(60)
    else:
        result = app.test_cli_runner().invoke(args=["adserver", "worker", "--once"])
        assert result.exit_code == 0 and f"version {version.id}: PDF drawn" in result.output
    version = first_version(app, proposal_id)
    # Drawn once, after the request had answered (the worker draws the demo's older version too).
    assert [opened for number, opened in renderer.opened if number == version.snapshot["number"]] == [True]
    assert version.pdf.startswith(b"%PDF") and version.pdf_sha256 == sha256_of(version.pdf)
    assert version.pdf_sha256 == snapshot_fingerprint(app, version)
    assert drawn_entries(app, proposal_id) == [{"version": 1, "pdf_sha256": version.pdf_sha256}]


def test_the_worker_draws_each_waiting_pdf_once(left_to_the_worker, monkeypatch):
    app = left_to_the_worker
    client = app.test_client()
    login(client, "sales_rep")
    proposal_id = with_a_line(app, client)
    assert submit(client, proposal_id) == 302
    runner = app.test_cli_runner()
    assert "PDF drawn" in runner.invoke(args=["adserver", "worker", "--once"]).output
    renderer = Renderer(monkeypatch)
    renderer.gate.set()
    assert "PDF drawn" not in runner.invoke(args=["adserver", "worker", "--once"]).output
    assert renderer.calls == 0 and len(drawn_entries(app, proposal_id)) == 1


def test_the_buyer_gets_the_pdf_and_signs_its_fingerprint_and_the_order_is_booked_after_the_answer(
    drawing, monkeypatch
):
    app, mode = drawing
    client = app.test_client()
    login(client, "sales_rep")
    proposal_id = with_a_line(app, client)
    assert submit(client, proposal_id) == 302
    background.wait(60)
    with app.app_context():
        pending = db.session.scalars(
            sa.select(ApprovalRequest).where(ApprovalRequest.proposal_id == proposal_id, ApprovalRequest.step == 1)
        ).all()
        deciders = [(r.id, r.approver_role) for r in pending]
    for request_id, role in deciders:
        login(client, role)
        assert client.post(f"/workflow/requests/{request_id}/decide", data={"decision": "approve"}).status_code == 302
    login(client, "sales_rep")
    with app.app_context():
        proposal = db.session.get(Proposal, proposal_id)
        assert proposal.status == "approved", proposal.status
        contact = db.session.scalar(sa.select(Contact.id).where(Contact.account_id == proposal.advertiser_id))
    # With the worker not run yet, sending draws and stores the PDF the mail carries.
    assert client.post(f"/workflow/proposals/{proposal_id}/send", data={"contact": contact}).status_code == 302
    version = first_version(app, proposal_id)
    with app.app_context():
        mail = db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
        token = re.search(r"/sign/([A-Za-z0-9_-]+)", mail.text).group(1)
        assert mail.attachment_data == version.pdf and mail.attachments[0]["sha256"] == version.pdf_sha256
    assert version.pdf_sha256 == snapshot_fingerprint(app, version)
    renderer, booking = Renderer(monkeypatch), Booking(monkeypatch)
    client.post("/logout")
    answer = {"decision": "accept", "name": "Sara Buyer", "title": "Head of media", "agree": "on"}
    response = client.post(f"/sign/{token}", data=answer)
    assert response.status_code == 200 and "the proposal is accepted" in response.get_data(as_text=True)
    assert renderer.calls == 0
    with app.app_context():
        signature = db.session.scalar(sa.select(Signature).where(Signature.proposal_id == proposal_id))
        assert signature.accepted and signature.pdf_sha256 == version.pdf_sha256
        assert registry.has_order(db.session.get(Proposal, proposal_id)) is None  # answered before booking
    # Meanwhile the rep's page says the buyer accepted and that the order is on its way.
    login(client, "sales_rep")
    page = client.get(f"/proposals/{proposal_id}").get_data(as_text=True)
    assert "Accepted by Sara Buyer" in page and 'data-testid="order-being-made"' in page
    booking.gate.set()
    made_by_the_worker(app, mode, expected="order made")
    page = client.get(f"/proposals/{proposal_id}").get_data(as_text=True)
    assert 'data-testid="order-being-made"' not in page and "/orders/" in page
    assert booking.opened == [True]  # booked once, after the buyer had their answer
    with app.app_context():
        proposal = db.session.get(Proposal, proposal_id)
        number = registry.has_order(proposal)
        assert number is not None and proposal.status == "signed"
        told = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.subject.startswith("Signed"))).all()
        assert [m.text for m in told if number in m.text and "Sara Buyer, Head of media accepted" in m.text]
    made_by_the_worker(app, mode, expected=None)  # never a second order
    assert booking.opened == [True]
    assert len(drawn_entries(app, proposal_id)) == 1


class Booking:
    """The order_signed handler, waiting for `gate` as Renderer does."""

    def __init__(self, monkeypatch):
        self.real, self.opened, self.gate = events.handler("order_signed"), [], threading.Event()
        monkeypatch.setitem(events._handlers, "order_signed", self)

    def __call__(self, proposal, **kwargs):
        self.opened.append(self.gate.wait(10))
        return self.real(proposal, **kwargs)


def made_by_the_worker(app, mode: str, *, expected: str | None) -> None:
    """Let the background thread finish, or run the worker once (saying `expected`, if given)."""
    if mode == "thread":
        assert background.wait(60)
        return
    output = app.test_cli_runner().invoke(args=["adserver", "worker", "--once"]).output
    assert (expected in output) if expected else ("order made" not in output), output


def test_a_pdf_that_will_not_draw_rests_and_the_versions_after_it_are_drawn_meanwhile(left_to_the_worker, monkeypatch):
    """The worker takes waiting PDFs oldest first, a batch at a time: one that always fails must not
    come back first on every run and keep the newer ones waiting for ever."""
    app = left_to_the_worker
    client = app.test_client()
    login(client, "sales_rep")
    stuck, after = with_a_line(app, client), with_a_line(app, client)
    assert submit(client, stuck) == 302 and submit(client, after) == 302
    with app.app_context():
        number = db.session.get(Proposal, stuck).number
    real = versions.render_pdf

    def render_pdf(snapshot, **kwargs):
        if snapshot["number"] == number:
            raise RuntimeError("a font went missing")
        return real(snapshot, **kwargs)

    monkeypatch.setattr(versions, "render_pdf", render_pdf)
    with app.app_context():
        waiting = db.session.scalar(sa.select(sa.func.count()).where(ProposalVersion.pdf.is_(None)))
        drawn = [versions.draw_pending(publisher_name="Harbour", limit=1) for _ in range(waiting + 1)]
    # One run per waiting version, one more for the stuck one's failure: every other one is drawn.
    assert [] in drawn and first_version(app, after).id in [v for run in drawn for v in run]
    assert first_version(app, stuck).pdf is None
