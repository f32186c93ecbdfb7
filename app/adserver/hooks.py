"""What the ad server registers with the domains beneath it, at start-up (`create_app`): the order
page's panel, and what order lines delivered."""

from __future__ import annotations

from app.adserver.delivery import pacing_of
from app.adserver.order_panel import order_panel
from app.orders.panels import register_panel
from app.proposals import registry


def register() -> None:
    register_panel("adserver", order_panel)
    registry.providers["pacing_of"] = pacing_of  # an order line's delivery, which a make-good gives back at most
