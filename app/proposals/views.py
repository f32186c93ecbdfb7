"""Proposal pages: the rep's list, the header form, the builder with live price and availability,
holds, versions with their PDF, and the diff between two versions."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from app.access import allow
from app.accounts.models import Account, AccountKind, Contact
from app.auth.models import User
from app.auth.roles import Role
from app.catalog.models import DIMENSION_LABELS, Package, Product, Status
from app.catalog.service import value_names
from app.clock import publisher_today
from app.db import utcnow
from app.errors import DomainError, Errors, Forbidden, NotFound, ValidationFailed
from app.extensions import db
from app.forms import (
    form_sent_before,
    options,
    posted_version,
    redirect_to_created,
    remember_created,
    require_csrf,
    submit,
)
from app.pricing.chart import waterfall_svg
from app.pricing.service import usable_card
from app.pricing.views import read_line
from app.proposals import service
from app.proposals.forms import ProposalForm
from app.proposals.models import Proposal, ProposalLine, ProposalStatus
from app.ratecards.models import RateCard
from app.validation import page_number, parse_id

bp = Blueprint("proposals", __name__, url_prefix="/proposals")

SELLERS = (Role.SALES_REP, Role.SALES_MANAGER, Role.ADMIN)
READERS = (*SELLERS, Role.AD_OPS, Role.FINANCE)


def _settings() -> dict:
    return {"today": publisher_today(), "now": utcnow(), "margin_pct": current_app.config["SAFETY_MARGIN_PCT"]}


def readable_proposal(proposal_id: int) -> Proposal:
    proposal = db.session.get(Proposal, proposal_id)
    if proposal is None or proposal.deleted_at is not None:
        raise NotFound("No such proposal.")
    if not service.can_read(current_user, proposal):
        raise Forbidden("This proposal belongs to another rep.")
    return proposal


def _line(proposal: Proposal, line_id: int) -> ProposalLine:
    line = db.session.get(ProposalLine, line_id)
    if line is None or line.proposal_id != proposal.id:
        raise NotFound("No such line on this proposal.")
    return line


# -- List -----------------------------------------------------------------------------------------


@bp.route("/")
@allow(*READERS)
def index():
    query = sa.select(Proposal).where(Proposal.deleted_at.is_(None))
    if not current_user.has_role(*service.READERS):
        query = query.where(Proposal.owner_id == current_user.id)
    search = (request.args.get("q") or "").strip()[:100]
    if search:
        like = f"%{search.lower()}%"
        query = query.join(Account, Account.id == Proposal.advertiser_id).where(
            sa.or_(
                sa.func.lower(Proposal.campaign_name).like(like),
                sa.func.lower(Proposal.number).like(like),
                sa.func.lower(Account.name).like(like),
            )
        )
    status = request.args.get("status") or ""
    if status in ProposalStatus._value2member_map_:
        query = query.where(Proposal.status == status)
    advertiser = parse_id(request.args.get("advertiser"))
    if advertiser:
        query = query.where(Proposal.advertiser_id == advertiser)
    page = db.paginate(
        query.order_by(Proposal.updated_at.desc(), Proposal.id.desc()),
        page=page_number(request.args),
        per_page=current_app.config["PAGE_SIZE"],
        error_out=False,
    )
    return render_template(
        "proposals/index.html",
        page=page,
        search=search,
        status=status,
        advertiser=advertiser,
        statuses=list(ProposalStatus),
        advertisers=_accounts(AccountKind.ADVERTISER),
        can_create=current_user.has_role(*SELLERS),
    )


# -- The header form ------------------------------------------------------------------------------


def _accounts(kind: AccountKind) -> list[Account]:
    return list(db.session.scalars(sa.select(Account).where(Account.kind == kind.value).order_by(Account.name)))


def _prepare(form: ProposalForm) -> ProposalForm:
    today = publisher_today()
    form.advertiser_id.choices = options(
        [("", "— choose —"), *((a.id, a.name) for a in _accounts(AccountKind.ADVERTISER))]
    )
    form.agency_id.choices = options([("", "— none —"), *((a.id, a.name) for a in _accounts(AccountKind.AGENCY))])
    contacts = db.session.execute(
        sa.select(Contact.id, Contact.name, Account.name).join(Contact.account).order_by(Account.name, Contact.name)
    ).all()
    form.buyer_contact_id.choices = options([("", "— none yet —"), *((c, f"{n} ({a})") for c, n, a in contacts)])
    cards = [
        c
        for c in db.session.scalars(sa.select(RateCard).where(RateCard.valid_to >= today).order_by(RateCard.valid_from))
        if usable_card(c, current_user) and c.status == Status.ACTIVE.value
    ]
    form.rate_card_id.choices = options((c.id, f"{c.name} ({c.currency})") for c in cards)
    owners = db.session.scalars(sa.select(User).where(User.active.is_(True)).order_by(User.name)).all()
    form.owner_id.choices = options((u.id, u.name) for u in owners if u.has_role(Role.SALES_REP, Role.SALES_MANAGER))
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
        today = publisher_today()
        start = today + timedelta(days=7 - today.weekday())
        form.start_day.data, form.end_day.data = start, start + timedelta(days=27)
        form.time_zone.data = current_app.config["PUBLISHER_TIMEZONE"]
        form.owner_id.data = str(current_user.id)
        form.expires_on.data = today + timedelta(days=30)
        if advertiser := parse_id(request.args.get("advertiser")):
            form.advertiser_id.data = str(advertiser)
    proposal = submit(
        form,
        save=lambda: service.create_proposal(_data(form), actor=current_user, now=utcnow(), today=publisher_today()),
        check=lambda: service.check_proposal(_data(form), actor=current_user, today=publisher_today()),
    )
    if proposal is not None:
        flash(f"Proposal {proposal.number} created: add its lines.", "success")
        return redirect_to_created(url_for("proposals.detail", proposal_id=proposal.id))
    return render_template("proposals/form.html", form=form, proposal=None), 400 if form.errors else 200


@bp.route("/<int:proposal_id>/edit", methods=["GET", "POST"])
@allow(*SELLERS, checks_object=True)
def edit(proposal_id: int):
    proposal = readable_proposal(proposal_id)
    service.require_edit(current_user, proposal)
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
            **_settings(),
        ),
        check=lambda: service.check_proposal(_data(form), actor=current_user, today=publisher_today()),
    )
    if saved is not None:
        db.session.commit()
        flash("Saved; every line was priced again.", "success")
        return redirect(url_for("proposals.detail", proposal_id=proposal.id))
    return render_template("proposals/form.html", form=form, proposal=proposal), 400 if form.errors else 200


@bp.route("/<int:proposal_id>/delete", methods=["POST"])
@allow(*SELLERS, checks_object=True)
def delete(proposal_id: int):
    proposal = readable_proposal(proposal_id)
    require_csrf()
    service.delete_proposal(proposal, actor=current_user, now=utcnow())
    db.session.commit()
    flash(f"Proposal {proposal.number} deleted; its holds are released.", "success")
    return redirect(url_for("proposals.index"))


# -- The builder ----------------------------------------------------------------------------------


def _products_for(proposal: Proposal) -> list[Product]:
    rated = {r.product_id for r in proposal.rate_card.base_rates}
    return [
        p
        for p in db.session.scalars(
            sa.select(Product).where(Product.status == Status.ACTIVE.value).order_by(Product.name)
        )
        if p.id in rated
    ]


def _plan(proposal: Proposal, editable: bool):
    """What submitting would need, shown under the lines while the rep can still change them."""
    from app.workflow import approval_rules

    return approval_rules.plan_for(proposal, submitter=current_user) if editable and proposal.lines else None


def _builder_context(
    proposal: Proposal, *, line_errors: dict | None = None, open_line: int | None = None, pasted: str = ""
) -> dict:
    from app.catalog.service import targeting_values_by_dimension

    editable = service.can_edit(current_user, proposal) and proposal.is_editable
    values = targeting_values_by_dimension()
    products = _products_for(proposal)
    return {
        "proposal": proposal,
        "totals": service.totals(proposal),
        "names": value_names(values),
        "words": service.targeting_words,
        "holds": service.holds_of(proposal.lines, utcnow()),
        "products": products,
        "values": values,
        "dimension_labels": DIMENSION_LABELS,
        "can_edit": editable,
        "line_errors": line_errors or {},
        "open_line": open_line,
        "pasted": pasted,
        "packages": db.session.scalars(
            sa.select(Package).where(Package.status == Status.ACTIVE.value).order_by(Package.name)
        ).all(),
        "sizes": sorted({size for p in products for size in p.sizes}),
        "plan": _plan(proposal, editable),
        "form": FlaskForm(),
    }


@bp.route("/<int:proposal_id>")
@allow(*READERS, checks_object=True)
def detail(proposal_id: int):
    from app.workflow import approval_rules
    from app.workflow import service as workflow

    proposal = readable_proposal(proposal_id)
    context = _builder_context(proposal)
    from app.mail.models import OutboxMessage

    mails = db.session.scalars(
        sa.select(OutboxMessage)
        .where(OutboxMessage.related_type == "proposal", OutboxMessage.related_id == proposal.id)
        .order_by(OutboxMessage.id.desc())
        .limit(50)
    ).all()
    from app.orders.models import Order
    from app.workflow.models import Signature

    return render_template(
        "proposals/detail.html",
        mails=mails,
        signatures=db.session.scalars(sa.select(Signature).where(Signature.proposal_id == proposal.id)).all(),
        orders=db.session.scalars(sa.select(Order).where(Order.proposal_id == proposal.id)).all(),
        contacts=db.session.scalars(
            sa.select(Contact)
            .where(Contact.account_id.in_([a for a in (proposal.advertiser_id, proposal.agency_id) if a]))
            .order_by(Contact.name)
        ).all(),
        requests=workflow.requests_of(proposal),
        approver=approval_rules.approver_label,
        can_withdraw=service.can_edit(current_user, proposal) and proposal.status in ("submitted", "approved", "sent"),
        **context,
    )


def _line_data(proposal: Proposal, form) -> tuple[service.LineData | None, Errors]:
    """A line from the builder's form; it reads like the pricing panel's query string."""
    args = form.copy()
    args.setdefault("start", form.get("start") or proposal.start_day.isoformat())
    args.setdefault("end", form.get("end") or proposal.end_day.isoformat())
    args["rate_card"] = str(proposal.rate_card_id)
    line, errors = read_line(args)
    if line is None:
        return None, errors
    if line.product_id is None:
        errors.add("product", "Choose a product.")
        return None, errors
    return (
        service.LineData(
            product_id=line.product_id,
            pricing_model=line.pricing_model,
            start_day=line.start,
            end_day=line.end,
            time_zone=line.time_zone or proposal.time_zone,
            targeting={k: v for k, v in line.targeting.items() if v},
            quantity=line.quantity,
            budget=line.budget,
            discount_pct=line.line_discount_pct,
        ),
        errors,
    )


def _builder_response(proposal: Proposal, *, status: int = 200, **kwargs):
    """The builder's body (lines and totals) for htmx, or the whole page."""
    template = "proposals/_builder.html" if request.headers.get("HX-Request") else "proposals/detail.html"
    return render_template(template, **_builder_context(proposal, **kwargs)), status


