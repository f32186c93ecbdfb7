"""The ad server's part of the order page: pacing and delivery, the connection, the push history."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa

from app.adserver import delivery, push_checks
from app.adserver.adapters.base import AdServerError
from app.adserver.models import Connection, PushJob
from app.adserver.pacing_svg import pacing_svg
from app.adserver.service import adapter_of
from app.auth.models import User
from app.extensions import db
from app.orders.models import Order, PushState


def order_panel(order: Order, *, reader: User, today: date) -> dict[str, Any]:
    pacing = delivery.pacing_of(list(order.lines), today=today)
    series = delivery.daily_series([line.id for line in order.lines])
    jobs = db.session.scalars(sa.select(PushJob).where(PushJob.order_id == order.id).order_by(PushJob.id.desc())).all()
    connection = db.session.get(Connection, order.connection_id) if order.connection_id else None
    order_url = None
    if connection is not None and order.remote_order_id:
        try:
            order_url = adapter_of(connection).order_url(order.remote_order_id)
        except AdServerError:
            order_url = None
    return {
        "pacing": pacing,
        "chart": pacing_svg(pacing, series),
        "jobs": jobs,
        "connection": connection,
        "order_url": order_url,
        # what a failed push needs mapped first, for the error's link to the mapping page
        "unmapped": push_checks.unmapped_items(order, connection) if order.push_state == PushState.FAILED else [],
    }
