from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, TextAreaField

from app.forms import DateInput, NumberField


class ProposalForm(FlaskForm):
    advertiser_id = SelectField("Advertiser", choices=[], validate_choice=False)
    agency_id = SelectField("Agency", choices=[], validate_choice=False, description="Its commission applies.")
    buyer_contact_id = SelectField("Buyer", choices=[], validate_choice=False)
    campaign_name = StringField("Campaign", render_kw={"maxlength": 200})
    rate_card_id = SelectField(
        "Rate card", choices=[], validate_choice=False, description="Its currency is the proposal's."
    )
    owner_id = SelectField("Owner", choices=[], validate_choice=False)
    start_day = DateInput("Flight from")
    end_day = DateInput("to")
    time_zone = StringField("Time zone", render_kw={"maxlength": 64})
    budget_goal = NumberField(
        "Budget goal",
        render_kw={"inputmode": "decimal"},
        description="Internal: the builder measures the total against it; never on the PDF.",
    )
    discount_pct = NumberField("Proposal discount (%)", render_kw={"inputmode": "decimal"})
    expires_on = DateInput("Offer expires")
    buyer_notes = TextAreaField(
        "Notes for the buyer",
        render_kw={"rows": 3, "maxlength": 5000},
        description="Printed on the PDF the buyer receives.",
    )
    notes = TextAreaField(
        "Internal notes",
        render_kw={"rows": 3, "maxlength": 5000},
        description="For your colleagues and approvers only: never on the PDF.",
    )
    terms = TextAreaField("Terms", render_kw={"rows": 4, "maxlength": 20000})
    version = HiddenField()
