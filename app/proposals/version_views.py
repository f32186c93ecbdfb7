"""A proposal's versions: their PDF and what changed between two of them. Routes on the proposals
blueprint (`views.bp`)."""

from __future__ import annotations

import functools

from flask import Response, render_template, request

from app.access import allow
from app.boundary import check_background_work, off_the_request
from app.db import utcnow
from app.errors import NotFound
from app.extensions import current_settings
from app.proposals import versions
from app.proposals.views import READERS, bp, readable_proposal
from app.validation import parse_id


@bp.record_once
def _draw_pdfs_off_the_request(state) -> None:
    check_background_work(state.app)
    if draw_off_the_request not in versions.drawers:
        versions.drawers.append(draw_off_the_request)


def draw_off_the_request(version_id: int, *, publisher_name: str, render: dict) -> None:
    """After the commit that froze a version, by BACKGROUND_WORK (`off_the_request`): drawn in the
    background, by the worker, or before the answer leaves (tests). Outside a request (a CLI
    command) the worker or the first send draws it."""
    off_the_request(
        functools.partial(versions.draw_stored, version_id, publisher_name=publisher_name, render=render),
        name=f"version-pdf-{version_id}",
    )


# -- Versions -------------------------------------------------------------------------------------


@bp.route("/<int:proposal_id>/versions/<int:number>.pdf")
@allow(*READERS, checks_object=True)
def version_pdf(proposal_id: int, number: int):
    proposal = readable_proposal(proposal_id)
    version = next((v for v in proposal.versions if v.number == number), None)
    if version is None:
        raise NotFound("No PDF for that version.")
    # Drawn on the fly, and not stored, while its drawing after the commit has not run or failed.
    settings = current_settings()
    pdf, sha256 = versions.pdf_of(version, publisher_name=settings.publisher_name, logo_path=settings.publisher_logo)
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{proposal.number}-v{number}.pdf"',
            "X-Content-SHA256": sha256,
        },
    )


@bp.route("/<int:proposal_id>/draft.pdf")
@allow(*READERS, checks_object=True)
def draft_pdf(proposal_id: int):
    """The proposal as it stands, marked DRAFT and not signable: drawn on the fly, no version made,
    nothing stored or recorded (a GET never writes; the download leaves no trace worth auditing)."""
    proposal = readable_proposal(proposal_id)
    settings = current_settings()
    pdf = versions.draft_pdf(
        proposal, now=utcnow(), publisher_name=settings.publisher_name, logo_path=settings.publisher_logo
    )
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{proposal.number}-draft.pdf"'},
    )


@bp.route("/<int:proposal_id>/diff")
@allow(*READERS, checks_object=True)
def version_diff(proposal_id: int):
    proposal = readable_proposal(proposal_id)
    by_number = {v.number: v for v in proposal.versions}
    a, b = parse_id(request.args.get("a")), parse_id(request.args.get("b"))
    if a not in by_number or b not in by_number:
        raise NotFound("Choose two versions of this proposal.")
    return render_template(
        "proposals/diff.html",
        proposal=proposal,
        a=by_number[a],
        b=by_number[b],
        changes=versions.diff(by_number[a].snapshot, by_number[b].snapshot),
    )
