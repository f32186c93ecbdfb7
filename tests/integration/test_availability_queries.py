"""How many SQL statements one availability answer costs, and that its per-process caches never answer
from stale data: a new forecast run, a changed safety margin or a hold made by another process (seen
here as a write on a connection of its own, which no in-process hook hears of) moves the next answer."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from app.catalog.models import AdUnit
from app.db import utcnow
from app.extensions import db
from app.inventory.models import ForecastDay, ForecastRun, InventoryChange, InventoryLock, Reservation
from tests.integration.test_inventory import available, box_on, reserve

#: A warm answer reads the versions its caches are keyed by (forecast run, margins, inventory locks) in
#: one statement, and nothing it has seen before. It made 7 statements before the caches.
WARM_LIMIT = 1
#: A request that does not fit says where it is limited (the place, the regions) and finds its sibling
#: slots; its ten suggestions reuse the answer's supply and live set. It made 70 statements before.
SUGGESTIONS_LIMIT = 3


def _count(fn):
    statements = []

    def count(conn, cursor, statement, *args) -> None:
        statements.append(" ".join(statement.split())[:160])

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        result = fn()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    return result, statements


def test_a_warm_answer_costs_a_few_statements(ctx):
    box = box_on("daily-harbour/business/mpu", geo=("london",))
    available(box)
    first, warm = _count(lambda: available(box))
    again, repeated = _count(lambda: available(box))
    assert len(warm) <= WARM_LIMIT and len(repeated) <= WARM_LIMIT, warm
    assert first == again


def test_suggestions_reuse_what_the_answer_loaded(ctx):
    london = box_on("daily-harbour/business/mpu", geo=("london",))
    left = available(london).available
    reserve(london, quantity=left - 100, label="Corvane Motors launch")
    db.session.commit()
    available(london, requested=5000, with_suggestions=True)
    answer, statements = _count(lambda: available(london, requested=5000, with_suggestions=True))
    assert not answer.fits and len(answer.suggestions) >= 3
    assert len(statements) <= WARM_LIMIT + SUGGESTIONS_LIMIT, statements
    # A suggestion offers what the option is answered when asked on its own.
    everywhere = {s.description: s for s in answer.suggestions}["Target every region"]
    assert everywhere.available == available(replace(london, geo=())).available
    assert all(s.adds == s.available - answer.available for s in answer.suggestions)


def _other_process(change) -> None:
    """A write as another worker makes it: its own connection and session, committed, no hook of this process."""
    engine = sa.create_engine(db.engine.url)
    with sa.orm.Session(engine) as session, session.begin():
        change(session)
    engine.dispose()


def test_a_changed_safety_margin_is_seen_by_the_next_answer(ctx):
    box = box_on("harbour-sport/cricket/mpu")
    before = available(box)
    db.session.commit()
    _other_process(
        lambda s: s.execute(
            sa.update(AdUnit).where(AdUnit.code == "harbour-sport").values(safety_margin_pct=Decimal("30"))
        )
    )
    after = available(box)
    assert after.matched == before.matched
    assert abs(after.available - before.matched * 70 // 100) <= 100


def test_a_new_forecast_run_is_seen_by_the_next_answer(ctx):
    box = box_on("harbour-sport/cricket/mpu")
    before = available(box)
    run = db.session.scalar(sa.select(ForecastRun).order_by(ForecastRun.id.desc()).limit(1))
    history_end, first_day, last_day = run.history_end, run.first_day, run.last_day
    db.session.commit()

    def new_run(s):
        s.execute(
            sa.update(ForecastDay)
            .where(ForecastDay.ad_unit_id == box.slot_ids[0], ForecastDay.day.between(box.start, box.end))
            .values(impressions=ForecastDay.impressions * 2)
        )
        s.add(
            ForecastRun(
                created_at=utcnow(),
                history_end=history_end + timedelta(days=1),
                first_day=first_day,
                last_day=last_day,
                method="test",
            )
        )

    _other_process(new_run)
    after = available(box)
    assert after.matched == 2 * before.matched
    assert after.forecast_date == history_end + timedelta(days=1)


def test_a_hold_made_by_another_process_is_seen_by_the_next_answer(ctx):
    box = box_on("harbour-sport/cricket/mpu")
    before = available(box).available
    site = db.session.scalar(sa.select(AdUnit.id).where(AdUnit.code == "harbour-sport"))
    db.session.commit()

    def hold(s):  # as `reservations.reserve` writes it: the row, its site's new version, the change noted under it
        held = Reservation(
            kind="hold",
            label="Elsewhere",
            ad_unit_ids=list(box.slot_ids),
            geo=[],
            device=[],
            start_day=box.start,
            end_day=box.end,
            quantity=1000,
            created_at=utcnow(),
            expires_at=utcnow() + timedelta(days=7),
            release_reason="",
        )
        s.add(held)
        s.flush()
        s.merge(InventoryLock(site_id=site, version=1_000))
        s.add(InventoryChange(site_id=site, version=1_000, reservation_id=held.id))

    _other_process(hold)
    assert available(box).available == before - 1000
