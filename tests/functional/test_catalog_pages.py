"""Catalog and rate-card pages through the test client: forms, filters, access, CSV download and upload."""

from __future__ import annotations

import io
import re
from decimal import Decimal
from html import unescape

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.catalog import csvio as product_csv
from app.catalog.models import AdUnit, Package, Product, TargetingValue
from app.extensions import db
from app.ratecards import csvio as card_csv
from app.ratecards.models import RateCard
from tests.conftest import DEMO_USERS, user
from tests.functional.test_sign_in import field_error


def ids(app, model, column, *values) -> list[int]:
    with app.app_context():
        found = dict(db.session.execute(sa.select(column, model.id).where(column.in_(values))).all())
    return [found[v] for v in values]


def product_id(app, name: str) -> int:
    return ids(app, Product, Product.name, name)[0]


def unit_id(app, code: str) -> int:
    return ids(app, AdUnit, AdUnit.code, code)[0]


def standard_card(app) -> tuple[int, int]:
    """The id and year of the demo's "Standard <year>" card."""
    with app.app_context():
        card = db.session.scalars(
            sa.select(RateCard).where(RateCard.name.like("Standard %")).order_by(RateCard.valid_from)
        ).first()
        return card.id, card.valid_from.year


def card_csv_of(app, card_id: int) -> str:
    with app.app_context():
        return card_csv.export_card(db.session.get(RateCard, card_id))


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def listed(html: str) -> list[str]:
    """The product names in the catalog table, in order."""
    return [unescape(name) for name in re.findall(r'<a href="/catalog/products/\d+">([^<]+)</a>', html)]


def import_problems(html: str) -> list[str]:
    assert 'data-testid="import-problems"' in html, "no list of import problems"
    block = html.split('data-testid="import-problems"', 1)[1].split("</ul>", 1)[0]
    return [unescape(item) for item in re.findall(r"<li>(.*?)</li>", block, re.S)]


def upload(data: str | bytes, filename: str = "upload.csv") -> dict:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return {"file": (io.BytesIO(raw), filename)}


# -- Products ------------------------------------------------------------------------------------


def product_form(app, **changes) -> dict:
    values = {
        "name": "Cricket Display",
        "description": "Leaderboard and MPU on the cricket pages.",
        "category": "Display",
        "line_item_type": "standard",
        "pricing_models": ["cpm", "cpd"],
        "ad_units": [str(unit_id(app, "harbour-sport/cricket"))],
        "include_descendants": "y",
        "sizes": ["728x90", "300x250"],
        "min_quantity": "10,000",
        "max_quantity": "",
        "customisable": ["geo", "device"],
        "default_geo": ["london", "scotland"],
        "default_device": ["mobile"],
        # not customisable, so not a default
        "default_audience": ["finance"],
        "status": "active",
    }
    values.update(changes)
    return values


def test_an_admin_creates_a_product_from_the_form_and_lands_on_its_page(app, client, auth):
    auth.login_as("admin")
    response = client.post("/catalog/products/new", data=product_form(app))
    assert response.status_code == 302 and re.fullmatch(r"/catalog/products/\d+", response.location)
    page = client.get(response.location).get_data(as_text=True)
    assert "Cricket Display" in page and "Created product Cricket Display." in page
    with app.app_context():
        created = db.session.scalar(sa.select(Product).where(Product.name == "Cricket Display"))
        assert created.pricing_models == ["cpm", "cpd"] and created.sizes == ["728x90", "300x250"]
        assert (created.min_quantity, created.max_quantity) == (10_000, None)
        assert created.targeting_defaults == {"geo": ["london", "scotland"], "device": ["mobile"]}
        assert [(link.ad_unit.code, link.include_descendants) for link in created.ad_unit_links] == [
            ("harbour-sport/cricket", True)
        ]
        event = db.session.scalar(
            sa.select(AuditEvent).where(AuditEvent.entity_type == "product", AuditEvent.entity_id == created.id)
        )
        assert (event.action, event.actor_id) == ("created", user(DEMO_USERS["admin"]).id)


