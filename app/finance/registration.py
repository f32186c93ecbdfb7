"""Finance sits above orders: at start-up it adds its part to the order page, the billing choices
of each line (create_app calls `register`)."""

from __future__ import annotations

from datetime import date

from app.finance.models import BillingCap, BillingSource
from app.orders import events as order_events
from app.orders.models import Order


def order_page(order: Order, *, today: date) -> dict:
    return {"billing_sources": list(BillingSource), "billing_caps": list(BillingCap)}


def register() -> None:
    order_events.register_order_page_part("finance", order_page)
