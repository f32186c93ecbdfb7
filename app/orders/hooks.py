"""What orders register with the domains beneath them, at start-up (`create_app`)."""

from __future__ import annotations

from app.audit.subjects import Subject, register_subject
from app.orders import make_goods
from app.orders.models import Order
from app.orders.views import readable_order


def register() -> None:
    register_subject("order", Subject(Order, "orders.detail", "order_id", readable_order))
    make_goods.register()
