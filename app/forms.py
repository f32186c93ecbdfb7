"""Form helpers shared by every domain."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from decimal import Decimal
from typing import TypeVar

import sqlalchemy as sa
from flask import Response, flash, g, redirect, request
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import Field, SelectMultipleField, widgets
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import TextInput

from app import nonces
from app.db import utcnow
from app.errors import Conflict, Errors, ValidationFailed
from app.extensions import db
from app.transaction import abandon
from app.validation import parse_id, parse_number

T = TypeVar("T")


def options(pairs) -> list[SelectChoice]:
    """Choices for a select from (value, label) pairs."""
    return [SelectChoice(str(value), label) for value, label in pairs]


class MultiCheckboxField(SelectMultipleField):
    """A list of checkboxes, one per choice."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def show_errors(form: FlaskForm, failure: ValidationFailed | Errors) -> None:
    """Put a service's validation messages on the form fields they concern.

    A field that already failed to parse ("not a number") keeps only that message.
    """
    for name, messages in failure.errors.items():
        field = form._fields.get(name) if name else None
        if field is None:
            form.form_errors.extend(messages)
        elif not field.errors:
            field.errors = list(messages)


def submit(form: FlaskForm, save: Callable[[], T], check: Callable[[], Errors] | None = None) -> T | None:
    """Validate a posted form and run `save` (a service call); None when it was not saved.

    On bad input every message lands on its field: the form's own (a number that is not one) and,
    through `check`, the service's for the other fields, so the user fixes everything in one go.
    """
    if not form.is_submitted():
        return None
    if form.validate():
        try:
            return save()
        except ValidationFailed as exc:
            abandon(db.session)
            show_errors(form, exc)
            return None
    csrf = getattr(form, "csrf_token", None)
    if check is not None and not (csrf is not None and csrf.errors):
        show_errors(form, check())
    return None


class NumberField(Field):
    """A Decimal typed as text: exact (never a float), finite, with a message a person understands."""

    widget = TextInput()

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else format(Decimal(self.data).normalize(), "f")

    def process_formdata(self, valuelist: list[str]) -> None:
        if not valuelist or not valuelist[0].strip():
            self.data = None
            return
        value = parse_number(valuelist[0])
        if value is None:
            self.data = None
            raise ValueError("Enter a number, such as 12.5 (with a dot for decimals).")
        self.data = value


class WholeNumberField(NumberField):
    """A whole number typed as text (thousands separators allowed)."""

    def process_formdata(self, valuelist: list[str]) -> None:
        try:
            super().process_formdata([v.replace(" ", "") for v in valuelist])
        except ValueError:
            raise ValueError("Enter a whole number, such as 250000.") from None
        if self.data is not None:
            if self.data != self.data.to_integral_value() or abs(self.data) >= 10**15:
                self.data = None
                raise ValueError("Enter a whole number, such as 250000.")
            self.data = int(self.data)


class DateInput(Field):
    """A date from an <input type=date> (YYYY-MM-DD), with a message a person understands."""

    widget = TextInput(input_type="date")

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return self.data.isoformat() if self.data else ""

    def process_formdata(self, valuelist: list[str]) -> None:
        from datetime import date

        if not valuelist or not valuelist[0].strip():
            self.data = None
            return
        try:
            self.data = date.fromisoformat(valuelist[0].strip())
        except ValueError:
            self.data = None
            raise ValueError("Enter a date as YYYY-MM-DD.") from None


#: The hidden field of a create form that makes its second submission find the first's record.
NONCE_FIELD = "form_nonce"
#: Which of a page's create forms sent the nonce (the targeting page has one per dimension).
NONCE_FORM_FIELD = "form_nonce_key"


def form_nonce_field(key: str = "") -> Markup:
    """The create form's nonce as hidden fields: the one it was sent with when the page is shown
    again with errors (nothing was created, so it is still free), else a new one.

    Only the form that sent the nonce gets it back: on a page with several create forms each calls
    this with its own `key` (the targeting page's dimension, the builder's endpoint), and the others
    get new nonces, so a second form never reuses the first's. Once something was created (or a
    resend answered), every form gets a new one.
    """
    posted_key = request.form.get(NONCE_FORM_FIELD) if request.method == "POST" else None
    own = (
        request.method == "POST"
        and not g.get("form_nonce_used")
        and (posted_key == key if posted_key is not None else key in ("", request.endpoint))
    )
    sent = request.form.get(NONCE_FIELD, "") if own else ""
    value = sent if nonces.NONCE.fullmatch(sent) else secrets.token_urlsafe(24)
    field = Markup('<input type="hidden" name="{}" value="{}">').format(NONCE_FIELD, value)
    if key:
        field += Markup('<input type="hidden" name="{}" value="{}">').format(NONCE_FORM_FIELD, key)
    return field


def form_sent_before() -> Response | None:
    """At the start of a create view's POST: take the form's nonce. When an earlier submission of
    the same form created its record, a redirect there (the view returns it and creates nothing); a
    nonce taken by another form (another address) or another user is a Conflict.

    A POST without a nonce (a script, a page from before nonces) is handled as before.
    """
    nonce = request.form.get(NONCE_FIELD, "") if request.method == "POST" else ""
    if not nonces.NONCE.fullmatch(nonce):
        return None
    claimed = nonces.claim(nonce, user_id=current_user.id, action=request.path, now=utcnow())
    if isinstance(claimed, nonces.FormNonce):
        g.form_nonce = claimed
        return None
    if not claimed:
        raise Conflict("This form was already sent. Reload the page and send it again.")
    g.form_nonce_used = True  # a form shown with this answer gets a new nonce
    flash("That form was sent twice: it was saved once, here.", "info")
    return redirect(claimed)


def remember_created(url: str) -> None:
    """Remember where the new record is shown for the form's nonce (a second submission goes there);
    a view that answers in place (an htmx fragment) calls this."""
    claimed = g.pop("form_nonce", None)
    if claimed is not None and len(url) <= nonces.URL_LENGTH:  # longer: a resend is told to reload
        claimed.url = url
    g.form_nonce_used = True


def release_unused_nonce() -> None:
    """At the end of a POST: a nonce that this request claimed but that no record took (the form is
    shown again with its errors) is given back, so the corrected form can be sent with it."""
    claimed = g.pop("form_nonce", None)
    if claimed is not None and sa.inspect(claimed).persistent:
        db.session.delete(claimed)


def redirect_to_created(url: str) -> Response:
    """End a create view: remember where the new record is shown for the form's nonce, and go there
    (the request boundary commits)."""
    remember_created(url)
    return redirect(url)


def posted_version(raw: str | None) -> int:
    """The version a form was opened at (its hidden `version` field). Missing or malformed is refused
    like a stale one: without it a save could not tell that someone changed the record meanwhile."""
    version = parse_id(raw)
    if version is None:
        raise Conflict(
            "This form did not say which version it changed, so it could overwrite someone else's change. "
            "Reload the page and make your change again."
        )
    return version