def test_a_bad_product_form_puts_every_message_on_its_field_and_saves_nothing(app, client, auth):
    auth.login_as("admin")
    before = count(app, Product)
    response = client.post(
        "/catalog/products/new",
        data=product_form(
            app,
            name="",
            pricing_models=[],
            ad_units=[],
            min_quantity="lots",
            customisable=["geo"],
            default_geo=["atlantis"],
        ),
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert field_error(html, "name") == "Enter the name."
    assert field_error(html, "pricing_models") == "Allow at least one pricing model."
    assert field_error(html, "ad_units") == "A product needs at least one ad unit."
    assert field_error(html, "min_quantity").startswith("Enter a")
    assert field_error(html, "targeting_defaults") == "Geography has no value atlantis."
    assert count(app, Product) == before


def test_a_product_edit_from_a_stale_page_is_a_conflict(app, client, auth):
    auth.login_as("admin")
    sport = product_id(app, "Sport Display")
    with app.app_context():
        found = db.session.get(Product, sport)
        form = product_form(
            app,
            name=found.name,
            ad_units=[str(link.ad_unit_id) for link in found.ad_unit_links],
            sizes=list(found.sizes),
            pricing_models=list(found.pricing_models),
            customisable=list(found.customisable),
            version=str(found.version),
        )
    assert client.post(f"/catalog/products/{sport}/edit", data={**form, "description": "One."}).status_code == 302
    stale = client.post(f"/catalog/products/{sport}/edit", data={**form, "description": "Two."})
    assert stale.status_code == 409
    with app.app_context():
        assert db.session.get(Product, sport).description == "One."


# -- The rep's catalog ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("category=Video", {"Outstream Video — News", "Football Pre-roll"}),
        (
            "category=Sponsorship",
            {"Homepage Takeover — The Daily Harbour", "Football Section Sponsorship", "Recipes Sponsorship"},
        ),
        (
            "site={harbour-living}",
            {
                "Run of Network Display",
                "Living Display",
                "High Impact Billboard",
                "Half Page Premium",
                "Native In-Feed",
                "Recipes Sponsorship",
                "Remnant Display",
                "House Promotions",
            },
        ),
        ("size=video", {"Outstream Video — News", "Football Pre-roll"}),
        ("size=native", {"Native In-Feed", "Recipes Sponsorship"}),
        (
            "model=cpd",
            {"Homepage Takeover — The Daily Harbour", "Football Section Sponsorship", "Recipes Sponsorship"},
        ),
        ("model=flat", {"Homepage Takeover — The Daily Harbour", "Football Section Sponsorship", "House Promotions"}),
        ("q=FOOTBALL", {"Football Pre-roll", "Football Section Sponsorship"}),
        ("q=affluent", {"Business & Finance Display"}),
        ("q=_", set()),
        ("q=%25", {"Homepage Takeover — The Daily Harbour"}),  # "100 % share of voice"
        (
            "category=Display&site={harbour-sport}&size=970x250",
            {"Run of Network Display", "Sport Display", "High Impact Billboard"},
        ),
        ("model=cpd&size=video", set()),
    ],
)
def test_the_rep_catalog_filters_by_category_site_size_pricing_model_and_search(app, client, auth, query, expected):
    for code in ("harbour-living", "harbour-sport"):
        query = query.replace("{" + code + "}", str(unit_id(app, code)))
    auth.login_as("sales_rep")
    response = client.get(f"/catalog/?{query}")
    assert response.status_code == 200
    assert set(listed(response.get_data(as_text=True))) == expected


def test_the_unfiltered_catalog_lists_every_active_product_by_category_and_name(client, auth):
    auth.login_as("sales_rep")
    names = listed(client.get("/catalog/").get_data(as_text=True))
    assert len(names) == 16
    assert names[:3] == ["Business & Finance Display", "Half Page Premium", "High Impact Billboard"]
    assert names[-2:] == ["Football Pre-roll", "Outstream Video — News"]


def test_the_catalog_shows_rates_from_a_card_the_user_may_use(app, client, auth):
    with app.app_context():
        agency = db.session.scalar(sa.select(RateCard.id).where(RateCard.name.like("Agency %")))
    auth.login_as("sales_rep")
    rep_page = client.get(f"/catalog/?card={agency}&q=run+of+network").get_data(as_text=True)
    assert "£5.85" in rep_page  # 6.50 less the agency card's 10 %
    auth.logout()
    auth.login_as("finance")
    finance_page = client.get(f"/catalog/?card={agency}&q=run+of+network").get_data(as_text=True)
    assert "£6.50" in finance_page and "£5.85" not in finance_page  # finance may not use the agency card


