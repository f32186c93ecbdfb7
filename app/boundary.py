"""The request boundary: one request, one unit of work (app/transaction.py).

Every view function runs inside `transaction(db.session)`: the handler parses, loads and calls one
service, which only flushes; the boundary commits once when the answer is not an error (status
below 400), rolls back on an exception or an error answer, and then runs what follows a commit
(mail delivery, ad-server pushes, finance adjustments). Domain errors still become their status in
`app/errors.py`. A POST's answer, htmx fragment or file, is built before the commit; a streamed one
reads nothing it wrote after it.

A GET, HEAD or OPTIONS request writes nothing, so it has nothing to commit: its session stays open
until the app context ends, and a streamed export reads its rows while it streams. Under TESTING a
write during one fails the test.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.orm import Session

from app import background
from app.extensions import db
from app.forms import release_unused_nonce
from app.transaction import abandon, run_committed, transaction

#: Methods that only read: the boundary ends them without a commit.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_KEEP = "keep_writes_on_error"
_LATER = "work_after_the_answer"


def keep_writes_on_error() -> None:
    """Commit this request's writes although it answers with an error status.

    For the few refusals that are themselves a record: a wrong current password counts towards
    the sign-in throttle while the form is shown again with a 400.
    """
    g.setdefault(_KEEP, True)


def install(app: Flask) -> None:
    """Wrap every view function of the app (call it after the blueprints are registered)."""
    for endpoint, view in list(app.view_functions.items()):
        if endpoint != "static":
            app.view_functions[endpoint] = one_transaction(view)
    app.after_request(_dispatch_commits_made_by_hand)
    app.teardown_request(_start_work_after_the_answer)


def after_the_answer(fn: Callable[[], object], *, name: str) -> None:
    """Run `fn` in a background thread (`app.background`) once this request's answer is built, its
    commit and after-commit steps done: the answer never waits for it, nor shares the CPU with it."""
    g.setdefault(_LATER, []).append((fn, name))


#: BACKGROUND_WORK's choices: who does what a request leaves for after its answer.
BACKGROUND_WORK = ("thread", "worker", "inline")


def check_background_work(app: Flask) -> None:
    mode = app.config["BACKGROUND_WORK"]
    if mode not in BACKGROUND_WORK:
        raise RuntimeError(f"BACKGROUND_WORK is {mode!r}: choose one of {', '.join(BACKGROUND_WORK)}.")


def off_the_request(now: Callable[[], object], *, name: str, in_thread: Callable[[], object] | None = None) -> None:
    """Work a committed request leaves behind, by BACKGROUND_WORK: "inline" runs `now` before the
    answer leaves (tests); "thread" runs `in_thread` (default `now`) in a background thread once the
    answer is built (`after_the_answer`); "worker" leaves it to `flask adserver worker`, as does any
    mode outside a request (a CLI command)."""
    mode = current_app.config["BACKGROUND_WORK"]
    if mode == "inline":
        now()
    elif mode == "thread" and has_request_context():
        after_the_answer(in_thread or now, name=name)


def _start_work_after_the_answer(_error) -> None:
    for fn, name in g.pop(_LATER, []):
        background.start(current_app._get_current_object(), fn, name=name)


def _dispatch_commits_made_by_hand(response):
    """A route added after start-up (tests add some) is not wrapped: what its own commit queued is
    still dispatched before the answer leaves, and what it did not commit never is."""
    run_committed(db.session)
    return response


def one_transaction(view: Callable) -> Callable:
    """`view` run as one unit of work (what `install` does to every view of the app)."""

    @functools.wraps(view)
    def handle(*args, **kwargs):
        if request.method in SAFE_METHODS:  # nothing to commit; the session ends at teardown
            if current_app.testing:
                setattr(g, _READING, True)
            try:
                return view(*args, **kwargs)
            finally:
                g.pop(_READING, None)
        with transaction(db.session):
            response = current_app.make_response(view(*args, **kwargs))
            release_unused_nonce()
            if response.status_code >= 400 and not g.get(_KEEP):
                abandon(db.session)
        return response

    return handle


# -- GET never writes (checked under TESTING) --------------------------------------------------------

_READING = "read_only_request"


def _reading() -> bool:
    return has_request_context() and bool(g.get(_READING))


def _refuse_write(what: str) -> None:
    raise AssertionError(f"{request.method} {request.path} {what}: a {request.method} never writes.")


@event.listens_for(Session, "before_flush")
def _refuse_flush_on_safe_request(session: Session, flush_context, instances) -> None:
    if _reading() and (session.new or session.deleted or any(session.is_modified(o) for o in session.dirty)):
        _refuse_write("writes rows")


@event.listens_for(Session, "do_orm_execute")
def _refuse_statement_on_safe_request(state) -> None:
    if (state.is_insert or state.is_update or state.is_delete) and _reading():
        _refuse_write("runs an INSERT, UPDATE or DELETE")
