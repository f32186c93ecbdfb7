"""User administration pages, CSRF, and the error pages."""

from __future__ import annotations

import sqlalchemy as sa

from app.access import public
from app.auth.models import User
from app.extensions import db
from tests.conftest import DEMO_PASSWORD, DEMO_USERS, app_on
from tests.functional.test_sign_in import field_error


def test_an_admin_creates_a_user_who_can_then_sign_in(app, client, auth):
    auth.login_as("admin")
    response = client.post(
        "/admin/users/new",
        data={
            "name": "Nia Evans",
            "email": "nia@harbour.example",
            "password": "long-enough-pw",
            "roles": ["ad_ops", "finance"],
        },
    )
    assert response.status_code == 302
    auth.logout()
    assert auth.login("nia@harbour.example", "long-enough-pw").status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert 'data-testid="home-ad-ops"' in page and 'data-testid="home-finance"' in page


def test_a_duplicate_email_and_no_role_are_shown_on_their_fields(app, client, auth):
    auth.login_as("admin")
    html = client.post(
        "/admin/users/new", data={"name": "Copy", "email": DEMO_USERS["finance"], "password": "long-enough-pw"}
    ).get_data(as_text=True)
    assert "already exists" in field_error(html, "email")
    assert field_error(html, "roles") == "Choose at least one role."
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(User.id)).where(User.email == DEMO_USERS["finance"])) == 1


def test_an_admin_deactivates_a_user_who_then_cannot_sign_in(app, client, auth):
    with app.app_context():
        rep_id = db.session.scalar(sa.select(User.id).where(User.email == DEMO_USERS["sales_rep"]))
    auth.login_as("admin")
    assert client.post(f"/admin/users/{rep_id}/active", data={"active": "0"}).status_code == 302
    assert "Deactivated" in client.get(f"/admin/users/{rep_id}").get_data(as_text=True)
    auth.logout()
    assert auth.login(DEMO_USERS["sales_rep"], DEMO_PASSWORD).status_code == 200


def test_a_form_posted_without_its_csrf_token_is_refused(databases, tmp_path):
    with app_on(databases.copy("sqlite", tmp_path), WTF_CSRF_ENABLED=True) as app:
        client = app.test_client()
        response = client.post("/login", data={"email": DEMO_USERS["admin"], "password": DEMO_PASSWORD})
        assert response.status_code == 400
        assert "This form expired or was sent from another page" in response.get_data(as_text=True)
        assert client.get("/").status_code == 302  # still signed out


def test_error_pages_say_what_happened(app, client, auth):
    def boom():
        raise RuntimeError("kaboom")

    app.add_url_rule("/boom", "boom", public(boom))
    auth.login_as("sales_rep")
    missing = client.get("/accounts/999999")
    assert missing.status_code == 404 and "no such advertiser or agency" in missing.get_data(as_text=True)
    forbidden = client.get("/admin/users")
    assert forbidden.status_code == 403 and "Not allowed" in forbidden.get_data(as_text=True)
    unknown = client.get("/no/such/page")
    assert unknown.status_code == 404 and "There is nothing at this address" in unknown.get_data(as_text=True)
    failed = client.get("/boom")
    assert failed.status_code == 500 and "Something went wrong" in failed.get_data(as_text=True)
    assert "kaboom" not in failed.get_data(as_text=True)
    wrong_method = client.delete("/accounts/")
    assert wrong_method.status_code == 405


def test_errors_are_json_for_json_clients(client, auth):
    auth.login_as("sales_rep")
    response = client.get("/admin/users", headers={"Accept": "application/json"})
    assert response.status_code == 403 and response.json["error"] == "Not allowed"


def test_concurrent_saves_are_conflicts_not_crashes(app, client, auth):
    from sqlalchemy.exc import IntegrityError
    from sqlalchemy.orm.exc import StaleDataError

    def stale():
        raise StaleDataError("UPDATE statement on table 'accounts' expected to update 1 row(s); 0 were matched.")

    def clash():
        raise IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed: users.email"))

    app.add_url_rule("/stale", "stale", public(stale))
    app.add_url_rule("/clash", "clash", public(clash))
    for url, text in (("/stale", "saved this at the same moment"), ("/clash", "clashes with a change")):
        response = client.get(url)
        assert response.status_code == 409 and text in response.get_data(as_text=True)
