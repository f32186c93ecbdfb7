"""The request boundary (app/boundary.py): one request, one commit; an error leaves nothing behind."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.access import public
from app.audit.models import AuditEvent
from app.boundary import one_transaction
from app.errors import ValidationFailed
from app.extensions import db
from app.transaction import after_commit
from tests.conftest import now


class Commits:
    """Counts the commits of every session (a savepoint's release is not one)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, session: Session) -> None:
        if not session.in_nested_transaction():
            self.count += 1


def add_a_route_that_writes(app: Flask, *, answer, ran: list[int], commits: Commits, name: str = "write") -> str:
    def write():
        db.session.add(
            AuditEvent(
                actor_label="boundary test", entity_type="test", entity_id=1, action="written", at=now(), summary=""
            )
        )
        db.session.flush()
        after_commit(db.session, lambda: ran.append(commits.count))
        return answer()

    app.add_url_rule(f"/{name}", name, public(one_transaction(write)), methods=["POST"])
    return f"/{name}"


def written(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == "written"))


def test_a_post_that_succeeds_commits_once_then_runs_what_follows_the_commit(app):
    commits, ran = Commits(), []
    add_a_route_that_writes(app, answer=lambda: ("saved", 201), ran=ran, commits=commits)
    app.config["WTF_CSRF_ENABLED"] = False
    event.listen(Session, "after_commit", commits)
    try:
        assert app.test_client().post("/write").status_code == 201
    finally:
        event.remove(Session, "after_commit", commits)
    assert commits.count == 1 and ran == [1]
    assert written(app) == 1


def test_a_post_that_fails_leaves_nothing_behind_and_runs_nothing_after(app):
    def refuse():
        raise ValidationFailed.on("name", "Refused.")

    app.config["WTF_CSRF_ENABLED"] = False
    routes = {
        name: (add_a_route_that_writes(app, answer=answer, ran=ran, commits=commits, name=name), ran, commits)
        for name, answer, ran, commits in (
            ("raises", refuse, [], Commits()),
            ("answers-409", lambda: ("refused", 409), [], Commits()),
        )
    }
    for url, ran, commits in routes.values():
        event.listen(Session, "after_commit", commits)
        try:
            assert app.test_client().post(url).status_code in (400, 409)
        finally:
            event.remove(Session, "after_commit", commits)
        assert commits.count == 0 and ran == []
        assert written(app) == 0


def test_a_get_that_writes_fails_under_testing(app):
    def write_on_get():
        db.session.add(
            AuditEvent(actor_label="boundary test", entity_type="test", entity_id=1, action="written", at=now())
        )
        db.session.flush()
        return "written"

    app.add_url_rule("/write-on-get", "write_on_get", public(one_transaction(write_on_get)))
    assert app.test_client().get("/write-on-get").status_code == 500
    assert written(app) == 0
