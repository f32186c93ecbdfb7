from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.access import allow
from app.catalog import ad_units as catalog_units
from app.catalog import csvio, panels, queries
from app.catalog import packages as catalog_packages
from app.catalog import products as catalog_products
from app.catalog import targeting as catalog_targeting
from app.catalog.forms import AdUnitForm, PackageForm, ProductForm, TargetingValueForm
from app.catalog.models import (
    DIMENSION_LABELS,
    EDITABLE_DIMENSIONS,
    AdUnit,
    AdUnitLevel,
    DimensionKey,
    Package,
    Product,
    Status,
    TargetingDimension,
    TargetingValue,
)
from app.csvio import ImportFailed
from app.db import utcnow
from app.errors import NotFound
from app.extensions import current_clock, db
from app.formats import ngettext
from app.forms import form_sent_before, options, posted_version, redirect_to_created, submit
from app.roles import Role
from app.transaction import abandon
from app.validation import parse_id

bp = Blueprint("catalog", __name__, url_prefix="/catalog")

MANAGERS = (Role.ADMIN,)


def _get(model, object_id: int, what: str):
    found = db.session.get(model, object_id)
    if found is None:
        raise NotFound(f"There is no such {what}.")
    return found


# -- The rep's catalog ---------------------------------------------------------------------------


@bp.route("/")
@allow()
def index():
    filters = queries.CatalogFilters.from_args(request.args)
    cards = panels.rate_cards_for(current_user, on=current_clock().today())
    card = next((c for c in cards if c.id == filters.card_id), cards[0] if cards else None)
    return render_template(
        "catalog/index.html",
        filters=filters,
        products=queries.catalog_products(filters),
        categories=catalog_products.categories(),
        sites=queries.sites(),
        sizes=queries.known_sizes(),
        cards=cards,
        card=card,
        can_manage=current_user.has_role(*MANAGERS),
    )


@bp.route("/products/<int:product_id>")
@allow()
def product(product_id: int):
    found = _get(Product, product_id, "product")
    values = catalog_targeting.targeting_values_by_dimension()
    return render_template(
        "catalog/product.html",
        product=found,
        slots=catalog_products.product_slots(found),
        path=catalog_units.ad_unit_path,
        cards=panels.rate_cards_for(current_user, on=current_clock().today(), and_later=True),
        packages=queries.packages_with(found.id),
        values=values,
        dimension_labels=DIMENSION_LABELS,
        can_manage=current_user.has_role(*MANAGERS),
        **panels.product_panels(found),
    )


# -- Ad units ------------------------------------------------------------------------------------


def _parent_choices(exclude: AdUnit | None = None) -> list:
    units = queries.all_units()
    parents = [
        u
        for u in units.values()
        if u.level != AdUnitLevel.SLOT and u.is_active and (exclude is None or u.id != exclude.id)
    ]
    labelled = sorted((catalog_units.ad_unit_path(u), u.id) for u in parents)
    return options([("", "— none: a new site —"), *((unit_id, label) for label, unit_id in labelled)])


def _unit_form_page(form: AdUnitForm, unit: AdUnit | None, status: int = 200):
    return render_template(
        "catalog/ad_units.html",
        tree=catalog_units.ad_unit_tree(),
        form=form,
        unit=unit,
        path=catalog_units.ad_unit_path,
    ), status


@bp.route("/ad-units", methods=["GET", "POST"])
@allow(*MANAGERS)
def ad_units():
    """The tree, and the form that adds a unit to it."""
    if (earlier := form_sent_before()) is not None:
        return earlier
    form = AdUnitForm()
    form.parent_id.choices = _parent_choices()
    if request.method == "GET" and parse_id(request.args.get("parent")):
        form.parent_id.data = request.args["parent"]
    unit = submit(
        form,
        save=lambda: catalog_units.create_ad_unit(
            name=form.name.data or "",
            code=form.code.data or "",
            sizes=catalog_units.parse_sizes(form.sizes.data or ""),
            parent=_parent(form.parent_id.data),
            actor=current_user,
            now=utcnow(),
        ),
    )
    if unit is not None:
        flash(f"Added {unit.level} {catalog_units.ad_unit_path(unit)}.", "success")
        return redirect_to_created(url_for("catalog.ad_units") + f"#unit-{unit.id}")
    return _unit_form_page(form, None, 400 if form.errors else 200)


def _parent(raw: str | None) -> AdUnit | None:
    parent_id = parse_id(raw)
    return _get(AdUnit, parent_id, "parent ad unit") if parent_id else None


