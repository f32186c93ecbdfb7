from __future__ import annotations

from decimal import Decimal

from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import Optional

from app.accounts.models import AccountKind, CreditStatus
from app.forms import NumberField, options


class AccountForm(FlaskForm):
    kind = SelectField("Type", choices=options((k.value, k.label) for k in AccountKind), validate_choice=False)
    name = StringField("Name", render_kw={"maxlength": 200, "autocomplete": "organization"})
    billing_address = TextAreaField("Billing address", render_kw={"rows": 3, "maxlength": 1000})
    billing_country = SelectField("Billing country", choices=[], validate_choice=False)
    currency = SelectField("Default currency", choices=[], validate_choice=False)
    agency_commission_pct = NumberField(
        "Agency commission (%)",
        default=Decimal("0"),
        validators=[Optional()],
        description="Share of gross the agency keeps; 0 for advertisers.",
        render_kw={"inputmode": "decimal"},
    )
    discount_pct = NumberField(
        "Advertiser discount (%)",
        default=Decimal("0"),
        validators=[Optional()],
        description="Negotiated discount off the list rate, before any proposal discount; 0 for agencies.",
        render_kw={"inputmode": "decimal"},
    )
    credit_status = SelectField(
        "Credit status", choices=options((c.value, c.label) for c in CreditStatus), validate_choice=False
    )
    owner_id = SelectField("Owner", choices=[], validate_choice=False)
    notes = TextAreaField("Notes", render_kw={"rows": 3, "maxlength": 5000})
    #: The version the form was loaded from; a mismatch on save is a conflict.
    version = HiddenField()


class ContactForm(FlaskForm):
    name = StringField("Name", render_kw={"maxlength": 200})
    email = EmailField("E-mail", render_kw={"maxlength": 254})
    title = StringField("Title", render_kw={"maxlength": 120})
    phone = StringField("Phone", render_kw={"maxlength": 40})
