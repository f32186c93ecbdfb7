"""Finance's part of the order page: how each line is billed, editable by finance and admins."""

from __future__ import annotations

from datetime import date
from typing import Any

from app.auth.models import User
from app.finance.models import BillingCap, BillingSource
from app.orders.models import Order
from app.roles import Role


def order_panel(order: Order, *, reader: User, today: date) -> dict[str, Any]:
    return {
        "can_bill": reader.has_role(Role.FINANCE, Role.ADMIN),
        "billing_sources": list(BillingSource),
        "billing_caps": list(BillingCap),
    }
