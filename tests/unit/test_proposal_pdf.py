"""The proposal PDF, rendered from a snapshot dict and read back with pypdf."""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Iterator
from decimal import Decimal

import pypdf
import pytest
from flask import Flask
from markupsafe import Markup

from app import create_app
from app.proposals.budget_svg import MOST_BARS, budget_by_product, budget_by_product_svg
from app.proposals.pdf import FONTS_DIR, fonts_only_fetcher, pdf_fonts, render_html, render_pdf, sha256_of

PUBLISHER = "Harbour Media Group"
CAMPAIGN = "<script>alert(1)</script>"
ADVERTISER = "Société Générale — 東京支社"
BUYER = "سارة"


def price(base: str, net: str) -> dict:
    """A stored price (`Price.as_json`) with a short waterfall."""
    listed = str(Decimal(base) + Decimal("1.68"))
    return {
        "pricing_model": "cpm",
        "steps": [
            {"key": "base", "label": "Base rate", "detail": "from the rate card", "amount": base, "rate": base},
            {"key": "premium", "label": "Geography premium", "detail": "London", "amount": "1.6800", "rate": listed},
            {"key": "list", "label": "List rate", "detail": "", "amount": "0", "rate": listed},
            {"key": "discount", "label": "Proposal discount", "detail": "5 %", "amount": "-0.5000", "rate": net},
            {"key": "net", "label": "Net rate", "detail": "", "amount": "0", "rate": net},
        ],
        "base_rate": base,
        "list_rate": listed,
        "net_rate": net,
        "floor": "6.0000",
        "below_floor_by": "0",
        "units": 1_500_000,
        "impressions": 1_500_000,
        "gross": "15920.10",
        "commission": "0.00",
        "net": "15920.10",
        "effective_cpm": net,
    }


def cpm_line(position: int, product: str, gross: str, impressions: int, targeting: str) -> dict:
    return {
        "position": position,
        "product": {"id": position, "name": product, "category": "Display"},
        "pricing_model": "cpm",
        "targeting_words": targeting,
        "start": "2027-02-01",
        "end": "2027-02-14",
        "time_zone": "Europe/London",
        "units": impressions,
        "quantity": impressions,
        "budget": None,
        "discount_pct": "0.00",
        "list_rate": "11.1720",
        "net_rate": "10.6134",
        "gross": gross,
        "commission": "0.00",
        "net": gross,
        "available": 1_946_723,
        "problems": [],
        "price": price("8.4000", "10.6134"),
    }


def three_lines() -> list[dict]:
    cpd = {
        **cpm_line(2, "Homepage takeover", "12000.00", 0, "Run of product"),
        "pricing_model": "cpd",
        "units": 4,
        "quantity": None,
        "list_rate": "3200.0000",
        "net_rate": "3000.0000",
        "end": "2027-02-04",
        "time_zone": "Asia/Tokyo",
        "targeting_words": "地域: 東京; 言語: 日本語",
    }
    unpriced = {
        **cpm_line(3, "Newsletter sponsorship", "0.00", 0, "Run of product"),
        "pricing_model": "flat",
        "units": None,
        "quantity": None,
        "list_rate": None,
        "net_rate": None,
        "price": None,
        "problems": ["The rate card has no flat fee for this product"],
    }
    return [
        cpm_line(1, "Run of site display", "15920.10", 1_500_000, "Geography: London; Device: Mobile"),
        cpd,
        unpriced,
    ]


