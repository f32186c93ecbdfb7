"""The countersigned insertion order: a PDF that opens and has pages, never Flightdeck's own PDF."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.errors import ValidationFailed
from app.extensions import current_clock, db
from app.orders.models import Order
from app.workflow import signing
from app.workflow.models import Signature
from tests.conftest import now
from tests.integration.test_signing import approved
from tests.integration.test_workflow import rep
from tests.support.pdfs import pdf_with_pages


def upload(proposal, pdf: bytes):
    return signing.countersigned(
        proposal, pdf, actor=rep(), now=now(), today=current_clock().today(), margin_pct=10, max_bytes=5_000_000
    )


NOT_A_PDF_THAT_OPENS = {
    "not a PDF": b"not a pdf",
    "only a PDF header": b"%PDF-1.7 signed",
    "a PDF cut short": pdf_with_pages(2)[:300],
    "a PDF without pages": pdf_with_pages(0),
}


@pytest.mark.parametrize("kind", NOT_A_PDF_THAT_OPENS)
def test_an_io_that_is_not_a_pdf_that_opens_with_pages_is_refused_and_nothing_is_signed(ctx, kind):
    proposal = approved()
    with pytest.raises(ValidationFailed) as failure:
        upload(proposal, NOT_A_PDF_THAT_OPENS[kind])
    assert "a PDF that opens and has pages" in failure.value.errors["io"][0]
    assert proposal.status == "approved"
    assert db.session.scalar(sa.select(Signature.id).where(Signature.proposal_id == proposal.id)) is None


def test_the_pdf_flightdeck_made_for_the_proposal_is_refused_as_the_countersigned_io(ctx):
    proposal = approved()
    generated = proposal.versions[-1].pdf
    assert generated and generated.startswith(b"%PDF-")
    with pytest.raises(ValidationFailed) as failure:
        upload(proposal, generated)
    assert "the PDF Flightdeck made" in failure.value.errors["io"][0]
    assert proposal.status == "approved"


def test_a_countersigned_pdf_with_pages_signs_the_version_and_keeps_the_file(ctx):
    proposal = approved()
    signed = pdf_with_pages(3)
    signature = upload(proposal, signed)
    assert proposal.status == "signed" and signature.io_pdf == signed
    assert db.session.scalar(sa.select(Order).where(Order.proposal_id == proposal.id)).status == "booked"


def test_a_version_whose_pdf_was_not_drawn_yet_gets_it_and_the_signature_records_its_fingerprint(ctx):
    proposal = approved()
    version = proposal.versions[-1]
    version.pdf = version.pdf_sha256 = None  # its drawing after the commit failed
    db.session.flush()
    signature = upload(proposal, pdf_with_pages(3))
    assert version.pdf.startswith(b"%PDF-") and version.pdf_sha256
    assert signature.pdf_sha256 == version.pdf_sha256
