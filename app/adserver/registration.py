"""Ad servers sit above orders: at start-up they tell orders what to do when an order is booked or
changed (queue its push) and where its delivery comes from (create_app calls `register`)."""

from __future__ import annotations

from app.adserver import delivery, service
from app.orders import events as order_events


def _push(order, *, reason: str, now, actor=None) -> None:
    service.queue_push(order, reason=reason, now=now, actor=actor)


def register() -> None:
    order_events.register("order_changed", _push)
    order_events.register("delivery_totals", delivery.delivery_totals)
    order_events.register("pacing_of", delivery.pacing_of)
