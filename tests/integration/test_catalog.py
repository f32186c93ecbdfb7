"""The catalog's services: the ad-unit tree, targeting values, products, packages, product CSV, audit."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.catalog import ad_units, csvio, packages, products, targeting
from app.catalog.models import AdUnit, Package, Product, Status, TargetingValue
from app.catalog.packages import PackageData
from app.catalog.products import ProductData
from app.csvio import ImportFailed
from app.errors import Conflict, DomainError, ValidationFailed
from app.extensions import db
from tests.conftest import DEMO_USERS, now, user


def unit(code: str) -> AdUnit:
    found = db.session.scalar(sa.select(AdUnit).where(AdUnit.code == code))
    assert found is not None, code
    return found


def product(name: str) -> Product:
    found = db.session.scalar(sa.select(Product).where(Product.name == name))
    assert found is not None, name
    return found


def package(name: str) -> Package:
    found = db.session.scalar(sa.select(Package).where(Package.name == name))
    assert found is not None, name
    return found


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def events(entity_type: str, entity_id: int) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == entity_id)
            .order_by(AuditEvent.id)
        )
    )


def product_data(**changes) -> ProductData:
    values = dict(
        name="Business Half Page",
        category="Display",
        line_item_type="standard",
        pricing_models=["cpm"],
        ad_units=[(unit("daily-harbour/business").id, True)],
        sizes=["300x600"],
        description="The half page next to the markets.",
        min_quantity=10_000,
        max_quantity=2_000_000,
        customisable=["geo", "audience"],
        targeting_defaults={"audience": ["finance"]},
    )
    values.update(changes)
    return ProductData(**values)


def admin():
    return user(DEMO_USERS["admin"])


# -- Ad units ------------------------------------------------------------------------------------


def test_a_new_section_takes_its_level_and_code_from_its_site_and_is_audited(ctx):
    site = unit("daily-harbour")
    section = ad_units.create_ad_unit(
        name="Motoring", sizes=["300x250", "728x90"], parent=site, actor=admin(), now=now()
    )
    slot = ad_units.create_ad_unit(name="Top MPU", sizes=["300x250"], parent=section, actor=admin(), now=now())
    db.session.commit()
    assert (section.level, section.code) == ("section", "daily-harbour/motoring")
    assert (slot.level, slot.code) == ("slot", "daily-harbour/motoring/top-mpu")
    assert ad_units.ad_unit_path(slot) == "The Daily Harbour › Motoring › Top MPU"
    [created] = events("ad_unit", slot.id)
    assert created.action == "created" and created.actor_id == admin().id
    assert created.after["code"] == "daily-harbour/motoring/top-mpu" and created.after["sizes"] == ["300x250"]


def test_nothing_goes_below_a_slot(ctx):
    slot = unit("daily-harbour/home/mpu-1")
    with pytest.raises(ValidationFailed) as failure:
        ad_units.create_ad_unit(name="Deeper", sizes=["300x250"], parent=slot, actor=admin(), now=now())
    assert "Slots are the lowest level" in failure.value.errors["parent_id"][0]


def test_every_problem_with_a_new_unit_is_reported_at_once_and_nothing_is_saved(ctx):
    before = count(AdUnit)
    with pytest.raises(ValidationFailed) as failure:
        ad_units.create_ad_unit(
            name="   ",
            code="Not A Code!",
            sizes=["300by250", "video", "banner"],
            parent=unit("harbour-sport"),
            actor=admin(),
            now=now(),
        )
    errors = failure.value.errors
    assert errors["name"] == ["Enter the name."]
    assert "lower-case letters" in errors["code"][0]
    assert len(errors["sizes"]) == 2 and "“300by250” is not a creative size" in errors["sizes"][0]
    db.session.rollback()
    assert count(AdUnit) == before


def test_a_code_already_taken_is_refused(ctx):
    with pytest.raises(ValidationFailed) as failure:
        ad_units.create_ad_unit(
            name="Football again",
            code="harbour-sport/football",
            sizes=[],
            parent=unit("harbour-sport"),
            actor=None,
            now=now(),
        )
    assert failure.value.errors["code"] == ["Another ad unit already has the code harbour-sport/football."]


def test_renaming_a_unit_keeps_its_code_and_records_only_the_name(ctx):
    section = unit("harbour-living/food")
    ad_units.update_ad_unit(
        section, name="Food and drink", sizes=list(section.sizes), parent=section.parent, actor=admin(), now=now()
    )
    db.session.commit()
    db.session.expire_all()
    section = unit("harbour-living/food")
    assert section.name == "Food and drink"
    updated = events("ad_unit", section.id)[-1]
    assert updated.action == "updated"
    assert updated.before == {"name": "Food & drink"} and updated.after == {"name": "Food and drink"}


def test_a_section_moves_to_another_site_with_its_slots(ctx):
    cricket, news_site = unit("harbour-sport/cricket"), unit("daily-harbour")
    ad_units.update_ad_unit(cricket, name=cricket.name, sizes=cricket.sizes, parent=news_site, actor=admin(), now=now())
    db.session.commit()
    db.session.expire_all()
    slot = unit("harbour-sport/cricket/mpu")
    assert ad_units.ad_unit_path(slot) == "The Daily Harbour › Cricket › MPU"
    assert events("ad_unit", cricket.id)[-1].after == {"parent_id": news_site.id}
    assert "harbour-sport/cricket" not in [u.code for u in ad_units.descendants(unit("harbour-sport"))]


@pytest.mark.parametrize(
    ("code", "parent", "message"),
    [
        ("harbour-sport/cricket", "daily-harbour/home/mpu-1", "A section goes under a site."),
        ("harbour-sport/cricket", None, "A section goes under a site."),
        ("harbour-sport/cricket/mpu", "daily-harbour", "A slot goes under a section."),
        ("harbour-sport/cricket/mpu", None, "A slot goes under a section."),
        ("harbour-sport", "daily-harbour", "A site is the top of the tree: it has no parent."),
    ],
)
def test_a_unit_moves_only_under_a_unit_of_the_level_above(ctx, code, parent, message):
    moving = unit(code)
    old_parent = moving.parent_id
    with pytest.raises(ValidationFailed) as failure:
        ad_units.update_ad_unit(
            moving,
            name=moving.name,
            sizes=moving.sizes,
            parent=unit(parent) if parent else None,
            actor=admin(),
            now=now(),
        )
    assert failure.value.errors["parent_id"] == [message]
    db.session.rollback()
    assert unit(code).parent_id == old_parent


def test_a_unit_cannot_move_under_an_archived_section(ctx):
    opinion = unit("daily-harbour/opinion")
    ad_units.set_ad_unit_status(opinion, Status.ARCHIVED, actor=admin(), now=now())
    slot = unit("daily-harbour/news/mpu")
    with pytest.raises(ValidationFailed) as failure:
        ad_units.update_ad_unit(slot, name=slot.name, sizes=slot.sizes, parent=opinion, actor=admin(), now=now())
    assert "Opinion is archived" in failure.value.errors["parent_id"][0]


def test_archiving_a_section_archives_every_slot_below_it_and_restoring_brings_back_the_section_only(ctx):
    news = unit("daily-harbour/news")
    slots = {u.code for u in news.children}
    changed = ad_units.set_ad_unit_status(news, Status.ARCHIVED, actor=admin(), now=now())
    db.session.commit()
    assert {u.code for u in changed} == {"daily-harbour/news", *slots} and len(slots) == 4
    assert all(unit(code).status == "archived" for code in slots)
    archived = events("ad_unit", news.id)[-1]
    assert archived.action == "archived" and "with 4 units below it" in archived.summary
    assert unit("daily-harbour").is_active

    with pytest.raises(DomainError, match="Restore News first"):
        ad_units.set_ad_unit_status(unit("daily-harbour/news/mpu"), Status.ACTIVE, actor=admin(), now=now())
    assert [u.code for u in ad_units.set_ad_unit_status(news, Status.ACTIVE, actor=admin(), now=now())] == [
        "daily-harbour/news"
    ]
    assert unit("daily-harbour/news/mpu").status == "archived"
    assert events("ad_unit", news.id)[-1].action == "restored"


def test_archiving_a_unit_twice_changes_and_records_nothing(ctx):
    slot = unit("harbour-living/travel/mpu")
    ad_units.set_ad_unit_status(slot, Status.ARCHIVED, actor=admin(), now=now())
    recorded = len(events("ad_unit", slot.id))
    assert ad_units.set_ad_unit_status(slot, Status.ARCHIVED, actor=admin(), now=now()) == []
    assert len(events("ad_unit", slot.id)) == recorded


# -- Products and their slots ---------------------------------------------------------------------


def test_a_product_sells_the_slots_below_its_units_only_when_it_includes_descendants(ctx):
    business = unit("daily-harbour/business")
    half_page = unit("daily-harbour/home/half-page")
    with_descendants = products.create_product(
        product_data(name="Business all", ad_units=[(business.id, True)]), actor=admin(), now=now()
    )
    without = products.create_product(
        product_data(name="Business only", ad_units=[(business.id, False), (half_page.id, False)]),
        actor=admin(),
        now=now(),
    )
    assert [u.code for u in products.product_slots(with_descendants)] == [
        "daily-harbour/business/half-page",
        "daily-harbour/business/leaderboard",
        "daily-harbour/business/mpu",
    ]
    assert [u.code for u in products.product_slots(without)] == ["daily-harbour/home/half-page"]


def test_a_slot_added_later_is_sold_by_products_that_include_descendants(ctx):
    news_display = product("News Display")
    before = {u.code for u in products.product_slots(news_display)}
    ad_units.create_ad_unit(
        name="Bottom banner", sizes=["728x90"], parent=unit("daily-harbour/news"), actor=admin(), now=now()
    )
    db.session.flush()
    db.session.expire_all()
    after = {u.code for u in products.product_slots(product("News Display"))}
    assert after - before == {"daily-harbour/news/bottom-banner"}


def test_archived_slots_drop_out_of_the_products_that_sell_them(ctx):
    mobile = product("Mobile Banner Network")
    assert len(products.product_slots(mobile)) == 4
    ad_units.set_ad_unit_status(unit("harbour-sport/football"), Status.ARCHIVED, actor=admin(), now=now())
    assert "harbour-sport/football/mobile-banner" not in [u.code for u in products.product_slots(mobile)]
    assert len(products.product_slots(mobile)) == 3


def test_a_product_keeps_every_value_and_its_creation_is_audited(ctx):
    created = products.create_product(product_data(), actor=admin(), now=now())
    db.session.commit()
    db.session.expire_all()
    saved = product("Business Half Page")
    assert saved.id == created.id
    assert (saved.category, saved.line_item_type, saved.pricing_models) == ("Display", "standard", ["cpm"])
    assert saved.sizes == ["300x600"] and (saved.min_quantity, saved.max_quantity) == (10_000, 2_000_000)
    assert saved.customisable == ["geo", "audience"] and saved.targeting_defaults == {"audience": ["finance"]}
    assert [(link.ad_unit.code, link.include_descendants) for link in saved.ad_unit_links] == [
        ("daily-harbour/business", True)
    ]
    [event] = events("product", saved.id)
    assert event.action == "created" and event.after["ad_units"] == ["daily-harbour/business/*"]


def test_every_problem_with_a_product_is_reported_at_once_and_nothing_is_saved(ctx):
    before = count(Product)
    with pytest.raises(ValidationFailed) as failure:
        products.create_product(
            product_data(
                name="",
                category="",
                line_item_type="banner",
                pricing_models=["cpc"],
                ad_units=[],
                sizes=["huge"],
                min_quantity=500,
                max_quantity=100,
                customisable=["weather"],
                targeting_defaults={"geo": ["atlantis"], "mood": ["happy"]},
                status="deleted",
            ),
            actor=admin(),
            now=now(),
        )
    errors = failure.value.errors
    assert set(errors) == {
        "name",
        "category",
        "line_item_type",
        "pricing_models",
        "ad_units",
        "sizes",
        "max_quantity",
        "customisable",
        "targeting_defaults",
        "status",
    }
    assert errors["ad_units"] == ["A product needs at least one ad unit."]
    assert errors["pricing_models"] == ["Unknown pricing model cpc: use CPM, CPD or flat fee."]
    assert errors["max_quantity"] == ["The maximum (100) is below the minimum (500)."]
    assert errors["targeting_defaults"] == ["Geography has no value atlantis.", "Unknown targeting dimension mood."]
    db.session.rollback()
    assert count(Product) == before


def test_a_product_without_ad_units_is_refused_with_a_message_on_its_ad_units(ctx):
    with pytest.raises(ValidationFailed) as failure:
        products.create_product(product_data(ad_units=[]), actor=admin(), now=now())
    assert failure.value.errors == {"ad_units": ["A product needs at least one ad unit."]}


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"sizes": ["video"]}, "sizes", "None of the product's ad units takes video."),
        ({"sizes": []}, "sizes", "Choose at least one creative size."),
        ({"pricing_models": []}, "pricing_models", "Allow at least one pricing model."),
        ({"name": "news DISPLAY"}, "name", "There is already a product called “news DISPLAY”."),
        ({"min_quantity": 0}, "min_quantity", "Enter a whole number from 1 to 1,000,000,000,000."),
        ({"ad_units": [(999_999, True)]}, "ad_units", "Ad unit 999999 does not exist."),
        ({"category": "C" * 81}, "category", "The category has at most 80 characters (this one has 81)."),
    ],
)
def test_a_product_with_one_bad_value_is_refused_on_that_field(ctx, changes, field, message):
    with pytest.raises(ValidationFailed) as failure:
        products.create_product(product_data(**changes), actor=admin(), now=now())
    assert failure.value.errors == {field: [message]}


def test_a_name_taken_in_accented_capitals_is_refused_on_its_field_not_clashing_in_the_database(ctx):
    products.create_product(product_data(name="ÉTÉ Display"), actor=admin(), now=now())
    with pytest.raises(ValidationFailed) as failure:
        products.create_product(product_data(name="ÉTÉ Display"), actor=admin(), now=now())
    assert failure.value.errors == {"name": ["There is already a product called “ÉTÉ Display”."]}
    members = [(product("News Display").id, True), (product("Sport Display").id, True)]
    packages.save_package(None, PackageData(name="ÉTÉ Bundle", members=members), actor=admin(), now=now())
    with pytest.raises(ValidationFailed) as failure:
        packages.save_package(None, PackageData(name="ÉTÉ Bundle", members=members), actor=admin(), now=now())
    assert failure.value.errors == {"name": ["There is already a package called “ÉTÉ Bundle”."]}


def test_an_active_product_cannot_sell_an_archived_unit(ctx):
    business = unit("daily-harbour/business")
    ad_units.set_ad_unit_status(business, Status.ARCHIVED, actor=admin(), now=now())
    with pytest.raises(ValidationFailed) as failure:
        products.create_product(product_data(), actor=admin(), now=now())
    assert failure.value.errors["ad_units"] == ["Business is archived."]
    archived = products.create_product(product_data(status="archived"), actor=admin(), now=now())
    assert archived.status == "archived"


def test_an_update_records_only_what_changed_and_a_stale_version_is_a_conflict(ctx):
    found = product("Sport Display")
    stale = found.version
    data = products.product_data(found)
    data.description = "Display across every Harbour Sport page."
    data.max_quantity = 5_000_000
    products.update_product(found, data, expected_version=stale, actor=admin(), now=now())
    db.session.commit()
    event = events("product", found.id)[-1]
    assert event.action == "updated"
    assert set(event.after) == {"description", "max_quantity"} and event.after["max_quantity"] == 5_000_000
    with pytest.raises(Conflict):
        products.update_product(found, products.product_data(found), expected_version=stale, actor=admin(), now=now())


# -- Packages ------------------------------------------------------------------------------------


def test_a_package_keeps_its_discount_exactly_and_is_audited(ctx):
    members = [(product("News Display").id, True), (product("Outstream Video — News").id, False)]
    created = packages.save_package(
        None,
        PackageData(name="News Video Duo", members=members, discount_pct=Decimal("12.35")),
        actor=admin(),
        now=now(),
    )
    db.session.commit()
    db.session.expire_all()
    saved = package("News Video Duo")
    assert saved.discount_pct == Decimal("12.35") and isinstance(saved.discount_pct, Decimal)
    assert sorted((m.product.name, m.mandatory) for m in saved.members) == [
        ("News Display", True),
        ("Outstream Video — News", False),
    ]
    [event] = events("package", created.id)
    assert event.after["discount_pct"] == "12.35"
    assert event.after["members"] == ["News Display", "Outstream Video — News (optional)"]

    unchanged = len(events("package", created.id))
    packages.save_package(
        saved,
        PackageData(name="News Video Duo", members=members, discount_pct=Decimal("12.35")),
        actor=admin(),
        now=now(),
    )
    assert len(events("package", created.id)) == unchanged, "saving the same values is not a change"
    packages.save_package(
        saved, PackageData(name="News Video Duo", members=members, discount_pct=Decimal("15")), actor=admin(), now=now()
    )
    change = events("package", created.id)[-1]
    assert change.action == "updated"
    assert (change.before, change.after) == ({"discount_pct": "12.35"}, {"discount_pct": "15"})


@pytest.mark.parametrize(
    ("members", "discount", "field", "message"),
    [
        ([("News Display", True)], "10", "members", "A package sells at least two products together."),
        ([("News Display", False), ("Sport Display", False)], "10", "members", "Make at least one product mandatory."),
        ([("News Display", True), ("Sport Display", True)], "150", "discount_pct", "between 0 % and 100 %"),
        ([("News Display", True), ("Sport Display", True)], "-5", "discount_pct", "between 0 % and 100 %"),
        ([("News Display", True), ("Sport Display", True)], "7.125", "discount_pct", "at most 2 decimals"),
        ([("News Display", True), ("Sport Display", True)], None, "discount_pct", "Enter the package discount"),
    ],
)
def test_a_bad_package_is_refused_on_its_field(ctx, members, discount, field, message):
    before = count(Package)
    with pytest.raises(ValidationFailed) as failure:
        packages.save_package(
            None,
            PackageData(
                name="Bad bundle",
                members=[(product(name).id, mandatory) for name, mandatory in members],
                discount_pct=Decimal(discount) if discount is not None else None,
            ),
            actor=admin(),
            now=now(),
        )
    assert message in failure.value.errors[field][0]
    db.session.rollback()
    assert count(Package) == before


def test_a_package_refuses_unknown_and_archived_products_and_a_taken_name(ctx):
    remnant = product("Remnant Display")
    data = products.product_data(remnant)
    data.status = "archived"
    products.update_product(remnant, data, expected_version=remnant.version, actor=admin(), now=now())
    with pytest.raises(ValidationFailed) as failure:
        packages.save_package(
            None,
            PackageData(name="sport fan bundle", members=[(remnant.id, True), (999_999, False)]),
            actor=admin(),
            now=now(),
        )
    errors = failure.value.errors
    assert errors["name"] == ["There is already a package called “sport fan bundle”."]
    assert errors["members"] == ["Remnant Display is archived.", "Product 999999 does not exist."]


def test_a_package_with_an_unknown_status_is_refused(ctx):
    with pytest.raises(ValidationFailed) as failure:
        packages.save_package(
            None,
            PackageData(
                name="Odd bundle",
                members=[(product("News Display").id, True), (product("Sport Display").id, True)],
                status="deleted",
            ),
            actor=admin(),
            now=now(),
        )
    assert failure.value.errors == {"status": ["Choose active or archived."]}


# -- Targeting -----------------------------------------------------------------------------------


def test_admins_add_key_values_and_audience_segments_and_each_is_audited(ctx):
    key_value = targeting.add_targeting_value(
        targeting.dimension("key_value"), code=" Section=Motoring ", name="section = motoring", actor=admin(), now=now()
    )
    segment = targeting.add_targeting_value(
        targeting.dimension("audience"), code="pet-owners", name="Pet owners", actor=admin(), now=now()
    )
    db.session.commit()
    assert key_value.code == "section=motoring" and segment.code == "pet-owners"
    assert targeting.targeting_values_by_dimension()["audience"]["pet-owners"].name == "Pet owners"
    [added] = events("targeting_value", segment.id)
    assert added.action == "created" and added.summary == "Added Audience segments value Pet owners (pet-owners)."


@pytest.mark.parametrize(
    ("key", "code", "message"),
    [
        ("key_value", "motoring", "Write a key-value as key=value, in lower case (section=motoring)."),
        ("key_value", "section = news", "Write a key-value as key=value, in lower case (section=motoring)."),
        ("key_value", "SECTION=NEWS", "Custom key-values already has the value section=news."),
        ("audience", "pet owners", "Use lower-case letters, digits, - and _ (auto-intenders)."),
        ("audience", "Auto-Intenders", "Audience segments already has the value auto-intenders."),
        ("key_value", "k" * 40 + "=" + "v" * 60, "at most 80 characters"),
    ],
)
def test_a_bad_or_duplicate_targeting_value_is_refused_on_its_code(ctx, key, code, message):
    before = count(TargetingValue)
    with pytest.raises(ValidationFailed) as failure:
        targeting.add_targeting_value(targeting.dimension(key), code=code, name="Some value", actor=admin(), now=now())
    assert message in failure.value.errors["code"][0]
    db.session.rollback()
    assert count(TargetingValue) == before


def test_values_of_fixed_dimensions_cannot_be_added(ctx):
    with pytest.raises(DomainError, match="come with the publisher's set-up"):
        targeting.add_targeting_value(
            targeting.dimension("geo"), code="cornwall", name="Cornwall", actor=None, now=now()
        )


def test_an_archived_value_is_no_longer_a_product_default(ctx):
    finance = targeting.targeting_values_by_dimension()["audience"]["finance"]
    targeting.set_targeting_value_status(finance, Status.ARCHIVED, actor=admin(), now=now())
    assert events("targeting_value", finance.id)[-1].after == {"status": "archived"}
    with pytest.raises(ValidationFailed) as failure:
        products.create_product(product_data(), actor=admin(), now=now())
    assert failure.value.errors == {"targeting_defaults": ["Audience segments value Finance is archived."]}


# -- Products as CSV -----------------------------------------------------------------------------


def test_exporting_and_importing_the_products_gives_back_the_same_file(ctx):
    exported = csvio.export_products()
    assert exported.count("\n") == 17  # the header and 16 demo products
    counts = csvio.import_products(exported.encode(), actor=admin(), now=now())
    db.session.commit()
    db.session.expire_all()
    assert counts == {"created": 0, "updated": 16}
    assert csvio.export_products() == exported


def test_a_product_whose_text_a_spreadsheet_would_run_is_exported_as_text_and_imports_back_unchanged(ctx):
    import csv
    import io

    pre_roll = product("Football Pre-roll")
    pre_roll.name = '=HYPERLINK("http://evil.example","Football")'
    pre_roll.description = "-2+3+cmd|' /C calc'!A0"
    product("Run of Network Display").description = "@SUM(1+1)\tthen text"
    db.session.flush()
    exported = csvio.export_products()
    cells = [cell for row in csv.reader(io.StringIO(exported)) for cell in row]
    assert '\'=HYPERLINK("http://evil.example","Football")' in cells
    assert "'-2+3+cmd|' /C calc'!A0" in cells and "'@SUM(1+1)\tthen text" in cells
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    counts = csvio.import_products(exported.encode(), actor=admin(), now=now())
    db.session.commit()
    db.session.expire_all()
    assert counts == {"created": 0, "updated": 16}
    assert product('=HYPERLINK("http://evil.example","Football")').description == "-2+3+cmd|' /C calc'!A0"
    assert csvio.export_products() == exported


def test_an_edited_product_file_round_trips_and_adds_a_new_product(ctx):
    exported = csvio.export_products()
    edited = exported.replace("Pre-roll before match highlights.", "Pre-roll before every highlight.")
    edited += (
        "Cricket Display,Display,standard,cpm,harbour-sport/cricket/*,728x90|300x250,5000,,geo|device,"
        "geo: london|scotland,active,Leaderboard and MPU on cricket pages.\n"
    )
    counts = csvio.import_products(edited, actor=admin(), now=now())
    db.session.commit()
    db.session.expire_all()
    assert counts == {"created": 1, "updated": 16}
    cricket = product("Cricket Display")
    assert cricket.targeting_defaults == {"geo": ["london", "scotland"]} and cricket.min_quantity == 5000
    assert product("Football Pre-roll").description == "Pre-roll before every highlight."
    reexported = csvio.export_products()
    assert reexported.startswith(csvio.COLUMNS[0]) and sorted(reexported.splitlines()) == sorted(edited.splitlines())


def test_every_bad_product_row_is_reported_with_its_line_and_nothing_is_imported(ctx):
    exported = csvio.export_products()
    header, *lines = exported.splitlines()
    first = next(line for line in lines if line.startswith("Run of Network Display,"))
    rows = [
        header,
        first.replace("Standard display across all three sites.", "Changed but the file is bad."),
        "Ghost Display,Display,standard,cpm,nowhere/at-all,300x250,,,,,active,",
        "Empty Units,Display,standard,cpm,,300x250,,,,,active,",
        "Bad Numbers,Display,standard,cpc,harbour-sport/*,300x250,²,lots,,,active,",
        "Bad Defaults,Display,standard,cpm,harbour-sport/*,300x250,,,geo,geo london,active,",
        "",
        "ghost display,Display,standard,cpm,harbour-sport/*,300x250,,,,,active,",
    ]
    before = csvio.export_products()
    audited = count(AuditEvent)
    with pytest.raises(ImportFailed) as failure:
        csvio.import_products("\n".join(rows) + "\n", actor=admin(), now=now())
    problems = [(p.line, p.message) for p in failure.value.problems]
    lines = {line for line, _ in problems}
    assert lines == {3, 4, 5, 6, 8}
    assert (3, "There is no ad unit with the code nowhere/at-all.") in problems
    assert (4, "ad units: A product needs at least one ad unit.") in problems
    assert (5, "min_quantity “²” is not a whole number.") in problems
    assert (5, "max_quantity “lots” is not a whole number.") in problems
    assert (5, "pricing models: Unknown pricing model cpc: use CPM, CPD or flat fee.") in problems
    assert (6, "targeting_defaults “geo london” should read dimension: code|code.") in problems
    assert (8, "“ghost display” is already on line 3.") in problems
    db.session.rollback()
    assert csvio.export_products() == before
    assert count(AuditEvent) == audited
