"""The outbox pages, and mail that a request queues going out right after its commit."""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from flask import Flask

from app.access import public
from app.extensions import db
from app.mail.models import OutboxMessage
from app.mail.service import queue
from tests.conftest import app_on, now, reconfigure
from tests.integration.test_mail import PDF, queued
from tests.support.smtp import closed_port


def test_an_admin_reads_the_outbox_a_message_and_downloads_its_attachment(app, client, auth):
    with app.app_context():
        [message_id] = queued()
    auth.login_as("admin")
    home = client.get("/").get_data(as_text=True)
    assert 'href="/mail/outbox"' in home  # in the admin's navigation

    listing = client.get("/mail/outbox").get_data(as_text=True)
    assert f'href="/mail/outbox/{message_id}"' in listing
    assert "buyer@example.com, rep@harbour.example" in listing and "proposal #1" in listing
    assert "No mail server is set" in listing

    page = client.get(f"/mail/outbox/{message_id}").get_data(as_text=True)
    assert "Flightdeck &lt;flightdeck@localhost&gt;" in page  # From
    assert 'href="/proposals/1"' in page  # what it is about
    assert "Dear buyer," in page and hashlib.sha256(PDF).hexdigest() in page
    assert 'sandbox=""' in page  # the HTML version cannot run anything

    download = client.get(f"/mail/outbox/{message_id}/attachment")
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    assert download.headers["Content-Disposition"] == "attachment; filename=P-2026-0001-v1.pdf"
    assert download.data == PDF
    assert download.headers["Cache-Control"] == "private, no-store"


def test_the_outbox_filters_by_status_and_pages(app, client, auth):
    reconfigure(app, PAGE_SIZE=2)
    with app.app_context():
        ids = queued(3)
        db.session.get(OutboxMessage, ids[0]).status = "failed"
        db.session.commit()
    auth.login_as("admin")
    failed = client.get("/mail/outbox?status=failed").get_data(as_text=True)
    assert f'href="/mail/outbox/{ids[0]}"' in failed and f'href="/mail/outbox/{ids[1]}"' not in failed
    first = client.get("/mail/outbox").get_data(as_text=True)  # newest first, two a page
    assert f'href="/mail/outbox/{ids[2]}"' in first and f'href="/mail/outbox/{ids[0]}"' not in first
    assert f'href="/mail/outbox/{ids[0]}"' in client.get("/mail/outbox?page=2").get_data(as_text=True)
    assert client.get("/mail/outbox?status=nonsense").status_code == 200


def test_a_message_without_an_attachment_has_nothing_to_download(app, client, auth):
    with app.app_context():
        [message_id] = queued(attachment=None)
    auth.login_as("admin")
    assert client.get(f"/mail/outbox/{message_id}/attachment").status_code == 404
    assert client.get("/mail/outbox/999999").status_code == 404


def test_only_admins_read_the_outbox(app, client, auth):
    with app.app_context():
        [message_id] = queued()
    auth.login_as("sales_rep")
    assert 'href="/mail/outbox"' not in client.get("/").get_data(as_text=True)
    for url in ("/mail/outbox", f"/mail/outbox/{message_id}", f"/mail/outbox/{message_id}/attachment"):
        assert client.get(url).status_code == 403, url


def add_a_route_that_queues_mail(app: Flask, *, commit: bool) -> None:
    def notify():
        queue(to=["buyer@example.com"], subject="Your proposal", text="It is ready.", now=now())
        if commit:
            db.session.commit()
        return "done"

    app.add_url_rule("/notify", "notify", public(notify), methods=["POST"])


def test_mail_queued_by_a_request_goes_out_right_after_its_commit(mail_app, smtp_server):
    add_a_route_that_queues_mail(mail_app, commit=True)
    assert mail_app.test_client().post("/notify").get_data(as_text=True) == "done"
    [received] = smtp_server.wait_for(1)
    assert received["Subject"] == "Your proposal"
    with mail_app.app_context():
        assert db.session.scalar(sa.select(OutboxMessage.status)) == "sent"


def test_mail_from_a_request_that_did_not_commit_is_never_sent(mail_app, smtp_server):
    add_a_route_that_queues_mail(mail_app, commit=False)
    assert mail_app.test_client().post("/notify").status_code == 200
    with mail_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 0
    assert smtp_server.messages == []


def test_a_mail_server_that_is_down_never_breaks_the_response(databases, tmp_path):
    with (
        closed_port() as port,
        app_on(databases.copy("sqlite", tmp_path), MAIL_SERVER="127.0.0.1", MAIL_PORT=port) as app,
    ):
        add_a_route_that_queues_mail(app, commit=True)
        assert app.test_client().post("/notify").get_data(as_text=True) == "done"
        with app.app_context():
            message = db.session.scalars(sa.select(OutboxMessage)).one()
            assert (message.status, message.attempts) == ("queued", 1)
            assert "ConnectionRefusedError" in message.last_error
