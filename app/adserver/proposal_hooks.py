"""What the ad servers tell proposals at start-up (`app.proposals.hooks`): an order line's delivery,
which a make-good may give back at most."""

from __future__ import annotations

from app.adserver.delivery import pacing_of
from app.proposals import hooks


def register() -> None:
    hooks.providers["pacing_of"] = pacing_of
