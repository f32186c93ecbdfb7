"""One line of the builder: its form (loaded when the rep opens it), the fields that follow its product,
its unsaved preview, saving it and its actions. Saving or holding a line answers with that line's row
and, out of band, the totals and what submitting would need, not the whole builder (a proposal has up
to 500 lines). Routes on the proposals blueprint (`views.bp`)."""

from __future__ import annotations

from flask import flash, render_template, request, url_for
from flask_login import current_user

from app.access import allow
from app.db import utcnow
from app.errors import DomainError, ValidationFailed
from app.extensions import current_settings, db
from app.pricing.views import price_from_args
from app.pricing.waterfall_svg import waterfall_svg
from app.proposals import access, holds, lines
from app.proposals.builder_views import (
    builder_response,
    fields_part,
    form_context,
    line_data,
    lines_context,
    typed_fields,
)
from app.proposals.models import Proposal, ProposalLine
from app.proposals.views import SELLERS, bp, line_of, readable_proposal, settings
from app.transaction import abandon


def line_response(proposal: Proposal, line: ProposalLine, *, status: int = 200, **kwargs):
    """The line's row with the totals, messages and submission plan out of band (htmx), or the whole
    page with the line open (a form sent without JavaScript)."""
    if not request.headers.get("HX-Request"):
        return builder_response(proposal, status=status, **kwargs)
    context = lines_context(proposal, **kwargs) | {"line": line, "holds": holds.holds_of([line], utcnow())}
    # whichever form asked (the line's own, or the builder's shared form of line buttons), the row is replaced
    headers = {"HX-Retarget": f"#line-{line.id}", "HX-Reswap": "outerHTML"}
    return render_template("proposals/_line_answer.html", **context), status, headers


@bp.route("/<int:proposal_id>/lines/<int:line_id>/form")
@allow(*SELLERS, checks_object=True)
def line_form(proposal_id: int, line_id: int):
    """The line's form and its preview, asked for when the rep opens "Edit line N" (htmx fragment)."""
    proposal = readable_proposal(proposal_id)
    access.require_edit(current_user, proposal)
    line = line_of(proposal, line_id)
    return render_template("proposals/_line_form.html", line=line, errs={}, **form_context(proposal))


@bp.route("/<int:proposal_id>/lines/<int:line_id>/fields")
@allow(*SELLERS, checks_object=True)
def line_fields(proposal_id: int, line_id: int):
    """The fields of a line's form for the product the rep just chose: its pricing models and the
    targeting it lets a rep customise, everything else as typed (nothing is saved)."""
    proposal = readable_proposal(proposal_id)
    access.require_edit(current_user, proposal)
    line = line_of(proposal, line_id)
    url = url_for("proposals.line_fields", proposal_id=proposal.id, line_id=line.id)
    return fields_part(proposal, f"l{line.id}", url, typed_fields(proposal, request.args))


@bp.route("/<int:proposal_id>/lines/<int:line_id>", methods=["POST"])
@allow(*SELLERS, checks_object=True)
def update_line(proposal_id: int, line_id: int):
    proposal = readable_proposal(proposal_id)
    access.require_edit(current_user, proposal)
    line = line_of(proposal, line_id)
    seen = request.form.get("seen")
    if seen != line.updated_at.isoformat():  # missing or malformed is as stale as an old one
        flash(
            f"Someone else changed line {line.position} since you opened it: here it is as it is now. "
            "Make your change again if it still applies.",
            "danger",
        )
        return line_response(proposal, line, status=409, open_line=line.id)
    data, errors = line_data(proposal, request.form)
    try:
        if errors:
            raise ValidationFailed(errors.errors)
        lines.update_line(
            line, data, actor=current_user, make_good_days=current_settings().make_good_window_days, **settings()
        )
    except ValidationFailed as exc:
        abandon(db.session)
        typed = {line.id: typed_fields(proposal, request.form)}  # the same days line_data assumes
        return line_response(
            proposal, line, status=400, line_errors={line.id: exc.errors}, open_line=line.id, line_values=typed
        )
    return line_response(proposal, line, open_line=line.id)


@bp.route("/<int:proposal_id>/lines/<int:line_id>/preview")
@allow(*SELLERS, checks_object=True)
def preview_line(proposal_id: int, line_id: int):
    """The price and availability of the line as the rep is editing it, not saved."""
    proposal = readable_proposal(proposal_id)
    line = line_of(proposal, line_id)
    args = request.args.copy()
    args["rate_card"] = str(proposal.rate_card_id)
    args["currency"] = proposal.currency
    if proposal.advertiser_id:
        args["advertiser"] = str(proposal.advertiser_id)
    if proposal.agency_id:
        args["agency"] = str(proposal.agency_id)
    args["proposal_discount_pct"] = str(proposal.discount_pct)
    priced, errors = price_from_args(args)
    return render_template(
        "pricing/_panel.html",
        priced=priced,
        errors=errors,
        chart=waterfall_svg(priced.price) if priced else None,
        panel_id=f"preview-{line.id}",
        live=False,  # the preview region around it is the live region
    ), 400 if errors else 200


@bp.route("/<int:proposal_id>/lines/<int:line_id>/<any(copy, remove, up, down, hold):action>", methods=["POST"])
@allow(*SELLERS, checks_object=True)
def line_action(proposal_id: int, line_id: int, action: str):
    """Copy, remove and move redraw the builder's lines (without their forms); a hold answers with the
    line alone."""
    proposal = readable_proposal(proposal_id)
    access.require_edit(current_user, proposal)
    line = line_of(proposal, line_id)
    now = utcnow()
    if action == "hold":
        try:
            hold = holds.hold_line(line, actor=current_user, hold_days=current_settings().hold_days, **settings())
        except DomainError as exc:
            abandon(db.session)
            flash(exc.message, "danger")
            return line_response(proposal, line, status=409)
        flash(f"Line {line.position} held until {hold.expires_at:%d %b %Y %H:%M} UTC.", "success")
        return line_response(proposal, line)
    try:
        if action == "copy":
            lines.copy_line(line, actor=current_user, **settings())
        elif action == "remove":
            lines.remove_line(line, actor=current_user, now=now)
        else:
            lines.move_line(line, -1 if action == "up" else 1, actor=current_user, now=now)
    except DomainError as exc:
        abandon(db.session)
        flash(exc.message, "danger")
        return builder_response(proposal, status=400)
    return builder_response(proposal)
