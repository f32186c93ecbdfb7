"""Checks of single values that several domains share: e-mail, ISO codes, lengths, percentages,
and the bounds every number and date meets where it enters."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel import Locale
from babel.numbers import get_currency_name, get_territory_currencies
from email_validator import EmailNotValidError, validate_email


@cache
def current_currencies() -> frozenset[str]:
    """ISO 4217 codes that some territory uses as legal tender today (no DEM, no XXX)."""
    codes: set[str] = set()
    for territory in Locale("en").territories:
        if re.fullmatch("[A-Z]{2}", territory):
            codes.update(get_territory_currencies(territory, date.today(), tender=True))
    return frozenset(codes)


def currency_choices() -> list[tuple[str, str]]:
    return sorted((c, f"{c} · {get_currency_name(c, locale='en')}") for c in current_currencies())


@cache
def countries() -> dict[str, str]:
    """ISO 3166-1 alpha-2 code -> English name."""
    return {
        code: name
        for code, name in Locale("en").territories.items()
        if re.fullmatch("[A-Z]{2}", code) and code not in {"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ"}
    }


def country_choices() -> list[tuple[str, str]]:
    return sorted(countries().items(), key=lambda item: item[1])


def currency_problem(code: str) -> str | None:
    if code not in current_currencies():
        return f"“{code}” is not a currency in use (use an ISO 4217 code such as GBP, EUR or USD)."
    return None


def country_problem(code: str) -> str | None:
    if code and code not in countries():
        return f"“{code}” is not an ISO 3166 country code."
    return None


def normalise_email(raw: str) -> tuple[str | None, str | None]:
    """(normalised address, None) or (None, a message saying what is wrong)."""
    raw = (raw or "").strip()
    if not raw:
        return None, "Enter an e-mail address."
    if len(raw) > 254:
        return None, "An e-mail address has at most 254 characters."
    try:
        result = validate_email(raw, check_deliverability=False)
    except EmailNotValidError as exc:
        return None, f"Not a valid e-mail address: {exc}"
    return result.normalized.lower(), None


def length_problem(value: str, *, label: str, max_length: int, required: bool = True) -> str | None:
    if required and not value.strip():
        return f"Enter the {label}."
    if len(value) > max_length:
        return f"The {label} has at most {max_length:,} characters (this one has {len(value):,})."
    return None


#: Direction controls (embeddings, overrides, isolates): they make a name read differently from how
#: it is stored ("\u202eemoH" shows as "Home"), so a one-line value holding one is refused, not cleaned.
DIRECTION_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

#: Default-ignorable code points (Unicode's DerivedCoreProperties) that are not format (Cf)
#: characters: the grapheme joiner, Hangul fillers, Khmer inherent vowels, Mongolian variation
#: selectors, variation selectors, reserved ranges. Like every Cf character, they show nothing and
#: are removed.
_IGNORABLE = re.compile(
    "[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u3164\ufe00-\ufe0f\uffa0\ufff0-\ufff8"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"
)

#: Characters that are kept (they mean something in their own script) but show nothing: a name made
#: of them alone is refused.
BLANK = frozenset("\u2800")


def _cleaned(character: str) -> str:
    """What `clean_line` makes of one character: "" (removed), " " (a space) or itself."""
    if character in DIRECTION_CONTROLS:
        return character
    category = unicodedata.category(character)
    if category == "Cf" or _IGNORABLE.match(character):
        return ""
    return " " if category == "Zs" else character


_SPACES = re.compile(" {2,}")


def clean_line(value: str | None) -> str:
    """A one-line value as it is stored: NFC-normalised, invisible (format and default-ignorable)
    characters removed, every kind of space one plain space, runs of them one, trimmed.

    Every service cleans names with this before checking or saving them, whatever the entry point
    (form, CSV, API), so "Café" typed as e + combining accent and "Café" are one name, and
    "Hearthly\u200e\u00a0Home" is "Hearthly Home". Direction controls stay, for `line_problem` to refuse.
    """
    text = unicodedata.normalize("NFC", value or "")
    return _SPACES.sub(" ", "".join(_cleaned(c) for c in text)).strip()


@cache
def folds() -> dict[int, str]:
    """What `clean_line` makes of every character of the Basic Multilingual Plane it removes or
    turns into a space, as a `str.translate` table: how `name_taken` sees names stored before they
    were cleaned, in SQL (rarer planes' ignorables are only removed on the way in)."""
    return {code: cleaned for code in range(0x80, 0x10000) if (cleaned := _cleaned(chr(code))) != chr(code)}


def folded(value: str | None) -> str | None:
    """A stored name as `name_taken` compares it: `folds` applied, runs of spaces made one, trimmed."""
    return None if value is None else _SPACES.sub(" ", value.translate(folds())).strip(" ")


def line_problem(value: str, *, label: str, max_length: int, required: bool = True) -> str | None:
    """`length_problem` for a one-line value (a name, a title): no line breaks, no control characters,
    no direction controls, and something visible. Check the value `clean_line` returned."""
    if any(unicodedata.category(c) in {"Cc", "Zl", "Zp"} for c in value):
        return f"The {label} is one line of text, without line breaks or control characters."
    if any(c in DIRECTION_CONTROLS for c in value):
        return (
            f"The {label} holds a text-direction control (U+202A–202E, U+2066–2069), which makes it read "
            "differently from how it is stored; type it without one."
        )
    if value and all(c.isspace() or c in BLANK or unicodedata.category(c).startswith("C") for c in value):
        return f"The {label} has no visible characters."
    return length_problem(value, label=label, max_length=max_length, required=required)


def percent_problem(value: Decimal | None, *, label: str) -> str | None:
    if value is None:
        return f"Enter the {label} as a percentage between 0 and 100."
    value = Decimal(value)
    try:
        if not (Decimal("0") <= value <= Decimal("100")):
            return f"The {label} must be between 0 % and 100 % (not {value} %)."
    except InvalidOperation:
        return f"The {label} must be a number."
    if value != value.quantize(Decimal("0.01")):
        return f"The {label} has at most 2 decimals."
    return None


#: Names the tz database ships that are not places: the machine's own zone (whatever that is), a
#: placeholder that reads "-00", and a rules file.
NOT_TIME_ZONES = frozenset({"localtime", "Factory", "posixrules"})


@cache
def time_zones() -> frozenset[str]:
    """IANA time zone names (Europe/London, UTC, ...) a flight, a connection or the publisher may use."""
    return frozenset(available_timezones()) - NOT_TIME_ZONES


def time_zone_problem(name: str | None) -> str | None:
    """None for an IANA time zone name; otherwise a message for the field. Checked by name, before
    anything tries to open it: a 100,000-character value is a field error, not a crash."""
    problem = f"“{(name or '')[:60]}” is not a time zone; choose one such as Europe/London."
    if not name or len(name) > 64 or name not in time_zones():
        return problem
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return problem
    return None


# -- Bounds ---------------------------------------------------------------------------------------
# One set of limits for every way a number or a date comes in (a form, an htmx fragment, a paste, a
# CSV import, the API), checked by the services. Beyond them nothing is real, and the value would
# break far from where it was typed: a Numeric(18, 4) money column, Decimal's context when a page
# formats it, Python's int-to-text limit, or the int64 capacities of the inventory's max flow.

#: The largest amount of money anything may be (a budget, a rate, a fee, a line's cost), in any currency.
#: A total is a sum of at most 500 lines' costs (proposals.lines.MAX_LINES), so it stays at most
#: 5 x 10**13, within a Numeric(18, 4) column (below 10**14): an order's gross and net included.
MAX_MONEY = Decimal(10) ** 11
#: The most units (impressions, days, counts) one line, hold, limit or row may have.
MAX_QUANTITY = 10**12
#: The first and the last day anything may be about (flights, seasons, validity, expiry, counts).
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)


