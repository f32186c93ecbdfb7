"""Sending over SMTP: the settings, the MIME message made from an outbox row, one connection per run.

No Flask here: the settings are read from any mapping (the app's config), so the sending can be
tried on its own against a test server.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any, Protocol

from app.mail.models import OutboxMessage

#: Longest error text kept on a message.
MAX_ERROR_LENGTH = 2000


@dataclass(frozen=True)
class MailSettings:
    #: Host name of the SMTP server; empty: nothing leaves the app, mail is read on the outbox page.
    server: str
    port: int
    #: STARTTLS after connecting (usually port 587).
    use_tls: bool
    #: TLS from the first byte (usually port 465).
    use_ssl: bool
    username: str
    password: str
    #: The From header, e.g. "Flightdeck <flightdeck@harbour.example>".
    sender: str
    max_attempts: int
    timeout: float

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> MailSettings:
        return cls(
            server=(config["MAIL_SERVER"] or "").strip(),
            port=int(config["MAIL_PORT"]),
            use_tls=bool(config["MAIL_USE_TLS"]),
            use_ssl=bool(config["MAIL_USE_SSL"]),
            username=config["MAIL_USERNAME"] or "",
            password=config["MAIL_PASSWORD"] or "",
            sender=config["MAIL_FROM"],
            max_attempts=int(config["MAIL_MAX_ATTEMPTS"]),
            timeout=float(config["MAIL_TIMEOUT_SECONDS"]),
        )

    def problems(self) -> list[str]:
        """What is wrong with these settings, for the check at start-up."""
        problems = []
        if self.use_tls and self.use_ssl:
            problems.append("MAIL_USE_TLS (STARTTLS) and MAIL_USE_SSL (TLS from the start) exclude each other")
        if "@" not in parseaddr(self.sender)[1]:
            problems.append(f"MAIL_FROM {self.sender!r} is not an e-mail address (e.g. Flightdeck <ads@example.com>)")
        if self.max_attempts < 1:
            problems.append("MAIL_MAX_ATTEMPTS must be 1 or more")
        if self.timeout <= 0:
            problems.append("MAIL_TIMEOUT_SECONDS must be more than 0")
        if not 0 < self.port < 65536:
            problems.append(f"MAIL_PORT {self.port} is not a TCP port")
        return problems


class ServerUnreachable(Exception):
    """No conversation with the server (refused, timed out, TLS or login failed): try later."""


class MessageRefused(Exception):
    """The server, or the message itself, refused this one message; the others may still go."""


def compose(message: OutboxMessage, *, sender: str) -> EmailMessage:
    """The MIME message of an outbox row: the text, its HTML alternative, and the attachment."""
    email = EmailMessage()
    try:
        email["From"] = sender
        email["To"] = ", ".join(message.to_addresses)
        email["Subject"] = message.subject
        email["Date"] = format_datetime(message.created_at)
        # Stable across retries, so a receiver can drop a copy sent twice after a lost answer.
        domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
        email["Message-ID"] = f"<outbox-{message.id}-{message.created_at:%Y%m%d%H%M%S}@{domain}>"
        email.set_content(message.text)
        if message.html:
            email.add_alternative(message.html, subtype="html")
        if message.attachment and message.attachment_data is not None:
            maintype, _, subtype = message.attachment["mimetype"].partition("/")
            email.add_attachment(
                message.attachment_data, maintype=maintype, subtype=subtype, filename=message.attachment["filename"]
            )
    except (ValueError, TypeError) as exc:  # a header or part the email package will not write
        raise MessageRefused(f"The message cannot be written: {exc}") from exc
    return email


class Transport(Protocol):
    def send(self, email: EmailMessage) -> dict[str, str]:
        """Send one message; the recipients the server refused while it took the others, with why."""

    def close(self) -> None: ...


class OutboxOnly:
    """No mail server: nothing leaves the app; the outbox page is where mail is read."""

    def send(self, email: EmailMessage) -> dict[str, str]:
        return {}

    def close(self) -> None:
        pass


class SmtpTransport:
    """One SMTP connection, opened at the first message and reused for the rest of the run."""

    def __init__(self, settings: MailSettings):
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if s.use_ssl:
            smtp = smtplib.SMTP_SSL(s.server, s.port, timeout=s.timeout, context=context)
        else:
            smtp = smtplib.SMTP(s.server, s.port, timeout=s.timeout)
        try:
            if s.use_tls:
                smtp.starttls(context=context)
            if s.username:
                smtp.login(s.username, s.password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, email: EmailMessage) -> dict[str, str]:
        where = f"{self.settings.server}:{self.settings.port}"
        try:
            if self._smtp is None:
                self._smtp = self._connect()
            refused = self._smtp.send_message(email)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            raise MessageRefused(describe(exc)) from exc
        except (OSError, smtplib.SMTPException) as exc:  # SMTPException is an OSError; both named for the reader
            self.close()
            raise ServerUnreachable(f"No conversation with the mail server {where}: {describe(exc)}") from exc
        return {address: _reply(code, text) for address, (code, text) in refused.items()}

    def close(self) -> None:
        if self._smtp is None:
            return
        try:
            self._smtp.quit()
        except (OSError, smtplib.SMTPException):
            self._smtp.close()
        self._smtp = None


def transport_for(settings: MailSettings) -> Transport:
    return SmtpTransport(settings) if settings.server else OutboxOnly()


def _reply(code: int, text: bytes | str) -> str:
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {text}".strip()


def describe(exc: BaseException) -> str:
    """A one-line account of an SMTP or network failure, for `last_error`."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        text = "Every recipient was refused: " + "; ".join(
            f"{address} ({_reply(code, reply)})" for address, (code, reply) in exc.recipients.items()
        )
    elif isinstance(exc, smtplib.SMTPSenderRefused):
        text = f"The sender {exc.sender} was refused ({_reply(exc.smtp_code, exc.smtp_error)})"
    elif isinstance(exc, smtplib.SMTPResponseException):
        text = f"The server answered {_reply(exc.smtp_code, exc.smtp_error)}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return text[:MAX_ERROR_LENGTH]
