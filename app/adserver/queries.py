"""What the ad-ops pages read: connections, the push queue and the lines that drift."""

from __future__ import annotations

import sqlalchemy as sa

from app.adserver.models import Connection, JobStatus, PushJob
from app.extensions import db
from app.orders.models import Order, OrderLine


def connections() -> list[Connection]:
    return list(db.session.scalars(sa.select(Connection).order_by(Connection.name)))


def order_counts_by_connection() -> dict[int, int]:
    return dict(
        db.session.execute(sa.select(Order.connection_id, sa.func.count(Order.id)).group_by(Order.connection_id)).all()
    )


def waiting_jobs(*, limit: int = 200) -> list[PushJob]:
    """Pushes pending or running, the next to try first."""
    return list(
        db.session.scalars(
            sa.select(PushJob)
            .where(PushJob.status.in_([JobStatus.PENDING.value, JobStatus.RUNNING.value]))
            .order_by(PushJob.next_attempt_at, PushJob.id)
            .limit(limit)
        )
    )


def drift_checked_lines(*, limit: int = 200) -> list[OrderLine]:
    """Order lines whose last delivery sync found them different on the ad server, by order."""
    return list(
        db.session.scalars(
            sa.select(OrderLine)
            .where(OrderLine.drift_checked_at.is_not(None), sa.cast(OrderLine.drift, sa.Text) != "[]")
            .order_by(OrderLine.order_id)
            .limit(limit)
        )
    )
