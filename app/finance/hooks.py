"""What finance registers with the domains beneath it, at start-up (`create_app`)."""

from __future__ import annotations

from app.finance import maintained  # noqa: F401  (keeps revenue_lines with every commit)
from app.finance.order_panel import order_panel
from app.orders.panels import register_panel


def register() -> None:
    register_panel("billing", order_panel)
