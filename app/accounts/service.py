"""Advertisers and agencies: create, edit, contacts, and who may edit what."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.accounts.models import Account, AccountKind, Contact, CreditStatus
from app.audit.service import record, record_change
from app.auth.models import User, UserRole
from app.db import Unchecked, name_taken, stale
from app.errors import Conflict, Errors, Forbidden, ValidationFailed
from app.extensions import db
from app.roles import ACCOUNT_EDITORS, Role
from app.validation import (
    clean_line,
    country_problem,
    currency_problem,
    length_problem,
    line_problem,
    normalise_email,
    percent_problem,
)

#: Roles that may own accounts.
OWNER_ROLES = (Role.SALES_REP, Role.SALES_MANAGER)

FIELD_LABELS = {
    "kind": "type",
    "name": "name",
    "billing_address": "billing address",
    "billing_country": "billing country",
    "currency": "currency",
    "agency_commission_pct": "agency commission",
    "discount_pct": "advertiser discount",
    "credit_status": "credit status",
    "owner_id": "owner",
    "notes": "notes",
}


@dataclass
class AccountData:
    kind: str
    name: str
    currency: str
    owner_id: int | None
    billing_address: str = ""
    billing_country: str = ""
    agency_commission_pct: Decimal | None = Decimal("0")
    discount_pct: Decimal | None = Decimal("0")
    credit_status: str = CreditStatus.OK.value
    notes: str = ""


def can_edit(user: User, account: Account) -> bool:
    return user.has_role(*ACCOUNT_EDITORS) or (user.has_role(Role.SALES_REP) and account.owner_id == user.id)


def can_create(user: User) -> bool:
    return user.has_role(*ACCOUNT_EDITORS, Role.SALES_REP)


def can_change_credit(user: User) -> bool:
    """Credit holds are finance's call (and managers' and admins')."""
    return user.has_role(Role.FINANCE, *ACCOUNT_EDITORS)


def can_set_discount(user: User) -> bool:
    """An advertiser's discount is negotiated by sales managers (and admins), not by the rep who sells."""
    return user.has_role(*ACCOUNT_EDITORS)


def owner_candidates() -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User)
            .where(User.active, User.id.in_(sa.select(UserRole.user_id).where(UserRole.role.in_(OWNER_ROLES))))
            .order_by(User.name)
        )
    )


def _has_deals(account: Account) -> bool:
    """Whether a proposal or an order names `account` (as advertiser or agency).

    The tables are named here rather than imported: proposals and orders build on accounts, not
    the other way round.
    """
    found = sa.false()
    for name in ("proposals", "orders"):
        deals = sa.table(name, sa.column("advertiser_id"), sa.column("agency_id"))
        found = sa.or_(
            found,
            sa.exists().where(sa.or_(deals.c.advertiser_id == account.id, deals.c.agency_id == account.id)),
        )
    return bool(db.session.scalar(sa.select(found)))


def account_problems(data: AccountData, *, account: Account | None, actor: User | None) -> Errors:
    """Every problem with saving `data` (as a new account when `account` is None), by field.

    Normalises `data` in place. A field already known to be unreadable (its value is None) is
    skipped, so a form can report its own parse errors and these together.
    """
    errors = Errors()
    if data.kind not in {k.value for k in AccountKind}:
        errors.add("kind", "Choose advertiser or agency.")
    elif account is not None and data.kind != account.kind and _has_deals(account):
        errors.add(
            "kind",
            f"{account.name} has proposals or orders as an {account.kind}, so it stays one "
            f"(create a separate {data.kind} instead).",
        )
    data.name = clean_line(data.name)
    if problem := line_problem(data.name, label="name", max_length=200):
        errors.add("name", problem)
    elif name_taken(Account, data.name, other_than=account.id if account else None, kind=data.kind):
        errors.add("name", f"There is already an {data.kind} called “{data.name}”.")
    if problem := length_problem(data.billing_address, label="billing address", max_length=1000, required=False):
        errors.add("billing_address", problem)
    if problem := country_problem(data.billing_country):
        errors.add("billing_country", problem)
    data.currency = (data.currency or "").strip().upper()
    if problem := currency_problem(data.currency):
        errors.add("currency", problem)
    if data.agency_commission_pct is not None:
        if problem := percent_problem(data.agency_commission_pct, label="agency commission"):
            errors.add("agency_commission_pct", problem)
        elif data.kind == AccountKind.ADVERTISER and data.agency_commission_pct:
            errors.add("agency_commission_pct", "Only agencies earn a commission; leave it at 0 for an advertiser.")
    if data.discount_pct is not None:
        if problem := percent_problem(data.discount_pct, label="advertiser discount"):
            errors.add("discount_pct", problem)
        elif data.kind == AccountKind.AGENCY and data.discount_pct:
            errors.add("discount_pct", "Only advertisers have an advertiser discount; leave it at 0 for an agency.")
        elif actor is not None and not can_set_discount(actor):
            current = account.discount_pct if account else Decimal("0")
            if data.discount_pct != current:
                errors.add("discount_pct", "Only sales managers and admins set an advertiser's discount.")
    if data.credit_status not in {c.value for c in CreditStatus}:
        errors.add("credit_status", "Choose OK or on hold.")
    elif actor is not None and not can_change_credit(actor):
        current = account.credit_status if account else CreditStatus.OK.value
        if data.credit_status != current:
            errors.add("credit_status", "Only finance, sales managers and admins change the credit status.")
    current_owner = account.owner_id if account else None
    if data.owner_id != current_owner:  # a deactivated owner may stay until someone reassigns the account
        owner = db.session.get(User, data.owner_id) if data.owner_id else None
        if owner is None or not owner.active or not owner.has_role(*OWNER_ROLES):
            errors.add("owner_id", "Choose an active sales rep or sales manager as the owner.")
        elif actor is not None and not actor.has_role(*ACCOUNT_EDITORS) and owner.id != actor.id:
            errors.add("owner_id", "You own the accounts you create; a sales manager can hand one to someone else.")
    if problem := length_problem(data.notes, label="notes", max_length=5000, required=False):
        errors.add("notes", problem)
    return errors