def test_the_premium_forms_values_say_their_feature_so_the_page_offers_only_the_chosen_ones(app, client, auth):
    card, _ = standard_card(app)
    auth.login_as("admin")
    html = client.get(f"/rate-cards/{card}").get_data(as_text=True)
    picker = re.search(r'<select[^>]*id="premium-value_code"[^>]*>(.*?)</select>', html, re.S)
    assert 'data-narrowed-by="premium-dimension"' in picker.group(0) and "data-searchable" in picker.group(0)
    options = re.findall(r"<option ([^>]*)>([^<]*)</option>", picker.group(1))
    assert options[0][1] == "Any value" and "data-feature" not in options[0][0]
    for attributes, label in options[1:]:
        feature = re.search(r'data-feature="(\w+)"', attributes).group(1)
        assert label.startswith({"geo": "Geography", "device": "Device"}.get(feature, "")), (feature, label)
    assert any('data-feature="device"' in a and 'value="mobile"' in a for a, _ in options)


def test_a_product_page_lists_the_base_rates_of_every_current_and_next_card(app, client, auth):
    _, year = standard_card(app)
    sport = product_id(app, "Sport Display")
    auth.login_as("sales_rep")
    html = client.get(f"/catalog/products/{sport}").get_data(as_text=True)
    rates = html[html.index('data-testid="product-rates"') : html.index("</table>", html.index("product-rates"))]
    names = [unescape(n) for n in re.findall(r'<a href="/rate-cards/\d+">([^<]+)</a>', rates)]
    assert names == [f"Standard {year}", f"Agency {year}", f"Standard {year + 1}"]
    assert re.findall(r"£[\d.,]+", rates) == ["£8.00", "£7.20", "£8.40"]  # agency 10 % below, next year 5 % above
    auth.logout()
    auth.login_as("finance")  # finance may not use the agency card
    html = client.get(f"/catalog/products/{sport}").get_data(as_text=True)
    rates = html[html.index('data-testid="product-rates"') : html.index("</table>", html.index("product-rates"))]
    assert "Agency" not in rates and f"Standard {year + 1}" in rates


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/catalog/products/new"),
        ("get", "/catalog/products/{product}/edit"),
        ("get", "/catalog/ad-units"),
        ("post", "/catalog/ad-units/{unit}/status"),
        ("get", "/catalog/targeting"),
        ("post", "/catalog/targeting/audience/values"),
        ("get", "/catalog/products.csv"),
        ("post", "/catalog/products/import"),
        ("get", "/catalog/packages/new"),
        ("get", "/rate-cards/new"),
        ("get", "/rate-cards/{card}/edit"),
        ("post", "/rate-cards/{card}/base-rates"),
        ("post", "/rate-cards/{card}/demand-bands"),
        ("post", "/rate-cards/{card}/copy"),
        ("post", "/rate-cards/{card}/import"),
    ],
)
def test_a_rep_cannot_reach_the_pages_that_change_the_catalog(app, client, auth, method, url):
    card, _ = standard_card(app)
    url = url.format(product=product_id(app, "Sport Display"), unit=unit_id(app, "harbour-sport"), card=card)
    before = card_csv_of(app, card)
    auth.login_as("sales_rep")
    response = getattr(client, method)(url, data={"status": "archived", "copy-name": "Mine", "copy-years": "1"})
    assert response.status_code == 403
    assert card_csv_of(app, card) == before
    with app.app_context():
        assert db.session.get(AdUnit, unit_id(app, "harbour-sport")).is_active


def test_a_rep_reads_and_downloads_rate_cards_but_ad_ops_do_not(app, client, auth):
    card, _ = standard_card(app)
    auth.login_as("sales_rep")
    assert client.get(f"/rate-cards/{card}").status_code == 200
    assert client.get(f"/rate-cards/{card}.csv").status_code == 200
    auth.logout()
    auth.login_as("ad_ops")
    assert client.get(f"/rate-cards/{card}").status_code == 403
    assert client.get("/catalog/").status_code == 200


# -- Ad units, targeting and packages --------------------------------------------------------------