def _sent_before(proposal: Proposal):
    """A builder form sent twice (its nonce taken by the first): the builder as the first left it,
    with a message that it was saved once; nothing is added. None for a first submission."""
    earlier = form_sent_before()
    if earlier is None or not request.headers.get("HX-Request"):
        return earlier
    return _builder_response(proposal)


def _added(proposal: Proposal) -> None:
    """Lines were added: a second submission of the same form finds them, then the request commits."""
    remember_created(url_for("proposals.detail", proposal_id=proposal.id))
    db.session.commit()


@bp.route("/<int:proposal_id>/lines", methods=["POST"])
@allow(*SELLERS, checks_object=True)
def add_line(proposal_id: int):
    proposal = readable_proposal(proposal_id)
    service.require_edit(current_user, proposal)
    require_csrf()
    if (earlier := _sent_before(proposal)) is not None:
        return earlier
    form = request.form.copy()
    product = db.session.get(Product, parse_id(form.get("product")) or 0)
    if product is not None and not form.get("pricing_model") and product.pricing_models:
        form["pricing_model"] = product.pricing_models[0]
    form.setdefault("time_zone", proposal.time_zone)
    data, errors = _line_data(proposal, form)
    try:
        if errors:
            raise ValidationFailed(errors.errors)
        service.add_line(proposal, data, actor=current_user, **_settings())
    except ValidationFailed as exc:
        db.session.rollback()
        return _builder_response(proposal, status=400, line_errors={"new": exc.errors})
    _added(proposal)
    return _builder_response(proposal, open_line=proposal.lines[-1].id)


