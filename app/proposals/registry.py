"""What the domains above proposals (workflow, orders) tell proposals at start-up.

Proposals sit below the domains that read them, so they never import them. Where a proposal needs
an answer only a higher domain has (is it signed into an order, may this user read it because they
are asked to approve it, does a make-good keep to what it owes),
that domain registers a function here from its `register()`, which `create_app` calls; the app
refuses to start while a required one is missing (CTFd's registries: a dict and a lookup).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from app.errors import Errors

#: name -> check(proposal, line_data, *, today, make_good_days, line_id) -> Errors, run when a line
#: is added or changed (a make-good must keep to what it makes good).
line_checks: dict[str, Callable[..., Errors]] = {}
#: name -> check(proposal, advertiser_id) raising ValidationFailed when the header's advertiser
#: may not change (a make-good is for its order's advertiser).
advertiser_checks: dict[str, Callable[..., None]] = {}
#: name -> rule(user, proposal) -> bool: who else reads a proposal (an approver asked to decide it).
readers: dict[str, Callable[..., bool]] = {}
#: name -> provider(proposal, user, *, editable) -> dict: what the higher domains show on the
#: proposal's page (its order, signatures, approvals, what submitting would need); merged into the
#: page's context.
page_panels: dict[str, Callable[..., dict[str, Any]]] = {}
#: name -> provider(proposal, user, *, editable, settings) -> dict: the same, for the builder's body
#: (htmx), given the app's settings (what submitting would need depends on the standard terms).
builder_panels: dict[str, Callable[..., dict[str, Any]]] = {}
#: the one function answering these (a single provider each)
providers: dict[str, Callable[..., Any]] = {}

#: providers the app cannot start without: has_order(proposal) -> order number or None.
REQUIRED = ("has_order",)
#: the other entries the app cannot start without: without them a make-good would skip its checks,
#: an approver could not read what they are asked to decide, and the page would hide its approvals
REQUIRED_ENTRIES = {
    "line_checks": ("make_good",),
    "advertiser_checks": ("make_good",),
    "readers": ("approver",),
    "page_panels": ("orders", "workflow"),
    "builder_panels": ("workflow",),
}


def _registries() -> dict[str, dict]:
    return {
        "line_checks": line_checks,
        "advertiser_checks": advertiser_checks,
        "readers": readers,
        "page_panels": page_panels,
        "builder_panels": builder_panels,
        "providers": providers,
    }


def clear() -> None:
    """Forget every registration (create_app registers them again, so a check sees only its own)."""
    for registry in _registries().values():
        registry.clear()


def check_registered() -> None:
    """Refuse to start when a domain forgot to register what proposals ask of it."""
    registries = _registries()
    missing = [name for name in REQUIRED if name not in providers]
    missing += [
        f"{kind} {name}" for kind, names in REQUIRED_ENTRIES.items() for name in names if name not in registries[kind]
    ]
    if missing:
        raise RuntimeError(f"Proposals need these registered at start-up: {', '.join(missing)}.")


def has_order(proposal) -> str | None:
    """The number of the order the proposal was signed into, if any."""
    return providers["has_order"](proposal)


def check_line(proposal, data, *, today: date, make_good_days: int | None, line_id: int | None = None) -> Errors:
    errors = Errors()
    for check in line_checks.values():
        _merge(errors, check(proposal, data, today=today, make_good_days=make_good_days, line_id=line_id))
    return errors


def _merge(errors: Errors, found: Errors) -> None:
    for name, messages in found.errors.items():
        for message in messages:
            errors.add(name, message)


def check_advertiser(proposal, advertiser_id: int | None) -> None:
    for check in advertiser_checks.values():
        check(proposal, advertiser_id)


def is_reader(user, proposal) -> bool:
    return any(rule(user, proposal) for rule in readers.values())


def panels(registry: dict[str, Callable[..., dict[str, Any]]], proposal, user, **values: Any) -> dict[str, Any]:
    """Every provider's part of the page, each given the same keyword values (see the registries)."""
    context: dict[str, Any] = {}
    for provider in registry.values():
        context.update(provider(proposal, user, **values))
    return context