def _snapshot(account: Account) -> dict:
    return {field: getattr(account, field) for field in FIELD_LABELS}


def create_account(data: AccountData, *, actor: User | None, now: datetime) -> Account:
    if actor is not None and not can_create(actor):
        raise Forbidden("Only sales reps, sales managers and admins create accounts.")
    account_problems(data, account=None, actor=actor).raise_if_any()
    account = Account(**asdict(data), created_at=now, updated_at=now)
    db.session.add(account)
    db.session.flush()
    record(
        actor=actor,
        entity_type="account",
        entity_id=account.id,
        action="created",
        at=now,
        summary=f"Created {account.kind} “{account.name}”.",
        after=_snapshot(account),
    )
    return account


def update_account(
    account: Account, data: AccountData, *, expected_version: int | Unchecked, actor: User, now: datetime
) -> Account:
    changing = {f for f, v in asdict(data).items() if getattr(account, f) != v}
    if not can_edit(actor, account) and not (changing <= {"credit_status"} and can_change_credit(actor)):
        raise Forbidden("You can edit only the accounts you own.")
    if stale(account.version, expected_version):
        raise Conflict(
            f"{account.name} was changed by someone else while you were editing. "
            "Reload the page to see their change, then make yours again."
        )
    account_problems(data, account=account, actor=actor).raise_if_any()
    before = _snapshot(account)
    for field, value in asdict(data).items():
        if getattr(account, field) != value:  # a form's 12.5 is the stored 12.5000: no change to audit
            setattr(account, field, value)
    account.updated_at = now
    db.session.flush()
    record_change(
        actor=actor,
        entity_type="account",
        entity_id=account.id,
        at=now,
        before=before,
        after=_snapshot(account),
        labels=FIELD_LABELS,
    )
    return account


def add_contact(
    account: Account, *, name: str, email: str, title: str = "", phone: str = "", actor: User | None, now: datetime
) -> Contact:
    if actor is not None and not can_edit(actor, account):
        raise Forbidden("You can edit only the accounts you own.")
    errors = Errors()
    name, title, phone = clean_line(name), clean_line(title), clean_line(phone)
    if problem := line_problem(name, label="contact's name", max_length=200):
        errors.add("name", problem)
    normalised, problem = normalise_email(email)
    if problem:
        errors.add("email", problem)
    elif any(c.email == normalised for c in account.contacts):
        errors.add("email", f"{normalised} is already a contact of {account.name}.")
    if problem := line_problem(title, label="title", max_length=120, required=False):
        errors.add("title", problem)
    if problem := line_problem(phone, label="phone number", max_length=40, required=False):
        errors.add("phone", problem)
    errors.raise_if_any()
    contact = Contact(name=name, email=normalised, title=title, phone=phone)
    try:
        with db.session.begin_nested():  # the same contact added at the same moment by another request
            account.contacts.append(contact)
            db.session.flush()
    except IntegrityError:  # the savepoint's rollback took the contact back out of the account
        raise ValidationFailed.on("email", f"{normalised} is already a contact of {account.name}.") from None
    record(
        actor=actor,
        entity_type="account",
        entity_id=account.id,
        action="contact added",
        at=now,
        summary=f"Added contact {contact.name} <{contact.email}>.",
        after={"contact": f"{contact.name} <{contact.email}>"},
    )
    return contact


def remove_contact(contact: Contact, *, actor: User, now: datetime) -> None:
    account = contact.account
    if not can_edit(actor, account):
        raise Forbidden("You can edit only the accounts you own.")
    account.contacts.remove(contact)
    db.session.flush()
    record(
        actor=actor,
        entity_type="account",
        entity_id=account.id,
        action="contact removed",
        at=now,
        summary=f"Removed contact {contact.name} <{contact.email}>.",
        before={"contact": f"{contact.name} <{contact.email}>"},
    )
