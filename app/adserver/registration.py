"""Ad servers sit above orders: at start-up they tell orders what to do when an order is booked or
changed (queue its push), where its delivery comes from, and what the order page shows of the ad
server (create_app calls `register`)."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from app.adserver import delivery, service
from app.adserver.adapters.base import AdServerError
from app.adserver.charts import pacing_svg
from app.adserver.models import Connection, PushJob
from app.extensions import db
from app.orders import events as order_events
from app.orders.models import Order


def _push(order, *, reason: str, now, actor=None) -> PushJob | None:
    return service.queue_push(order, reason=reason, now=now, actor=actor)


def order_page(order: Order, *, today: date) -> dict:
    """The order page's ad-server part: each line's pacing and its chart, the pushes, the connection
    and a link to the order in the ad server."""
    pacing = delivery.pacing_of(list(order.lines), today=today)
    series = delivery.daily_series([line.id for line in order.lines])
    jobs = db.session.scalars(sa.select(PushJob).where(PushJob.order_id == order.id).order_by(PushJob.id.desc())).all()
    connection = db.session.get(Connection, order.connection_id) if order.connection_id else None
    order_url = None
    if connection is not None and order.remote_order_id:
        try:
            order_url = service.adapter_of(connection).order_url(order.remote_order_id)
        except AdServerError:
            order_url = None
    return {
        "pacing": pacing,
        "chart": pacing_svg(pacing, series),
        "jobs": jobs,
        "connection": connection,
        "order_url": order_url,
    }


def register() -> None:
    order_events.register("order_changed", _push)
    order_events.register("delivery_totals", delivery.delivery_totals)
    order_events.register("pacing_of", delivery.pacing_of)
    order_events.register_order_page_part("adserver", order_page)