def money_problem(value: Decimal, *, label: str, positive: bool = False) -> str | None:
    """An amount is a finite number from 0 (above it when `positive`) to MAX_MONEY."""
    if not Decimal(value).is_finite():
        return f"The {label} must be a number."
    if value < 0 or (positive and value == 0):
        return f"Enter a {label} above 0." if positive else f"The {label} cannot be negative ({value})."
    if value > MAX_MONEY:
        return f"The {label} must be at most {MAX_MONEY:,}."
    return None


def quantity_problem(value: int | Decimal, *, label: str, minimum: int = 1) -> str | None:
    """A quantity is a whole number from `minimum` to MAX_QUANTITY (checked before int() of a Decimal,
    so 1E+999999 never becomes a million-digit integer)."""
    if isinstance(value, Decimal) and (not value.is_finite() or value != value.to_integral_value()):
        return f"The {label} must be a whole number."
    if value < minimum:
        return f"The {label} must be at least {minimum:,}."
    if value > MAX_QUANTITY:
        return f"The {label} must be at most {MAX_QUANTITY:,}."
    return None


def day_problem(value: date, *, label: str, last: date = LAST_DAY, horizon: str = "") -> str | None:
    """A day from FIRST_DAY to `last` (a rate card's horizon, named by `horizon`, when it says sooner)."""
    if value < FIRST_DAY:
        return f"The {label} ({value}) is before {FIRST_DAY:%Y}: enter a day from {FIRST_DAY} on."
    if value > last:
        return f"The {label} ({value}) is after {last}{f', the end of {horizon}' if horizon else ''}."
    return None


#: The largest id a URL or form may name; beyond it nothing exists (and SQLite's integers end).
MAX_ID = 2**31 - 1
_DIGITS = re.compile(r"[0-9]{1,10}")


def parse_id(raw: str | None) -> int | None:
    """A positive id from text, or None: ASCII digits only ("²" is a digit to Python, not to us)."""
    if raw is None or not _DIGITS.fullmatch(raw.strip()):
        return None
    value = int(raw)
    return value if 0 < value <= MAX_ID else None


def page_number(args, *, key: str = "page", last: int = 100_000) -> int:
    """The page asked for in a query string, 1 when missing or malformed, never past `last`."""
    value = parse_id(args.get(key))
    return min(value, last) if value else 1


_ASCII_NUMBER = re.compile(r"^[0-9.,+\-eE]+$")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")


def parse_number(raw: str | None) -> Decimal | None:
    """A finite Decimal from what a person typed, or None.

    Commas are accepted only as thousands separators (1,250,000): "6,5" is refused rather than
    read as 65, since in much of Europe it means 6.5.
    """
    text = (raw or "").strip().replace("_", "")
    if not _ASCII_NUMBER.match(text):  # Decimal() would read other scripts' digits too
        return None
    if "," in text:
        if not _THOUSANDS.match(text):
            return None
        text = text.replace(",", "")
    if len(text) > 40:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None
