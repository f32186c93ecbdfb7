"""The hold form: what the availability panel sends, shown again with each problem on its field."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField


class HoldForm(FlaskForm):
    # Every value is read by `line_request.read_availability_request` and checked by the service (the same bounds as
    # the availability answer), so the fields carry no validators of their own.
    product = SelectField("Product", choices=[], validate_choice=False)
    slots = StringField("Or ad slots (their ids, separated by commas)")
    start = StringField("First day", render_kw={"type": "date"})
    end = StringField("Last day", render_kw={"type": "date"})
    quantity = StringField("Impressions", render_kw={"inputmode": "numeric"})
    label = StringField("Hold for", render_kw={"maxlength": 200, "placeholder": "Advertiser and campaign"})
    back = HiddenField()
