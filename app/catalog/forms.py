from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField

from app.catalog.models import DIMENSION_LABELS, LineItemType, PricingModel, Status
from app.forms import MultiCheckboxField, NumberField, WholeNumberField, options


class AdUnitForm(FlaskForm):
    name = StringField("Name", render_kw={"maxlength": 200})
    code = StringField(
        "Code",
        description="Lower case, / between levels. Left empty, it is made from the parent's and the name.",
        render_kw={"maxlength": 200},
    )
    parent_id = SelectField("Parent", choices=[], validate_choice=False)
    sizes = StringField("Creative sizes", description="Such as 300x250, 728x90, video, native.")
    safety_margin_pct = NumberField(
        "Safety margin (%)",
        description="Share of the forecast never sold on this site. Empty: the default.",
        render_kw={"inputmode": "decimal"},
    )


class TargetingValueForm(FlaskForm):
    code = StringField("Code", render_kw={"maxlength": 120})
    name = StringField("Name", render_kw={"maxlength": 200})


class ProductForm(FlaskForm):
    name = StringField("Name", render_kw={"maxlength": 200})
    description = TextAreaField("Description", render_kw={"rows": 3, "maxlength": 5000})
    category = StringField(
        "Category", description="Such as Display, Video or Sponsorship.", render_kw={"list": "categories"}
    )
    line_item_type = SelectField(
        "Line item type", choices=options((t.value, t.label) for t in LineItemType), validate_choice=False
    )
    pricing_models = MultiCheckboxField(
        "Pricing models", choices=options((m.value, m.label) for m in PricingModel), validate_choice=False
    )
    ad_units = MultiCheckboxField("Ad units", choices=[], validate_choice=False)
    include_descendants = BooleanField("Include everything below the chosen units, now and later", default=True)
    sizes = MultiCheckboxField("Creative sizes", choices=[], validate_choice=False)
    min_quantity = WholeNumberField("Minimum quantity")
    max_quantity = WholeNumberField("Maximum quantity")
    customisable = MultiCheckboxField(
        "Targeting a rep may customise", choices=options(DIMENSION_LABELS.items()), validate_choice=False
    )
    status = SelectField(
        "Status", choices=options((s.value, s.value.capitalize()) for s in Status), validate_choice=False
    )
    version = HiddenField()
    #: Never drawn (the page draws one select per dimension, `default_<key>`): it carries the service's
    #: messages about default targeting, so they show under those selects rather than above the form.
    targeting_defaults = HiddenField()


class PackageForm(FlaskForm):
    name = StringField("Name", render_kw={"maxlength": 200})
    description = TextAreaField("Description", render_kw={"rows": 2, "maxlength": 5000})
    discount_pct = NumberField("Package discount (%)", render_kw={"inputmode": "decimal"})
    status = SelectField(
        "Status", choices=options((s.value, s.value.capitalize()) for s in Status), validate_choice=False
    )
