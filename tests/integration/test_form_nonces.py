"""Form nonces under concurrency: two submissions of one form at the same moment create once."""

from __future__ import annotations

import time
from datetime import timedelta

import sqlalchemy as sa

from app import nonces
from app.extensions import db
from tests.conftest import DEMO_USERS, now, user
from tests.support.concurrency import at_once


def test_two_submissions_of_one_form_at_once_create_once_and_the_second_finds_the_first(app, backend):
    def submit() -> str:
        with app.app_context():
            try:
                claimed = nonces.claim(
                    "n" * 32, user_id=user(DEMO_USERS["sales_rep"]).id, action="/proposals/new", now=now()
                )
                if isinstance(claimed, str):
                    return f"redirect to {claimed}"
                claimed.url = "/proposals/42"
                time.sleep(0.3)  # the record takes a moment to create; the other submission waits
                db.session.commit()
                return "created"
            finally:
                db.session.rollback()
                db.session.remove()

    assert sorted(map(str, at_once(2, submit))) == ["created", "redirect to /proposals/42"]


def test_nonces_older_than_a_day_are_forgotten(ctx):
    rep = user(DEMO_USERS["sales_rep"]).id
    assert isinstance(
        nonces.claim("o" * 32, user_id=rep, action="/proposals/new", now=now() - timedelta(days=2)), nonces.FormNonce
    )
    assert isinstance(nonces.claim("p" * 32, user_id=rep, action="/proposals/new", now=now()), nonces.FormNonce)
    assert db.session.scalars(sa.select(nonces.FormNonce.nonce)).all() == ["p" * 32]
