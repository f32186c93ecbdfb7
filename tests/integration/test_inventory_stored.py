"""A process that starts reads the solved booked lines another one stored, and catches up from there."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.extensions import CLOCK, SETTINGS, db, install_settings
from app.inventory import booked, live, stored
from app.inventory.models import Reservation
from tests.integration.test_inventory import available, box_on, reserve, set_site_margin


def _store_solutions(app, directory: Path | None) -> None:
    settings = app.extensions[SETTINGS]
    install_settings(
        app, replace(settings, inventory_solutions=str(directory) if directory else None), app.extensions[CLOCK]
    )


@pytest.fixture
def storing(app, tmp_path):
    """The app storing its solutions in a folder of the test's own; each test starts as a fresh process."""
    _store_solutions(app, tmp_path / "solutions")
    booked._stores.clear()
    yield app
    booked._stores.clear()


@pytest.fixture
def solves(monkeypatch):
    """The slots of every cluster solved from nothing from now on."""
    seen: list[frozenset[int]] = []
    solve = booked._solve

    def counted(slots, members, **kwargs):
        seen.append(slots)
        return solve(slots, members, **kwargs)

    monkeypatch.setattr(booked, "_solve", counted)
    return seen


def _files(app) -> list[Path]:
    return sorted(Path(app.extensions[SETTINGS].inventory_solutions).glob("solution-*.pickle"))


def _restart() -> None:
    """What a new process has of the live set and its solved clusters: nothing."""
    booked._stores.clear()
    live._unreleased.clear()


def _booked_twice(box) -> int:
    """Two holds on the box, and a process started since that solved and stored them: the
    availability of the box, solved from nothing."""
    reserve(box, quantity=40_000, label="Booked first")
    reserve(box, quantity=30_000, label="Booked second")
    db.session.commit()
    _restart()
    available(box)  # solves every cluster as a process that starts does, and stores them
    return available(box, exclude={0}).available  # a solve from nothing, kept nowhere


def test_a_process_that_starts_reads_the_stored_solution_instead_of_solving(storing, solves):
    with storing.app_context():
        box = box_on("harbour-sport/cricket/mpu", weeks=2)
        expected = _booked_twice(box)
        assert solves and len(_files(storing)) == 1
        _restart()
        solves.clear()
        assert available(box).available == expected
        assert solves == []


def test_a_stored_solution_catches_up_with_what_was_reserved_and_released_since(storing, solves):
    from app.inventory import reservations
    from tests.integration.test_inventory import now

    with storing.app_context():
        box = box_on("harbour-sport/cricket/mpu", weeks=2)
        expected = _booked_twice(box)
        first = db.session.scalar(sa.select(Reservation).where(Reservation.label == "Booked first"))
        reservations.release(first, reason="test", actor=None, now=now())
        reserve(box, quantity=25_000, label="Held since")
        db.session.commit()
        _restart()
        solves.clear()
        after = available(box)
        assert solves == []  # the changes were applied to the stored cluster
        assert after.available == available(box, exclude={0}).available == expected + 40_000 - 25_000
        assert "Held since" in {c.label for c in after.contenders}


def test_a_stored_solution_on_another_safety_margin_is_not_used(storing, solves):
    with storing.app_context():
        box = box_on("harbour-sport/cricket/mpu", weeks=2)
        _booked_twice(box)  # stored on the 10 % margin
        set_site_margin("harbour-sport", "40")
        db.session.commit()
        _restart()
        solves.clear()
        answer = available(box).available
        assert solves  # solved afresh on the new margin
        assert answer == available(box, exclude={0}).available


def test_a_reservation_changed_in_place_is_not_answered_from_the_stored_solution(storing, solves):
    """The same ids with other quantities: a database recreated at the same address, or rows changed
    by hand. Only clusters whose reservations are all the same are kept."""
    with storing.app_context():
        box = box_on("harbour-sport/cricket/mpu", weeks=2)
        _booked_twice(box)  # every cluster solved and stored
        db.session.execute(sa.update(Reservation).where(Reservation.label == "Booked first").values(quantity=90_000))
        db.session.commit()
        _restart()
        solves.clear()
        answer = available(box).available
        # The cluster was solved again (the demo's bookings join every slot into one cluster; in
        # a larger publisher the other clusters are read, `_repartition` compares them whole).
        assert solves == [solves[0]] and box.slot_ids[0] in solves[0]
        assert answer == available(box, exclude={0}).available


def test_a_stored_solution_written_by_other_code_or_damaged_is_solved_afresh(storing, solves, monkeypatch, caplog):
    with storing.app_context():
        box = box_on("harbour-sport/cricket/mpu", weeks=2)
        expected = _booked_twice(box)
        (path,) = _files(storing)
        fingerprint = stored.fingerprint
        monkeypatch.setattr(stored, "fingerprint", lambda: "another version of the code")
        _restart()
        solves.clear()
        assert available(box).available == expected
        assert solves
        monkeypatch.setattr(stored, "fingerprint", fingerprint)
        path.write_bytes(b"not a pickle at all")
        _restart()
        solves.clear()
        with caplog.at_level(logging.WARNING, logger="app.inventory.stored"):
            assert available(box).available == expected
        assert solves and "Could not read the stored inventory solution" in caplog.text


def test_solutions_are_stored_in_the_instance_folder_unless_turned_off(tmp_path):
    from app import create_app

    url = f"sqlite:///{tmp_path / 'any.sqlite'}"
    on = create_app({"ENV_NAME": "development", "SQLALCHEMY_DATABASE_URI": url})
    assert on.extensions[SETTINGS].inventory_solutions == str(Path(on.instance_path) / "solutions")
    chosen = create_app({"ENV_NAME": "development", "SQLALCHEMY_DATABASE_URI": url, "INVENTORY_SOLUTION_DIR": "/x"})
    assert chosen.extensions[SETTINGS].inventory_solutions == "/x"
    off = create_app({"ENV_NAME": "development", "SQLALCHEMY_DATABASE_URI": url, "INVENTORY_STORE_SOLUTIONS": False})
    assert off.extensions[SETTINGS].inventory_solutions is None


def test_nothing_is_stored_when_storing_is_off(app, tmp_path):
    _store_solutions(app, None)
    booked._stores.clear()
    with app.app_context():
        available(box_on("harbour-sport/cricket/mpu"))
    assert not (tmp_path / "solutions").exists()


def test_flask_inventory_warm_solves_and_stores_todays_booked_lines(storing, solves):
    with storing.app_context():
        box = box_on("harbour-sport/cricket/mpu", weeks=2)
        reserve(box, quantity=40_000, label="Booked first")
        db.session.commit()
        expected = available(box, exclude={0}).available
    _restart()
    result = storing.test_cli_runner().invoke(args=["inventory", "warm"])
    assert result.exit_code == 0, result.output
    assert "1 cluster of booked lines solved for today, stored." in result.output
    assert len(_files(storing)) == 1
    _restart()
    solves.clear()
    with storing.app_context():
        assert available(box).available == expected
        assert solves == []
