"""Proposal pages: the rep's list and the header form. The builder (lines, holds, packages, pasted
lines, recommendations) is in `builder_views`, versions in `version_views`, on the same blueprint."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import joinedload

from app.access import allow
from app.accounts.models import AccountKind
from app.accounts.queries import account_choices
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
from app.pricing.service import usable_card
from app.proposals import access, queries, service
from app.proposals.forms import ProposalForm
from app.proposals.models import Proposal, ProposalLine, ProposalStatus
from app.ratecards.models import RateCard
from app.roles import Role
from app.validation import day_problem, page_number, parse_id

bp = Blueprint("proposals", __name__, url_prefix="/proposals")

SELLERS = (Role.SALES_REP, Role.SALES_MANAGER, Role.ADMIN)
READERS = (*SELLERS, Role.AD_OPS, Role.FINANCE)


def settings() -> dict:
    return {"today": current_clock().today(), "now": utcnow(), "margin_pct": current_settings().safety_margin_pct}


#: The proposal's rate card comes with it, without its price list (which pricing loads when it prices).
_WITH_CARD_NAME = (joinedload(Proposal.rate_card).lazyload("*"),)


def readable_proposal(proposal_id: int) -> Proposal:
    proposal = db.session.get(Proposal, proposal_id, options=_WITH_CARD_NAME)
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
        advertisers=account_choices(AccountKind.ADVERTISER),
        can_create=current_user.has_role(*SELLERS),
    )


# -- The header form ------------------------------------------------------------------------------


def _offer_buyers(form: ProposalForm) -> None:
    """The buyer list: the contacts of the chosen advertiser and agency only. It follows the
    advertiser and agency as they change (htmx asks `buyer_choices` for the options)."""
    contacts = queries.contact_choices(parse_id(form.advertiser_id.data), parse_id(form.agency_id.data))
    form.buyer_contact_id.choices = options([("", "— none yet —"), *((c, f"{n} ({a})") for c, n, a in contacts)])
    form.buyer_contact_id.render_kw = {
        "hx-get": url_for("proposals.buyer_choices"),
        "hx-trigger": "change from:#advertiser_id, change from:#agency_id",
        "hx-include": "#advertiser_id, #agency_id",
        "hx-target": "this",
        "hx-swap": "innerHTML",
    }


def _prepare(form: ProposalForm) -> ProposalForm:
    today = current_clock().today()
    form.advertiser_id.choices = options(
        [("", "— choose —"), *((a.id, a.name) for a in account_choices(AccountKind.ADVERTISER))]
    )
    form.agency_id.choices = options([("", "— none —"), *((a.id, a.name) for a in account_choices(AccountKind.AGENCY))])
    _offer_buyers(form)
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
        buyer_notes=form.buyer_notes.data or "",
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
        defaults = service.header_defaults(actor=current_user, today=current_clock().today())
        form.start_day.data, form.end_day.data = defaults.start_day, defaults.end_day
        if defaults.rate_card_id is not None:
            form.rate_card_id.data = str(defaults.rate_card_id)
        form.time_zone.data = current_settings().time_zone.key
        form.owner_id.data = str(current_user.id)
        form.expires_on.data = defaults.expires_on
        if advertiser := parse_id(request.args.get("advertiser")):
            form.advertiser_id.data = str(advertiser)
            _offer_buyers(form)
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
    return _form_page(form, None)


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
    return _form_page(form, proposal)


def _form_page(form: ProposalForm, proposal: Proposal | None):
    """The header form; under the flight, what the card says of it (a refused save has it on the field)."""
    if form.errors:
        return render_template("proposals/form.html", form=form, proposal=proposal, flight_problem=None), 400
    problem = _flight_problem(form.rate_card_id.data, form.start_day.data, form.end_day.data)
    return render_template("proposals/form.html", form=form, proposal=proposal, flight_problem=problem), 200


def _flight_problem(card_id: str | int | None, start: date | None, end: date | None) -> str | None:
    """What the form says under the flight when the chosen card does not price all of it."""
    card = db.session.get(RateCard, card_id) if (card_id := parse_id(str(card_id or ""))) else None
    if card is None or not usable_card(card, current_user):
        return None
    return service.flight_check(card, start, end, actor=current_user, today=current_clock().today())


@bp.route("/flight-check")
@allow(*SELLERS)
def flight_check():
    """The header form's check of the flight against the card, as the rep picks them (htmx)."""
    args = request.args
    problem = _flight_problem(args.get("rate_card_id"), _day(args.get("start_day")), _day(args.get("end_day")))
    return render_template("proposals/_flight_check.html", flight_problem=problem)


@bp.route("/buyer-choices")
@allow(*SELLERS)
def buyer_choices():
    """The buyer list's options for the advertiser and agency the rep chose (htmx)."""
    contacts = queries.contact_choices(
        parse_id(request.args.get("advertiser_id")), parse_id(request.args.get("agency_id"))
    )
    chosen = parse_id(request.args.get("buyer_contact_id"))
    return render_template("proposals/_buyer_options.html", contacts=contacts, chosen=chosen)


def _day(raw: str | None) -> date | None:
    """A day from a query string (an ISO date from the date input), None when it is not one."""
    try:
        day = date.fromisoformat((raw or "").strip())
    except ValueError:
        return None
    return None if day_problem(day, label="day") else day


@bp.route("/<int:proposal_id>/delete", methods=["POST"])
@allow(*SELLERS, checks_object=True)
def delete(proposal_id: int):
    proposal = readable_proposal(proposal_id)
    service.delete_proposal(proposal, actor=current_user, now=utcnow())
    flash(f"Proposal {proposal.number} deleted; its holds are released.", "success")
    return redirect(url_for("proposals.index"))


# The builder's and the versions' routes are on this blueprint too (microblog's routes import).
from app.proposals import builder_views, line_views, version_views  # noqa: E402, F401