def test_an_admin_adds_a_section_and_archives_it_with_its_slot(app, client, auth):
    auth.login_as("admin")
    site = unit_id(app, "harbour-living")
    added = client.post("/catalog/ad-units", data={"parent_id": str(site), "name": "Motoring", "sizes": "300x250"})
    assert added.status_code == 302
    section = unit_id(app, "harbour-living/motoring")
    slot = client.post("/catalog/ad-units", data={"parent_id": str(section), "name": "MPU", "sizes": "300×250"})
    assert slot.status_code == 302
    archived = client.post(f"/catalog/ad-units/{section}/status", data={"status": "archived"})
    assert archived.status_code == 302
    assert "Archived Harbour Living › Motoring and 1 unit below it." in unescape(
        client.get(archived.location).get_data(as_text=True)
    )
    with app.app_context():
        assert db.session.get(AdUnit, unit_id(app, "harbour-living/motoring/mpu")).status == "archived"


def test_a_bad_ad_unit_is_reported_on_its_fields(app, client, auth):
    auth.login_as("admin")
    before = count(app, AdUnit)
    slot = unit_id(app, "harbour-sport/home/mpu")
    response = client.post("/catalog/ad-units", data={"parent_id": str(slot), "name": "Too deep", "sizes": ""})
    assert response.status_code == 400
    assert "Slots are the lowest level" in field_error(response.get_data(as_text=True), "parent_id")
    response = client.post(
        "/catalog/ad-units", data={"parent_id": "", "name": "", "code": "Bad Code", "sizes": "huge, 300x250"}
    )
    html = unescape(response.get_data(as_text=True))
    assert response.status_code == 400
    assert field_error(html, "name") == "Enter the name."
    assert "lower-case letters" in field_error(html, "code")
    assert "“huge” is not a creative size" in field_error(html, "sizes")
    assert count(app, AdUnit) == before


def test_an_admin_adds_an_audience_segment_and_a_bad_key_value_is_reported(app, client, auth):
    auth.login_as("admin")
    added = client.post(
        "/catalog/targeting/audience/values", data={"audience-code": "pet-owners", "audience-name": "Pet owners"}
    )
    assert added.status_code == 302
    before = count(app, TargetingValue)
    bad = client.post(
        "/catalog/targeting/key_value/values", data={"key_value-code": "motoring", "key_value-name": "Motoring"}
    )
    assert bad.status_code == 400
    assert "key=value" in field_error(bad.get_data(as_text=True), "key_value-code")
    fixed = client.post("/catalog/targeting/geo/values", data={"geo-code": "cornwall", "geo-name": "Cornwall"})
    assert fixed.status_code == 400 and "cannot be added here" in fixed.get_data(as_text=True)
    assert client.post("/catalog/targeting/weather/values", data={}).status_code == 404
    assert count(app, TargetingValue) == before


def test_a_package_form_reports_its_discount_and_members_and_then_saves(app, client, auth):
    auth.login_as("admin")
    news, sport = product_id(app, "News Display"), product_id(app, "Sport Display")
    before = count(app, Package)
    bad = client.post(
        "/catalog/packages/new", data={"name": "Duo", "discount_pct": "150", f"member_{news}": "mandatory"}
    )
    html = bad.get_data(as_text=True)
    assert bad.status_code == 400
    assert "between 0 % and 100 %" in field_error(html, "discount_pct")
    assert "A package sells at least two products together." in html.split("data-form-error>", 1)[1]
    assert count(app, Package) == before
    good = client.post(
        "/catalog/packages/new",
        data={"name": "Duo", "discount_pct": "7.5", f"member_{news}": "mandatory", f"member_{sport}": "optional"},
    )
    assert good.status_code == 302
    with app.app_context():
        duo = db.session.scalar(sa.select(Package).where(Package.name == "Duo"))
        assert duo.discount_pct == Decimal("7.5")
        assert sorted((m.product_id, m.mandatory) for m in duo.members) == sorted([(news, True), (sport, False)])


# -- Rate card pages -----------------------------------------------------------------------------


