"""A submitted version's PDF is drawn after the commit that freezes it, never inside the write; the
downloads draw it on the fly (and store nothing) while it is not there."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.audit.models import AuditEvent
from app.extensions import db
from app.proposals import versions
from app.proposals.models import ProposalVersion
from app.proposals.pdf import sha256_of
from tests.functional.test_proposal_pages import create, ids
from tests.functional.test_request_boundary import Commits


def with_a_line(app, client) -> int:
    """A rep's proposal with one line, ready to submit."""
    proposal_id = create(app, client)
    client.post(f"/proposals/{proposal_id}/lines", data={"product": ids(app)["sport"], "quantity": "7,000,000"})
    return proposal_id


def submit(client, proposal_id: int) -> int:
    return client.post(f"/workflow/proposals/{proposal_id}/submit", data={"acknowledge": "on"}).status_code


def first_version(app, proposal_id: int) -> ProposalVersion:
    with app.app_context():
        version = db.session.scalar(sa.select(ProposalVersion).where(ProposalVersion.proposal_id == proposal_id))
        db.session.expunge(version)
        return version


def test_a_submission_commits_its_version_first_and_then_draws_and_stores_its_pdf(app, client, auth, monkeypatch):
    commits, drawn_after = Commits(), []
    real = versions.render_pdf

    def watched(*args, **kwargs):
        drawn_after.append(commits.count)
        return real(*args, **kwargs)

    monkeypatch.setattr(versions, "render_pdf", watched)
    auth.login_as("sales_rep")
    proposal_id = with_a_line(app, client)
    event.listen(Session, "after_commit", commits)
    try:
        assert submit(client, proposal_id) == 302
    finally:
        event.remove(Session, "after_commit", commits)
    # Drawn once, after the submission's commit (the first) and not inside it (the drawing reads
    # the snapshot in a short transaction of its own first).
    assert len(drawn_after) == 1 and drawn_after[0] >= 1
    version = first_version(app, proposal_id)
    assert version.pdf.startswith(b"%PDF") and version.pdf_sha256 == sha256_of(version.pdf)
    download = client.get(f"/proposals/{proposal_id}/versions/1.pdf")
    assert download.data == version.pdf and download.headers["X-Content-SHA256"] == version.pdf_sha256


def test_a_pdf_that_fails_after_the_commit_leaves_the_version_and_the_download_draws_it(app, client, auth, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("WeasyPrint fell over")

    real = versions.render_pdf
    monkeypatch.setattr(versions, "render_pdf", broken)
    auth.login_as("sales_rep")
    proposal_id = with_a_line(app, client)
    assert submit(client, proposal_id) == 302  # the submission is committed whatever happens to its PDF
    version = first_version(app, proposal_id)
    assert version.number == 1 and version.pdf is None and version.pdf_sha256 is None

    monkeypatch.setattr(versions, "render_pdf", real)
    download = client.get(f"/proposals/{proposal_id}/versions/1.pdf")
    assert download.status_code == 200 and download.data.startswith(b"%PDF")
    assert download.headers["X-Content-SHA256"] == sha256_of(download.data)
    assert first_version(app, proposal_id).pdf is None  # a GET never writes


def test_the_pdf_drawn_after_the_commit_puts_its_fingerprint_in_the_proposals_history(app, client, auth):
    auth.login_as("sales_rep")
    proposal_id = with_a_line(app, client)
    assert submit(client, proposal_id) == 302
    version = first_version(app, proposal_id)
    with app.app_context():
        drawn = db.session.scalar(
            sa.select(AuditEvent).where(
                AuditEvent.entity_type == "proposal",
                AuditEvent.entity_id == proposal_id,
                AuditEvent.action == "version PDF drawn",
            )
        )
    assert drawn is not None and drawn.after == {"version": 1, "pdf_sha256": version.pdf_sha256}


def test_a_version_whose_pdf_is_missing_shows_its_download_link_and_the_pdf_is_drawn_for_it(
    app, client, auth, monkeypatch
):
    def broken(*args, **kwargs):
        raise RuntimeError("WeasyPrint fell over")

    real = versions.render_pdf
    monkeypatch.setattr(versions, "render_pdf", broken)
    auth.login_as("sales_rep")
    proposal_id = with_a_line(app, client)
    assert submit(client, proposal_id) == 302
    monkeypatch.setattr(versions, "render_pdf", real)
    page = client.get(f"/proposals/{proposal_id}").get_data(as_text=True)
    assert f'href="/proposals/{proposal_id}/versions/1.pdf"' in page
