"""Which rate card prices a flight: a default flight and card chosen to work together (a new
proposal's, the product page's price), and what to tell the rep when a flight spans two cards or none
covers it.

A line is priced with one card, and a card prices only the days it is valid for, so a flight must
lie within its card. Pure functions over the cards the rep may use (the caller reads them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from app.ratecards.models import RateCard


@dataclass(frozen=True)
class FlightAndCard:
    start_day: date
    end_day: date
    #: None when no card the rep may use prices any day of the flight
    rate_card_id: int | None


def day(value: date) -> str:
    """A day as people write it: 14 Dec 2026."""
    return f"{value.day} {value:%b %Y}"


def covers(card: RateCard, start: date, end: date) -> bool:
    return card.valid_from <= start and end <= card.valid_to


def _overlap(card: RateCard, start: date, end: date) -> int:
    return max(0, (min(end, card.valid_to) - max(start, card.valid_from)).days + 1)


def _preference(card: RateCard) -> tuple:
    """A card open to everyone (a standard card) before one kept for some roles, then the older."""
    return (bool(card.allowed_roles), card.valid_from, card.name)


def flight_and_card(start: date, end: date, cards: Sequence[RateCard]) -> FlightAndCard:
    """A card that prices the whole flight. When none does (the flight crosses the end of a card, as
    at the year end), the flight keeps to the card that covers most of it, so a line priced with the
    two is never refused for days the card does not price."""
    covering = sorted((c for c in cards if covers(c, start, end)), key=_preference)
    if covering:
        return FlightAndCard(start, end, covering[0].id)
    overlapping = [c for c in cards if _overlap(c, start, end)]
    if not overlapping:
        return FlightAndCard(start, end, None)
    card = min(overlapping, key=lambda c: (-_overlap(c, start, end), *_preference(c)))
    return FlightAndCard(max(start, card.valid_from), min(end, card.valid_to), card.id)


def flight_problem(card: RateCard, start: date, end: date, cards: Sequence[RateCard]) -> str | None:
    """What to tell the rep when `card` does not price every day of the flight: the cards that do
    (with the dates each covers) and what to do. None when the card covers the flight."""
    if covers(card, start, end):
        return None
    flight = f"This flight ({day(start)} to {day(end)})"
    chosen = f"{card.name} covers {day(card.valid_from)} to {day(card.valid_to)}"
    others = [c for c in cards if c.id != card.id]
    if whole := sorted((c for c in others if covers(c, start, end)), key=_preference):
        return (
            f"{flight} is not within {card.name}: {chosen}. {whole[0].name} covers "
            f"{day(whole[0].valid_from)} to {day(whole[0].valid_to)}: choose it as the rate card, or change "
            f"the flight to fit {card.name}."
        )
    # The cards that price the days the chosen card does not, of its kind (currency, who may use it)
    # when there are such: the card that follows it, as next year's standard card follows this year's.
    rest = [c for c in others if _overlap(c, start, end) and _prices_outside(card, c, start, end)]
    alike = [c for c in rest if c.currency == card.currency and set(c.allowed_roles) == set(card.allowed_roles)]
    parts = sorted([card, *(alike or rest)], key=lambda c: c.valid_from) if _overlap(card, start, end) else []
    if len(parts) < 2:
        if _overlap(card, start, end):
            fit = f"{day(max(start, card.valid_from))} to {day(min(end, card.valid_to))}"
            return (
                f"{flight} is not within {card.name}, and no other rate card you may use prices the days "
                f"outside it: {chosen}. Change the flight to fit it ({fit}), or ask an admin for a card for "
                "those days."
            )
        return (
            f"{flight} is outside {card.name}: {chosen}, and no rate card you may use prices these days. "
            "Change the flight, or ask an admin for a card for these dates."
        )
    covered = " and ".join(
        f"{c.name} covers {day(max(start, c.valid_from))} to {day(min(end, c.valid_to))}" for c in parts
    )
    first, second = parts[0], parts[1]
    return (
        f"{flight} spans more than one rate card: {covered}. A proposal is priced with one card: end the "
        f"flight by {day(first.valid_to)} to use {first.name}, or start it on {day(second.valid_from)} or "
        f"later and choose {second.name}; for the whole flight, make one proposal for each part."
    )


def _prices_outside(card: RateCard, other: RateCard, start: date, end: date) -> bool:
    """Whether `other` prices a day of the flight that `card` does not."""
    before = (start, min(end, card.valid_from - timedelta(days=1))) if start < card.valid_from else None
    after = (max(start, card.valid_to + timedelta(days=1)), end) if end > card.valid_to else None
    return any(span and span[0] <= span[1] and _overlap(other, *span) for span in (before, after))