@bp.route("/<int:proposal_id>/lines/<int:line_id>", methods=["POST"])
@allow(*SELLERS, checks_object=True)
def update_line(proposal_id: int, line_id: int):
    proposal = readable_proposal(proposal_id)
    service.require_edit(current_user, proposal)
    line = _line(proposal, line_id)
    require_csrf()
    seen = request.form.get("seen")
    if seen != line.updated_at.isoformat():  # missing or malformed is as stale as an old one
        flash(
            f"Someone else changed line {line.position} since you opened it: here it is as it is now. "
            "Make your change again if it still applies.",
            "danger",
        )
        return _builder_response(proposal, status=409, open_line=line.id)
    data, errors = _line_data(proposal, request.form)
    try:
        if errors:
            raise ValidationFailed(errors.errors)
        service.update_line(
            line, data, actor=current_user, make_good_days=current_app.config["MAKE_GOOD_WINDOW_DAYS"], **_settings()
        )
    except ValidationFailed as exc:
        db.session.rollback()
        return _builder_response(proposal, status=400, line_errors={line.id: exc.errors}, open_line=line.id)
    db.session.commit()
    return _builder_response(proposal, open_line=line.id)


@bp.route("/<int:proposal_id>/lines/<int:line_id>/preview")
@allow(*SELLERS, checks_object=True)
def preview_line(proposal_id: int, line_id: int):
    """The price and availability of the line as the rep is editing it, not saved."""
    from app.pricing.views import price_from_args

    proposal = readable_proposal(proposal_id)
    line = _line(proposal, line_id)
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
    ), 400 if errors else 200


