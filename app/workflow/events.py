"""What workflow hands to the domains above it. Workflow approves and signs; booking happens in
orders, which sits above workflow and so fills this registry in at start-up (CTFd style: a dict of
handlers and a lookup). The app refuses to start while one is missing.

- "order_signed"(proposal, *, now, today, margin_pct) -> order: the signed version becomes an order.
- "change_approved"(proposal, *, now, today, margin_pct) -> order | None: an approved change order
  is applied to its order (None: the proposal has no order, nothing to apply).
- submission checks(proposal, *, today, make_good_days) -> Errors: more checks before a version is
  frozen (a change order may not undo what an order already delivered; a make-good keeps to what
  its order line still owes).

Every handler runs inside the caller's transaction: it flushes, never commits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.errors import Errors

REQUIRED = ("order_signed", "change_approved")
#: the submission checks the app cannot start without (a change order, a make-good kept honest)
REQUIRED_CHECKS = ("change order", "make-goods")

_handlers: dict[str, Callable[..., Any]] = {}
#: name -> check; a dict so that registering again (one app per test) replaces instead of doubling
submission_checks: dict[str, Callable[..., Errors]] = {}


def register(name: str, handler: Callable[..., Any]) -> None:
    if name not in REQUIRED:
        raise ValueError(f"Workflow has no event {name!r}; it has {', '.join(REQUIRED)}.")
    _handlers[name] = handler


def register_submission_check(name: str, check: Callable[..., Errors]) -> None:
    submission_checks[name] = check


def handler(name: str) -> Callable[..., Any]:
    try:
        return _handlers[name]
    except KeyError:
        raise RuntimeError(f"No handler for workflow event {name!r}: app.orders.hooks.register().") from None


def check_registered() -> None:
    """Refuse to start with an event nobody handles (called from create_app)."""
    if missing := [name for name in REQUIRED if name not in _handlers]:
        raise RuntimeError(f"Workflow events without a handler: {', '.join(missing)}.")
    if missing := [name for name in REQUIRED_CHECKS if name not in submission_checks]:
        raise RuntimeError(f"Submission checks nobody registered: {', '.join(missing)}.")


def clear() -> None:
    """Forget every registration (create_app registers them again, so a check sees only its own)."""
    _handlers.clear()
    submission_checks.clear()
