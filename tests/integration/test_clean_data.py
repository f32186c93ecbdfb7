"""Data that stays clean: names, contacts, an account's type and time zones, through every entry point."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.accounts import service as accounts
from app.accounts.models import Account, Contact
from app.adserver import service as adserver
from app.auth import service as auth
from app.catalog import ad_units, packages, products, targeting
from app.catalog import csvio as catalog_csv
from app.catalog.models import AdUnit, Package, Product, TargetingValue
from app.errors import ValidationFailed
from app.extensions import db
from app.proposals import lines
from app.proposals.models import Proposal
from app.ratecards import service as ratecards
from app.ratecards.models import RateCard, Season
from app.workflow import approval_rules as workflow
from app.workflow.models import ApprovalRule
from tests.conftest import DEMO_USERS, now, user
from tests.integration.test_proposals import line_data, new_proposal, settings
from tests.support.concurrency import at_once


def admin():
    return user(DEMO_USERS["admin"])


def rep():
    return user(DEMO_USERS["sales_rep"])


def account(name: str = "Hearthly Home Stores") -> Account:
    return db.session.scalar(sa.select(Account).where(Account.name == name))


def product_data(name: str) -> products.ProductData:
    data = products.product_data(db.session.scalar(sa.select(Product).where(Product.name == "Sport Display")))
    data.name = name
    return data


def product_csv(name: str) -> str:
    """The exported catalog's first product under a new name, as a spreadsheet would save it."""
    header, first, *_ = csv.reader(io.StringIO(catalog_csv.export_products()))
    first[header.index("name")] = name
    out = io.StringIO()
    csv.writer(out).writerows([header, first])
    return out.getvalue()


def card_data(name: str) -> ratecards.CardData:
    return ratecards.CardData(name=name, currency="GBP", valid_from=date(2031, 1, 1), valid_to=date(2031, 12, 31))


#: Every way a name enters Flightdeck, and the table it would land in.
ENTRY_POINTS = {
    "account": (
        lambda name: accounts.create_account(
            accounts.AccountData(kind="advertiser", name=name, currency="GBP", owner_id=rep().id),
            actor=rep(),
            now=now(),
        ),
        Account,
    ),
    "contact": (
        lambda name: accounts.add_contact(
            account(), name=name, email="new.buyer@hearthly.example", actor=admin(), now=now()
        ),
        Contact,
    ),
    "product": (lambda name: products.create_product(product_data(name), actor=admin(), now=now()), Product),
    "product CSV": (lambda name: catalog_csv.import_products(product_csv(name), actor=admin(), now=now()), Product),
    "package": (
        lambda name: packages.save_package(None, packages.PackageData(name=name, members=[]), actor=admin(), now=now()),
        Package,
    ),
    "ad unit": (
        lambda name: ad_units.create_ad_unit(name=name, sizes=[], parent=None, actor=admin(), now=now()),
        AdUnit,
    ),
    "audience segment": (
        lambda name: targeting.add_targeting_value(
            targeting.dimension("audience"), code="clean-test", name=name, actor=admin(), now=now()
        ),
        TargetingValue,
    ),
    "rate card": (lambda name: ratecards.create_card(card_data(name), actor=admin(), now=now()), RateCard),
    "season": (
        lambda name: ratecards.add_season(
            ratecards.create_card(card_data("Clean 2031"), actor=admin(), now=now()),
            name,
            date(2031, 3, 1),
            date(2031, 3, 31),
            Decimal("10"),
            actor=admin(),
            now=now(),
        ),
        Season,
    ),
    "user": (
        lambda name: auth.create_user(
            email="new.user@harbour.example",
            name=name,
            password="a long enough password",
            roles=["sales_rep"],
            actor=admin(),
            now=now(),
            hash_method="pbkdf2:sha256:1000",
        ),
        None,
    ),
    "proposal": (lambda name: new_proposal(campaign_name=name), None),
    "ad-server connection": (
        lambda name: adserver.save_connection(
            None,
            adserver.ConnectionData(name=name, kind="sandbox", time_zone="Europe/London"),
            actor=admin(),
            now=now(),
        ),
        None,
    ),
    "approval rule": (
        lambda name: workflow.save_rule(
            None,
            workflow.RuleData(name, "approval", [{"field": "total_net", "op": ">", "value": "1"}], "all", 1, "finance"),
            expected_version=None,
            actor=admin(),
            now=now(),
        ),
        ApprovalRule,
    ),
}

