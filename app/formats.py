"""How amounts, rates, percentages and counted words read on a page, in a flash and in a PDF
(Jinja filters and the plural helper, no Flask)."""

from __future__ import annotations

from decimal import Decimal

import jinja2
from babel.numbers import format_currency, format_decimal
from babel.support import NullTranslations

from app.money import format_money


def money(amount: Decimal | None, currency: str) -> str:
    if amount is None:
        return ""
    return format_money(amount, currency)


def rate(amount: Decimal | None, currency: str) -> str:
    """A rate: 2 to 4 decimals, as the rate card keeps them."""
    if amount is None:
        return ""
    return format_currency(amount, currency, format="¤#,##0.00##", currency_digits=False, locale="en_GB")


def percent(value: Decimal | None) -> str:
    if value is None:
        return ""
    return f"{format_decimal(value, format='#,##0.##', locale='en_GB')} %"


#: The catalogue every text goes through: English (Babel's plural rule for "en": one, other) until a
#: locale's compiled catalogue (babel.support.Translations) is installed here.
translations: NullTranslations = NullTranslations()


def count(n: int) -> str:
    """A count as it reads in a sentence: 1,234."""
    return format_decimal(n, format="#,##0", locale="en_GB")


def ngettext(singular: str, plural: str, n: int, **variables: object) -> str:
    """The singular or plural text for `n`, chosen by the catalogue's plural forms, with `%(num)s`
    (the count, grouped: 1,234) and any other `%(name)s` filled in. The two texts are literals at
    the call, so Babel's extractor finds them: `ngettext("%(num)s day ahead", "%(num)s days ahead", n)`."""
    return translations.ngettext(singular, plural, n) % {"num": count(n), **variables}


def plural(n: int, singular: str, plural_word: str) -> str:
    """The count and the word that agrees with it: 1 day, 2 days, 1,000 items."""
    return f"{count(n)} {translations.ngettext(singular, plural_word, n)}"


def install_plural_forms(environment: jinja2.Environment) -> None:
    """Jinja's i18n extension on `environment`, through the same catalogue: templates write
    `{{ ngettext('%(num)s day ahead', '%(num)s days ahead', n) }}` and `{{ n | plural('day', 'days') }}`."""
    environment.add_extension("jinja2.ext.i18n")
    environment.install_gettext_callables(  # type: ignore[attr-defined]
        translations.gettext, lambda s, p, n, **kw: ngettext(s, p, n, **kw), newstyle=False
    )
    environment.filters["plural"] = plural


def impression_count(n: int) -> str:
    """Impressions counted in words: 1 impression, 12,000 impressions."""
    return plural(n, "impression", "impressions")
