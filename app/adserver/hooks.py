"""What the ad server registers with the domains beneath it, at start-up (`create_app`)."""

from __future__ import annotations

from app.adserver.order_panel import order_panel
from app.orders.panels import register_panel


def register() -> None:
    register_panel("adserver", order_panel)