@bp.route("/<int:proposal_id>/lines/<int:line_id>/<any(copy, remove, up, down, hold):action>", methods=["POST"])
@allow(*SELLERS, checks_object=True)
def line_action(proposal_id: int, line_id: int, action: str):
    proposal = readable_proposal(proposal_id)
    service.require_edit(current_user, proposal)
    line = _line(proposal, line_id)
    require_csrf()
    now = utcnow()
    try:
        if action == "copy":
            service.copy_line(line, actor=current_user, **_settings())
        elif action == "remove":
            service.remove_line(line, actor=current_user, now=now)
        elif action in ("up", "down"):
            service.move_line(line, -1 if action == "up" else 1, actor=current_user, now=now)
        else:
            hold = service.hold_line(line, actor=current_user, hold_days=current_app.config["HOLD_DAYS"], **_settings())
            flash(f"Line {line.position} held until {hold.expires_at:%d %b %Y %H:%M} UTC.", "success")
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return _builder_response(proposal, status=409 if action == "hold" else 400)
    db.session.commit()
    return _builder_response(proposal)


@bp.route("/<int:proposal_id>/hold", methods=["POST"])
@allow(*SELLERS, checks_object=True)
def hold_all(proposal_id: int):
    proposal = readable_proposal(proposal_id)
    require_csrf()
    service.require_edit(current_user, proposal)
    held, problems = service.hold_all(
        proposal, actor=current_user, hold_days=current_app.config["HOLD_DAYS"], **_settings()
    )
    db.session.commit()
    flash(f"{held} of {len(proposal.lines)} lines held.", "success" if not problems else "warning")
    for problem in problems:
        flash(problem, "danger")
    return _builder_response(proposal)


# -- Versions -------------------------------------------------------------------------------------


@bp.route("/<int:proposal_id>/versions/<int:number>.pdf")
@allow(*READERS, checks_object=True)
def version_pdf(proposal_id: int, number: int):
    proposal = readable_proposal(proposal_id)
    version = next((v for v in proposal.versions if v.number == number), None)
    if version is None or version.pdf is None:
        raise NotFound("No PDF for that version.")
    return Response(
        version.pdf,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{proposal.number}-v{number}.pdf"',
            "X-Content-SHA256": version.pdf_sha256 or "",
        },
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
        changes=service.diff(by_number[a].snapshot, by_number[b].snapshot),
    )


@bp.route("/<int:proposal_id>/package", methods=["POST"])
@allow(*SELLERS, checks_object=True)
def add_package(proposal_id: int):
    proposal = readable_proposal(proposal_id)
    service.require_edit(current_user, proposal)
    require_csrf()
    if (earlier := _sent_before(proposal)) is not None:
        return earlier
    package = db.session.get(Package, parse_id(request.form.get("package")) or 0)
    raw = (request.form.get("impressions") or "").replace(",", "").strip()
    impressions = int(raw) if raw.isascii() and raw.isdigit() and 0 < len(raw) <= 13 else None
    try:
        if package is None or package.status != Status.ACTIVE.value:
            raise ValidationFailed({"package": ["Choose a package."]})
        if raw and impressions is None:
            raise ValidationFailed({"package": ["Enter the impressions per line as a whole number, such as 500000."]})
        optional = {parse_id(v) for v in request.form.getlist("optional")} - {None}
        added = service.add_package(
            proposal, package, impressions=impressions, optional=optional, actor=current_user, **_settings()
        )
    except ValidationFailed as exc:
        db.session.rollback()
        return _builder_response(proposal, status=400, line_errors={"package": exc.errors})
    _added(proposal)
    flash(f"{len(added)} lines added from {package.name}, each {package.discount_pct:g} % off.", "success")
    return _builder_response(proposal)


