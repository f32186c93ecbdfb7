"""The proposal builder: lines with live price and availability, holds, packages, pasted lines and
recommendations. Routes on the proposals blueprint (`views.bp`)."""

from __future__ import annotations

from datetime import date

from flask import flash, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict

from app.access import allow
from app.catalog.models import DIMENSION_LABELS, Package, Product, Status
from app.catalog.targeting import targeting_values_by_dimension, value_names
from app.db import utcnow
from app.errors import Errors, ValidationFailed
from app.extensions import current_clock, current_settings, db
from app.formats import ngettext, plural
from app.forms import form_sent_before, remember_created
from app.pricing.service import read_line
from app.proposals import access, bulk, holds, line_form, lines, queries, registry
from app.proposals.models import Proposal
from app.proposals.views import READERS, SELLERS, bp, readable_proposal, settings
from app.transaction import abandon
from app.validation import parse_id, parse_number

# -- The builder ----------------------------------------------------------------------------------


def form_context(proposal: Proposal, *, line_values: dict[int, line_form.LineFields] | None = None) -> dict:
    """What a line's form shows: `line_values` are what the rep typed in a line's form when it was refused
    (shown again as typed, never blank)."""
    return {
        "proposal": proposal,
        "products": queries.products_for(proposal),
        "values": targeting_values_by_dimension(),
        "dimension_labels": DIMENSION_LABELS,
        "line_values": line_values or {},
        "line_fields_of": line_form.fields_of_line,
        "form": FlaskForm(),
    }


def lines_context(
    proposal: Proposal,
    *,
    line_errors: dict | None = None,
    open_line: int | None = None,
    line_values: dict[int, line_form.LineFields] | None = None,
) -> dict:
    """What the lines' rows show (the builder's, or one line's answer), with the totals and what
    submitting would need: the approval rules, evaluated once per answer on the lines already loaded."""
    editable = access.can_edit(current_user, proposal) and proposal.is_editable
    context = form_context(proposal, line_values=line_values)
    return context | {
        "totals": lines.totals(proposal),
        "names": value_names(context["values"]),
        "words": lines.targeting_words,
        "can_edit": editable,
        "line_errors": line_errors or {},
        "open_line": open_line,
        "page_url": url_for("proposals.detail", proposal_id=proposal.id),  # each line's addresses start so
        # what submitting would need (workflow), under the lines while the rep can still change them
        **registry.panels(
            registry.builder_panels, proposal, current_user, editable=editable, settings=current_settings()
        ),
    }


def _builder_context(
    proposal: Proposal,
    *,
    line_errors: dict | None = None,
    open_line: int | None = None,
    pasted: str = "",
    new_line: line_form.LineFields | None = None,
    line_values: dict[int, line_form.LineFields] | None = None,
) -> dict:
    """What the builder shows: its lines (their forms only for the line open), and the forms that add
    lines; `new_line` is what the rep typed in the Add form when it was refused."""
    context = lines_context(proposal, line_errors=line_errors, open_line=open_line, line_values=line_values)
    products = context["products"]
    return context | {
        "holds": holds.holds_of(proposal.lines, utcnow()),
        "pasted": pasted,
        "new_line": new_line or typed_fields(proposal, MultiDict()),
        "packages": queries.active_packages(),
        "sizes": sorted({size for p in products for size in p.sizes}),
    }


@bp.route("/<int:proposal_id>")
@allow(*READERS, checks_object=True)
def detail(proposal_id: int):
    proposal = readable_proposal(proposal_id)
    # ?edit=<line>: that line's form open (what "Edit line N" asks for without JavaScript)
    context = _builder_context(proposal, open_line=parse_id(request.args.get("edit")))
    return render_template(
        "proposals/detail.html",
        mails=queries.mails_about(proposal),
        contacts=queries.contacts_of(proposal),
        can_withdraw=access.can_withdraw(current_user, proposal),
        # the orders, signatures and approvals the higher domains show on the page
        **registry.panels(registry.page_panels, proposal, current_user, editable=context["can_edit"]),
        **context,
    )