def test_an_admin_sets_each_kind_of_row_from_the_card_page(app, client, auth):
    card, year = standard_card(app)
    sport, ron = product_id(app, "Sport Display"), product_id(app, "Run of Network Display")
    auth.login_as("admin")
    season = {"season-name": "Late summer", "season-starts_on": f"{year}-08-01", "season-ends_on": f"{year}-09-30"}
    posts = [
        ("base-rates", {"rate-product_id": sport, "rate-pricing_model": "cpm", "rate-rate": "8.25"}),
        ("premiums", {"premium-dimension": "daypart", "premium-value_code": "evening", "premium-kind": "absolute"}),
        ("seasons", {**season, "season-adjustment_pct": "5"}),
        ("volume-tiers", {"tier-min_quantity": "2,500,000", "tier-discount_pct": "7.5"}),
        ("demand-bands", {"band-from_pct": "95", "band-adjustment_pct": "40"}),
        ("floors", {"floor-product_id": ron, "floor-pricing_model": "cpm", "floor-rate": "5"}),
    ]
    posts[1][1]["premium-amount"] = "0.5"
    for path, data in posts:
        response = client.post(f"/rate-cards/{card}/{path}", data=data)
        assert response.status_code == 302, path
        assert response.location == f"/rate-cards/{card}#{path}"
    exported = card_csv_of(app, card)
    assert "base_rate,Sport Display,cpm,,,,8.25,,,," in exported
    assert "premium,,,daypart,evening,absolute,0.5,,,," in exported
    assert f"season,,,,,,5,Late summer,{year}-08-01,{year}-09-30," in exported
    assert "volume_tier,,,,,,7.5,,,,2500000," in exported
    assert "demand_band,,,,,,40,,,,,95" in exported
    assert "floor,Run of Network Display,cpm,,,,5,,,," in exported
    page = client.get(f"/rate-cards/{card}").get_data(as_text=True)
    assert "£8.25" in page and "Late summer" in page


@pytest.mark.parametrize(
    ("path", "data", "field", "message"),
    [
        ("base-rates", {"rate-product_id": "{sport}", "rate-pricing_model": "cpm", "rate-rate": "-8"}, "rate-rate",
         "The base rate cannot be negative (-8)."),
        ("base-rates", {"rate-product_id": "{sport}", "rate-pricing_model": "cpm", "rate-rate": "eight"}, "rate-rate",
         "Enter a number, such as 12.5 (with a dot for decimals)."),
        ("base-rates", {"rate-product_id": "abc", "rate-pricing_model": "cpm", "rate-rate": "8"}, "rate-product_id",
         "Choose a product."),
        ("base-rates", {"rate-product_id": "{sport}", "rate-pricing_model": "flat", "rate-rate": "8"},
         "rate-pricing_model", "Sport Display is not sold by Flat fee (allowed: CPM)."),
        ("premiums", {"premium-dimension": "geo", "premium-value_code": "london", "premium-kind": "percent",
                      "premium-amount": "-150"}, "premium-amount",
         "A premium raises the rate: enter more than 0 (not -150)."),
        ("premiums", {"premium-dimension": "geo", "premium-value_code": "mobile", "premium-kind": "percent",
                      "premium-amount": "15"}, "premium-value_code",
         "Mobile is a value of Device, not of Geography: choose a Geography value or any value."),
        ("seasons", {"season-name": "Black Friday", "season-starts_on": "{y}-11-25", "season-ends_on": "{y}-11-30",
                     "season-adjustment_pct": "15"}, "season-starts_on", "overlaps “Q4 peak”"),
        ("seasons", {"season-name": "Spring", "season-starts_on": "25/03/{y}", "season-ends_on": "{y}-04-30",
                     "season-adjustment_pct": "15"}, "season-starts_on", "Enter a date as YYYY-MM-DD."),
        ("volume-tiers", {"tier-min_quantity": "1,000", "tier-discount_pct": "100"}, "tier-discount_pct",
         "A tier's discount is more than 0 % and less than 100 %."),
        ("demand-bands", {"band-from_pct": "120", "band-adjustment_pct": "10"}, "band-from_pct",
         "Sell-through runs from 0 % to 100 % (not 120 %)."),
        ("demand-bands", {"band-from_pct": "90", "band-adjustment_pct": "-150"}, "band-adjustment_pct",
         "A demand band adjusts the rate by -100 % to +500 % (not -150 %)."),
        ("demand-bands", {"band-from_pct": "", "band-adjustment_pct": "ten"}, "band-adjustment_pct",
         "Enter a number, such as 12.5 (with a dot for decimals)."),
        ("floors", {"floor-product_id": "{ron}", "floor-pricing_model": "cpm", "floor-rate": "7"}, "floor-rate",
         "is above the base rate of Run of Network Display"),
        ("copy", {"copy-name": "Standard {y}", "copy-years": "1"}, "copy-name", "There is already a rate card called"),
        ("copy", {"copy-name": "Far future", "copy-years": "9"}, "copy-years", "Move the dates by -5 to 5 years."),
    ],
)  # fmt: skip
def test_a_bad_row_on_the_card_page_is_reported_on_its_field_and_changes_nothing(
    app, client, auth, path, data, field, message
):
    card, year = standard_card(app)
    values = {"sport": product_id(app, "Sport Display"), "ron": product_id(app, "Run of Network Display"), "y": year}
    data = {key: value.format(**values) for key, value in data.items()}
    before, cards = card_csv_of(app, card), count(app, RateCard)
    auth.login_as("admin")
    response = client.post(f"/rate-cards/{card}/{path}", data=data)
    assert response.status_code == 400
    assert message in unescape(field_error(response.get_data(as_text=True), field))
    assert card_csv_of(app, card) == before and count(app, RateCard) == cards


