"""Security headers on every answer: the CSP, framing, sniffing, referrer, HSTS and caching."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.proposals.models import ProposalVersion
from tests.conftest import app_on
from tests.support.inline_code import inline_code
from tests.support.signing import open_signing_link


def directives(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.strip() for part in policy.split(";") if part.strip()}


def test_every_page_forbids_inline_script_and_style_framing_and_sniffing(client, auth):
    for url in ("/login", "/static/css/app.css"):
        response = client.get(url)
        csp = directives(response)
        assert csp["script-src"] == "script-src 'self'" and csp["style-src"] == "style-src 'self'"
        assert csp["default-src"] == "default-src 'self'" and csp["object-src"] == "object-src 'none'"
        assert csp["frame-ancestors"] == "frame-ancestors 'none'" and csp["base-uri"] == "base-uri 'self'"
        assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert "Strict-Transport-Security" not in response.headers  # not outside production
    auth.login_as("sales_rep")
    home = client.get("/")
    assert home.status_code == 200 and "Content-Security-Policy" in home.headers
    assert inline_code(home.get_data(as_text=True)) == []


def test_the_signing_page_sends_no_referrer_and_is_never_cached(client):
    for url in ("/sign/not-a-signing-token", "/sign/not-a-signing-token/proposal.pdf"):
        response = client.get(url)
        assert response.headers["Referrer-Policy"] == "no-referrer", url
        assert response.headers["Cache-Control"] == "private, no-store", url
        assert response.headers["Content-Security-Policy"]


def test_pdfs_and_exports_are_never_cached_but_ordinary_pages_may_be_revalidated(app, client, auth):
    with app.app_context():
        version = db.session.scalars(sa.select(ProposalVersion).order_by(ProposalVersion.id)).first()
        version.pdf = version.pdf or b"%PDF-1.7 stand-in"
        db.session.commit()
        pdf_url = f"/proposals/{version.proposal_id}/versions/{version.number}.pdf"
    auth.login_as("admin")
    for url in (pdf_url, "/catalog/products.csv", "/rate-cards/1.csv"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "private, no-store", url
    assert "no-store" not in client.get("/").headers.get("Cache-Control", "")


def test_production_answers_carry_hsts(databases, tmp_path):
    database = databases.copy("sqlite", tmp_path)
    with app_on(database, ENV_NAME="production", SECRET_KEY="x" * 32, ADSERVER_PUSH_AFTER_REQUEST=False) as app:
        response = app.test_client().get("/login")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_over_https_the_buyer_answers_from_the_signing_page_although_it_sends_no_referrer(databases, tmp_path):
    """Flask-WTF refuses a form posted over HTTPS without a Referer; the signing page sends none."""
    import re

    with app_on(databases.copy("sqlite", tmp_path), WTF_CSRF_ENABLED=True) as app:
        open_signing_link(app, "a-test-signing-token")
        buyer = app.test_client()
        page = buyer.get("/sign/a-test-signing-token", base_url="https://flightdeck.example")
        assert page.status_code == 200 and page.headers["Referrer-Policy"] == "no-referrer"
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(as_text=True)).group(1)
        answer = buyer.post(
            "/sign/a-test-signing-token",
            data={"csrf_token": token, "name": "Harriet Ferrymoor"},
            base_url="https://flightdeck.example",
        )
        assert "Choose Accept and sign, or Decline." in answer.get_data(as_text=True)
        forged = buyer.post(
            "/sign/a-test-signing-token", data={"decision": "decline"}, base_url="https://flightdeck.example"
        )
        assert forged.status_code == 400 and "reload it and answer again" in forged.get_data(as_text=True)


def test_the_favicon_is_ours_and_found(client):
    response = client.get("/favicon.ico", follow_redirects=True)
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert b"<svg" in response.data
    assert 'rel="icon" href="/static/favicon.svg"' in client.get("/login").get_data(as_text=True)


def test_the_buyer_page_carries_the_publishers_logo_when_one_is_set(databases, tmp_path):
    from tests.conftest import reconfigure

    logo = tmp_path / "logo.svg"
    logo.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>')
    with app_on(databases.copy("sqlite", tmp_path)) as app:
        open_signing_link(app, "a-logo-signing-token")
        html = app.test_client().get("/sign/a-logo-signing-token").get_data(as_text=True)
        assert '<span class="publisher-wordmark">Harbour Media Group</span>' in html and "<img" not in html
        reconfigure(app, PUBLISHER_LOGO=str(logo))
        html = app.test_client().get("/sign/a-logo-signing-token").get_data(as_text=True)
        assert '<img class="publisher-logo" src="data:image/svg+xml;base64,' in html
        assert 'alt="Harbour Media Group"' in html and "/login" not in html


def test_static_files_never_carry_the_session_cookie(client, auth):
    auth.login_as("sales_rep")
    assert "Set-Cookie" in client.get("/").headers  # a page refreshes the session's expiry
    for path in ("/static/favicon.svg", "/static/css/app.css"):
        assert "Set-Cookie" not in client.get(path).headers, path
