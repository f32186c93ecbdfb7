"""What pricing registers with the domains beneath it, at start-up (`create_app`): the pricing panel
of the catalog's product page."""

from __future__ import annotations

from app.catalog import panels
from app.pricing.views import product_pricing_panel


def register() -> None:
    panels.register_product_panel("pricing", product_pricing_panel)
