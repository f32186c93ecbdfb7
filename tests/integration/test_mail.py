"""E-mail through the outbox, delivered to a real SMTP server on loopback."""

from __future__ import annotations

import hashlib
import threading

import pytest
import sqlalchemy as sa

from app.errors import ValidationFailed
from app.extensions import db
from app.mail import queries
from app.mail.models import MailStatus, OutboxMessage
from app.mail.service import deliver_pending, queue
from app.mail.views import mail_settings
from tests.conftest import DEMO_USERS, app_on, now
from tests.support.smtp import SmtpServer, closed_port

#: Every byte value, so a transfer encoding that mangles any of them shows.
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 64 + b"\n%%EOF\n"
#: With the signature separator, whose trailing space must survive.
TEXT = "Dear buyer,\n\nThe proposal is attached.\n\n-- \nHarbour Media Group"


def queue_proposal_mail(**overrides) -> OutboxMessage:
    """A message like the buyer's sign-off mail: text, HTML and the proposal PDF (needs an app context)."""
    fields = {
        "to": ["Buyer@Example.COM", "rep@harbour.example"],
        "subject": "Proposal P-2026-0001 for Summer Launch",
        "text": TEXT,
        "html": "<p>Dear buyer,</p><p>The proposal is <b>attached</b>.</p>",
        "attachment": ("P-2026-0001-v1.pdf", "application/pdf", PDF),
        "related": ("proposal", 1),
        "now": now(),
        **overrides,
    }
    return queue(**fields)


def queued(count: int = 1, **overrides) -> list[int]:
    ids = [queue_proposal_mail(**overrides).id for _ in range(count)]
    db.session.commit()
    return ids


def test_a_message_with_a_pdf_arrives_through_smtp_with_everything_intact(mail_app, smtp_server):
    with mail_app.app_context():
        [message_id] = queued()
        assert deliver_pending(settings=mail_settings(), now=now()) == (1, 0)
        message = db.session.get(OutboxMessage, message_id)
        assert (message.status, message.attempts, message.last_error) == ("sent", 1, None)
        assert message.sent_at is not None
    [received] = smtp_server.wait_for(1)
    assert received["Subject"] == "Proposal P-2026-0001 for Summer Launch"
    assert received["From"] == "Flightdeck <flightdeck@localhost>"
    assert [a.addr_spec for a in received["To"].addresses] == ["buyer@example.com", "rep@harbour.example"]
    assert smtp_server.envelopes[0].rcpt_tos == ["buyer@example.com", "rep@harbour.example"]
    assert received.get_body(("plain",)).get_content() == TEXT + "\n"
    assert "<b>attached</b>" in received.get_body(("html",)).get_content()
    [pdf] = received.iter_attachments()
    assert (pdf.get_filename(), pdf.get_content_type()) == ("P-2026-0001-v1.pdf", "application/pdf")
    assert hashlib.sha256(pdf.get_content()).hexdigest() == hashlib.sha256(PDF).hexdigest()


def test_the_outbox_row_describes_its_attachment_and_what_it_is_about(ctx):
    message = queue_proposal_mail()
    assert message.attachment == {
        "filename": "P-2026-0001-v1.pdf",
        "mimetype": "application/pdf",
        "sha256": hashlib.sha256(PDF).hexdigest(),
        "size": len(PDF),
    }
    assert message.attachment_data == PDF
    assert [m.id for m in queries.messages_about("proposal", 1)] == [message.id]
    assert queries.messages_about("proposal", 2) == []


def test_while_the_server_is_down_a_message_stays_queued_then_fails_after_the_last_attempt(
    backend, databases, tmp_path
):
    with (
        closed_port() as port,
        app_on(databases.copy(backend, tmp_path), MAIL_SERVER="127.0.0.1", MAIL_PORT=port) as app,
        app.app_context(),
    ):
        [message_id] = queued()
        assert deliver_pending(settings=mail_settings(), now=now()) == (0, 1)
        message = db.session.get(OutboxMessage, message_id)
        assert (message.status, message.attempts, message.sent_at) == ("queued", 1, None)
        assert f"127.0.0.1:{port}" in message.last_error and "ConnectionRefusedError" in message.last_error
        for _ in range(app.config["MAIL_MAX_ATTEMPTS"] - 1):
            deliver_pending(settings=mail_settings(), now=now())
        db.session.refresh(message)
        assert (message.status, message.attempts) == ("failed", app.config["MAIL_MAX_ATTEMPTS"])
        assert deliver_pending(settings=mail_settings(), now=now()) == (0, 0)  # given up: not tried again


def test_when_the_server_cannot_be_reached_the_run_stops_at_the_first_message(backend, databases, tmp_path):
    with (
        closed_port() as port,
        app_on(databases.copy(backend, tmp_path), MAIL_SERVER="127.0.0.1", MAIL_PORT=port) as app,
        app.app_context(),
    ):
        first, second = queued(2)
        assert deliver_pending(settings=mail_settings(), now=now()) == (0, 1)
        attempts = dict(db.session.execute(sa.select(OutboxMessage.id, OutboxMessage.attempts)).all())
        assert (attempts[first], attempts[second]) == (1, 0)