def test_lowering_a_base_rate_under_its_floor_is_reported_on_the_rate(app, client, auth):
    card, _ = standard_card(app)
    ron = product_id(app, "Run of Network Display")
    auth.login_as("admin")
    response = client.post(
        f"/rate-cards/{card}/base-rates", data={"rate-product_id": ron, "rate-pricing_model": "cpm", "rate-rate": "4"}
    )
    assert response.status_code == 400
    assert "below the floor of Run of Network Display" in field_error(response.get_data(as_text=True), "rate-rate")


def test_a_copy_made_from_the_card_page_opens_with_its_dates_moved(app, client, auth):
    card, year = standard_card(app)
    auth.login_as("admin")
    response = client.post(f"/rate-cards/{card}/copy", data={"copy-name": "Standard in two years", "copy-years": "2"})
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert "Standard in two years" in page and f"{year + 2}-01-01 to {year + 2}-12-31" in page
    assert f'Q4 peak</td><td class="text-nowrap">{year + 2}-10-01 to {year + 2}-12-31' in page


def test_a_base_rate_with_a_floor_is_not_removed_from_the_page(app, client, auth):
    card, _ = standard_card(app)
    with app.app_context():
        found = db.session.get(RateCard, card)
        ron = product_id(app, "Run of Network Display")
        rate = next(r.id for r in found.base_rates if r.product_id == ron)
        floor = next(f.id for f in found.floors if f.product_id == ron)
    auth.login_as("admin")
    refused = client.post(f"/rate-cards/{card}/base_rates/{rate}/remove")
    assert refused.status_code == 400 and "Remove the floor of Run of Network Display first" in refused.get_data(
        as_text=True
    )
    assert client.post(f"/rate-cards/{card}/floors/{floor}/remove").status_code == 302
    assert client.post(f"/rate-cards/{card}/base_rates/{rate}/remove").status_code == 302
    assert "base_rate,Run of Network Display," not in card_csv_of(app, card)


