"""Pure checks: access rules, value validation, form parsing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.access import AccessRule
from app.auth import service as auth_service
from app.errors import Errors, ValidationFailed
from app.roles import Role
from app.validation import country_problem, currency_problem, normalise_email, percent_problem


def test_an_access_rule_admits_any_of_its_roles():
    rule = AccessRule(frozenset({Role.ADMIN, Role.SALES_MANAGER}))
    assert rule.admits({Role.SALES_MANAGER, Role.FINANCE})
    assert not rule.admits({Role.SALES_REP})
    assert AccessRule(frozenset()).admits({Role.FINANCE})
    assert AccessRule(None).is_public


@pytest.mark.parametrize("code", ["GBP", "EUR", "USD", "JPY", "CHF"])
def test_currencies_in_use_are_accepted(code):
    assert currency_problem(code) is None


@pytest.mark.parametrize("code", ["XYZ", "DEM", "XXX", "gbp", "", "POUND"])
def test_unknown_or_retired_currencies_are_refused(code):
    assert currency_problem(code) is not None


def test_countries_are_iso_codes():
    assert country_problem("GB") is None and country_problem("") is None
    assert country_problem("UK") is not None and country_problem("EU") is not None


def test_emails_are_normalised_to_lower_case_and_checked():
    assert normalise_email("  Ana.Ruiz@Harbour.Example ") == ("ana.ruiz@harbour.example", None)
    assert normalise_email("")[1] == "Enter an e-mail address."
    assert normalise_email("ana@")[1].startswith("Not a valid e-mail address")
    assert "at most 254" in normalise_email("a" * 250 + "@x.example")[1]


@pytest.mark.parametrize(
    ("value", "ok"),
    [("0", True), ("12.5", True), ("100", True), ("12.50", True), ("100.01", False), ("-1", False), ("1.005", False)],
)
def test_percentages_are_between_0_and_100_with_two_decimals(value, ok):
    assert (percent_problem(Decimal(value), label="commission") is None) is ok


def test_errors_collect_every_message_before_raising():
    errors = Errors()
    errors.add("name", "Enter the name.")
    errors.add("name", "Too long.")
    errors.add("", "Something about the whole form.")
    with pytest.raises(ValidationFailed) as failure:
        errors.raise_if_any()
    assert failure.value.errors == {"name": ["Enter the name.", "Too long."], "": ["Something about the whole form."]}


def test_an_unknown_email_costs_a_hash_of_the_configured_kind():
    # so the time taken does not tell whether an account exists
    assert auth_service._dummy_hash("scrypt").startswith("scrypt:")
    assert auth_service._dummy_hash("pbkdf2:sha256:1000").startswith("pbkdf2:sha256:1000$")


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("6.5", "6.5"),
        ("1,250,000", "1250000"),
        ("1,250.75", "1250.75"),
        ("-3", "-3"),
        (" 12 ", "12"),
        ("6,5", None),
        ("1,25,000", None),
        ("NaN", None),
        ("Infinity", None),
        ("1e3", "1000"),
        ("", None),
        ("12.5.1", None),
    ],
)
def test_numbers_accept_thousands_separators_but_never_read_a_decimal_comma_as_thousands(typed, value):
    from app.validation import parse_number

    assert parse_number(typed) == (Decimal(value) if value else None)


def test_a_premium_for_a_value_of_another_feature_names_both_features():
    from types import SimpleNamespace

    from app.ratecards.rules import check_premium

    values = {"geo": {"london": SimpleNamespace(name="London")}, "device": {"mobile": SimpleNamespace(name="Mobile")}}
    assert check_premium("geo", "london", "percent", Decimal("25"), values=values) == {}
    assert check_premium("geo", "mobile", "percent", Decimal("25"), values=values) == {
        "value_code": "Mobile is a value of Device, not of Geography: choose a Geography value or any value."
    }
    assert check_premium("geo", "atlantis", "percent", Decimal("25"), values=values) == {
        "value_code": "Geography has no value “atlantis”."
    }
