"""The proposal PDF a publisher sends a buyer, rendered from a version's snapshot and nothing else.

Everything on the page comes from the snapshot (a plain dict of strings and numbers) and the
publisher's name and logo, so a later change of catalog, rate card or proposal never changes the
PDF of a version. Text the user typed reaches the page only through Jinja's autoescape; WeasyPrint
may fetch nothing but `data:` URLs (the logo is inlined) and the font files Flightdeck ships, so no
text can make it read another file or call a server.

The fonts come from npm at set-up (`make` copies them into static/vendor/fonts): Noto Sans for
Latin, Greek and Cyrillic, and its Japanese, Simplified Chinese, Korean, Arabic and Hebrew siblings,
so the PDF looks the same on every machine whatever fonts the system has.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import functools
import hashlib
import logging
import mimetypes
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

import jinja2
from markupsafe import Markup

from app.formats import install_plural_forms, money, percent, rate
from app.pricing.rules import Price, Step
from app.pricing.waterfall_svg import waterfall_svg
from app.proposals import budget_svg
from app.proposals.snapshot import LinePrice, VersionSnapshot

ROOT = Path(__file__).resolve().parent.parent.parent
TEMPLATES = ROOT / "templates" / "proposals"
FONTS_DIR = ROOT / "static" / "vendor" / "fonts"
PRICING_MODELS = {"cpm": "CPM", "cpd": "CPD", "flat": "Flat fee"}

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FontFace:
    family: str
    weight: int
    path: Path


#: The PDF's font stack, first match wins: Latin first, then the CJK and right-to-left scripts.
#: Han characters come from the Japanese font unless only the Chinese one has them.
FONT_FAMILIES = (
    ("Noto Sans", "NotoSans"),
    ("Noto Sans JP", "NotoSansJP"),
    ("Noto Sans SC", "NotoSansSC"),
    ("Noto Sans KR", "NotoSansKR"),
    ("Noto Sans Arabic", "NotoSansArabic"),
    ("Noto Sans Hebrew", "NotoSansHebrew"),
)
WEIGHTS = ((400, "400Regular"), (700, "700Bold"))


def pdf_fonts() -> list[FontFace]:
    """Every font file the PDF uses; refuses when set-up has not copied them (`make setup`)."""
    faces = [
        FontFace(family, weight, FONTS_DIR / f"{stem}_{suffix}.ttf")
        for family, stem in FONT_FAMILIES
        for weight, suffix in WEIGHTS
    ]
    if missing := [face.path.name for face in faces if not face.path.is_file()]:
        raise RuntimeError(f"The PDF fonts are missing from {FONTS_DIR} ({', '.join(missing)}): run `make setup`")
    return faces


def fonts_only_fetcher():
    """WeasyPrint's URL fetcher limited to `data:` URLs and the font files of `pdf_fonts`."""
    from weasyprint.urls import URLFetcher

    fonts = {face.path.as_uri() for face in pdf_fonts()}

    class FontsOnlyFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            if url.startswith("file:") and url not in fonts:
                raise ValueError(f"The PDF may read no file but its fonts: {url}")
            return super().fetch(url, headers)

    return FontsOnlyFetcher(allowed_protocols={"data", "file"})


#: One font configuration per process: loading the fonts (about 40 MB of CJK) takes half a second,
#: so it is done once, and renders take turns because Pango's font map is not thread-safe.
_fonts_lock = threading.Lock()
_font_config = None


def _shared_font_config():
    """The renderer's fonts: the PDF's own and nothing else. Pango falls back through fontconfig to
    whatever the machine has for a glyph the named fonts lack (Thai, Devanagari, emoji), generic
    family or not; given a configuration that knows only our folder, it finds no such font and sets
    the glyph as a missing-glyph box from ours, the same on every machine."""
    global _font_config
    if _font_config is None:
        from weasyprint.text.fonts import FontConfiguration

        with _fontconfig_file(_own_fonts_only_config()):
            _font_config = FontConfiguration()
    return _font_config


def _own_fonts_only_config() -> Path:
    """A fontconfig file (in a folder of its own, with its cache) that knows only `FONTS_DIR`."""
    folder = Path(tempfile.mkdtemp(prefix="flightdeck-pdf-fonts-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)  # one per process, gone with it
    (folder / "fonts.conf").write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n'
        f"<fontconfig><dir>{escape(str(FONTS_DIR.resolve()))}</dir>"
        f"<cachedir>{escape(str(folder / 'cache'))}</cachedir></fontconfig>\n"
    )
    return folder / "fonts.conf"


@contextlib.contextmanager
def _fontconfig_file(path: Path):
    """FONTCONFIG_FILE set to `path` while fontconfig loads its configuration, as it was after."""
    before = os.environ.get("FONTCONFIG_FILE")
    os.environ["FONTCONFIG_FILE"] = str(path)
    try:
        yield
    finally:
        if before is None:
            del os.environ["FONTCONFIG_FILE"]
        else:
            os.environ["FONTCONFIG_FILE"] = before


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def decimal(value: str | int | Decimal | None) -> Decimal | None:
    """A snapshot amount (a string) as a Decimal for the `money` and `rate` filters; None stays None."""
    return None if value is None else Decimal(value)


def day(value: str | None) -> str:
    """An ISO date of the snapshot as people write it: 1 Feb 2027."""
    if not value:
        return ""
    when = date.fromisoformat(value)
    return f"{when.day} {when:%b %Y}"


def flight(start: str, end: str) -> str:
    """A flight as short as it reads unambiguously: 1–14 Feb 2027, 20 Feb – 3 Mar 2027, 20 Dec 2027 – 9 Jan 2028."""
    first, last = date.fromisoformat(start), date.fromisoformat(end)
    if first == last:
        return day(end)
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day}–{day(end)}"
    if first.year == last.year:
        return f"{first.day} {first:%b} – {day(end)}"
    return f"{day(start)} – {day(end)}"


