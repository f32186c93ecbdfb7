"""Walk every route of the URL map, anonymously and as each role.

Each answer must be the one the route's access rule promises: a redirect to sign-in, a 403, or a
success; never a 500. New routes are covered without touching this test.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask
from werkzeug.routing import Rule

from app.access import rule_for
from app.accounts.models import Account, Contact
from app.auth.roles import Role
from app.extensions import db
from tests.conftest import DEMO_USERS, user

ROLES = [None, *[r.value for r in Role]]


def sample_values(app: Flask) -> dict[str, object]:
    """A value for every URL variable, taken from the demo publisher."""
    with app.app_context():
        rep = user(DEMO_USERS["sales_rep"])
        account = db.session.scalars(
            sa.select(Account).where(Account.owner_id == rep.id, Account.id.in_(sa.select(Contact.account_id)))
        ).first()
        return {
            "account_id": account.id,
            "contact_id": account.contacts[0].id,
            "user_id": rep.id,
            "entity_type": "account",
            "entity_id": account.id,
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
