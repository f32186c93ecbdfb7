"""Which rate card prices a flight: a new proposal's default flight and card work together, and a
flight that spans two cards (or that none covers) is explained with the cards, their dates and
what to do."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from app.proposals.cards import header_defaults
from app.ratecards.coverage import flight_problem


@dataclass(frozen=True)
class Card:
    id: int
    name: str
    valid_from: date
    valid_to: date
    currency: str = "GBP"
    allowed_roles: list = field(default_factory=list)


THIS_YEAR = Card(1, "Standard 2026", date(2026, 1, 1), date(2026, 12, 31))
AGENCY = Card(2, "Agency 2026", date(2026, 1, 1), date(2026, 12, 31), allowed_roles=["sales_rep"])
NEXT_YEAR = Card(3, "Standard 2027", date(2027, 1, 1), date(2027, 12, 31))
CARDS = (THIS_YEAR, AGENCY, NEXT_YEAR)


def test_in_the_middle_of_the_year_the_default_flight_is_four_weeks_from_next_monday_on_the_standard_card():
    defaults = header_defaults(date(2026, 6, 10), CARDS)  # a Wednesday
    assert (defaults.start_day, defaults.end_day) == (date(2026, 6, 15), date(2026, 7, 12))
    assert defaults.rate_card_id == THIS_YEAR.id and defaults.expires_on == date(2026, 7, 10)


def test_at_the_year_end_the_default_flight_keeps_to_the_card_that_covers_most_of_it():
    # Four weeks from Monday 14 Dec end on 10 Jan: this year's card covers 18 days of them, next year's 10.
    defaults = header_defaults(date(2026, 12, 7), CARDS)
    assert (defaults.start_day, defaults.end_day, defaults.rate_card_id) == (
        date(2026, 12, 14),
        date(2026, 12, 31),
        THIS_YEAR.id,
    )
    # From Monday 28 Dec next year's card covers most: the flight starts on its first day.
    defaults = header_defaults(date(2026, 12, 21), CARDS)
    assert (defaults.start_day, defaults.end_day, defaults.rate_card_id) == (
        date(2027, 1, 1),
        date(2027, 1, 24),
        NEXT_YEAR.id,
    )


def test_with_no_card_for_the_default_flight_the_flight_stays_and_no_card_is_chosen():
    defaults = header_defaults(date(2028, 3, 1), CARDS)
    assert defaults.rate_card_id is None and (defaults.end_day - defaults.start_day).days == 27


def test_a_card_that_covers_the_flight_has_nothing_to_say():
    assert flight_problem(THIS_YEAR, date(2026, 12, 1), date(2026, 12, 31), CARDS) is None


def test_a_flight_across_the_year_end_names_both_cards_the_days_each_covers_and_what_to_do():
    problem = flight_problem(THIS_YEAR, date(2026, 12, 14), date(2027, 1, 10), CARDS)
    assert problem == (
        "This flight (14 Dec 2026 to 10 Jan 2027) spans more than one rate card: Standard 2026 covers "
        "14 Dec 2026 to 31 Dec 2026 and Standard 2027 covers 1 Jan 2027 to 10 Jan 2027. A proposal is "
        "priced with one card: end the flight by 31 Dec 2026 to use Standard 2026, or start it on "
        "1 Jan 2027 or later and choose Standard 2027; for the whole flight, make one proposal for each part."
    )
    assert "Agency 2026" not in problem  # the card of another kind is not the one that follows


def test_a_flight_another_card_covers_says_to_choose_that_card():
    problem = flight_problem(THIS_YEAR, date(2027, 2, 1), date(2027, 2, 14), CARDS)
    assert "Standard 2027 covers 1 Jan 2027 to 31 Dec 2027: choose it as the rate card" in problem


def test_a_flight_no_card_covers_says_to_shorten_it_or_ask_an_admin():
    problem = flight_problem(NEXT_YEAR, date(2027, 12, 20), date(2028, 1, 20), CARDS)
    assert "Change the flight to fit it (20 Dec 2027 to 31 Dec 2027)" in problem and "ask an admin" in problem
    problem = flight_problem(THIS_YEAR, date(2029, 2, 1), date(2029, 2, 14), CARDS)
    assert "no rate card you may use prices these days" in problem
