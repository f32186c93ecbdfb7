from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice

from app.access import allow
from app.catalog.models import DIMENSION_LABELS, DimensionKey, PricingModel, Product, Status
from app.catalog.targeting import targeting_values_by_dimension
from app.csvio import ImportFailed
from app.db import utcnow
from app.errors import NotFound, ValidationFailed
from app.extensions import current_settings, db
from app.forms import form_sent_before, options, posted_version, redirect_to_created, submit
from app.ratecards import csvio, service
from app.ratecards.forms import (
    BaseRateForm,
    CardForm,
    CopyForm,
    DemandBandForm,
    FloorForm,
    PremiumForm,
    SeasonForm,
    VolumeTierForm,
)
from app.ratecards.models import Combine, RateCard
from app.roles import Role
from app.transaction import abandon
from app.validation import currency_choices, parse_id

bp = Blueprint("ratecards", __name__, url_prefix="/rate-cards")

EDITORS = (Role.ADMIN,)
READERS = (Role.ADMIN, Role.SALES_MANAGER, Role.SALES_REP, Role.FINANCE)

#: Each form on the card page: prefix, class.
ROW_FORMS = {
    "rate": BaseRateForm,
    "premium": PremiumForm,
    "season": SeasonForm,
    "tier": VolumeTierForm,
    "band": DemandBandForm,
    "floor": FloorForm,
    "copy": CopyForm,
}


def _card(card_id: int) -> RateCard:
    card = db.session.get(RateCard, card_id)
    if card is None:
        raise NotFound("There is no such rate card.")
    return card


@bp.route("/")
@allow(*READERS)
def index():
    cards = db.session.query(RateCard).order_by(RateCard.status, RateCard.valid_from.desc(), RateCard.name).all()
    return render_template("ratecards/index.html", cards=cards, can_edit=current_user.has_role(*EDITORS))


def _card_form(card: RateCard | None) -> CardForm:
    form = CardForm(obj=card if request.method == "GET" else None)
    form.currency.choices = options(currency_choices())
    if request.method == "GET":
        if card is None:
            form.currency.data = current_settings().currency
            form.status.data = Status.ACTIVE.value
        else:
            form.version.data = str(card.version)
    return form


def _card_data(form: CardForm, card: RateCard | None) -> service.CardData:
    return service.CardData(
        name=form.name.data or "",
        description=form.description.data or "",
        currency=form.currency.data or "",
        valid_from=form.valid_from.data,
        valid_to=form.valid_to.data,
        allowed_roles=form.allowed_roles.data or [],
        combine_rules=dict(card.combine_rules) if card else {},
        status=form.status.data or Status.ACTIVE.value,
    )


@bp.route("/new", methods=["GET", "POST"])
@allow(*EDITORS)
def new():
    if (earlier := form_sent_before()) is not None:
        return earlier
    form = _card_form(None)
    card = submit(form, save=lambda: service.create_card(_card_data(form, None), actor=current_user, now=utcnow()))
    if card is not None:
        flash(f"Created rate card {card.name}. Add its base rates below.", "success")
        return redirect_to_created(url_for("ratecards.card", card_id=card.id))
    return render_template("ratecards/card_form.html", form=form, card=None), 400 if form.errors else 200


@bp.route("/<int:card_id>/edit", methods=["GET", "POST"])
@allow(*EDITORS)
def edit(card_id: int):
    card = _card(card_id)
    form = _card_form(card)
    saved = submit(
        form,
        save=lambda: service.update_card(
            card,
            _card_data(form, card),
            expected_version=posted_version(form.version.data),
            actor=current_user,
            now=utcnow(),
        ),
    )
    if saved is not None:
        flash(f"Saved {card.name}.", "success")
        return redirect(url_for("ratecards.card", card_id=card.id))
    return render_template("ratecards/card_form.html", form=form, card=card), 400 if form.errors else 200