@bp.route("/ad-units/<int:unit_id>", methods=["GET", "POST"])
@allow(*MANAGERS)
def ad_unit(unit_id: int):
    unit = _get(AdUnit, unit_id, "ad unit")
    form = AdUnitForm(obj=unit if request.method == "GET" else None)
    form.parent_id.choices = _parent_choices(exclude=unit)
    if request.method == "GET":
        form.parent_id.data = str(unit.parent_id or "")
        form.sizes.data = ", ".join(unit.sizes)
    saved = submit(
        form,
        save=lambda: catalog_units.update_ad_unit(
            unit,
            name=form.name.data or "",
            sizes=catalog_units.parse_sizes(form.sizes.data or ""),
            parent=_parent(form.parent_id.data),
            actor=current_user,
            now=utcnow(),
            safety_margin_pct=form.safety_margin_pct.data,
        ),
    )
    if saved is not None:
        flash(f"Saved {catalog_units.ad_unit_path(unit)}.", "success")
        return redirect(url_for("catalog.ad_units") + f"#unit-{unit.id}")
    return render_template("catalog/ad_unit.html", form=form, unit=unit, path=catalog_units.ad_unit_path), (
        400 if form.errors else 200
    )


@bp.route("/ad-units/<int:unit_id>/status", methods=["POST"])
@allow(*MANAGERS)
def ad_unit_status(unit_id: int):
    unit = _get(AdUnit, unit_id, "ad unit")
    status = Status.ARCHIVED if request.form.get("status") == "archived" else Status.ACTIVE
    changed = catalog_units.set_ad_unit_status(unit, status, actor=current_user, now=utcnow())
    verb = "Archived" if status == Status.ARCHIVED else "Restored"
    flash(
        f"{verb} {catalog_units.ad_unit_path(unit)}"
        + (
            " and " + ngettext("%(num)s unit below it.", "%(num)s units below it.", len(changed) - 1)
            if len(changed) > 1
            else "."
        ),
        "success",
    )
    return redirect(url_for("catalog.ad_units") + f"#unit-{unit.id}")


# -- Targeting -----------------------------------------------------------------------------------


def _targeting_page(forms: dict[str, TargetingValueForm], status: int = 200):
    dimensions = db.session.query(TargetingDimension).order_by(TargetingDimension.id).all()
    return render_template(
        "catalog/targeting.html", dimensions=dimensions, forms=forms, editable=EDITABLE_DIMENSIONS
    ), status


@bp.route("/targeting")
@allow(*MANAGERS)
def targeting():
    return _targeting_page({key.value: TargetingValueForm(prefix=key.value) for key in EDITABLE_DIMENSIONS})


@bp.route("/targeting/<key>/values", methods=["POST"])
@allow(*MANAGERS)
def add_targeting_value(key: str):
    dimension = catalog_targeting.dimension(key)
    if (earlier := form_sent_before()) is not None:
        return earlier
    form = TargetingValueForm(prefix=key)
    value = submit(
        form,
        save=lambda: catalog_targeting.add_targeting_value(
            dimension, code=form.code.data or "", name=form.name.data or "", actor=current_user, now=utcnow()
        ),
    )
    if value is not None:
        flash(f"Added {dimension.name} value {value.name}.", "success")
        return redirect_to_created(url_for("catalog.targeting") + f"#dimension-{key}")
    forms = {k.value: TargetingValueForm(prefix=k.value, formdata=None) for k in EDITABLE_DIMENSIONS}
    forms[key] = form
    return _targeting_page(forms, 400)


@bp.route("/targeting/values/<int:value_id>/status", methods=["POST"])
@allow(*MANAGERS)
def targeting_value_status(value_id: int):
    value = _get(TargetingValue, value_id, "targeting value")
    status = Status.ARCHIVED if request.form.get("status") == "archived" else Status.ACTIVE
    catalog_targeting.set_targeting_value_status(value, status, actor=current_user, now=utcnow())
    flash(f"{value.name} is {status.value}.", "success")
    return redirect(url_for("catalog.targeting") + f"#dimension-{value.dimension.key}")


# -- Products ------------------------------------------------------------------------------------


def _product_form(product: Product | None) -> ProductForm:
    form = ProductForm(obj=product if request.method == "GET" else None)
    units = queries.all_units()
    form.ad_units.choices = options(
        sorted(((u.id, catalog_units.ad_unit_path(u)) for u in units.values() if u.is_active), key=lambda item: item[1])
    )
    form.sizes.choices = options((s, s) for s in queries.known_sizes())
    if request.method == "GET":
        if product is not None:
            form.ad_units.data = [str(link.ad_unit_id) for link in product.ad_unit_links]
            form.include_descendants.data = all(link.include_descendants for link in product.ad_unit_links)
            form.version.data = str(product.version)
        else:
            form.pricing_models.data = ["cpm"]
            form.status.data = Status.ACTIVE.value
    return form


def _defaults_from(form_data) -> dict[str, list[str]]:
    return {key.value: form_data.getlist(f"default_{key.value}") for key in DimensionKey}


def _product_data(form: ProductForm) -> catalog_products.ProductData:
    include = bool(form.include_descendants.data)
    customisable = form.customisable.data or []
    return catalog_products.ProductData(
        name=form.name.data or "",
        description=form.description.data or "",
        category=form.category.data or "",
        line_item_type=form.line_item_type.data or "",
        pricing_models=form.pricing_models.data or [],
        ad_units=[(unit_id, include) for unit_id in map(parse_id, form.ad_units.data or []) if unit_id],
        sizes=form.sizes.data or [],
        min_quantity=form.min_quantity.data,
        max_quantity=form.max_quantity.data,
        customisable=customisable,
        targeting_defaults={k: v for k, v in _defaults_from(request.form).items() if k in customisable},
        status=form.status.data or "",
    )