HOSTILE_NAMES = {
    "only invisible characters": "\u200b\u2060\ufeff\u00ad",
    "a line break": "Hearthly\nHome",
    "a carriage return": "Hearthly\rHome",
    "a control character": "Hearthly\x07Home",
    "a line separator": "Hearthly\u2028Home",
    "a right-to-left override only": "\u202e",
    "a right-to-left override": "Hearthly \u202eemoH",
    "a direction isolate": "\u2066Hearthly\u2069 Home",
    "only Hangul fillers": "\u3164\u3164",
    "only Braille blanks": "\u2800\u2800\u2800",
    "only a grapheme joiner and variation selectors": "\u034f\ufe0f\U000e0100",
}


def _rows() -> int:
    return sum(
        db.session.scalar(sa.select(sa.func.count()).select_from(model.__table__))
        for (model,) in [(m,) for _, m in ENTRY_POINTS.values() if m is not None]
    )


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize("hostile", HOSTILE_NAMES)
def test_a_name_with_line_breaks_control_or_only_invisible_characters_is_a_field_error_everywhere(ctx, entry, hostile):
    create, model = ENTRY_POINTS[entry]
    before = db.session.scalar(sa.select(sa.func.count()).select_from(model.__table__)) if model else None
    with pytest.raises((ValidationFailed, catalog_csv.ImportFailed)) as failure:
        create(HOSTILE_NAMES[hostile])
    db.session.rollback()
    if isinstance(failure.value, ValidationFailed):
        assert set(failure.value.errors) & {"name", "campaign_name"}, failure.value.errors
    if model is not None:
        assert db.session.scalar(sa.select(sa.func.count()).select_from(model.__table__)) == before


INVISIBLE_IN_NAMES = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u200e", "\u2063", "\u034f"]
INVISIBLE_IN_NAMES += ["\u180e", "\ufe0f", "\u3164", "\U000e0041"]


@pytest.mark.parametrize("invisible", INVISIBLE_IN_NAMES, ids=lambda c: f"U+{ord(c):04X}")
def test_zero_width_characters_cannot_make_a_second_hearthly_home_stores(ctx, invisible):
    with pytest.raises(ValidationFailed) as failure:
        ENTRY_POINTS["account"][0](f"Hearthly{invisible} Home{invisible} Stores")
    assert "already" in failure.value.errors["name"][0]


@pytest.mark.parametrize("space", ["\u00a0", "\u3000", "\u2009", "\u202f", "  ", " \u00a0 "], ids=repr)
def test_other_spaces_cannot_make_a_second_hearthly_home_stores(ctx, space):
    with pytest.raises(ValidationFailed) as failure:
        ENTRY_POINTS["account"][0](f"Hearthly{space}Home Stores")
    assert "already" in failure.value.errors["name"][0]


def test_a_name_with_a_bidi_override_is_refused_saying_why(ctx):
    with pytest.raises(ValidationFailed) as failure:
        ENTRY_POINTS["account"][0]("Hearthly \u202eHome Stores")
    assert "direction" in failure.value.errors["name"][0]


@pytest.mark.parametrize(
    "stored",
    ["Hearthly\u200b Home Stores", "Hearthly\u200e Home\u00a0Stores", "Hearthly\u2063  Home\u034f Stores"],
    ids=repr,
)
def test_a_name_stored_with_invisible_characters_or_other_spaces_still_counts_as_taken(ctx, stored):
    db.session.execute(sa.update(Account).where(Account.id == account().id).values(name=stored))
    with pytest.raises(ValidationFailed) as failure:
        ENTRY_POINTS["account"][0]("hearthly home stores")
    assert "already" in failure.value.errors["name"][0]


def test_names_are_stored_nfc_normalised_without_invisible_characters(ctx):
    created = ENTRY_POINTS["account"][0]("  Cafe\u0301 Lumie\u0300re\u200b  ")
    assert created.name == "Café Lumière" and len(created.name) == 12
    product = ENTRY_POINTS["product"][0]("Re\u0301sume\u0301 Display")
    assert product.name == "Résumé Display"
    with pytest.raises(ValidationFailed):
        ENTRY_POINTS["product"][0]("R\u00e9sum\u00e9 display")


def test_the_same_contact_in_another_case_is_refused_on_its_email(ctx):
    hearthly = account()
    accounts.add_contact(hearthly, name="Mia Holt", email="Mia.Holt@Hearthly.example", actor=admin(), now=now())
    with pytest.raises(ValidationFailed) as failure:
        accounts.add_contact(hearthly, name="Mia Holt", email="mia.holt@hearthly.EXAMPLE", actor=admin(), now=now())
    assert "already a contact" in failure.value.errors["email"][0]