def _prepare(forms: dict[str, FlaskForm], card: RateCard) -> None:
    products = db.session.query(Product).order_by(Product.name).all()
    product_choices = options([("", "— choose —"), *((p.id, p.name) for p in products)])
    forms["rate"].product_id.choices = product_choices
    forms["floor"].product_id.choices = product_choices
    values = targeting_values_by_dimension()
    # Each value says its feature, so the page offers only the chosen feature's values.
    forms["premium"].value_code.choices = [SelectChoice("", "Any value")] + [
        SelectChoice(code, f"{DIMENSION_LABELS[DimensionKey(key)]}: {value.name}", render_kw={"data-feature": key})
        for key, by_code in sorted(values.items())
        for code, value in sorted(by_code.items(), key=lambda item: item[1].name)
    ]
    if forms["copy"].name.data is None:
        forms["copy"].name.data = f"{card.name} (copy)"


def _card_page(card: RateCard, failed: str | None = None, form: FlaskForm | None = None, import_problems=()):
    forms = {
        prefix: (form if prefix == failed else cls(prefix=prefix, formdata=None)) for prefix, cls in ROW_FORMS.items()
    }
    _prepare(forms, card)
    status = 400 if failed or import_problems else 200
    return render_template(
        "ratecards/card.html",
        card=card,
        forms=forms,
        can_edit=current_user.has_role(*EDITORS),
        dimension_labels=DIMENSION_LABELS,
        models=PricingModel,
        combine=Combine,
        values=targeting_values_by_dimension(),
        import_form=FlaskForm(prefix="import"),
        import_problems=import_problems,
    ), status


@bp.route("/<int:card_id>")
@allow(*READERS)
def card(card_id: int):
    return _card_page(_card(card_id))


def _row_action(card: RateCard, prefix: str, save, anchor: str):
    """Post one of the card page's forms: save, or show the page again with that form's errors."""
    form = ROW_FORMS[prefix](prefix=prefix)
    _prepare({**{p: c(prefix=p, formdata=None) for p, c in ROW_FORMS.items()}, prefix: form}, card)
    done = submit(form, save=lambda: save(form))
    if done is not None:
        flash("Saved.", "success")
        return redirect(url_for("ratecards.card", card_id=card.id) + f"#{anchor}")
    return _card_page(card, failed=prefix, form=form)


def _product(raw: str | None) -> Product | None:
    product_id = parse_id(raw)
    return db.session.get(Product, product_id) if product_id else None


@bp.route("/<int:card_id>/base-rates", methods=["POST"])
@allow(*EDITORS)
def set_base_rate(card_id: int):
    card = _card(card_id)
    return _row_action(
        card,
        "rate",
        lambda f: service.set_base_rate(
            card,
            _product(f.product_id.data),
            f.pricing_model.data or "",
            f.rate.data,
            actor=current_user,
            now=utcnow(),
        ),
        "base-rates",
    )


@bp.route("/<int:card_id>/premiums", methods=["POST"])
@allow(*EDITORS)
def set_premium(card_id: int):
    card = _card(card_id)
    return _row_action(
        card,
        "premium",
        lambda f: service.set_premium(
            card,
            f.dimension.data or "",
            f.value_code.data,
            f.kind.data or "",
            f.amount.data,
            actor=current_user,
            now=utcnow(),
        ),
        "premiums",
    )


@bp.route("/<int:card_id>/seasons", methods=["POST"])
@allow(*EDITORS)
def add_season(card_id: int):
    card = _card(card_id)
    return _row_action(
        card,
        "season",
        lambda f: service.add_season(
            card,
            f.name.data or "",
            f.starts_on.data,
            f.ends_on.data,
            f.adjustment_pct.data,
            actor=current_user,
            now=utcnow(),
        ),
        "seasons",
    )


@bp.route("/<int:card_id>/volume-tiers", methods=["POST"])
@allow(*EDITORS)
def set_volume_tier(card_id: int):
    card = _card(card_id)
    return _row_action(
        card,
        "tier",
        lambda f: service.set_volume_tier(
            card, f.min_quantity.data, f.discount_pct.data, actor=current_user, now=utcnow()
        ),
        "volume-tiers",
    )