def demand_rows(html: str) -> list[list[str]]:
    """The cells of the demand adjustment table, row by row (without the remove buttons)."""
    table = html.split('data-testid="demand-bands"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr><td>(.*?)</td><td[^>]*>(.*?)</td>", table.split("<tbody>", 1)[1], re.S)
    return [[unescape(cell) for cell in row] for row in rows]


def test_the_card_page_explains_demand_bands_and_an_admin_adds_and_removes_one(app, client, auth):
    card, _ = standard_card(app)
    auth.login_as("admin")
    page = client.get(f"/rate-cards/{card}").get_data(as_text=True)
    assert "Demand adjustment" in page and "already sold through" in page
    assert demand_rows(page) == [["50 % to under 80 %", "+10 %"], ["80 % and more", "+25 %"]]
    assert 'data-testid="form-band"' in page

    added = client.post(f"/rate-cards/{card}/demand-bands", data={"band-from_pct": "65", "band-adjustment_pct": "15"})
    assert (added.status_code, added.location) == (302, f"/rate-cards/{card}#demand-bands")
    page = client.get(f"/rate-cards/{card}").get_data(as_text=True)
    assert demand_rows(page) == [
        ["50 % to under 65 %", "+10 %"],
        ["65 % to under 80 %", "+15 %"],
        ["80 % and more", "+25 %"],
    ]
    with app.app_context():
        band = next(b.id for b in db.session.get(RateCard, card).demand_bands if b.from_pct == 65)
    removed = client.post(f"/rate-cards/{card}/demand_bands/{band}/remove")
    assert (removed.status_code, removed.location) == (302, f"/rate-cards/{card}#demand-bands")
    assert demand_rows(client.get(f"/rate-cards/{card}").get_data(as_text=True)) == [
        ["50 % to under 80 %", "+10 %"],
        ["80 % and more", "+25 %"],
    ]
    history = unescape(client.get(f"/audit/rate_card/{card}").get_data(as_text=True))
    assert "From 65 % sell-through: +15 %." in history
    assert "Removed demand band: from 65 % sell-through: +15 %." in history


def test_a_manager_reads_the_demand_bands_but_only_admins_change_them(app, client, auth):
    card, _ = standard_card(app)
    before = card_csv_of(app, card)
    auth.login_as("sales_manager")
    page = client.get(f"/rate-cards/{card}").get_data(as_text=True)
    assert demand_rows(page) == [["50 % to under 80 %", "+10 %"], ["80 % and more", "+25 %"]]
    assert 'data-testid="form-band"' not in page
    refused = client.post(f"/rate-cards/{card}/demand-bands", data={"band-from_pct": "65", "band-adjustment_pct": "15"})
    assert refused.status_code == 403
    assert card_csv_of(app, card) == before


def test_a_new_card_with_an_unknown_currency_and_backwards_dates_is_reported_on_both_fields(app, client, auth):
    auth.login_as("admin")
    before = count(app, RateCard)
    form = {"name": "Euro 2031", "currency": "XYZ", "valid_from": "2031-12-31", "valid_to": "2031-01-01"}
    response = client.post("/rate-cards/new", data={**form, "status": "active"})
    html = unescape(response.get_data(as_text=True))
    assert response.status_code == 400
    assert field_error(html, "currency").startswith("“XYZ” is not a currency in use")
    assert field_error(html, "valid_to") == "The card's validity ends (2031-01-01) before it starts (2031-12-31)."
    assert count(app, RateCard) == before
    created = client.post(
        "/rate-cards/new", data={**form, "currency": "EUR", "valid_from": "2031-01-01", "valid_to": "2031-12-31"}
    )
    assert created.status_code == 302


def test_the_currency_of_a_card_with_rates_cannot_be_changed_from_its_edit_page(app, client, auth):
    card, year = standard_card(app)
    with app.app_context():
        version = db.session.get(RateCard, card).version
    auth.login_as("admin")
    response = client.post(
        f"/rate-cards/{card}/edit",
        data={
            "name": f"Standard {year}",
            "currency": "EUR",
            "valid_from": f"{year}-01-01",
            "valid_to": f"{year}-12-31",
            "status": "active",
            "version": str(version),
        },
    )
    assert response.status_code == 400
    assert "already has rates in its currency" in field_error(response.get_data(as_text=True), "currency")


# -- CSV download and upload ---------------------------------------------------------------------


def test_a_card_downloads_as_a_csv_file_and_uploads_back_unchanged(app, client, auth):
    card, year = standard_card(app)
    auth.login_as("admin")
    download = client.get(f"/rate-cards/{card}.csv")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert download.headers["Content-Disposition"] == f'attachment; filename="Standard-{year}.csv"'
    assert download.get_data(as_text=True) == card_csv_of(app, card)
    response = client.post(
        f"/rate-cards/{card}/import", data=upload(download.get_data()), content_type="multipart/form-data"
    )
    assert response.status_code == 302
    assert "Imported: 18 base rates, 9 premiums, 3 seasons" in client.get(response.location).get_data(as_text=True)
    assert client.get(f"/rate-cards/{card}.csv").get_data() == download.get_data()


def test_an_edited_card_file_changes_just_the_edited_rate(app, client, auth):
    card, _ = standard_card(app)
    auth.login_as("admin")
    exported = client.get(f"/rate-cards/{card}.csv").get_data(as_text=True)
    edited = exported.replace("base_rate,Sport Display,cpm,,,,8,", "base_rate,Sport Display,cpm,,,,8.4,")
    assert edited != exported
    response = client.post(f"/rate-cards/{card}/import", data=upload(edited), content_type="multipart/form-data")
    assert response.status_code == 302
    assert client.get(f"/rate-cards/{card}.csv").get_data(as_text=True) == edited
    with app.app_context():
        assert db.session.get(RateCard, card).base_rate(product_id(app, "Sport Display"), "cpm") == Decimal("8.4")


def test_a_card_file_with_bad_rows_lists_each_problem_with_its_line_and_changes_nothing(app, client, auth):
    card, _ = standard_card(app)
    auth.login_as("admin")
    exported = client.get(f"/rate-cards/{card}.csv").get_data(as_text=True)
    lines = exported.splitlines()
    lines[2] = lines[2].replace(",highest,", ",average,")
    lines.insert(5, "base_rate,Sport Display,cpm,,,,-8,,,,")
    lines.append("floor,Nonexistent,cpm,,,,1,,,,")
    response = client.post(
        f"/rate-cards/{card}/import", data=upload("\n".join(lines) + "\n"), content_type="multipart/form-data"
    )
    assert response.status_code == 400
    assert import_problems(response.get_data(as_text=True)) == [
        "Line 3: kind “average” for a feature rule is sum or highest.",
        "Line 6: The base rate cannot be negative (-8).",
        f"Line {len(lines)}: There is no product called “Nonexistent”.",
    ]
    assert card_csv_of(app, card) == exported


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({}, "Choose a CSV file to import."),
        (upload(b"\xff\xfe\x00"), "Line 1: The file is not UTF-8 text; save it as CSV (UTF-8)."),
        (upload("record,amount\nbase_rate,1,2,3\n"), "Line 2: 4 cells for 2 columns."),
    ],
)
def test_a_missing_or_broken_card_file_is_explained_on_the_page(app, client, auth, data, problem):
    card, _ = standard_card(app)
    before = card_csv_of(app, card)
    auth.login_as("admin")
    response = client.post(f"/rate-cards/{card}/import", data=data, content_type="multipart/form-data")
    assert response.status_code == 400
    assert import_problems(response.get_data(as_text=True)) == [problem]
    assert card_csv_of(app, card) == before


