"""Drawing a version's PDF in a background thread of the web process, after the request has
answered: for set-ups with no worker (`make run`, the embedded set-up; VERSION_PDF_DRAWING=thread).

A thread that dies with its process (a restart mid-drawing) leaves the version without its PDF:
the downloads draw it on the fly, sending it to the buyer draws and stores it, and a worker, if one
runs, draws it too. Flask-free: the caller hands over its app object.
"""

from __future__ import annotations

import logging
import threading

from app.extensions import db
from app.proposals import versions

log = logging.getLogger(__name__)

_running: set[threading.Thread] = set()
_lock = threading.Lock()


def start(app, version_id: int, *, publisher_name: str, render: dict) -> threading.Thread:
    """Draw and store the version's PDF in a thread of its own, in an app context of its own."""
    thread = threading.Thread(
        target=_draw, args=(app, version_id, publisher_name, render), name=f"version-pdf-{version_id}", daemon=True
    )
    with _lock:
        _running.add(thread)
    thread.start()
    return thread


def _draw(app, version_id: int, publisher_name: str, render: dict) -> None:
    try:
        with app.app_context():
            try:
                versions.draw_stored(version_id, publisher_name=publisher_name, render=render)
            except Exception:  # logged; the version keeps no PDF until something else draws it
                log.exception("Drawing the PDF of version %s in the background failed", version_id)
            finally:
                db.session.remove()
    finally:
        with _lock:
            _running.discard(threading.current_thread())


def wait(timeout: float | None = None) -> bool:
    """Wait for the drawings under way to end (tests, the bench); whether they all did in time."""
    with _lock:
        threads = list(_running)
    for thread in threads:
        thread.join(timeout)
    return not any(thread.is_alive() for thread in threads)