@bp.route("/<int:card_id>/demand-bands", methods=["POST"])
@allow(*EDITORS)
def set_demand_band(card_id: int):
    card = _card(card_id)
    return _row_action(
        card,
        "band",
        lambda f: service.set_demand_band(
            card, f.from_pct.data, f.adjustment_pct.data, actor=current_user, now=utcnow()
        ),
        "demand-bands",
    )


@bp.route("/<int:card_id>/floors", methods=["POST"])
@allow(*EDITORS)
def set_floor(card_id: int):
    card = _card(card_id)
    return _row_action(
        card,
        "floor",
        lambda f: service.set_floor(
            card,
            _product(f.product_id.data),
            f.pricing_model.data or "",
            f.rate.data,
            actor=current_user,
            now=utcnow(),
        ),
        "floors",
    )


@bp.route("/<int:card_id>/feature-rules", methods=["POST"])
@allow(*EDITORS)
def set_feature_rules(card_id: int):
    card = _card(card_id)
    form = FlaskForm()
    if form.validate_on_submit():
        rules = {key.value: request.form.get(f"combine_{key.value}", "") for key in DimensionKey}
        data = service.CardData(
            name=card.name,
            currency=card.currency,
            valid_from=card.valid_from,
            valid_to=card.valid_to,
            description=card.description,
            allowed_roles=list(card.allowed_roles),
            combine_rules={k: v for k, v in rules.items() if v},
            status=card.status,
        )
        try:
            service.update_card(
                card,
                data,
                expected_version=posted_version(request.form.get("version")),
                actor=current_user,
                now=utcnow(),
            )
        except ValidationFailed as exc:
            abandon(db.session)
            flash(exc.message, "danger")
        else:
            flash("Saved how premiums of one feature combine.", "success")
    return redirect(url_for("ratecards.card", card_id=card.id) + "#premiums")


@bp.route(
    "/<int:card_id>/<any(base_rates, premiums, seasons, volume_tiers, demand_bands, floors):kind>/<int:row_id>/remove",
    methods=["POST"],
)
@allow(*EDITORS)
def remove_row(card_id: int, kind: str, row_id: int):
    card = _card(card_id)
    form = FlaskForm()
    if form.validate_on_submit():
        service.remove_row(card, kind, row_id, actor=current_user, now=utcnow())
        flash("Removed.", "success")
    return redirect(url_for("ratecards.card", card_id=card.id) + f"#{kind.replace('_', '-')}")


@bp.route("/<int:card_id>/copy", methods=["POST"])
@allow(*EDITORS)
def copy(card_id: int):
    card = _card(card_id)
    if (earlier := form_sent_before()) is not None:
        return earlier
    form = CopyForm(prefix="copy")

    def save():
        return service.copy_card(
            card, name=form.name.data or "", years=form.years.data, actor=current_user, now=utcnow()
        )

    created = submit(form, save=save)
    if created is not None:
        flash(f"Created {created.name} from {card.name}.", "success")
        return redirect_to_created(url_for("ratecards.card", card_id=created.id))
    return _card_page(card, failed="copy", form=form)


@bp.route("/<int:card_id>.csv")
@allow(*READERS)
def export(card_id: int):
    card = _card(card_id)
    filename = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in card.name).strip("-") or "rate-card"
    return Response(
        csvio.export_card(card),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'},
    )


@bp.route("/<int:card_id>/import", methods=["POST"])
@allow(*EDITORS)
def import_csv(card_id: int):
    card = _card(card_id)
    form = FlaskForm(prefix="import")
    if not form.validate_on_submit():
        return _card_page(card, import_problems=["The form expired; reload the page and upload the file again."])
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _card_page(card, import_problems=["Choose a CSV file to import."])
    try:
        counts = csvio.import_card(card, upload.read(), actor=current_user, now=utcnow())
    except ImportFailed as exc:
        abandon(db.session)
        return _card_page(_card(card_id), import_problems=[str(p) for p in exc.problems])
    flash("Imported: " + ", ".join(f"{n} {what}" for what, n in counts.items()) + ".", "success")
    return redirect(url_for("ratecards.card", card_id=card.id))
