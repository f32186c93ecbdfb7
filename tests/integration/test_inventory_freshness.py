"""A worker that has solved a cluster answers with every reservation committed since, by any process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from app.extensions import current_clock, db
from app.inventory import reservations
from tests.integration.test_inventory import available, box_on, reserve

ROOT = Path(__file__).resolve().parents[2]


def test_a_hold_committed_by_another_process_counts_in_the_next_answer_here(app):
    with app.app_context():
        box = box_on("harbour-sport/cricket/mpu", weeks=2)
        reserve(box, quantity=10_000, label="Here first")  # the slot's cluster exists here
        db.session.commit()
        before = available(box).available  # solved and kept by this process
        url = db.engine.url.render_as_string(hide_password=False)
        today = current_clock().today()
    held = 25_000
    subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.support.hold_elsewhere",
            url,
            str(box.slot_ids[0]),
            str(box.start),
            str(box.end),
            str(held),
            str(today),
        ],
        cwd=ROOT,
        check=True,
        timeout=300,
    )
    with app.app_context():
        after = available(box)
        assert after.available == before - held
        assert any(c.label == "Held elsewhere" for c in after.contenders)
        # The same as a solve from nothing (excluding no reservation keeps nothing).
        assert after.available == available(box, exclude={0}).available
        # A hold and its release here are applied to the kept cluster too.
        released = reserve(box, quantity=5_000, label="Released next")
        db.session.commit()
        assert available(box).available == before - held - 5_000
        reservations.release(released, reason="test", actor=None, now=released.created_at)
        db.session.commit()
        assert available(box).available == before - held == available(box, exclude={0}).available


def test_the_warm_up_before_forking_leaves_no_cluster_for_a_request_to_solve(app, monkeypatch):
    from app.inventory import booked
    from app.inventory.warm import warm

    with app.app_context():
        box = box_on("harbour-sport/cricket/mpu")
        reserve(box, quantity=10_000, label="Booked before the start")
        db.session.commit()
        expected = available(box, exclude={0}).available  # a solve from nothing, kept nowhere
    booked._stores.clear()  # as a fresh process
    assert warm(app) > 0

    def no_solve(*args, **kwargs):
        raise AssertionError("a request solved a cluster")

    monkeypatch.setattr(booked, "_solve", no_solve)
    with app.app_context():
        assert available(box).available == expected
        # A hold made since the warm-up is applied to the solved cluster, not solved afresh.
        reserve(box, quantity=3_000, label="Held after the start")
        db.session.commit()
        assert available(box).available == expected - 3_000


def test_a_warm_up_that_fails_is_logged_and_the_server_starts_all_the_same(tmp_path, caplog):
    """gunicorn's master warms before forking; a database not migrated yet must not stop it."""
    import logging

    from app import create_app
    from app.inventory.warm import warm_before_forking

    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'empty.sqlite'}"})
    log = logging.getLogger("tests.warm")
    with caplog.at_level(logging.ERROR, logger="tests.warm"):
        assert warm_before_forking(app, log) is None
    assert "each worker solves them on its first request" in caplog.text
