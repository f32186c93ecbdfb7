"""The sandbox run until a date brings what running each day in turn would: every day of every line,
including a line that ended weeks before the date."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.adserver import sandbox_clock, service
from app.adserver.models import Connection, DeliveryDay
from app.errors import ValidationFailed
from app.extensions import db
from app.orders.models import Order
from tests.conftest import DEMO_USERS, now, user


def sandbox() -> Connection:
    return db.session.scalar(sa.select(Connection).where(Connection.kind == "sandbox"))


def test_running_until_a_date_brings_every_day_of_each_line_even_one_that_ended_long_before_it(ctx):
    today = sandbox_clock.real_today(sandbox())
    order = db.session.scalars(sa.select(Order).order_by(Order.id)).first()
    last_end = max(line.end_day for line in order.lines)
    until = last_end + timedelta(days=20)  # the lines end weeks before the day run to
    run = sandbox_clock.run_until(sandbox(), until, today=today, actor=user(DEMO_USERS["ad_ops"]), now=now(), timeout=5)
    assert (run.days, run.until, run.ahead) == ((until - today).days + 1, until, (until - today).days + 1)
    for line in order.lines:
        days = set(db.session.scalars(sa.select(DeliveryDay.day).where(DeliveryDay.order_line_id == line.id)))
        flight = {line.start_day + timedelta(days=i) for i in range((line.end_day - line.start_day).days + 1)}
        assert days == flight, line.position  # nothing missing between the last sync and the line's end
    # What the sandbox's own simulation gives for those days, one by one.
    adapter = service.adapter_of(sandbox())
    line = order.lines[0]
    expected = {row.day: row.impressions for row in adapter.delivery([line.remote_line_id], today, last_end)}
    stored = dict(
        db.session.execute(
            sa.select(DeliveryDay.day, DeliveryDay.impressions).where(
                DeliveryDay.order_line_id == line.id, DeliveryDay.day >= today
            )
        ).all()
    )
    assert stored == {day: n for day, n in expected.items() if day <= line.end_day}


def test_the_sandbox_is_refused_a_day_already_delivered_and_a_day_beyond_a_year(ctx):
    today = sandbox_clock.real_today(sandbox())
    actor = user(DEMO_USERS["ad_ops"])
    for until in (today - timedelta(days=1), today + timedelta(days=366), None):
        with pytest.raises(ValidationFailed) as refused:
            sandbox_clock.run_until(sandbox(), until, today=today, actor=actor, now=now(), timeout=5)
        assert list(refused.value.errors) == ["until"]
    assert sandbox_clock.days_ahead(sandbox()) == 0
