"""A new proposal's defaults, chosen to work together: the flight (the four weeks from next Monday),
the expiry (30 days from today) and a card that prices that whole flight (ratecards.coverage)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from app.inventory.line_request import default_flight
from app.ratecards.coverage import flight_and_card
from app.ratecards.models import RateCard


@dataclass(frozen=True)
class HeaderDefaults:
    start_day: date
    end_day: date
    expires_on: date
    #: None when no card the rep may use prices any day of the default flight
    rate_card_id: int | None


def header_defaults(today: date, cards: Sequence[RateCard]) -> HeaderDefaults:
    """When no card covers all four weeks (they cross the end of a card, as at the year end), the
    flight keeps to the card that covers most of them, so the first line added is never refused for
    days the card does not price."""
    chosen = flight_and_card(*default_flight(today), cards)
    return HeaderDefaults(chosen.start_day, chosen.end_day, today + timedelta(days=30), chosen.rate_card_id)
