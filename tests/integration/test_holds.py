"""One live hold per proposal line: simultaneous clicks on Hold make one hold that the line knows,
the database refuses a second, and a hold whose line does not point at it is released."""

from __future__ import annotations

import threading
from datetime import timedelta

import flask_migrate
import pytest
import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.inventory.models import Reservation
from app.proposals import holds, lines
from app.proposals.models import ProposalLine
from tests.conftest import now
from tests.integration.test_proposals import line_data, new_proposal, rep, settings

#: the migration that brought the rule in (its predecessor is where the data fix starts from)
REVISION = "a7c3e91d5b20"


def held_line() -> ProposalLine:
    proposal = new_proposal()
    line = lines.add_line(
        proposal, line_data(proposal, "Football Pre-roll", quantity=20_000), actor=rep(), **settings()
    )
    db.session.commit()
    return line


def live_holds_of(line: ProposalLine) -> list[Reservation]:
    label = f"{line.proposal.number} line {line.position}:%"
    return list(
        db.session.scalars(
            sa.select(Reservation).where(
                Reservation.kind == "hold", Reservation.released_at.is_(None), Reservation.label.like(label)
            )
        )
    )


@pytest.mark.postgres_only  # SQLite serialises every writer: the race needs PostgreSQL
def test_three_simultaneous_clicks_on_hold_make_one_live_hold_that_the_line_knows(app, backend):
    with app.app_context():
        line_id = held_line().id
    barrier = threading.Barrier(3)
    outcomes: list[str] = []

    def click() -> None:
        with app.app_context():
            line = db.session.get(ProposalLine, line_id)
            barrier.wait()
            try:
                holds.hold_line(line, actor=rep(), hold_days=7, **settings())
                db.session.commit()
                outcomes.append("held")
            except Exception as exc:  # what a click may meet: it is reported, never a second hold
                db.session.rollback()
                outcomes.append(type(exc).__name__)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=click) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert outcomes == ["held"] * 3
    with app.app_context():
        line = db.session.get(ProposalLine, line_id)
        (hold,) = live_holds_of(line)
        assert line.hold_id == hold.id


def test_the_database_refuses_a_second_live_hold_of_one_line(ctx):
    line = held_line()
    hold = holds.hold_line(line, actor=rep(), hold_days=7, **settings())
    db.session.commit()
    twin = Reservation(
        **{c: getattr(hold, c) for c in ("kind", "label", "product_id", "ad_unit_ids", "start_day", "end_day")},
        quantity=hold.quantity,
        created_at=now(),
        expires_at=hold.expires_at,
        proposal_line_id=line.id,
    )
    db.session.add(twin)
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    released = Reservation(
        **{c: getattr(hold, c) for c in ("kind", "label", "product_id", "ad_unit_ids", "start_day", "end_day")},
        quantity=hold.quantity,
        created_at=now(),
        released_at=now(),
        proposal_line_id=line.id,
    )
    db.session.add(released)
    db.session.flush()  # released holds of the line are history, as many as there were


def test_holding_a_line_again_after_its_hold_expired_releases_the_expired_one(ctx):
    line = held_line()
    first = holds.hold_line(line, actor=rep(), hold_days=7, **settings())
    first.expires_at = now() - timedelta(minutes=1)
    db.session.commit()
    second = holds.hold_line(line, actor=rep(), hold_days=7, **settings())
    db.session.commit()
    assert second.id != first.id and line.hold_id == second.id
    assert first.released_at is not None and live_holds_of(line) == [second]


def test_the_migration_releases_the_holds_their_line_does_not_point_at(app):
    with app.app_context():
        line = held_line()
        known = holds.hold_line(line, actor=rep(), hold_days=7, **settings())
        db.session.commit()
        line_id, known_id, number = line.id, known.id, line.proposal.number
        config = current_app.extensions["migrate"].migrate.get_config()
        from alembic.script import ScriptDirectory

        before = ScriptDirectory.from_config(config).get_revision(REVISION).down_revision
        db.session.remove()  # no open transaction of ours may hold a lock the migration waits for
        flask_migrate.downgrade(revision=before)
        # What two clicks at once left behind before the rule: a second live hold the line never knew.
        columns = "kind, label, product_id, ad_unit_ids, geo, device, start_day, end_day, quantity, created_at, "
        db.session.execute(
            sa.text(
                f"INSERT INTO reservations ({columns} expires_at, release_reason) "
                f"SELECT {columns} expires_at, release_reason FROM reservations WHERE id = :id"
            ),
            {"id": known_id},
        )
        db.session.commit()
        db.session.remove()
        flask_migrate.upgrade()
        db.session.remove()
        rows = db.session.execute(
            sa.select(Reservation.id, Reservation.released_at, Reservation.proposal_line_id).where(
                Reservation.label.like(f"{number} line 1:%")
            )
        ).all()
        assert {(r.id == known_id, r.released_at is None, r.proposal_line_id) for r in rows} == {
            (True, True, line_id),
            (False, False, None),
        }
