"""Words agree with numbers, through Babel's plural forms (ready for a translated catalogue)."""

from __future__ import annotations

import jinja2
from babel.support import Translations

from app import formats


def test_plural_gives_the_singular_for_one_and_the_plural_otherwise():
    assert formats.plural(1, "day", "days") == "1 day"
    assert [formats.plural(n, "day", "days") for n in (0, 2, 1234)] == ["0 days", "2 days", "1,234 days"]


def test_ngettext_fills_in_the_grouped_count_and_named_values():
    assert formats.ngettext("%(num)s day ahead", "%(num)s days ahead", 1) == "1 day ahead"
    assert formats.ngettext("%(num)s day ahead", "%(num)s days ahead", 12000) == "12,000 days ahead"
    text = formats.ngettext("%(num)s unmapped %(what)s", "%(num)s unmapped %(what)ss", 1, what="value")
    assert text == "1 unmapped value"


def test_templates_choose_the_form_by_the_count():
    environment = jinja2.Environment(autoescape=True)
    formats.install_plural_forms(environment)
    template = environment.from_string(
        "{{ ngettext('%(num)s unmapped targeting value', '%(num)s unmapped targeting values', n) }};"
        " {{ n | plural('line', 'lines') }}"
    )
    assert template.render(n=1) == "1 unmapped targeting value; 1 line"
    assert template.render(n=3) == "3 unmapped targeting values; 3 lines"


def test_an_installed_catalogue_decides_the_plural_form(monkeypatch):
    class Polish(Translations):
        """Babel's rule for a language with more than two forms picks the text's index."""

        def __init__(self) -> None:
            super().__init__()
            self.plural = lambda n: 0 if n == 1 else 1 if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14 else 2
            self._catalog = {
                ("%(num)s day", 0): "%(num)s dzień",
                ("%(num)s day", 1): "%(num)s dni",
                ("%(num)s day", 2): "%(num)s dni.",
            }

    monkeypatch.setattr(formats, "translations", Polish())
    assert formats.ngettext("%(num)s day", "%(num)s days", 1) == "1 dzień"
    assert formats.ngettext("%(num)s day", "%(num)s days", 5) == "5 dni."


def test_a_product_limit_of_one_day_reads_in_the_singular():
    from app.catalog.models import Product
    from app.pricing import service

    takeover = Product(name="Homepage takeover", max_quantity=1, min_quantity=None)
    problem = service._limit_problem(3, takeover, ("day", "days"))
    assert problem == "Homepage takeover sells at most 1 day per line (not 3)."
