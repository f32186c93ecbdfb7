"""Which order a booking is for, answered by the orders domain.

An order line points at its booking, never the other way: orders sit above inventory. The holds and
bookings page still shows a rep the bookings of their own orders, each linked to its order, so
orders register the two functions that answer here at start-up (`create_app`), and the app refuses
to start without them (CTFd's registries: a dict and a lookup).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import sqlalchemy as sa


class BookedFor(NamedTuple):
    """The order a booking commits inventory for."""

    order_id: int
    number: str
    campaign: str


#: owned_by(user_id) -> a SELECT of the ids of the bookings of that rep's orders;
#: orders_of(reservation_ids) -> {reservation id: BookedFor}
_providers: dict[str, Callable] = {}
REQUIRED = ("owned_by", "orders_of")


def clear() -> None:
    _providers.clear()


def check_registered() -> None:
    missing = [name for name in REQUIRED if name not in _providers]
    if missing:
        raise RuntimeError(f"Inventory needs these registered at start-up: bookings {', '.join(missing)}.")


def register(*, owned_by: Callable[[int], sa.Select], orders_of: Callable[[list[int]], dict[int, BookedFor]]) -> None:
    _providers["owned_by"], _providers["orders_of"] = owned_by, orders_of


def owned_by(user_id: int) -> sa.Select:
    """The ids of the bookings of the orders whose proposal the user owns (a subquery)."""
    return _providers["owned_by"](user_id)


def orders_of(reservation_ids: list[int]) -> dict[int, BookedFor]:
    """reservation id -> the order it is booked for (bookings made by no order are left out)."""
    return _providers["orders_of"](reservation_ids) if reservation_ids else {}