def typed_fields(proposal: Proposal, form) -> line_form.LineFields:
    """A line form's fields as the rep typed them, the proposal's flight where they typed no day."""
    return line_form.fields_typed(form, start=proposal.start_day.isoformat(), end=proposal.end_day.isoformat())


def fields_part(proposal: Proposal, prefix: str, fields_url: str, fields: line_form.LineFields):
    return render_template(
        "proposals/_line_fields_part.html",
        prefix=prefix,
        fv=fields,
        fields_url=fields_url,
        products=queries.products_for(proposal),
        values=targeting_values_by_dimension(),
        dimension_labels=DIMENSION_LABELS,
    )


@bp.route("/<int:proposal_id>/new-line")
@allow(*SELLERS, checks_object=True)
def new_line_fields(proposal_id: int):
    """The Add form's fields for the product just chosen: its pricing models and the targeting it
    lets a rep customise, with everything else as typed (htmx fragment; nothing is saved)."""
    proposal = readable_proposal(proposal_id)
    access.require_edit(current_user, proposal)
    url = url_for("proposals.new_line_fields", proposal_id=proposal.id)
    return fields_part(proposal, "new", url, typed_fields(proposal, request.args))


def line_data(proposal: Proposal, form) -> tuple[lines.LineData | None, Errors]:
    """A line from the builder's form; it reads like the pricing panel's query string."""
    args = form.copy()
    args.setdefault("start", form.get("start") or proposal.start_day.isoformat())
    args.setdefault("end", form.get("end") or proposal.end_day.isoformat())
    args["rate_card"] = str(proposal.rate_card_id)
    line, errors = read_line(args, time_zone=current_settings().time_zone.key)
    if line is None:
        return None, errors
    if line.product_id is None:
        errors.add("product", "Choose a product.")
        return None, errors
    return (
        lines.LineData(
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


def builder_response(proposal: Proposal, *, status: int = 200, **kwargs):
    """The builder's body (lines and totals) for htmx, or the whole page."""
    template = "proposals/_builder.html" if request.headers.get("HX-Request") else "proposals/detail.html"
    return render_template(template, **_builder_context(proposal, **kwargs)), status


def _sent_before(proposal: Proposal):
    """A builder form sent twice (its nonce taken by the first): the builder as the first left it,
    with a message that it was saved once; nothing is added. None for a first submission."""
    earlier = form_sent_before()
    if earlier is None or not request.headers.get("HX-Request"):
        return earlier
    return builder_response(proposal)


def _added(proposal: Proposal) -> None:
    """Lines were added: a second submission of the same form finds them, then the request commits."""
    remember_created(url_for("proposals.detail", proposal_id=proposal.id))


@bp.route("/<int:proposal_id>/lines", methods=["POST"])
@allow(*SELLERS, checks_object=True)
def add_line(proposal_id: int):
    proposal = readable_proposal(proposal_id)
    access.require_edit(current_user, proposal)
    if (earlier := _sent_before(proposal)) is not None:
        return earlier
    form = request.form.copy()
    product = db.session.get(Product, parse_id(form.get("product")) or 0)
    if product is not None and not form.get("pricing_model") and product.pricing_models:
        form["pricing_model"] = product.pricing_models[0]
    form.setdefault("time_zone", proposal.time_zone)
    data, errors = line_data(proposal, form)
    try:
        if errors:
            raise ValidationFailed(errors.errors)
        lines.add_line(proposal, data, actor=current_user, **settings())
    except ValidationFailed as exc:
        abandon(db.session)
        return builder_response(
            proposal, status=400, line_errors={"new": exc.errors}, new_line=typed_fields(proposal, request.form)
        )
    _added(proposal)
    return builder_response(proposal, open_line=proposal.lines[-1].id)


@bp.route("/<int:proposal_id>/hold", methods=["POST"])
@allow(*SELLERS, checks_object=True)
def hold_all(proposal_id: int):
    proposal = readable_proposal(proposal_id)
    access.require_edit(current_user, proposal)
    held, problems = holds.hold_all(proposal, actor=current_user, hold_days=current_settings().hold_days, **settings())
    held_text = f"{held} of {plural(len(proposal.lines), 'line', 'lines')} held."
    flash(held_text, "success" if not problems else "warning")
    for problem in problems:
        flash(problem, "danger")
    return builder_response(proposal)


# -- Packages, pasted lines, recommendations ----------------------------------------------------


@bp.route("/<int:proposal_id>/package", methods=["POST"])
@allow(*SELLERS, checks_object=True)
def add_package(proposal_id: int):
    proposal = readable_proposal(proposal_id)
    access.require_edit(current_user, proposal)
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
        added = bulk.add_package(
            proposal, package, impressions=impressions, optional=optional, actor=current_user, **settings()
        )
    except ValidationFailed as exc:
        abandon(db.session)
        return builder_response(proposal, status=400, line_errors={"package": exc.errors})
    _added(proposal)
    flash(
        ngettext(
            "%(num)s line added from %(package)s",
            "%(num)s lines added from %(package)s",
            len(added),
            package=package.name,
        )
        + f", each {package.discount_pct:g} % off.",
        "success",
    )
    return builder_response(proposal)


@bp.route("/<int:proposal_id>/paste", methods=["POST"])
@allow(*SELLERS, checks_object=True)
def paste(proposal_id: int):
    proposal = readable_proposal(proposal_id)
    access.require_edit(current_user, proposal)
    if (earlier := _sent_before(proposal)) is not None:
        return earlier
    text = (request.form.get("paste") or "")[:1_000_000]
    try:
        added = bulk.paste_lines(proposal, text, actor=current_user, **settings())
    except ValidationFailed as exc:
        abandon(db.session)
        return builder_response(proposal, status=400, line_errors={"paste": exc.errors}, pasted=text)
    _added(proposal)
    flash(f"{len(added)} pasted lines added.", "success")
    return builder_response(proposal)


def _goals(proposal: Proposal, args) -> tuple[bulk.Goals | None, Errors]:
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
    goals = bulk.Goals(
        budget=budget,
        start_day=dates["start"],
        end_day=dates["end"],
        geo=tuple(v for v in args.getlist("geo") if v),
        device=tuple(v for v in args.getlist("device") if v),
        sizes=tuple(v for v in args.getlist("sizes") if v),
        audience={k: v for k, v in audience.items() if v},
    )
    errors = bulk.check_goals(proposal, goals, today=current_clock().today())
    return (None if errors else goals), errors


@bp.route("/<int:proposal_id>/recommend")
@allow(*SELLERS, checks_object=True)
def recommend(proposal_id: int):
    """A product mix for a budget and goals (htmx fragment), each pick with its reasons."""
    proposal = readable_proposal(proposal_id)
    goals, errors = _goals(proposal, request.args)
    picks = []
    if goals is not None:
        picks = bulk.recommend(proposal, goals, actor=current_user, **settings())
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
    access.require_edit(current_user, proposal)
    if (earlier := _sent_before(proposal)) is not None:
        return earlier
    goals, errors = _goals(proposal, request.form)
    products = [parse_id(v) for v in request.form.getlist("product")]
    amounts = [v for v in request.form.getlist("impressions")]
    try:
        if goals is None or not products or len(products) != len(amounts) or None in products:
            raise ValidationFailed(errors.errors or {"recommend": ["Ask for a recommendation first."]})
        bulk.add_recommended(
            proposal, goals, list(zip(products, amounts, strict=True)), actor=current_user, **settings()
        )
    except ValidationFailed as exc:
        abandon(db.session)
        return builder_response(proposal, status=400, line_errors={"recommend": exc.errors})
    _added(proposal)
    flash(f"{len(products)} recommended lines added.", "success")
    return builder_response(proposal)
