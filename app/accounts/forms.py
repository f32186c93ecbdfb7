from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import Optional

from app.accounts.models import AccountKind, CreditStatus
from app.forms import NumberField


class AccountForm(FlaskForm):
    kind = SelectField("Type", choices=[(k.value, k.label) for k in AccountKind])
    name = StringField("Name", render_kw={"maxlength": 200, "autocomplete": "organization"})
    billing_address = TextAreaField("Billing address", render_kw={"rows": 3, "maxlength": 1000})
    billing_country = SelectField("Billing country", choices=[])
    currency = SelectField("Default currency", choices=[])
    agency_commission_pct = NumberField(
        "Agency commission (%)",
        default=0,
        validators=[Optional()],
        description="Share of gross the agency keeps; 0 for advertisers.",
        render_kw={"inputmode": "decimal"},
    )
    credit_status = SelectField("Credit status", choices=[(c.value, c.label) for c in CreditStatus])
    owner_id = SelectField("Owner", coerce=int, choices=[])
    notes = TextAreaField("Notes", render_kw={"rows": 3, "maxlength": 5000})
    #: The version the form was loaded from; a mismatch on save is a conflict.
    version = HiddenField()


class ContactForm(FlaskForm):
    name = StringField("Name", render_kw={"maxlength": 200})
    email = EmailField("E-mail", render_kw={"maxlength": 254})
    title = StringField("Title", render_kw={"maxlength": 120})
    phone = StringField("Phone", render_kw={"maxlength": 40})