def snapshot(lines: list[dict] | None = None) -> dict:
    lines = three_lines() if lines is None else lines
    gross = sum((Decimal(line["gross"]) for line in lines), Decimal("0.00"))
    commission = (gross * Decimal("0.15")).quantize(Decimal("0.01"))
    return {
        "number": "P-2026-0007",
        "version": 2,
        "created_at": "2026-11-22T10:15:00+00:00",
        "campaign_name": CAMPAIGN,
        "status": "submitted",
        "advertiser": {
            "id": 1,
            "name": ADVERTISER,
            "billing_address": "29 bd Haussmann\n75009 Paris",
            "billing_country": "FR",
        },
        "agency": {"id": 2, "name": "Meridian Media ☆ Agency", "commission_pct": "15.00"},
        "buyer": {"name": BUYER, "email": "sara@meridian.example", "title": "Head of Trading"},
        "rep": {"name": "Zoë Þórsdóttir", "email": "zoe@harbour.example"},
        "currency": "GBP",
        "rate_card": {"id": 1, "name": "2027 rate card"},
        "flight": {"start": "2027-02-01", "end": "2027-02-28", "time_zone": "Europe/London"},
        "budget_goal": "50000.00",
        "discount_pct": "5.00",
        "expires_on": "2026-12-15",
        "buyer_notes": "Creative due 10 working days before launch.\nעברית: הערה קצרה",
        "notes": INTERNAL_NOTE,
        "terms": "IAB standard terms and conditions apply.\nPayment 30 days from invoice.",
        "lines": lines,
        "totals": {
            "gross": str(gross),
            "commission": str(commission),
            "net": str(gross - commission),
            "impressions": sum(line["units"] or 0 for line in lines if line["pricing_model"] == "cpm"),
            "effective_cpm": "10.6134",
        },
    }


#: what the rep wrote for colleagues: never on the PDF
INTERNAL_NOTE = "Internal: they will walk away above £30k; the manager agreed to 10 % if pushed."


def many_lines(count: int) -> list[dict]:
    return [
        cpm_line(i, f"Product {i % 17} — section {i}", "15920.10", 1_500_000, "Geography: London; Device: Mobile")
        for i in range(1, count + 1)
    ]


@pytest.fixture(scope="module")
def app() -> Flask:
    return create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": "sqlite://"})


@pytest.fixture
def ctx(app: Flask) -> Iterator[Flask]:
    with app.app_context():
        yield app


def read(pdf: bytes):
    return pypdf.PdfReader(io.BytesIO(pdf))


def text_of(pdf: bytes) -> str:
    """The text of every page, its whitespace collapsed: a table cell may wrap anywhere."""
    return " ".join(" ".join(page.extract_text().split()) for page in read(pdf).pages)


def font_names(pdf: bytes) -> set[str]:
    """The BaseFont of every font the pages use, without the subset prefix (ABCDEF+) and hyphens."""
    names = set()
    for page in read(pdf).pages:
        fonts = page["/Resources"].get("/Font", {})
        for ref in fonts.values():
            names.add(str(ref.get_object()["/BaseFont"]).lstrip("/").split("+")[-1].replace("-", ""))
    return names


def render(snap: dict, **kwargs) -> bytes:
    return render_pdf(snap, publisher_name=PUBLISHER, **kwargs)


@pytest.fixture(scope="module")
def sample(app: Flask) -> bytes:
    with app.app_context():
        return render(snapshot(), with_waterfalls=True)


def test_the_pdf_shows_every_line_its_cost_and_the_totals_as_on_the_page(sample):
    text = text_of(sample)
    for product in ("Run of site display", "Homepage takeover", "Newsletter sponsorship"):
        assert product in text
    assert "£15,920.10" in text and "£12,000.00" in text
    assert "£27,920.10" in text  # total gross
    assert "£4,188.02" in text  # agency commission, 15 %
    assert "£23,732.08" in text  # net
    assert "1,500,000" in text
    assert "£10.6134" in text  # the net rate keeps its 4 decimals


def test_a_line_without_a_price_shows_its_problems_instead_of_rates(sample):
    text = text_of(sample)
    assert "Not priced" in text
    assert "The rate card has no flat fee for this product" in text


