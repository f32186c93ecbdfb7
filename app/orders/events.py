"""What orders hand to the domains above them, and what they ask of them. Ad servers sit above
orders: they register, at start-up, a handler told whenever an order is booked or changed (it
queues the push) and the delivery figures orders need to check a change or make a line good.
(What the order page shows of them is registered in app/orders/panels.py.) The app refuses to
start while a handler is missing (CTFd style: a dict of handlers and a lookup).

- "order_changed"(order, *, reason, now, actor=None): an order was booked or changed (signed,
  changed by a change order, a line paused, resumed or cancelled); returns
  what the handler did (the push queued, or None when there is no ad server to push to).
- "delivery_totals"(line_ids) -> {line id: (impressions, clicks)}: delivered so far.
- "pacing_of"(lines, *, today) -> [Pacing]: each line's pacing (state, undelivered, owed, label).

Every handler runs inside the caller's transaction: it flushes, never commits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

REQUIRED = ("order_changed", "delivery_totals", "pacing_of")

_handlers: dict[str, Callable[..., Any]] = {}


def register(name: str, handler: Callable[..., Any]) -> None:
    if name not in REQUIRED:
        raise ValueError(f"Orders have no event {name!r}; they have {', '.join(REQUIRED)}.")
    _handlers[name] = handler


def handler(name: str) -> Callable[..., Any]:
    try:
        return _handlers[name]
    except KeyError:
        raise RuntimeError(f"No handler for orders event {name!r}: app.adserver.hooks.register().") from None


def order_changed(order, *, reason: str, now, actor=None) -> Any:
    return handler("order_changed")(order, reason=reason, now=now, actor=actor)


def delivery_totals(line_ids: list[int]) -> dict[int, tuple[int, int]]:
    return handler("delivery_totals")(line_ids)


def pacing_of(lines: list, *, today) -> list:
    return handler("pacing_of")(lines, today=today)


def check_registered() -> None:
    """Refuse to start with an event nobody handles (called from create_app)."""
    if missing := [name for name in REQUIRED if name not in _handlers]:
        raise RuntimeError(f"Orders events without a handler: {', '.join(missing)}.")


def clear() -> None:
    """Forget every registration (create_app registers them again, so a check sees only its own)."""
    _handlers.clear()