def test_a_refused_recipient_fails_only_that_message_and_the_next_one_still_goes(backend, databases, tmp_path):
    with (
        SmtpServer(refuse=frozenset({"gone@example.com"})) as server,
        app_on(databases.copy(backend, tmp_path), **server.config) as app,
        app.app_context(),
    ):
        [refused] = queued(to=["gone@example.com"])
        [partly] = queued(to=["gone@example.com", "buyer@example.com"])
        [fine] = queued(to=["buyer@example.com"])
        assert deliver_pending(settings=mail_settings(), now=now()) == (2, 1)
        rows = {m.id: m for m in db.session.scalars(sa.select(OutboxMessage))}
        assert (rows[refused].status, rows[refused].attempts) == ("queued", 1)
        assert "gone@example.com" in rows[refused].last_error and "550" in rows[refused].last_error
        assert rows[partly].status == "sent" and "refused for: gone@example.com" in rows[partly].last_error
        assert rows[fine].status == "sent" and rows[fine].last_error is None
    assert [e.rcpt_tos for e in server.envelopes] == [["buyer@example.com"], ["buyer@example.com"]]


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_mail_goes_through_a_server_that_requires_a_login(backend, databases, tmp_path):
    with SmtpServer(login=("mailer", "s3cret")) as server:
        for password, expected in (("wrong", (0, 1)), ("s3cret", (1, 0))):
            overrides = {**server.config, "MAIL_USERNAME": "mailer", "MAIL_PASSWORD": password}
            (tmp_path / password).mkdir()
            with app_on(databases.copy(backend, tmp_path / password), **overrides) as app, app.app_context():
                queued()
                assert deliver_pending(settings=mail_settings(), now=now()) == expected
                if password == "wrong":
                    assert "535" in db.session.scalar(sa.select(OutboxMessage.last_error))
        assert len(server.wait_for(1)) == 1


def test_two_workers_at_once_send_each_message_exactly_once(backend, databases, tmp_path):
    # Each send takes a moment, so the two workers overlap.
    with SmtpServer(delay=0.02) as server, app_on(databases.copy(backend, tmp_path), **server.config) as app:
        with app.app_context():
            queued(12)
        results: list[tuple[int, int]] = []

        def worker() -> None:
            with app.app_context():
                results.append(deliver_pending(settings=mail_settings(), now=now()))

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert sum(sent for sent, _ in results) == 12
        assert len({m["Message-ID"] for m in server.wait_for(12)}) == 12
        with app.app_context():
            assert queries.count_by_status() == {"sent": 12}
            assert set(db.session.scalars(sa.select(OutboxMessage.attempts))) == {1}
    assert len(server.messages) == 12


def test_without_a_mail_server_mail_is_marked_sent_and_read_on_the_outbox_page(app, client, auth):
    assert app.config["MAIL_SERVER"] == ""
    with app.app_context():
        [message_id] = queued()
        assert deliver_pending(settings=mail_settings(), now=now()) == (1, 0)
        assert db.session.get(OutboxMessage, message_id).status == MailStatus.SENT
    auth.login_as("admin")
    page = client.get(f"/mail/outbox/{message_id}").get_data(as_text=True)
    assert "Proposal P-2026-0001 for Summer Launch" in page
    assert "buyer@example.com, rep@harbour.example" in page
    assert "The proposal is attached." in page


def test_a_bad_address_is_refused_naming_the_field_to(ctx):
    with pytest.raises(ValidationFailed) as refused:
        queue_proposal_mail(to=["buyer@example.com", "not an address"], subject=" ")
    assert set(refused.value.errors) == {"to", "subject"}  # every problem at once
    [problem] = refused.value.errors["to"]
    assert problem.startswith("“not an address”: Not a valid e-mail address")
    assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 0


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"to": []}, "to"),
        ({"text": "  "}, "text"),
        ({"subject": "x" * 301}, "subject"),
        ({"text": "nul \x00 byte"}, "text"),
        ({"attachment": ("../etc/passwd", "application/pdf", PDF)}, "attachment"),
        ({"attachment": ("a.pdf", "pdf", PDF)}, "attachment"),
        ({"attachment": ("a.pdf", "application/pdf", b"")}, "attachment"),
        ({"related": ("", 1)}, "related"),
    ],
)
def test_other_bad_input_is_refused_on_its_field(ctx, overrides, field):
    with pytest.raises(ValidationFailed) as refused:
        queue_proposal_mail(**overrides)
    assert list(refused.value.errors) == [field]


def test_a_subject_is_one_line_whatever_it_was_built_from(ctx):
    message = queue_proposal_mail(subject="Proposal\r\nBcc: everyone@example.com")
    assert message.subject == "Proposal Bcc: everyone@example.com"


def test_the_same_address_twice_is_one_recipient(ctx):
    assert queue_proposal_mail(to=[DEMO_USERS["admin"], DEMO_USERS["admin"].upper()]).to_addresses == [
        DEMO_USERS["admin"]
    ]
