"""Proposal pages: the rep's list and the header form. The builder (lines, holds, packages, pasted
lines, recommendations) is in `builder_views`, versions in `version_views`, on the same blueprint."""

from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.access import allow
from app.accounts.models import AccountKind
from app.db import utcnow
from app.errors import Forbidden, NotFound
from app.extensions import current_clock, current_settings, db
from app.forms import (
    form_sent_before,
    options,
    posted_version,
    redirect_to_created,
    submit,
)
from app.proposals import access, queries, service
from app.proposals.forms import ProposalForm
from app.proposals.models import Proposal, ProposalLine, ProposalStatus
from app.roles import Role
from app.validation import page_number, parse_id

bp = Blueprint("proposals", __name__, url_prefix="/proposals")

SELLERS = (Role.SALES_REP, Role.SALES_MANAGER, Role.ADMIN)
READERS = (*SELLERS, Role.AD_OPS, Role.FINANCE)


def settings() -> dict:
    return {"today": current_clock().today(), "now": utcnow(), "margin_pct": current_settings().safety_margin_pct}


def readable_proposal(proposal_id: int) -> Proposal:
    proposal = db.session.get(Proposal, proposal_id)
    if proposal is None or proposal.deleted_at is not None:
        raise NotFound("No such proposal.")
    if not access.can_read(current_user, proposal):
        raise Forbidden("This proposal belongs to another rep.")
    return proposal


def line_of(proposal: Proposal, line_id: int) -> ProposalLine:
    line = db.session.get(ProposalLine, line_id)
    if line is None or line.proposal_id != proposal.id:
        raise NotFound("No such line on this proposal.")
    return line


# -- List -----------------------------------------------------------------------------------------


@bp.route("/")
@allow(*READERS)
def index():
    search = (request.args.get("q") or "").strip()[:100]
    status = request.args.get("status") or ""
    advertiser = parse_id(request.args.get("advertiser"))
    page = db.paginate(
        queries.proposal_list(current_user, search=search, status=status, advertiser=advertiser),
        page=page_number(request.args),
        per_page=current_settings().page_size,
        error_out=False,
    )
    return render_template(
        "proposals/index.html",
        page=page,
        search=search,
        status=status,
        advertiser=advertiser,
        statuses=list(ProposalStatus),
        advertisers=queries.accounts(AccountKind.ADVERTISER),
        can_create=current_user.has_role(*SELLERS),
    )


# -- The header form ------------------------------------------------------------------------------


def _prepare(form: ProposalForm) -> ProposalForm:
    today = current_clock().today()
    form.advertiser_id.choices = options(
        [("", "— choose —"), *((a.id, a.name) for a in queries.accounts(AccountKind.ADVERTISER))]
    )
    form.agency_id.choices = options(
        [("", "— none —"), *((a.id, a.name) for a in queries.accounts(AccountKind.AGENCY))]
    )
    contacts = queries.contact_choices()
    form.buyer_contact_id.choices = options([("", "— none yet —"), *((c, f"{n} ({a})") for c, n, a in contacts)])
    cards = queries.usable_cards(current_user, today)
    form.rate_card_id.choices = options((c.id, f"{c.name} ({c.currency})") for c in cards)
    form.owner_id.choices = options((u.id, u.name) for u in queries.possible_owners())
    return form


def _data(form: ProposalForm) -> service.ProposalData:
    return service.ProposalData(
        advertiser_id=parse_id(form.advertiser_id.data),
        agency_id=parse_id(form.agency_id.data),
        buyer_contact_id=parse_id(form.buyer_contact_id.data),
        campaign_name=form.campaign_name.data or "",
        rate_card_id=parse_id(form.rate_card_id.data),
        owner_id=parse_id(form.owner_id.data),
        start_day=form.start_day.data,
        end_day=form.end_day.data,
        time_zone=(form.time_zone.data or "").strip(),
        budget_goal=form.budget_goal.data,
        discount_pct=form.discount_pct.data if form.discount_pct.data is not None else Decimal("0"),
        notes=form.notes.data or "",
        terms=form.terms.data or "",
        expires_on=form.expires_on.data,
    )


@bp.route("/new", methods=["GET", "POST"])
@allow(*SELLERS)
def new():
    if (earlier := form_sent_before()) is not None:
        return earlier
    form = _prepare(ProposalForm())
    if request.method == "GET":
        defaults = service.header_defaults(current_clock().today())
        form.start_day.data, form.end_day.data = defaults["start_day"], defaults["end_day"]
        form.time_zone.data = current_settings().time_zone.key
        form.owner_id.data = str(current_user.id)
        form.expires_on.data = defaults["expires_on"]
        if advertiser := parse_id(request.args.get("advertiser")):
            form.advertiser_id.data = str(advertiser)
    proposal = submit(
        form,
        save=lambda: service.create_proposal(
            _data(form), actor=current_user, now=utcnow(), today=current_clock().today()
        ),
        check=lambda: service.check_proposal(_data(form), actor=current_user, today=current_clock().today()),
    )
    if proposal is not None:
        flash(f"Proposal {proposal.number} created: add its lines.", "success")
        return redirect_to_created(url_for("proposals.detail", proposal_id=proposal.id))
    return render_template("proposals/form.html", form=form, proposal=None), 400 if form.errors else 200


@bp.route("/<int:proposal_id>/edit", methods=["GET", "POST"])
@allow(*SELLERS, checks_object=True)
def edit(proposal_id: int):
    proposal = readable_proposal(proposal_id)
    access.require_edit(current_user, proposal)
    form = _prepare(ProposalForm(obj=proposal if request.method == "GET" else None))
    if request.method == "GET":
        form.version.data = str(proposal.version)
    saved = submit(
        form,
        save=lambda: service.update_proposal(
            proposal,
            _data(form),
            expected_version=posted_version(form.version.data),
            actor=current_user,
            **settings(),
        ),
        check=lambda: service.check_proposal(_data(form), actor=current_user, today=current_clock().today()),
    )
    if saved is not None:
        flash("Saved; every line was priced again.", "success")
        return redirect(url_for("proposals.detail", proposal_id=proposal.id))
    return render_template("proposals/form.html", form=form, proposal=proposal), 400 if form.errors else 200


@bp.route("/<int:proposal_id>/delete", methods=["POST"])
@allow(*SELLERS, checks_object=True)
def delete(proposal_id: int):
    proposal = readable_proposal(proposal_id)
    service.delete_proposal(proposal, actor=current_user, now=utcnow())
    flash(f"Proposal {proposal.number} deleted; its holds are released.", "success")
    return redirect(url_for("proposals.index"))


# The builder's and the versions' routes are on this blueprint too (microblog's routes import).
from app.proposals import builder_views, version_views  # noqa: E402, F401
