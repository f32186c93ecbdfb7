"""The unit of work: one commit at the end of a request, a CLI command or a worker's job.

Services only flush. Whoever starts the work (the web boundary in `app/boundary.py`, a CLI
command through `in_transaction`, a worker per job) runs it inside `transaction(session)`, which
commits once when the work succeeds and rolls back when it raises. What must follow a commit and
never a rollback (delivering the mail a change queued, pushing an order to the ad server, drawing
a version's PDF) is registered with `after_commit(session, fn)` and runs after the commit.

This module is the only one that calls `commit()` or `rollback()` on a session
(tests/unit/test_architecture.py checks it).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

#: `session.info` key of the callbacks that run after the next commit, in the order registered.
CALLBACKS = "after_commit_callbacks"
#: `session.info` key of the callbacks whose commit happened and that have not run yet.
COMMITTED = "after_commit_due"
#: `session.info` key set by `abandon`: the unit of work ends without committing.
ABANDONED = "unit_of_work_abandoned"
#: `session.info` key set while a `transaction()` block runs: a unit of work is open.
OPEN = "unit_of_work_open"


def after_commit(session: Session, fn: Callable[[], object]) -> None:
    """Run `fn` once the current unit of work has committed; never if it rolls back.

    Registering the same function twice in one unit of work runs it once (a request that queues
    three e-mails delivers them in one go).
    """
    callbacks = session.info.setdefault(CALLBACKS, [])
    if fn not in callbacks:
        callbacks.append(fn)


def in_unit_of_work(session: Session) -> bool:
    """Whether the caller runs inside `transaction()` (a request, a CLI command, a worker's job):
    then work that can wait for the commit (drawing a PDF) is registered with `after_commit`
    instead of done inside the write. A service called directly, as a test does, has none open."""
    return bool(session.info.get(OPEN))


def abandon(session: Session) -> None:
    """Roll back now, and end the unit of work without committing what follows.

    For a caller that answers a refused change itself (a form shown again with a service's
    messages): what the service flushed before it refused is undone, and the page is drawn from
    what the database holds.
    """
    rollback(session)
    session.info[ABANDONED] = True


@contextmanager
def transaction(session: Session) -> Iterator[Session]:
    """Commit once when the block succeeds, then run the after-commit callbacks; roll back and
    re-raise when it raises. A block that called `abandon` ends rolled back.

    Callbacks left from before the block (registered by work that someone committed by hand, as
    a test does) are forgotten: each unit of work dispatches only what it committed itself.
    """
    outermost = not session.info.get(OPEN)
    if outermost:  # a block nested in another keeps the outer one's callbacks
        for key in (ABANDONED, CALLBACKS, COMMITTED):
            session.info.pop(key, None)
    session.info[OPEN] = True
    try:
        yield session
        if session.info.pop(ABANDONED, False):
            rollback(session)
            return
        session.commit()
    except BaseException:
        rollback(session)
        raise
    finally:
        if outermost:
            session.info.pop(OPEN, None)
    run_committed(session)


def run_committed(session: Session) -> None:
    """Run (and forget) the callbacks of the commits that happened.

    The commit is done, so a callback that fails is logged and the others still run: each one's
    work is kept in an outbox row that a worker retries. A callback that writes opens its own
    `transaction`.
    """
    for fn in session.info.pop(COMMITTED, []):
        try:
            fn()
        except Exception:
            log.exception("After-commit step %s failed", getattr(fn, "__qualname__", fn))
            rollback(session)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    # A savepoint's release is not the commit: its callbacks wait for the transaction's.
    if not session.in_nested_transaction() and (callbacks := session.info.pop(CALLBACKS, None)):
        due = session.info.setdefault(COMMITTED, [])
        due.extend(fn for fn in callbacks if fn not in due)


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(session: Session, previous_transaction) -> None:
    if not previous_transaction.nested:
        session.info.pop(CALLBACKS, None)


def in_transaction(session: Session) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Decorate a CLI command so that it runs as one unit of work on `session` (`db.session`,
    the scoped session, which stands for the current one)."""

    def decorate(command: Callable[P, T]) -> Callable[P, T]:
        @functools.wraps(command)
        def run(*args: P.args, **kwargs: P.kwargs) -> T:
            with transaction(session):
                return command(*args, **kwargs)

        return run

    return decorate


def rollback(session: Session) -> None:
    """Roll back what the session has not committed (its after-commit callbacks are forgotten):
    for a worker's loop that carries on after an error, and for the error pages."""
    session.rollback()


class Backoff:
    """Work that failed in this process, left out of the next runs for `seconds`.

    The worker takes waiting work oldest first, a batch at a time; without this, a batch of items
    that always fail (a PDF that will not draw, an order that cannot be made) came back first on
    every run and kept everything newer waiting for ever. Kept per process: a restart tries each
    once more."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._failed: dict[object, float] = {}

    def failed(self, key: object) -> None:
        self._failed[key] = time.monotonic()

    def succeeded(self, key: object) -> None:
        self._failed.pop(key, None)

    def resting(self) -> list:
        """What failed less than `seconds` ago: leave it out of this run."""
        now = time.monotonic()
        for key in [k for k, at in self._failed.items() if now - at >= self.seconds]:
            del self._failed[key]
        return list(self._failed)
