"""The one-line cleaner: what it removes, what it refuses, what it leaves alone."""

from __future__ import annotations

import pytest

from app.validation import clean_line, line_problem


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Hearthly\u200e Home\u2063 Stores", "Hearthly Home Stores"),
        ("Hearthly\u00a0\u00a0Home\u3000Stores", "Hearthly Home Stores"),
        ("Cafe\u0301\u034f", "Café"),
        ("\u3164Hearthly\u115f\u1160\uffa0", "Hearthly"),
        ("Heart\ufe0fhly\u180b\U000e0100\U000e0041", "Hearthly"),
        ("Ops \u2764\ufe0f team", "Ops \u2764 team"),
        (
            "\u0645\u062a\u062c\u0631 \u200f\u0627\u0644\u0628\u064a\u062a",
            "\u0645\u062a\u062c\u0631 \u0627\u0644\u0628\u064a\u062a",
        ),
        ("  Rock 'n' roll  ", "Rock 'n' roll"),
    ],
    ids=repr,
)
def test_the_cleaner_removes_invisible_characters_and_makes_every_space_one_plain_space(typed, stored):
    assert clean_line(typed) == stored
    assert line_problem(clean_line(typed), label="name", max_length=200) is None


@pytest.mark.parametrize(
    "control", ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"]
)
def test_a_direction_control_is_refused_with_a_message_that_names_it(control):
    problem = line_problem(clean_line(f"Hearthly {control}Home"), label="name", max_length=200)
    assert problem is not None and "direction" in problem


@pytest.mark.parametrize(
    "blank", ["\u2800", "\u3164", "\u115f\u1160", "\uffa0", "\u2800 \u2800", "\u00a0\u200b"], ids=repr
)
def test_a_name_with_nothing_visible_is_refused(blank):
    assert line_problem(clean_line(blank), label="name", max_length=200) is not None