def test_pages_are_numbered_and_carry_the_running_header(ctx):
    pdf = render(snapshot(many_lines(60)))
    pages = read(pdf).pages
    assert len(pages) > 2
    assert "Page 1 of" in pages[0].extract_text()
    for number, page in enumerate(pages[1:], start=2):
        text = " ".join(page.extract_text().split())
        assert f"Page {number} of {len(pages)}" in text
        assert f"{PUBLISHER} · P-2026-0007 · {CAMPAIGN}" in text


def test_markup_in_typed_text_is_shown_as_text(ctx, sample):
    assert CAMPAIGN in text_of(sample)
    html = render_html(snapshot(), publisher_name=PUBLISHER)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_accented_cjk_and_right_to_left_text_come_back_out_of_the_pdf(sample):
    text = text_of(sample)
    assert "Société Générale" in text
    assert "東京支社" in text
    assert "地域: 東京" in text
    assert "Zoë Þórsdóttir" in text
    # A PDF may hold Arabic as presentation forms and in visual order: fold the forms back to letters
    # (NFKC) and accept the name either way round.
    letters = unicodedata.normalize("NFKC", text)
    assert BUYER in letters or BUYER[::-1] in letters
    assert "עברית" in letters or "עברית"[::-1] in letters


def test_every_script_is_set_in_the_noto_fonts_flightdeck_ships_whatever_the_system_has(ctx, caplog):
    snap = {**snapshot(), "buyer_notes": "עברית: הערה קצרה\n한국어 메모\n简体中文备注\nمرحبا بالعالم"}
    with caplog.at_level("WARNING", logger="weasyprint"):
        pdf = render(snap)
    assert not [r.getMessage() for r in caplog.records if "notdef" in r.getMessage()]  # no tofu
    names = font_names(pdf)
    assert {"NotoSans", "NotoSansBold", "NotoSansJP", "NotoSansKR", "NotoSansArabic", "NotoSansHebrew"} <= names
    assert not {name for name in names if name.startswith("DejaVu")}  # nothing taken from the system
    text = unicodedata.normalize("NFKC", text_of(pdf))
    assert "한국어 메모" in text and "简体中文备注" in text


def test_a_script_the_pdf_fonts_lack_is_never_set_in_a_system_font(ctx):
    # Thai, Devanagari and emoji are in no font of this machine; Armenian, Georgian and Braille are in
    # its DejaVu Sans (and other machines have fonts for the rest): every one comes out in a Noto font.
    snap = {**snapshot(), "buyer_notes": "ภาษาไทย हिन्दी 🎉 Հայերեն ქართული ⠁⠃ Ελληνικά Кириллица"}
    names = font_names(render(snap))
    assert names and all(name.startswith("NotoSans") for name in names), names


def test_the_pdf_fonts_are_the_vendored_files_and_the_renderer_may_read_no_other_file(ctx, tmp_path):
    faces = pdf_fonts()
    assert {face.family for face in faces} == {
        "Noto Sans",
        "Noto Sans JP",
        "Noto Sans SC",
        "Noto Sans KR",
        "Noto Sans Arabic",
        "Noto Sans Hebrew",
    }
    assert all(face.path.is_file() and face.path.parent == FONTS_DIR for face in faces)
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the PDF")
    fetch = fonts_only_fetcher()
    with pytest.raises(ValueError):
        fetch.fetch(secret.as_uri())
    with pytest.raises(ValueError):
        fetch.fetch((FONTS_DIR / ".." / ".." / "css" / "app.css").resolve().as_uri())
    assert fetch.fetch(faces[0].path.as_uri()).read(4) in (b"\x00\x01\x00\x00", b"OTTO")


def test_the_same_snapshot_gives_the_same_bytes(ctx):
    snap = snapshot()
    first, second = render(snap), render(snap)
    assert sha256_of(first) == sha256_of(second)
    assert re.fullmatch(r"[0-9a-f]{64}", sha256_of(first))


