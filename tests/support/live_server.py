"""The app served on a free loopback port in a background thread, for the browser tests."""

from __future__ import annotations

import threading

from flask import Flask
from werkzeug.serving import make_server

from tests.conftest import reconfigure


class LiveServer:
    def __init__(self, app: Flask):
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        # As `make run` does: links in e-mails point at the address being served.
        reconfigure(app, PUBLIC_URL=self.url)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)
