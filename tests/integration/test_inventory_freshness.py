"""A worker that has solved a cluster answers with every reservation committed since, by any process."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from app.extensions import current_clock, db
from app.inventory import reservations
from tests.integration.test_inventory import MARGIN, available, box_on, now, reserve

ROOT = Path(__file__).resolve().parents[2]


def extend_a_day_later(hold) -> None:
    """The rep extends the hold a day from now, by two weeks."""
    reservations.extend_hold(
        hold, actor=None, now=now() + timedelta(days=1), today=current_clock().today(), margin_pct=MARGIN, hold_days=14
    )


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


def test_after_a_change_only_the_reservations_changed_are_read_again_and_the_list_equals_a_whole_read(app, monkeypatch):
    """A hold made, one released and one extended since the list was kept: the list is brought up to
    date from the changes noted under the sites' versions, and it is what reading every row gives."""
    from app.inventory import live

    def live_now():
        return live.live_held(now(), current_clock().today())

    with app.app_context():
        box = box_on("harbour-sport/cricket/mpu", weeks=2)
        released = reserve(box, quantity=5_000, label="Released later")
        extended = reserve(box, quantity=4_000, label="Extended later")
        db.session.commit()
        live_now()  # kept by this process
        reads = []
        monkeypatch.setattr(live, "_read_all", lambda *args: reads.append(args) or pytest.fail("read whole"))
        made = reserve(box, quantity=3_000, label="Made later")
        reservations.release(released, reason="test", actor=None, now=now())
        extend_a_day_later(extended)
        db.session.commit()
        caught_up = live_now()
        assert made.id in caught_up.ids and released.id not in caught_up.ids
        assert {r.id: r for r in caught_up}[extended.id].expires_at == extended.expires_at
        monkeypatch.undo()
        live._unreleased.clear()  # as a process that never kept it
        assert set(live_now()) == set(caught_up)


def test_a_list_read_inside_a_transaction_rolled_back_since_is_read_whole_again(app, monkeypatch):
    """Reading the live set after taking the sites' lock sees the transaction's own version; when it
    rolls back, the versions go back, and the list is read whole again rather than trusted."""
    from app.inventory import live

    with app.app_context():
        box = box_on("harbour-sport/cricket/mpu", weeks=2)
        reserve(box, quantity=2_000, label="Kept")
        db.session.commit()
        reservations._lock_sites(reservations._sites_of(box.slot_ids))  # as `reserve` does before it checks
        live.live_held(now(), current_clock().today())  # kept with the transaction's own version
        db.session.rollback()
        whole = []
        read_all = live._read_all
        monkeypatch.setattr(live, "_read_all", lambda *args: whole.append(1) or read_all(*args))
        after = live.live_held(now(), current_clock().today())
        assert whole and {r.label for r in after} >= {"Kept"}


def test_kept_clusters_are_solved_again_on_a_new_safety_margin(app):
    """The margin changes every cluster's supply: none solved on the old one may answer."""
    from tests.integration.test_inventory import set_site_margin

    with app.app_context():
        box = box_on("harbour-sport/cricket/mpu", weeks=2)
        reserve(box, quantity=400_000, label="Kept")
        db.session.commit()
        before = available(box).available  # solved and kept on the 10 % margin
        set_site_margin("harbour-sport", "40")
        db.session.commit()
        after = available(box).available
        assert after == available(box, exclude={0}).available  # as a solve from nothing
        assert after < before


def test_kept_clusters_are_solved_again_on_a_new_day(app):
    """Overnight, yesterday's impressions are gone from every line's flight: a line that started
    then needs the same quantity from fewer days, and a cluster solved yesterday must not answer."""
    from app.inventory.availability import availability_for
    from app.inventory.supply import Box
    from tests.integration.test_inventory import slot

    with app.app_context():
        today = current_clock().today()
        slot_id = slot("harbour-sport/cricket/mpu").id
        running = Box((slot_id,), today, today + timedelta(days=6))
        whole = available(running).available
        reserve(running, quantity=whole * 9 // 10, label="Started today")
        db.session.commit()

        def tomorrow(**kwargs):
            return availability_for(
                Box((slot_id,), today + timedelta(days=1), today + timedelta(days=6)),
                now=now() + timedelta(days=1),
                today=today + timedelta(days=1),
                margin_pct=MARGIN,
                **kwargs,
            ).available

        available(running)  # solved and kept as of today
        assert tomorrow() == tomorrow(exclude={0})


def test_a_contender_reads_as_the_reservation_is_now_not_as_its_cluster_was_solved(app):
    """Extending a hold changes no cluster (same slots, days and quantity), so the kept cluster is
    not solved again; the hold it names as a contender must still show its new expiry."""
    with app.app_context():
        box = box_on("harbour-sport/cricket/mpu", weeks=2)
        hold = reserve(box, quantity=20_000, label="Extended later")
        db.session.commit()
        assert any(c.label == "Extended later" for c in available(box).contenders)  # the cluster is kept
        extend_a_day_later(hold)
        db.session.commit()
        (named,) = [c for c in available(box).contenders if c.label == "Extended later"]
        assert named.expires_at == hold.expires_at
