"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for the e-mail tests."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass(frozen=True)
class Envelope:
    """What the client said around the message: MAIL FROM and RCPT TO."""

    mail_from: str
    rcpt_tos: list[str]


class _Collector:
    """The aiosmtpd handler: parses each message and wakes whoever waits for it."""

    def __init__(self, *, refuse: frozenset[str], delay: float) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[Envelope] = []
        self.arrived = threading.Condition()
        self.refuse = refuse
        self.delay = delay

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if address in self.refuse:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        # Line ends as a mail client stores them: SMTP sends CRLF, Python's text is LF.
        parsed = message_from_bytes(envelope.original_content.replace(b"\r\n", b"\n"), policy=policy.default)
        with self.arrived:
            self.messages.append(parsed)  # type: ignore[arg-type]  (policy.default makes EmailMessage)
            self.envelopes.append(Envelope(envelope.mail_from, list(envelope.rcpt_tos)))
            self.arrived.notify_all()
        return "250 Message accepted for delivery"


class _AnyFreePort(Controller):
    """A Controller that listens on a port the system picks (port 0) and then knows which one."""

    def _trigger_server(self) -> None:
        # aiosmtpd connects to self.port to start the server; with port 0 that is the real port.
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SmtpServer:
    """Listens on 127.0.0.1; `.messages` are the parsed messages in order of arrival.

    With `login=(user, password)` the server requires that login (over plain SMTP: this is
    loopback); addresses in `refuse` are refused with a 550; `delay` slows every message down by
    that many seconds (to make two senders overlap).
    """

    host = "127.0.0.1"

    def __init__(self, *, login: tuple[str, str] | None = None, refuse: frozenset[str] = frozenset(), delay: float = 0):
        self._collector = _Collector(refuse=refuse, delay=delay)
        options: dict = {}
        if login:
            expected = LoginPassword(login[0].encode(), login[1].encode())
            options = {
                # handled=False: aiosmtpd answers "535" itself on a wrong login.
                "authenticator": lambda server, session, envelope, mechanism, data: AuthResult(
                    success=data == expected, handled=False
                ),
                "auth_required": True,
                "auth_require_tls": False,
            }
        self._controller = _AnyFreePort(self._collector, hostname=self.host, port=0, **options)

    @property
    def port(self) -> int:
        return self._controller.port

    @property
    def messages(self) -> list[EmailMessage]:
        return self._collector.messages

    @property
    def envelopes(self) -> list[Envelope]:
        return self._collector.envelopes

    @property
    def config(self) -> dict[str, object]:
        """The app settings that send mail here: `app_on(database, **smtp_server.config)`."""
        return {"MAIL_SERVER": self.host, "MAIL_PORT": self.port}

    def wait_for(self, count: int, timeout: float = 5) -> list[EmailMessage]:
        """The first `count` messages, once that many have arrived; fails after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._collector.arrived:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} e-mail(s) within {timeout} s, got {len(self.messages)}")
                self._collector.arrived.wait(left)
            return self.messages[:count]

    def start(self) -> SmtpServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@contextmanager
def closed_port() -> Iterator[int]:
    """A loopback port where nothing listens (connections are refused) for as long as this lasts.

    The port stays bound, never listening, so no other process can take it in the meantime.
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]
