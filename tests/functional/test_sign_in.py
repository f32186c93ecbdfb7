"""Signing in and out through the pages."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.auth import service
from app.auth.models import User
from app.db import utcnow
from app.extensions import db
from tests.conftest import DEMO_PASSWORD, DEMO_USERS, app_on, make_app


def field_error(html: str, field: str) -> str:
    marker = f'data-field-error="{field}">'
    assert marker in html, f"no error on {field}"
    return html.split(marker, 1)[1].split("<", 1)[0]


def test_the_demo_rep_signs_in_and_sees_their_accounts(client, auth):
    response = auth.login()
    assert response.status_code == 302 and response.location == "/"
    page = client.get("/").get_data(as_text=True)
    assert "Your accounts" in page and "Ana Ruiz" in page
    assert 'data-testid="home-admin"' not in page
    assert "/admin/users" not in page  # the navigation follows the roles


def test_an_empty_email_is_reported_on_its_field(client):
    html = client.post("/login", data={"email": "", "password": "x"}).get_data(as_text=True)
    assert field_error(html, "email") == "Enter your e-mail address."


def test_a_wrong_password_is_reported_without_saying_which_part_was_wrong(client):
    response = client.post("/login", data={"email": DEMO_USERS["finance"], "password": "nope"})
    assert response.status_code == 200
    assert field_error(response.get_data(as_text=True), "password") == (
        "That e-mail and password do not match an active account."
    )


def test_repeated_failures_pause_sign_in_with_a_message_that_says_so(client):
    for _ in range(5):
        client.post("/login", data={"email": DEMO_USERS["finance"], "password": "nope"})
    response = client.post("/login", data={"email": DEMO_USERS["finance"], "password": DEMO_PASSWORD})
    assert response.status_code == 429
    assert "Too many failed sign-ins for this e-mail" in response.get_data(as_text=True)


def test_only_local_next_addresses_are_followed(client):
    response = client.post(
        "/login?next=https://evil.example/steal", data={"email": DEMO_USERS["finance"], "password": DEMO_PASSWORD}
    )
    assert response.location == "/"
    client.post("/logout")
    response = client.post("/login?next=/accounts/", data={"email": DEMO_USERS["finance"], "password": DEMO_PASSWORD})
    assert response.location == "/accounts/"


def test_sign_out_ends_the_session(client, auth):
    auth.login()
    assert client.get("/").status_code == 200
    auth.logout()
    assert client.get("/").status_code == 302


def test_deactivating_a_user_ends_their_open_session(app, client, auth):
    auth.login()
    with app.app_context():
        rep = db.session.scalar(sa.select(User).where(User.email == DEMO_USERS["sales_rep"]))
        admin = db.session.scalar(sa.select(User).where(User.email == DEMO_USERS["admin"]))
        service.set_active(rep, False, actor=admin, now=utcnow())
        db.session.commit()
    response = client.get("/")
    assert response.status_code == 302 and response.location.startswith("/login")


def test_a_cookie_copied_before_sign_out_no_longer_works(app, client, auth):
    auth.login_as("admin")
    copied = client.get_cookie("session").value
    auth.logout()
    thief = app.test_client()
    thief.set_cookie("session", copied)
    response = thief.get("/admin/users")
    assert response.status_code == 302 and response.location.startswith("/login")


def test_changing_the_password_keeps_this_session_and_ends_the_others(app, client, auth):
    auth.login_as("sales_rep")
    other = app.test_client()
    assert other.post("/login", data={"email": DEMO_USERS["sales_rep"], "password": DEMO_PASSWORD}).status_code == 302
    wrong = client.post("/me/password", data={"current_password": "nope", "password": "a-brand-new-password"})
    assert wrong.status_code == 400
    assert field_error(wrong.get_data(as_text=True), "current_password") == "That is not your current password."
    changed = client.post("/me/password", data={"current_password": DEMO_PASSWORD, "password": "a-brand-new-password"})
    assert changed.status_code == 302
    assert client.get("/").status_code == 200
    assert other.get("/").status_code == 302


def test_the_session_lifetime_comes_from_configuration(databases, tmp_path):
    with app_on(databases.copy("sqlite", tmp_path), PERMANENT_SESSION_LIFETIME=timedelta(minutes=30)) as app:
        client = app.test_client()
        response = client.post("/login", data={"email": DEMO_USERS["finance"], "password": DEMO_PASSWORD})
        cookie = client.get_cookie("session")
        assert response.status_code == 302 and cookie is not None and cookie.expires is not None
        remaining = cookie.expires - utcnow()
        assert timedelta(minutes=29) < remaining <= timedelta(minutes=30)


def _failed_sign_in_address(app) -> str | None:
    """Fail one sign-in through a proxy that says the client is 203.0.113.9; the address recorded."""
    from app.auth.models import LoginAttempt

    client = app.test_client()
    client.post(
        "/login",
        data={"email": DEMO_USERS["finance"], "password": "wrong"},
        headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"},
        environ_base={"REMOTE_ADDR": "10.0.0.2"},
    )
    with app.app_context():
        return db.session.scalar(sa.select(LoginAttempt.remote_addr).order_by(LoginAttempt.id.desc()).limit(1))


def test_without_trusted_proxies_a_forwarded_for_header_is_ignored(app):
    assert app.config["TRUSTED_PROXIES"] == 0
    assert _failed_sign_in_address(app) == "10.0.0.2"


def test_behind_one_trusted_proxy_the_client_address_comes_from_forwarded_for(databases, tmp_path):
    with app_on(databases.copy("sqlite", tmp_path), TRUSTED_PROXIES=1) as app:
        assert _failed_sign_in_address(app) == "203.0.113.9"


def test_behind_one_trusted_proxy_the_buyers_signature_records_the_client_address(databases, tmp_path):
    from app.workflow.models import Signature
    from tests.support.signing import open_signing_link

    with app_on(databases.copy("sqlite", tmp_path), TRUSTED_PROXIES=1) as app:
        proposal_id = open_signing_link(app, "a-test-signing-token")
        answer = app.test_client().post(
            "/sign/a-test-signing-token",
            data={"decision": "decline", "comment": "Not this quarter."},
            headers={"X-Forwarded-For": "203.0.113.9"},
            environ_base={"REMOTE_ADDR": "10.0.0.2"},
        )
        assert answer.status_code == 200
        with app.app_context():
            signature = db.session.scalar(sa.select(Signature).where(Signature.proposal_id == proposal_id))
            assert signature.address == "203.0.113.9" and not signature.accepted


def test_a_negative_number_of_trusted_proxies_stops_the_app_from_starting(databases, tmp_path):
    with pytest.raises(RuntimeError, match="TRUSTED_PROXIES"):
        make_app(databases.copy("sqlite", tmp_path)[0], TRUSTED_PROXIES=-1)
