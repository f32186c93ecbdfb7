from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, TextAreaField

from app.catalog.models import DIMENSION_LABELS, PricingModel, Status
from app.forms import DateInput, MultiCheckboxField, NumberField, WholeNumberField, options
from app.ratecards.models import PremiumKind
from app.roles import ROLE_LABELS

MODEL_CHOICES = options((m.value, m.label) for m in PricingModel)


class CardForm(FlaskForm):
    name = StringField("Name", render_kw={"maxlength": 200})
    description = TextAreaField("Description", render_kw={"rows": 2, "maxlength": 5000})
    currency = SelectField("Currency", choices=[], validate_choice=False)
    valid_from = DateInput("Valid from")
    valid_to = DateInput("Valid to")
    allowed_roles = MultiCheckboxField(
        "Who may price with it",
        choices=options(ROLE_LABELS.items()),
        validate_choice=False,
        description="None ticked: everyone who sells.",
    )
    status = SelectField(
        "Status", choices=options((s.value, s.value.capitalize()) for s in Status), validate_choice=False
    )
    version = HiddenField()


class BaseRateForm(FlaskForm):
    product_id = SelectField("Product", choices=[], validate_choice=False)
    pricing_model = SelectField("Pricing model", choices=MODEL_CHOICES, validate_choice=False)
    rate = NumberField("Base rate", render_kw={"inputmode": "decimal"})


class PremiumForm(FlaskForm):
    dimension = SelectField("Feature", choices=options(DIMENSION_LABELS.items()), validate_choice=False)
    #: searchable, and narrowed to the chosen feature's values in the browser (static/js/searchable.js)
    value_code = SelectField(
        "Value",
        choices=[],
        validate_choice=False,
        render_kw={"data-searchable": "", "data-narrowed-by": "premium-dimension"},
    )
    kind = SelectField("Kind", choices=options((k.value, k.label) for k in PremiumKind), validate_choice=False)
    amount = NumberField("Premium", render_kw={"inputmode": "decimal"})


class SeasonForm(FlaskForm):
    name = StringField("Season", render_kw={"maxlength": 120})
    starts_on = DateInput("From")
    ends_on = DateInput("To")
    adjustment_pct = NumberField("Adjustment (%)", render_kw={"inputmode": "decimal"})


class VolumeTierForm(FlaskForm):
    min_quantity = WholeNumberField("From quantity")
    discount_pct = NumberField("Discount (%)", render_kw={"inputmode": "decimal"})


class DemandBandForm(FlaskForm):
    from_pct = NumberField("From sell-through (%)", render_kw={"inputmode": "decimal"})
    adjustment_pct = NumberField("Adjustment (%)", render_kw={"inputmode": "decimal"})


class FloorForm(FlaskForm):
    product_id = SelectField("Product", choices=[], validate_choice=False)
    pricing_model = SelectField("Pricing model", choices=MODEL_CHOICES, validate_choice=False)
    rate = NumberField("Floor (lowest net rate)", render_kw={"inputmode": "decimal"})


class CopyForm(FlaskForm):
    name = StringField("Name of the copy", render_kw={"maxlength": 200})
    years = WholeNumberField("Move dates by (years)", default=1)
