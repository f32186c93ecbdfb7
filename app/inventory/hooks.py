"""What inventory registers with the domains beneath it, at start-up (`create_app`): the availability
panel of the catalog's product page."""

from __future__ import annotations

from app.catalog import panels
from app.inventory.views import product_availability_panel


def register() -> None:
    panels.register_product_panel("availability", product_availability_panel)
