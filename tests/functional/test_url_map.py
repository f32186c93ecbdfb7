"""Walk every route of the URL map, anonymously and as each role.

Each answer must be the one the route's access rule promises: a redirect to sign-in, a 403, or a
success; never a 500; and no page holds inline script or style, which the CSP would refuse. New
routes are covered without touching this test.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask
from werkzeug.routing import Rule

from app.access import rule_for
from app.accounts.models import Account, Contact
from app.catalog.models import AdUnit, Package, Product, TargetingDimension, TargetingValue
from app.extensions import db
from app.ratecards.models import RateCard
from app.roles import Role
from tests.conftest import DEMO_USERS, user
from tests.support.inline_code import inline_code

ROLES = [None, *[r.value for r in Role]]


def sample_values(app: Flask) -> dict[str, object]:
    """A value for every URL variable, taken from the demo publisher."""
    with app.app_context():
        rep = user(DEMO_USERS["sales_rep"])
        account = db.session.scalars(
            sa.select(Account).where(Account.owner_id == rep.id, Account.id.in_(sa.select(Contact.account_id)))
        ).first()
        card = db.session.scalars(sa.select(RateCard).order_by(RateCard.id)).first()
        audience = db.session.scalars(
            sa.select(TargetingValue).join(TargetingValue.dimension).where(TargetingDimension.key == "audience")
        ).first()
        return {
            "account_id": account.id,
            "contact_id": account.contacts[0].id,
            "user_id": rep.id,
            "entity_type": "account",
            "entity_id": account.id,
            "unit_id": db.session.scalar(sa.select(sa.func.max(AdUnit.id))),
            "value_id": audience.id,
            "key": "audience",
            "product_id": db.session.scalar(sa.select(sa.func.min(Product.id))),
            "package_id": db.session.scalar(sa.select(sa.func.min(Package.id))),
            "card_id": card.id,
            "kind": "premiums",
            "row_id": card.premiums[0].id,
            "reservation_id": 1,  # none in the demo: the walk expects a clean 404
            "week": "2027-01-04",
            "proposal_id": 1,  # the demo's first proposal
            "line_id": 1,
            "number": 1,
            "action": "copy",
            "message_id": 1,  # no mail in the demo: a clean 404
            "rule_id": 1,  # the demo's first approval rule
            "request_id": 1,  # none in the demo: a clean 404
            "order_id": 1,  # the demo's signed order, pushed to the sandbox
            "connection_id": 1,  # the demo's sandbox
            "job_id": 1,  # the demo order's push
            "period": "2026-10",
            "export_id": 1,  # none in the demo: a clean 404
            "signature_id": 1,  # the demo order's signature, by link: no countersigned IO, a clean 404
            "token": "not-a-signing-token",
        }


def routes(app: Flask) -> list[tuple[Rule, str]]:
    """Every (rule, method), sign-out last so it does not end the walk early."""
    found = [
        (rule, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
    ]
    return sorted(found, key=lambda item: item[0].endpoint == "auth.logout")


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r or "anonymous")
def test_every_route_answers_as_its_access_rule_says(app, client, auth, role):
    values = sample_values(app)
    if role:
        auth.login_as(role)
    walked = 0
    for rule, method in routes(app):
        url = rule.build({k: values[k] for k in rule.arguments}, append_unknown=False)[1]
        response = client.open(url, method=method, data={})
        access = rule_for(app, rule.endpoint)
        where = f"{method} {url} as {role or 'anonymous'} gave {response.status_code}"
        assert response.status_code < 500, where
        if response.mimetype == "text/html":  # the CSP refuses inline script and style
            assert inline_code(response.get_data(as_text=True)) == [], where
        if access.is_public:
            assert not (response.status_code == 302 and "/login" in response.location and rule.endpoint != "auth.login")
        elif role is None:
            assert response.status_code == 302 and response.location.startswith("/login"), where
        elif not access.admits({Role(role)}):
            assert response.status_code == 403, where
        else:
            allowed = {200, 302, 400, 404, 409} | ({403} if access.checks_object else set())
            assert response.status_code in allowed, where
        walked += 1
    assert walked >= 15


def test_a_route_without_an_access_rule_stops_the_app_from_starting(app):
    from app.access import check_every_route_has_a_rule

    app.add_url_rule("/forgotten", "forgotten", lambda: "open")
    with pytest.raises(RuntimeError, match="forgotten"):
        check_every_route_has_a_rule(app)


HOSTILE_IDS = ["99999999999999999999", "2147483648"]
HOSTILE_QUERY = "?page=%C2%B2&owner=%C2%B2&sort=-%C2%B2&kind=x&credit=y&entity=z&q=" + "x" * 5000


@pytest.mark.parametrize("role", ["admin", "sales_rep", "finance"])
def test_hostile_ids_and_query_strings_never_cause_a_500(app, client, auth, role):
    values = sample_values(app)
    auth.login_as(role)
    for rule, method in routes(app):
        if rule.endpoint == "auth.logout":
            continue
        if any(k.endswith("_id") for k in rule.arguments):
            for hostile in HOSTILE_IDS:
                args = {k: (int(hostile) if k.endswith("_id") else values[k]) for k in rule.arguments}
                url = rule.build(args, append_unknown=False)[1]
                response = client.open(url, method=method, data={})
                assert response.status_code == 404, f"{method} {url}: {response.status_code}"
        if method == "GET":
            url = rule.build({k: values[k] for k in rule.arguments}, append_unknown=False)[1]
            for query in (HOSTILE_QUERY, "?page=99999999999999999999"):
                response = client.get(url + query)
                assert response.status_code < 500, f"GET {url}{query[:40]}: {response.status_code}"


def test_a_nul_character_is_refused_with_a_message_before_anything_runs(client, auth):
    response = client.post("/login", data={"email": "a\x00@x.example", "password": "x"})
    assert response.status_code == 400
    assert "NUL character" in response.get_data(as_text=True)
    auth.login_as("sales_rep")
    response = client.post("/accounts/new", data={"name": "Nul\x00Co"})
    assert response.status_code == 400


def test_hostile_form_numbers_get_field_messages(app, client, auth):
    values = sample_values(app)
    auth.login_as("sales_manager")
    response = client.post(
        f"/accounts/{values['account_id']}/edit",
        data={
            "kind": "advertiser",
            "name": "",
            "currency": "GBP",
            "owner_id": "²",
            "version": "²",
            "credit_status": "ok",
            "agency_commission_pct": "abc",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    # the unreadable number and the other fields' problems are all reported at once
    assert 'data-field-error="agency_commission_pct">Enter a number' in html
    assert 'data-field-error="name">Enter the name.' in html
    assert 'data-field-error="owner_id">Choose an active sales rep' in html


def history_samples(app: Flask) -> dict[str, int]:
    """One demo record per entity type that has a history page (proposal and order are Ana's)."""
    from app.audit.subjects import SUBJECTS as ENTITIES
    from app.auth.models import User
    from app.orders.models import Order
    from app.proposals.models import Proposal
    from app.workflow.models import ApprovalRule

    models = {
        "account": Account,
        "user": User,
        "ad_unit": AdUnit,
        "targeting_value": TargetingValue,
        "product": Product,
        "package": Package,
        "rate_card": RateCard,
        "proposal": Proposal,
        "order": Order,
        "approval_rule": ApprovalRule,
    }
    assert set(models) == set(ENTITIES), "a new history type needs a sample here"
    with app.app_context():
        rep = user(DEMO_USERS["sales_rep"])
        samples = {name: db.session.scalar(sa.select(sa.func.min(model.id))) for name, model in models.items()}
        samples["proposal"] = db.session.scalar(sa.select(sa.func.min(Proposal.id)).where(Proposal.owner_id == rep.id))
        samples["order"] = db.session.scalar(
            sa.select(sa.func.min(Order.id)).join(Order.proposal).where(Proposal.owner_id == rep.id)
        )
        return samples


@pytest.mark.parametrize("who", [*ROLES, "another rep"], ids=lambda r: r or "anonymous")
def test_every_history_page_answers_as_its_records_own_page_does(app, client, auth, who):
    from app.audit.views import entity_link

    samples = history_samples(app)
    if who == "another rep":
        auth.login("rep2@harbour.example")
    elif who:
        auth.login_as(who)
    answers = {}
    for entity_type, entity_id in samples.items():
        with app.test_request_context():
            record_url = entity_link(entity_type, entity_id)
        record = client.get(record_url)
        history = client.get(f"/audit/{entity_type}/{entity_id}")
        where = f"{entity_type} as {who or 'anonymous'}: page {record.status_code}, history {history.status_code}"
        assert record.status_code in (200, 302, 403), where
        assert history.status_code == record.status_code, where
        if record.status_code == 302:
            assert history.location.startswith("/login"), where
        answers[entity_type] = history.status_code
    if who == "another rep":  # Ana's deal history (prices, the buyer's details) is not Tom's to read
        assert answers["proposal"] == answers["order"] == 403
    if who == "ad_ops":
        assert answers["rate_card"] == 403


def test_an_admin_follows_the_audit_log_to_a_deleted_proposals_history_and_its_rep_still_gets_not_found(
    app, client, auth
):
    from app.db import utcnow
    from app.proposals.models import Proposal

    proposal_id = history_samples(app)["proposal"]
    with app.app_context():
        proposal = db.session.get(Proposal, proposal_id)
        proposal.deleted_at = utcnow()
        name = proposal.name
        db.session.commit()

    auth.login_as("admin")
    index = client.get("/audit/?entity=proposal").get_data(as_text=True)
    assert f'href="/audit/proposal/{proposal_id}"' in index
    history = client.get(f"/audit/proposal/{proposal_id}")
    assert history.status_code == 200
    page = history.get_data(as_text=True)
    assert name in page and "deleted" in page
    assert f'href="/proposals/{proposal_id}"' not in page  # the record page would answer 404

    auth.logout()
    auth.login_as("sales_rep")
    assert client.get(f"/proposals/{proposal_id}").status_code == 404
    assert client.get(f"/audit/proposal/{proposal_id}").status_code == 404