def _product_page(form: ProductForm, product: Product | None):
    defaults = (
        _defaults_from(request.form) if request.method == "POST" else (product.targeting_defaults if product else {})
    )
    dimensions = db.session.query(TargetingDimension).order_by(TargetingDimension.id).all()
    return render_template(
        "catalog/product_form.html",
        form=form,
        product=product,
        dimensions=dimensions,
        defaults=defaults,
        categories=catalog_products.categories(),
    ), 400 if form.errors else 200


@bp.route("/products/new", methods=["GET", "POST"])
@allow(*MANAGERS)
def new_product():
    if (earlier := form_sent_before()) is not None:
        return earlier
    form = _product_form(None)
    created = submit(
        form,
        save=lambda: catalog_products.create_product(_product_data(form), actor=current_user, now=utcnow()),
        check=lambda: catalog_products.validate_product(_product_data(form)),
    )
    if created is not None:
        flash(f"Created product {created.name}.", "success")
        return redirect_to_created(url_for("catalog.product", product_id=created.id))
    return _product_page(form, None)


@bp.route("/products/<int:product_id>/edit", methods=["GET", "POST"])
@allow(*MANAGERS)
def edit_product(product_id: int):
    found = _get(Product, product_id, "product")
    form = _product_form(found)
    saved = submit(
        form,
        save=lambda: catalog_products.update_product(
            found,
            _product_data(form),
            expected_version=posted_version(form.version.data),
            actor=current_user,
            now=utcnow(),
        ),
        check=lambda: catalog_products.validate_product(_product_data(form), product_id=found.id),
    )
    if saved is not None:
        flash(f"Saved {found.name}.", "success")
        return redirect(url_for("catalog.product", product_id=found.id))
    return _product_page(form, found)


@bp.route("/products.csv")
@allow(*MANAGERS)
def export_products():
    body = csvio.export_products()
    return Response(body, mimetype="text/csv", headers={"Content-Disposition": 'attachment; filename="products.csv"'})


@bp.route("/products/import", methods=["GET", "POST"])
@allow(*MANAGERS)
def import_products():
    from flask_wtf import FlaskForm

    form = FlaskForm()
    problems, status = [], 200
    if form.validate_on_submit():
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            problems, status = ["Choose a CSV file to import."], 400
        else:
            try:
                counts = csvio.import_products(upload.read(), actor=current_user, now=utcnow())
            except ImportFailed as exc:
                abandon(db.session)
                problems, status = [str(p) for p in exc.problems], 400
            else:
                flash(f"Imported products: {counts['created']} created, {counts['updated']} updated.", "success")
                return redirect(url_for("catalog.index", archived="1"))
    return render_template(
        "catalog/import.html",
        form=form,
        problems=problems,
        what="products",
        columns=csvio.COLUMNS,
        back=url_for("catalog.index"),
    ), status


# -- Packages ------------------------------------------------------------------------------------


@bp.route("/packages")
@allow()
def packages():
    found = db.session.query(Package).order_by(Package.name).all()
    return render_template("catalog/packages.html", packages=found, can_manage=current_user.has_role(*MANAGERS))


def _members_from(form_data) -> list[tuple[int, bool]]:
    members = []
    for key, value in form_data.items():
        if key.startswith("member_") and value in ("mandatory", "optional"):
            product_id = parse_id(key.removeprefix("member_"))
            if product_id:
                members.append((product_id, value == "mandatory"))
    return members


@bp.route("/packages/new", methods=["GET", "POST"])
@allow(*MANAGERS)
def new_package():
    if (earlier := form_sent_before()) is not None:
        return earlier
    return _package_page(None)


@bp.route("/packages/<int:package_id>", methods=["GET", "POST"])
@allow(*MANAGERS)
def package(package_id: int):
    return _package_page(_get(Package, package_id, "package"))


def _package_page(found: Package | None):
    form = PackageForm(obj=found if request.method == "GET" else None)
    if request.method == "GET" and found is None:
        form.discount_pct.data = Decimal("0")
    saved = submit(
        form,
        save=lambda: catalog_packages.save_package(
            found,
            catalog_packages.PackageData(
                name=form.name.data or "",
                description=form.description.data or "",
                discount_pct=form.discount_pct.data,
                members=_members_from(request.form),
                status=form.status.data or Status.ACTIVE.value,
            ),
            actor=current_user,
            now=utcnow(),
        ),
    )
    if saved is not None:
        flash(f"Saved package {saved.name}.", "success")
        return redirect_to_created(url_for("catalog.packages"))
    if request.method == "POST":
        members = dict(_members_from(request.form))
    else:
        members = {m.product_id: m.mandatory for m in found.members} if found else {}
    products = db.session.query(Product).filter(Product.status == Status.ACTIVE.value).order_by(Product.name).all()
    return render_template(
        "catalog/package_form.html", form=form, package=found, products=products, members=members
    ), 400 if form.errors else 200
