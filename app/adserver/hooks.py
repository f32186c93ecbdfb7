"""What the ad server registers with the domains beneath it, at start-up (`create_app`): the order
page's panel; for orders, the push an order booked or changed queues, and what its lines delivered."""

from __future__ import annotations

from app.adserver import delivery, service
from app.adserver.order_panel import order_panel
from app.orders import events as order_events
from app.orders.panels import register_panel


def register() -> None:
    register_panel("adserver", order_panel)
    order_events.register("order_changed", service.queue_push)  # booked or changed: push it
    order_events.register("delivery_totals", delivery.delivery_totals)
    order_events.register("pacing_of", delivery.pacing_of)