def test_the_same_contact_added_four_times_at_once_makes_one_contact(app, backend):
    with app.app_context():
        account_id = account().id

    def add() -> str:
        with app.app_context():
            try:
                hearthly = db.session.get(Account, account_id)
                email = "mia.holt@hearthly.example"
                accounts.add_contact(hearthly, name="Mia Holt", email=email, actor=admin(), now=now())
                db.session.commit()
                return "added"
            finally:
                db.session.rollback()
                db.session.remove()

    outcomes = at_once(4, add)
    assert outcomes.count("added") == 1, outcomes
    refused = [o for o in outcomes if o != "added"]
    assert all(isinstance(o, ValidationFailed) and "already a contact" in o.errors["email"][0] for o in refused)
    with app.app_context():
        contacts = db.session.scalars(
            sa.select(Contact).where(Contact.account_id == account_id, Contact.email == "mia.holt@hearthly.example")
        ).all()
    assert len(contacts) == 1


def _as_data(found: Account, **changes) -> accounts.AccountData:
    values = {field: getattr(found, field) for field in accounts.FIELD_LABELS}
    values.update(changes)
    return accounts.AccountData(**values)


def test_an_advertiser_with_proposals_cannot_become_an_agency(ctx):
    skyweave = account("Skyweave Broadband")  # the demo's signed order
    with pytest.raises(ValidationFailed) as failure:
        accounts.update_account(
            skyweave, _as_data(skyweave, kind="agency"), expected_version=skyweave.version, actor=admin(), now=now()
        )
    assert "has proposals or orders" in failure.value.errors["kind"][0]
    db.session.rollback()
    assert account("Skyweave Broadband").kind == "advertiser"


def test_an_agency_with_proposals_cannot_become_an_advertiser(ctx):
    agency = db.session.get(Account, new_proposal(agency_id=account_of_kind("agency").id).agency_id)
    with pytest.raises(ValidationFailed) as failure:
        accounts.update_account(
            agency,
            _as_data(agency, kind="advertiser", agency_commission_pct=Decimal("0")),
            expected_version=agency.version,
            actor=admin(),
            now=now(),
        )
    assert "has proposals or orders" in failure.value.errors["kind"][0]


def test_an_advertiser_without_deals_may_become_an_agency(ctx):
    created = ENTRY_POINTS["account"][0]("Quiet Lane Media")
    accounts.update_account(
        created, _as_data(created, kind="agency"), expected_version=created.version, actor=admin(), now=now()
    )
    assert created.kind == "agency"


def account_of_kind(kind: str) -> Account:
    return db.session.scalars(sa.select(Account).where(Account.kind == kind).order_by(Account.id)).first()


NOT_TIME_ZONES = ["localtime", "Factory", "posixrules", "Europe/Nowhere", "../../etc/passwd", "E" * 100_000, ""]


@pytest.mark.parametrize("zone", NOT_TIME_ZONES, ids=lambda z: z[:20] or "empty")
def test_a_time_zone_outside_the_iana_names_is_a_field_error_wherever_it_enters(ctx, zone):
    proposals_before = db.session.scalar(sa.select(sa.func.count(Proposal.id)))
    with pytest.raises(ValidationFailed) as failure:
        new_proposal(time_zone=zone)
    assert "is not a time zone" in failure.value.errors["time_zone"][0]
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Proposal.id))) == proposals_before

    proposal = new_proposal()
    with pytest.raises(ValidationFailed) as failure:
        lines.add_line(proposal, line_data(proposal, time_zone=zone), actor=rep(), **settings())
    assert "is not a time zone" in failure.value.errors["time_zone"][0]
    assert proposal.lines == []

    with pytest.raises(ValidationFailed) as failure:
        adserver.save_connection(
            None, adserver.ConnectionData(name="Elsewhere", kind="sandbox", time_zone=zone), actor=admin(), now=now()
        )
    assert "is not a time zone" in failure.value.errors["time_zone"][0]


def test_utc_and_the_places_of_the_iana_database_are_time_zones(ctx):
    for zone in ("UTC", "Europe/London", "America/Argentina/Buenos_Aires", "Asia/Kolkata"):
        assert new_proposal(time_zone=zone).time_zone == zone