def test_the_product_file_downloads_and_an_edited_copy_uploads_back(app, client, auth):
    auth.login_as("admin")
    download = client.get("/catalog/products.csv")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert download.headers["Content-Disposition"] == 'attachment; filename="products.csv"'
    exported = download.get_data(as_text=True)
    with app.app_context():
        assert exported == product_csv.export_products()
    unchanged = client.post("/catalog/products/import", data=upload(exported), content_type="multipart/form-data")
    assert unchanged.status_code == 302 and unchanged.location == "/catalog/?archived=1"
    assert client.get("/catalog/products.csv").get_data(as_text=True) == exported

    edited = exported.replace("Pre-roll before match highlights.", "Pre-roll before every highlight.")
    response = client.post("/catalog/products/import", data=upload(edited), content_type="multipart/form-data")
    assert response.status_code == 302
    assert "Imported products: 0 created, 16 updated." in client.get(response.location).get_data(as_text=True)
    assert client.get("/catalog/products.csv").get_data(as_text=True) == edited


def test_a_product_file_with_bad_rows_lists_each_problem_with_its_line_and_changes_nothing(app, client, auth):
    auth.login_as("admin")
    exported = client.get("/catalog/products.csv").get_data(as_text=True)
    bad = exported + (
        "Ghost Display,Display,standard,cpm,nowhere,300x250,,,,,active,\n"
        "Video MPU,Display,standard,cpm,harbour-sport/cricket/*,video,,,,,active,\n"
    )
    before = count(app, Product)
    response = client.post("/catalog/products/import", data=upload(bad), content_type="multipart/form-data")
    assert response.status_code == 400
    first = exported.count("\n") + 1
    assert import_problems(response.get_data(as_text=True)) == [
        f"Line {first}: There is no ad unit with the code nowhere.",
        f"Line {first + 1}: sizes: None of the product's ad units takes video.",
    ]
    assert count(app, Product) == before
    assert client.get("/catalog/products.csv").get_data(as_text=True) == exported
