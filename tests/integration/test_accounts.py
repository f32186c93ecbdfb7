"""Advertisers and agencies: validation, ownership, optimistic locking and the audit trail."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.accounts import service
from app.accounts.models import Account
from app.accounts.service import AccountData
from app.audit.models import AuditEvent
from app.errors import Conflict, Forbidden, ValidationFailed
from app.extensions import db
from tests.conftest import DEMO_USERS, now, user


def data(**changes) -> AccountData:
    values = dict(
        kind="agency",
        name="Northlight Media",
        currency="EUR",
        owner_id=user(DEMO_USERS["sales_rep"]).id,
        billing_address="1 Quay Street\nDublin 2",
        billing_country="IE",
        agency_commission_pct=Decimal("12.50"),
        credit_status="ok",
    )
    values.update(changes)
    return AccountData(**values)


def account_owned_by(email: str) -> Account:
    return db.session.scalars(sa.select(Account).where(Account.owner_id == user(email).id)).first()


def test_an_agency_keeps_its_commission_exactly(ctx):
    rep = user(DEMO_USERS["sales_rep"])
    created = service.create_account(data(agency_commission_pct=Decimal("12.35")), actor=rep, now=now())
    db.session.commit()
    db.session.expire_all()
    reloaded = db.session.get(Account, created.id)
    assert reloaded.agency_commission_pct == Decimal("12.35")
    assert isinstance(reloaded.agency_commission_pct, Decimal)
    assert reloaded.owner.email == DEMO_USERS["sales_rep"]


def test_bad_input_is_reported_per_field_and_nothing_is_saved(ctx):
    rep = user(DEMO_USERS["sales_rep"])
    count = db.session.scalar(sa.select(sa.func.count(Account.id)))
    with pytest.raises(ValidationFailed) as failure:
        service.create_account(
            data(name="N" * 10_000, currency="XYZ", agency_commission_pct=Decimal("150"), billing_country="QQ"),
            actor=rep,
            now=now(),
        )
    errors = failure.value.errors
    assert "at most 200 characters" in errors["name"][0]
    assert "“XYZ” is not a currency in use" in errors["currency"][0]
    assert "between 0 % and 100 %" in errors["agency_commission_pct"][0]
    assert "ISO 3166" in errors["billing_country"][0]
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Account.id))) == count


def test_an_obsolete_currency_is_refused(ctx):
    with pytest.raises(ValidationFailed) as failure:
        service.create_account(data(currency="DEM"), actor=None, now=now())
    assert "currency" in failure.value.errors


def test_an_advertiser_earns_no_commission(ctx):
    with pytest.raises(ValidationFailed) as failure:
        service.create_account(data(kind="advertiser", agency_commission_pct=Decimal("10")), actor=None, now=now())
    assert "Only agencies" in failure.value.errors["agency_commission_pct"][0]


def test_the_same_name_twice_for_one_kind_is_refused(ctx):
    existing = db.session.scalars(sa.select(Account).where(Account.kind == "advertiser")).first()
    with pytest.raises(ValidationFailed) as failure:
        service.create_account(
            data(kind="advertiser", name=existing.name.upper(), agency_commission_pct=Decimal(0)), actor=None, now=now()
        )
    assert "already an advertiser" in failure.value.errors["name"][0]


def test_a_rep_edits_their_own_accounts_only(ctx):
    rep = user(DEMO_USERS["sales_rep"])
    own = account_owned_by(DEMO_USERS["sales_rep"])
    others = account_owned_by("rep2@harbour.example")
    changed = data(
        kind=own.kind,
        name=own.name + " Ltd",
        currency=own.currency,
        owner_id=own.owner_id,
        agency_commission_pct=own.agency_commission_pct,
        credit_status=own.credit_status,
        billing_address=own.billing_address,
        billing_country=own.billing_country,
    )
    service.update_account(own, changed, expected_version=own.version, actor=rep, now=now())
    assert own.name.endswith(" Ltd")
    with pytest.raises(Forbidden):
        service.update_account(others, data(name="Mine now"), expected_version=others.version, actor=rep, now=now())


def test_only_finance_managers_and_admins_change_credit_status(ctx):
    rep, finance = user(DEMO_USERS["sales_rep"]), user(DEMO_USERS["finance"])
    own = account_owned_by(DEMO_USERS["sales_rep"])
    current = AccountData(**{f: getattr(own, f) for f in service.FIELD_LABELS})
    current.credit_status = "on_hold"
    with pytest.raises(ValidationFailed) as failure:
        service.update_account(own, current, expected_version=own.version, actor=rep, now=now())
    assert "Only finance" in failure.value.errors["credit_status"][0]
    service.update_account(own, current, expected_version=own.version, actor=finance, now=now())
    assert own.on_credit_hold
    current.name = "Renamed by finance"
    with pytest.raises(Forbidden):
        service.update_account(own, current, expected_version=own.version, actor=finance, now=now())


def test_a_save_from_a_stale_page_is_a_conflict_and_changes_nothing(ctx):
    manager = user(DEMO_USERS["sales_manager"])
    account = account_owned_by(DEMO_USERS["sales_rep"])
    stale = account.version
    first = AccountData(**{f: getattr(account, f) for f in service.FIELD_LABELS})
    first.notes = "First editor's note"
    service.update_account(account, first, expected_version=stale, actor=manager, now=now())
    db.session.commit()
    second = AccountData(**{f: getattr(account, f) for f in service.FIELD_LABELS})
    second.notes = "Second editor's note"
    with pytest.raises(Conflict):
        service.update_account(account, second, expected_version=stale, actor=manager, now=now())
    db.session.rollback()
    assert db.session.get(Account, account.id).notes == "First editor's note"


def test_an_update_records_only_the_fields_that_changed(ctx):
    manager = user(DEMO_USERS["sales_manager"])
    account = account_owned_by(DEMO_USERS["sales_rep"])
    changed = AccountData(**{f: getattr(account, f) for f in service.FIELD_LABELS})
    changed.currency = "USD" if account.currency != "USD" else "EUR"
    old_currency = account.currency
    service.update_account(account, changed, expected_version=account.version, actor=manager, now=now())
    event = db.session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.entity_type == "account", AuditEvent.entity_id == account.id)
        .order_by(AuditEvent.id.desc())
    ).first()
    assert event.actor_id == manager.id
    assert event.before == {"currency": old_currency} and event.after == {"currency": changed.currency}
    assert event.summary == "Changed currency."


def test_contacts_are_added_with_a_valid_unique_email(ctx):
    rep = user(DEMO_USERS["sales_rep"])
    account = account_owned_by(DEMO_USERS["sales_rep"])
    contact = service.add_contact(account, name="Jo Buyer", email="Jo.Buyer@Example.COM", actor=rep, now=now())
    assert contact.email == "jo.buyer@example.com"
    with pytest.raises(ValidationFailed) as failure:
        service.add_contact(account, name="", email="jo.buyer@example.com", actor=rep, now=now())
    assert set(failure.value.errors) == {"name", "email"}
    service.remove_contact(contact, actor=rep, now=now())
    assert contact not in account.contacts


def test_a_rep_creates_accounts_they_own_with_ok_credit_only(ctx):
    rep = user(DEMO_USERS["sales_rep"])
    with pytest.raises(ValidationFailed) as failure:
        service.create_account(
            data(owner_id=user("rep2@harbour.example").id, credit_status="on_hold"), actor=rep, now=now()
        )
    assert "You own the accounts you create" in failure.value.errors["owner_id"][0]
    assert "Only finance" in failure.value.errors["credit_status"][0]
    manager = user(DEMO_USERS["sales_manager"])
    created = service.create_account(data(owner_id=user("rep2@harbour.example").id), actor=manager, now=now())
    assert created.owner.email == "rep2@harbour.example"


def test_finance_puts_a_deactivated_reps_account_on_hold(ctx):
    from app.auth.service import set_active

    admin, finance = user(DEMO_USERS["admin"]), user(DEMO_USERS["finance"])
    rep2 = user("rep2@harbour.example")
    account = account_owned_by("rep2@harbour.example")
    set_active(rep2, False, actor=admin, now=now())
    current = AccountData(**{f: getattr(account, f) for f in service.FIELD_LABELS})
    current.credit_status = "on_hold"
    service.update_account(account, current, expected_version=account.version, actor=finance, now=now())
    assert account.on_credit_hold and account.owner_id == rep2.id


# -- Advertiser discount ---------------------------------------------------------------------------


def advertiser_owned_by(email: str) -> Account:
    return db.session.scalars(
        sa.select(Account).where(Account.owner_id == user(email).id, Account.kind == "advertiser").order_by(Account.id)
    ).first()


def as_data(account: Account, **changes) -> AccountData:
    current = AccountData(**{f: getattr(account, f) for f in service.FIELD_LABELS})
    for field, value in changes.items():
        setattr(current, field, value)
    return current


def last_event(account: Account) -> AuditEvent:
    return db.session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.entity_type == "account", AuditEvent.entity_id == account.id)
        .order_by(AuditEvent.id.desc())
    ).first()


def test_a_manager_sets_an_advertisers_discount_exactly_and_it_is_audited(ctx):
    manager = user(DEMO_USERS["sales_manager"])
    account = advertiser_owned_by(DEMO_USERS["sales_rep"])
    assert account.discount_pct == Decimal("0")
    service.update_account(
        account,
        as_data(account, discount_pct=Decimal("12.5")),
        expected_version=account.version,
        actor=manager,
        now=now(),
    )
    db.session.commit()
    db.session.expire_all()
    reloaded = db.session.get(Account, account.id)
    assert reloaded.discount_pct == Decimal("12.5") and isinstance(reloaded.discount_pct, Decimal)
    event = last_event(reloaded)
    assert (event.actor_id, event.summary) == (manager.id, "Changed advertiser discount.")
    assert (event.before, event.after) == ({"discount_pct": "0.0000"}, {"discount_pct": "12.5"})


def test_a_rep_keeps_their_advertisers_discount_and_cannot_change_it(ctx):
    rep, manager = user(DEMO_USERS["sales_rep"]), user(DEMO_USERS["sales_manager"])
    account = advertiser_owned_by(DEMO_USERS["sales_rep"])
    service.update_account(
        account,
        as_data(account, discount_pct=Decimal("12.5")),
        expected_version=account.version,
        actor=manager,
        now=now(),
    )
    db.session.commit()
    audited = last_event(account).id
    with pytest.raises(ValidationFailed) as failure:
        service.update_account(
            account,
            as_data(account, discount_pct=Decimal("20")),
            expected_version=account.version,
            actor=rep,
            now=now(),
        )
    assert failure.value.errors == {"discount_pct": ["Only sales managers and admins set an advertiser's discount."]}
    db.session.rollback()
    assert db.session.get(Account, account.id).discount_pct == Decimal("12.5")
    assert last_event(account).id == audited
    # Editing anything else keeps the discount, and only the other change is audited.
    service.update_account(
        account, as_data(account, notes="Prefers e-mail."), expected_version=account.version, actor=rep, now=now()
    )
    db.session.commit()
    assert db.session.get(Account, account.id).discount_pct == Decimal("12.5")
    assert last_event(account).after == {"notes": "Prefers e-mail."}


def test_a_rep_creates_advertisers_without_a_discount(ctx):
    rep = user(DEMO_USERS["sales_rep"])
    with pytest.raises(ValidationFailed) as failure:
        service.create_account(
            data(kind="advertiser", agency_commission_pct=Decimal(0), discount_pct=Decimal("5")), actor=rep, now=now()
        )
    assert failure.value.errors == {"discount_pct": ["Only sales managers and admins set an advertiser's discount."]}


@pytest.mark.parametrize(
    ("kind", "discount", "message"),
    [
        ("advertiser", "150", "The advertiser discount must be between 0 % and 100 % (not 150 %)."),
        ("advertiser", "-1", "The advertiser discount must be between 0 % and 100 % (not -1 %)."),
        ("advertiser", "12.345", "The advertiser discount has at most 2 decimals."),
        ("agency", "10", "Only advertisers have an advertiser discount; leave it at 0 for an agency."),
    ],
)
def test_a_bad_discount_is_refused_on_its_field_and_nothing_changes(ctx, kind, discount, message):
    manager = user(DEMO_USERS["sales_manager"])
    account = db.session.scalars(sa.select(Account).where(Account.kind == kind).order_by(Account.id)).first()
    version = account.version
    with pytest.raises(ValidationFailed) as failure:
        service.update_account(
            account,
            as_data(account, discount_pct=Decimal(discount)),
            expected_version=account.version,
            actor=manager,
            now=now(),
        )
    assert failure.value.errors == {"discount_pct": [message]}
    db.session.rollback()
    reloaded = db.session.get(Account, account.id)
    assert (reloaded.discount_pct, reloaded.version) == (Decimal("0"), version)


def test_the_database_refuses_a_discount_above_100_percent(ctx):
    account = advertiser_owned_by(DEMO_USERS["sales_rep"])
    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(sa.update(Account).where(Account.id == account.id).values(discount_pct=Decimal("150")))
        db.session.flush()
    db.session.rollback()


def test_saving_an_account_unchanged_records_no_change(ctx):
    manager = user(DEMO_USERS["sales_manager"])
    account = db.session.scalars(
        sa.select(Account).where(Account.kind == "agency", Account.agency_commission_pct > 0)
    ).first()
    audited = last_event(account).id
    # A form sends 12.5 for the stored 12.5000: the same percentage.
    same = as_data(account, agency_commission_pct=account.agency_commission_pct.normalize(), discount_pct=Decimal(0))
    service.update_account(account, same, expected_version=account.version, actor=manager, now=now())
    assert last_event(account).id == audited