def test_the_logo_is_inlined_and_a_missing_logo_is_left_out(ctx, tmp_path):
    logo = tmp_path / "logo.svg"
    logo.write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><rect width="40" height="20"/></svg>'
    )
    html = render_html(snapshot(), publisher_name=PUBLISHER, logo_path=str(logo))
    assert 'src="data:image/svg+xml;base64,' in html
    html = render_html(snapshot(), publisher_name=PUBLISHER, logo_path=str(tmp_path / "missing.png"))
    assert "<img" not in html


def test_the_budget_chart_has_a_bar_per_product_largest_first_and_escapes_labels():
    lines = [
        cpm_line(1, "Small <b>one</b>", "100.00", 1000, ""),
        cpm_line(2, "Big & bold", "900.00", 1000, ""),
        {**cpm_line(3, "Unpriced", "0.00", 0, ""), "price": None},
    ]
    assert [(name, amount) for name, amount, _ in budget_by_product(lines)] == [
        ("Big & bold", Decimal("900.00")),
        ("Small <b>one</b>", Decimal("100.00")),
    ]
    svg = budget_by_product_svg(lines, "GBP")
    assert isinstance(svg, Markup)
    assert "Small &lt;b&gt;one&lt;/b&gt;" in svg and "<b>" not in svg
    assert "Big &amp; bold" in svg and "£900.00" in svg
    assert "Unpriced" not in svg
    bare = budget_by_product_svg(lines, "GBP", labels=False)  # the PDF sets the names in HTML beside it
    assert (svg.count("<text"), bare.count("<text"), bare.count("<rect")) == (4, 2, 2)
    assert "Big &amp; bold" in bare  # still in the bar's tooltip


def test_the_budget_chart_sums_the_smallest_products_into_one_bar():
    lines = [cpm_line(i, f"Product {i}", f"{i}00.00", 1000, "") for i in range(1, 21)]
    bars = budget_by_product(lines)
    assert len(bars) == MOST_BARS
    assert bars[-1][0] == f"{20 - MOST_BARS + 1} other products" and bars[-1][2]
    assert sum(amount for _, amount, _ in bars) == sum(Decimal(line["gross"]) for line in lines)


def test_a_bare_proposal_renders_without_agency_buyer_goal_expiry_or_lines(ctx):
    snap = {
        **snapshot([]),
        "agency": None,
        "buyer": None,
        "budget_goal": None,
        "expires_on": None,
        "notes": "",
        "buyer_notes": "",
        "terms": "",
        "totals": {"gross": "0.00", "commission": "0.00", "net": "0.00", "impressions": 0, "effective_cpm": None},
    }
    text = text_of(render(snap))
    assert "Total (gross) £0.00" in text
    assert "For Société Générale — 東京支社" in text  # the buyer's side signs for the advertiser
    assert "Valid until" not in text and "Notes" not in text


def test_the_clients_pdf_prints_the_notes_for_the_buyer_but_never_the_internal_notes_nor_the_budget_goal(sample):
    text = text_of(sample)
    assert "Creative due 10 working days before launch." in text
    assert "walk away" not in text and "Internal" not in text
    # the budget goal (50,000.00) is the rep's own target: neither the amount nor the share of it
    assert "budget goal" not in text.lower() and "50,000" not in text and "of the budget" not in text


def test_a_version_made_before_notes_were_split_prints_none_of_its_notes(ctx):
    old = {key: value for key, value in snapshot().items() if key != "buyer_notes"}
    text = text_of(render(old))
    assert "walk away" not in text and "Notes" not in text
    assert "IAB standard terms" in text  # the rest of the closing is there


def test_a_draft_is_marked_on_every_page_and_has_no_signature_block(ctx):
    pdf = render(snapshot(many_lines(40)), draft=True)
    pages = read(pdf).pages
    assert len(pages) > 1
    for page in pages:
        assert "DRAFT" in page.extract_text()
    text = text_of(pdf)
    assert "Draft — not for signature" in text and "P-2026-0007 · draft" in text
    assert "Acceptance" not in text and "Signature" not in text and "version 2" not in text
