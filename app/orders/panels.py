"""The order page's panels that belong to the domains above orders: each registers its own at start-up.

Orders sits beneath the ad server (pushes, pacing) and finance (billing), so the order page cannot
import them. Each registers a provider from its `hooks.register()` instead, which `create_app`
calls (a CTFd-style registry): given the order, the reader and the publisher's today, a provider
returns the names its part of `orders/detail.html` reads.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.auth.models import User
    from app.orders.models import Order

PanelProvider = Callable[..., dict[str, Any]]

#: Panel name ("adserver", "billing") -> its provider, called as provider(order, reader=, today=).
PANELS: dict[str, PanelProvider] = {}


#: the panels the order page cannot do without
REQUIRED = ("adserver", "billing")


def clear() -> None:
    PANELS.clear()


def check_registered() -> None:
    """Refuse to start while the ad server's or finance's part of the order page is missing."""
    if missing := [name for name in REQUIRED if name not in PANELS]:
        raise RuntimeError(f"Order page panels nobody registered: {', '.join(missing)}.")


def register_panel(name: str, provider: PanelProvider) -> None:
    """Add a panel to the order page (idempotent: the tests build one app each)."""
    PANELS[name] = provider


def panel_context(order: Order, *, reader: User, today: date) -> dict[str, Any]:
    """What every registered panel shows of `order`, as template names."""
    context: dict[str, Any] = {}
    for provider in PANELS.values():
        context.update(provider(order, reader=reader, today=today))
    return context
