"""What the catalog's pages show from the domains above it, filled in by those domains at start-up.

The product page shows rate cards' base rates, availability and a price; the rate cards, inventory
and pricing depend on the catalog, not the other way round, so `create_app` registers their parts
here (CTFd's registries: a dict and a lookup) and the catalog's views only look them up.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from app.auth.models import User
from app.catalog.models import Product

#: name -> what a panel of the product page shows (template variables), given the page's product
ProductPanel = Callable[[Product], dict]
_product_panels: dict[str, ProductPanel] = {}
#: (user, on, and_later) -> the rate cards the user may sell from on that day (and after it)
_rate_cards: dict[str, Callable[..., list]] = {}


#: the product page's panels the app cannot start without
REQUIRED = ("availability", "pricing")


def clear() -> None:
    _product_panels.clear()
    _rate_cards.clear()


def check_registered() -> None:
    """Refuse to start while the product page's availability, price or rate cards are missing."""
    missing = [name for name in REQUIRED if name not in _product_panels]
    missing += [] if "cards" in _rate_cards else ["rate cards"]
    if missing:
        raise RuntimeError(f"Product page panels nobody registered: {', '.join(missing)}.")


def register_product_panel(name: str, panel: ProductPanel) -> None:
    _product_panels[name] = panel


def register_rate_cards(lookup: Callable[..., list]) -> None:
    _rate_cards["cards"] = lookup


def product_panels(product: Product) -> dict:
    """Every registered panel's variables for the product page, in the order they were registered."""
    context: dict = {}
    for panel in _product_panels.values():
        context.update(panel(product))
    return context


def rate_cards_for(user: User, *, on: date, and_later: bool = False) -> list:
    """The rate cards `user` may sell from on `on` (with `and_later`, also those that start after it:
    next year's); none when no rate-card domain is registered."""
    lookup = _rate_cards.get("cards")
    return lookup(user, on=on, and_later=and_later) if lookup else []
