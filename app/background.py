"""Work a request leaves for after its answer (a submitted version's PDF, the order of a proposal
the buyer accepted), done in a background thread of the web process: for set-ups with no worker
(`make run`, the embedded set-up; BACKGROUND_WORK=thread), started by `app.boundary.after_the_answer`.

A thread that dies with its process (a restart mid-work) leaves the work undone, never half done
(each piece commits once): a version's PDF is drawn by its download, by sending it to the buyer or
by a worker; an accepted proposal's order by the next acceptance or a worker. Flask-free: the caller
hands over its app.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from app.extensions import db

log = logging.getLogger(__name__)

_running: set[threading.Thread] = set()
_lock = threading.Lock()
_local = threading.local()


def in_background() -> bool:
    """Whether the caller runs in one of these threads: work a request would finish after its
    commit (sending the pushes it queued, without a worker) is finished here the same way."""
    return getattr(_local, "running", False)


def start(app, fn: Callable[[], object], *, name: str) -> threading.Thread:
    """Run `fn` in a thread of its own, in an app context (and so a database session) of its own."""
    thread = threading.Thread(target=_run, args=(app, fn, name), name=name, daemon=True)
    with _lock:
        _running.add(thread)
    thread.start()
    return thread


def _run(app, fn: Callable[[], object], name: str) -> None:
    _local.running = True
    try:
        with app.app_context():
            try:
                fn()
            except Exception:  # logged; what it would have done waits for the fallbacks above
                log.exception("Background work %s failed", name)
            finally:
                db.session.remove()
    finally:
        with _lock:
            _running.discard(threading.current_thread())


def wait(timeout: float | None = None) -> bool:
    """Wait for the work under way to end (tests, the bench); whether it all did in time."""
    with _lock:
        threads = list(_running)
    for thread in threads:
        thread.join(timeout)
    return not any(thread.is_alive() for thread in threads)