@bp.route("/<int:proposal_id>/paste", methods=["POST"])
@allow(*SELLERS, checks_object=True)
def paste(proposal_id: int):
    proposal = readable_proposal(proposal_id)
    service.require_edit(current_user, proposal)
    require_csrf()
    if (earlier := _sent_before(proposal)) is not None:
        return earlier
    text = (request.form.get("paste") or "")[:1_000_000]
    try:
        added = service.paste_lines(proposal, text, actor=current_user, **_settings())
    except ValidationFailed as exc:
        db.session.rollback()
        return _builder_response(proposal, status=400, line_errors={"paste": exc.errors}, pasted=text)
    _added(proposal)
    flash(f"{len(added)} pasted lines added.", "success")
    return _builder_response(proposal)


def _goals(proposal: Proposal, args) -> tuple[service.Goals | None, Errors]:
    from app.validation import parse_number

    errors = Errors()
    budget = parse_number(args.get("budget"))
    if budget is None:
        errors.add("budget", "Enter the budget, such as 50000.")
    dates = {}
    for name, default in (("start", proposal.start_day), ("end", proposal.end_day)):
        raw = (args.get(name) or "").strip()
        try:
            dates[name] = date.fromisoformat(raw) if raw else default
        except ValueError:
            errors.add(name, "Enter a date as YYYY-MM-DD.")
    if errors:
        return None, errors
    audience = {k: tuple(v for v in args.getlist(k) if v) for k in ("audience", "key_value")}
    goals = service.Goals(
        budget=budget,
        start_day=dates["start"],
        end_day=dates["end"],
        geo=tuple(v for v in args.getlist("geo") if v),
        device=tuple(v for v in args.getlist("device") if v),
        sizes=tuple(v for v in args.getlist("sizes") if v),
        audience={k: v for k, v in audience.items() if v},
    )
    errors = service.check_goals(proposal, goals, today=publisher_today())
    return (None if errors else goals), errors


@bp.route("/<int:proposal_id>/recommend")
@allow(*SELLERS, checks_object=True)
def recommend(proposal_id: int):
    """A product mix for a budget and goals (htmx fragment), each pick with its reasons."""
    proposal = readable_proposal(proposal_id)
    goals, errors = _goals(proposal, request.args)
    picks = []
    if goals is not None:
        picks = service.recommend(proposal, goals, actor=current_user, **_settings())
    return render_template(
        "proposals/_recommendation.html",
        proposal=proposal,
        goals=goals,
        picks=picks,
        errors=errors.errors,
        form=FlaskForm(),
        args=request.args,
    ), 400 if errors else 200


@bp.route("/<int:proposal_id>/recommended-lines", methods=["POST"])
@allow(*SELLERS, checks_object=True)
def add_recommended(proposal_id: int):
    """The recommended mix added in one click: one line per pick, with the goals' targeting."""
    proposal = readable_proposal(proposal_id)
    service.require_edit(current_user, proposal)
    require_csrf()
    if (earlier := _sent_before(proposal)) is not None:
        return earlier
    goals, errors = _goals(proposal, request.form)
    products = [parse_id(v) for v in request.form.getlist("product")]
    amounts = [v for v in request.form.getlist("impressions")]
    try:
        if goals is None or not products or len(products) != len(amounts) or None in products:
            raise ValidationFailed(errors.errors or {"recommend": ["Ask for a recommendation first."]})
        targeting = {"geo": goals.geo, "device": goals.device, **goals.audience}
        with db.session.begin_nested():
            for product_id, amount in zip(products, amounts, strict=True):
                service.add_line(
                    proposal,
                    service.LineData(
                        product_id=product_id,
                        pricing_model="cpm",
                        start_day=goals.start_day,
                        end_day=goals.end_day,
                        time_zone=proposal.time_zone,
                        targeting={k: v for k, v in targeting.items() if v},
                        quantity=int(amount) if amount.isascii() and amount.isdigit() else None,
                    ),
                    actor=current_user,
                    **_settings(),
                )
    except ValidationFailed as exc:
        db.session.rollback()
        return _builder_response(proposal, status=400, line_errors={"recommend": exc.errors})
    _added(proposal)
    flash(f"{len(products)} recommended lines added.", "success")
    return _builder_response(proposal)
