from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.access import allow
from app.accounts import queries, service
from app.accounts.forms import AccountForm, ContactForm
from app.accounts.models import Account, Contact
from app.accounts.service import AccountData
from app.db import utcnow
from app.errors import Forbidden, NotFound, ValidationFailed
from app.extensions import current_settings, db
from app.forms import form_sent_before, options, posted_version, redirect_to_created, show_errors, submit
from app.roles import ACCOUNT_EDITORS, Role
from app.transaction import abandon
from app.validation import country_choices, currency_choices, parse_id

bp = Blueprint("accounts", __name__, url_prefix="/accounts")


def _account_or_404(account_id: int) -> Account:
    account = db.session.get(Account, account_id)
    if account is None:
        raise NotFound("There is no such advertiser or agency.")
    return account


def _prepare(form: AccountForm, account: Account | None) -> AccountForm:
    form.currency.choices = options(currency_choices())
    form.billing_country.choices = options([("", "—"), *country_choices()])
    owners = service.owner_candidates()
    if account is not None and account.owner not in owners:
        owners.append(account.owner)  # keep a deactivated owner visible until reassigned
    form.owner_id.choices = options((u.id, u.name) for u in owners)
    if account is None and request.method == "GET":
        form.currency.data = current_settings().currency
        form.billing_country.data = ""
        if current_user.has_role(Role.SALES_REP, Role.SALES_MANAGER):
            form.owner_id.data = str(current_user.id)
    return form


def _data(form: AccountForm) -> AccountData:
    commission, discount = form.agency_commission_pct.data, form.discount_pct.data
    return AccountData(
        kind=form.kind.data or "",
        name=form.name.data or "",
        billing_address=form.billing_address.data or "",
        billing_country=form.billing_country.data or "",
        currency=form.currency.data or "",
        # Empty means 0. A value that did not parse is reported on its field by the form itself.
        agency_commission_pct=Decimal("0") if commission is None else commission,
        discount_pct=Decimal("0") if discount is None else discount,
        credit_status=form.credit_status.data or "",
        owner_id=parse_id(form.owner_id.data),
        notes=form.notes.data or "",
    )


@bp.route("/")
@allow()
def index():
    filters = queries.AccountFilters.from_args(request.args)
    page = db.paginate(
        queries.accounts_query(filters),
        page=filters.page,
        per_page=current_settings().page_size,
        error_out=False,
    )
    return render_template(
        "accounts/index.html",
        page=page,
        filters=filters,
        owners=service.owner_candidates(),
        can_create=service.can_create(current_user),
    )


@bp.route("/new", methods=["GET", "POST"])
@allow(Role.SALES_REP, *ACCOUNT_EDITORS)
def new():
    if (earlier := form_sent_before()) is not None:
        return earlier
    form = _prepare(AccountForm(), None)
    account = submit(
        form,
        save=lambda: service.create_account(_data(form), actor=current_user, now=utcnow()),
        check=lambda: service.account_problems(_data(form), account=None, actor=current_user),
    )
    if account is not None:
        flash(f"Created {account.kind} {account.name}.", "success")
        return redirect_to_created(url_for("accounts.detail", account_id=account.id))
    return _form_page(form, None)


def _form_page(form: AccountForm, account: Account | None):
    return render_template(
        "accounts/form.html",
        form=form,
        account=account,
        credit_only=account is not None and not service.can_edit(current_user, account),
        can_reassign=current_user.has_role(*ACCOUNT_EDITORS),
        can_change_credit=service.can_change_credit(current_user),
        can_set_discount=service.can_set_discount(current_user),
    ), 400 if form.errors else 200


@bp.route("/<int:account_id>")
@allow()
def detail(account_id: int):
    account = _account_or_404(account_id)
    return render_template(
        "accounts/detail.html",
        account=account,
        can_edit=service.can_edit(current_user, account),
        can_change_credit=service.can_change_credit(current_user),
        contact_form=ContactForm(),
        history=queries.recent_history(account.id, limit=5),
    )


@bp.route("/<int:account_id>/edit", methods=["GET", "POST"])
@allow(Role.SALES_REP, Role.FINANCE, *ACCOUNT_EDITORS, checks_object=True)
def edit(account_id: int):
    account = _account_or_404(account_id)
    if not service.can_edit(current_user, account) and not service.can_change_credit(current_user):
        raise Forbidden("You can edit only the accounts you own.")
    form = _prepare(AccountForm(obj=account if request.method == "GET" else None), account)
    if request.method == "GET":
        form.version.data = str(account.version)

    def data() -> AccountData:
        return _data(form) if service.can_edit(current_user, account) else _credit_only(account, form)

    saved = submit(
        form,
        save=lambda: service.update_account(
            account, data(), expected_version=posted_version(form.version.data), actor=current_user, now=utcnow()
        ),
        check=lambda: service.account_problems(data(), account=account, actor=current_user),
    )
    if saved is not None:
        flash(f"Saved {account.name}.", "success")
        return redirect(url_for("accounts.detail", account_id=account.id))
    return _form_page(form, account)


def _credit_only(account: Account, form: AccountForm) -> AccountData:
    """Finance may change only the credit status; every other field keeps its value."""
    fields = {f: getattr(account, f) for f in service.FIELD_LABELS}
    fields["credit_status"] = form.credit_status.data or ""
    return AccountData(**fields)


@bp.route("/<int:account_id>/contacts", methods=["POST"])
@allow(Role.SALES_REP, *ACCOUNT_EDITORS, checks_object=True)
def add_contact(account_id: int):
    account = _account_or_404(account_id)
    if (earlier := form_sent_before()) is not None:
        return earlier
    form = ContactForm()
    if form.validate_on_submit():
        try:
            contact = service.add_contact(
                account,
                name=form.name.data or "",
                email=form.email.data or "",
                title=form.title.data or "",
                phone=form.phone.data or "",
                actor=current_user,
                now=utcnow(),
            )
        except ValidationFailed as exc:
            abandon(db.session)
            show_errors(form, exc)
        else:
            flash(f"Added {contact.name}.", "success")
            return redirect_to_created(url_for("accounts.detail", account_id=account.id) + "#contacts")
    return render_template(
        "accounts/detail.html",
        account=account,
        can_edit=service.can_edit(current_user, account),
        contact_form=form,
        history=queries.recent_history(account.id, limit=5),
    ), 400


@bp.route("/<int:account_id>/contacts/<int:contact_id>/remove", methods=["POST"])
@allow(Role.SALES_REP, *ACCOUNT_EDITORS, checks_object=True)
def remove_contact(account_id: int, contact_id: int):
    contact = db.session.get(Contact, contact_id)
    if contact is None or contact.account_id != account_id:
        raise NotFound("There is no such contact.")
    name = contact.name
    service.remove_contact(contact, actor=current_user, now=utcnow())
    flash(f"Removed {name}.", "success")
    return redirect(url_for("accounts.detail", account_id=account_id) + "#contacts")