def version_day(snapshot: dict) -> str:
    """The day the version was made, in the proposal's time zone (the snapshot's, not today's config)."""
    typed = VersionSnapshot.from_json(snapshot)
    made = typed.created_at
    zone = typed.flight.time_zone if typed.flight else None
    if zone and made.tzinfo is not None:
        made = made.astimezone(ZoneInfo(zone))
    return day(made.date().isoformat())


def waterfall(price: dict | None) -> Markup | None:
    """The pricing page's waterfall chart, rebuilt from the price a line stored (`Price.as_json`,
    read as a typed `LinePrice`); None when the stored price lacks a figure the chart needs (the
    steps table still shows)."""
    if not price:
        return None
    try:
        stored = LinePrice.from_json(price)
    except (TypeError, InvalidOperation):
        return None
    if not stored.steps or any(s.amount is None or s.rate is None for s in stored.steps):
        return None
    steps = [Step(s.key, s.label, s.detail or "", s.amount, s.rate) for s in stored.steps]
    rebuilt = Price(
        pricing_model=stored.pricing_model or "",
        steps=steps,
        base_rate=steps[0].rate,
        list_rate=stored.list_rate or steps[-1].rate,
        net_rate=stored.net_rate or steps[-1].rate,
        floor=stored.floor,
        below_floor_by=stored.below_floor_by or Decimal(0),
        units=int(stored.units or 0),
        impressions=stored.impressions,
        gross=stored.gross or Decimal(0),
        commission=stored.commission or Decimal(0),
        net=stored.net or Decimal(0),
        effective_cpm=stored.effective_cpm,
    )
    return waterfall_svg(rebuilt)


def logo_data_url(path: str | None) -> str | None:
    """The logo inlined as a data: URL, so the renderer never opens a file itself; None when it is
    not configured or cannot be read (the cover then shows the publisher's name alone)."""
    if not path:
        return None
    mime = mimetypes.guess_type(path)[0]
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        log.warning("PUBLISHER_LOGO %s cannot be read (%s); the PDF has no logo", path, exc)
        return None
    if mime is None or not mime.startswith("image/"):
        log.warning("PUBLISHER_LOGO %s is not an image file; the PDF has no logo", path)
        return None
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def render_html(
    snapshot: dict,
    *,
    publisher_name: str,
    logo_path: str | None = None,
    with_waterfalls: bool = False,
    draft: bool = False,
) -> str:
    """The document as HTML (what `render_pdf` lays out), through Jinja with autoescape. A `draft` is
    marked DRAFT on every page and has no signature block: nobody can sign it."""
    return (
        pdf_templates()
        .get_template("proposals/pdf.html")
        .render(
            p=snapshot,
            currency=snapshot["currency"],
            publisher_name=publisher_name,
            logo=logo_data_url(logo_path),
            with_waterfalls=with_waterfalls,
            draft=draft,
            issued_on=version_day(snapshot),
            chart=budget_svg.budget_by_product_svg(snapshot["lines"], snapshot["currency"], labels=False),
            chart_bars=budget_svg.budget_by_product(snapshot["lines"]),
            chart_row=budget_svg.ROW,
            pricing_models=PRICING_MODELS,
            decimal=decimal,
            day=day,
            flight=flight,
            waterfall=waterfall,
            fonts=pdf_fonts(),
        )
    )


@functools.cache
def pdf_templates() -> jinja2.Environment:
    """The PDF's own Jinja environment, built once: the app's templates folder, autoescape as Flask
    sets it (by extension; the included stylesheet is not escaped), and the three filters the page
    uses. No request, user or app is needed, so a CLI command or a worker renders the same bytes."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(ROOT / "templates"),
        autoescape=jinja2.select_autoescape(("html", "htm", "xml", "xhtml", "svg"), default_for_string=True),
    )
    environment.filters.update(money=money, rate=rate, percent=percent)
    install_plural_forms(environment)
    return environment


def render_pdf(
    snapshot: dict,
    *,
    publisher_name: str,
    logo_path: str | None = None,
    with_waterfalls: bool = False,
    draft: bool = False,
) -> bytes:
    """The proposal version as an A4 PDF. The same snapshot gives the same bytes (no clock is read)."""
    # Imported here: WeasyPrint takes most of a second to load, which every web worker and CLI
    # command would otherwise pay at start-up.
    from weasyprint import HTML

    html = render_html(
        snapshot, publisher_name=publisher_name, logo_path=logo_path, with_waterfalls=with_waterfalls, draft=draft
    )
    with _fonts_lock:
        return HTML(string=html, base_url=str(TEMPLATES), url_fetcher=fonts_only_fetcher()).write_pdf(
            pdf_identifier=sha256_of(html.encode())[:32].encode(), font_config=_shared_font_config()
        )
