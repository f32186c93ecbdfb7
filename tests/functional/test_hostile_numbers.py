"""Every number and date is bounded where it enters: hostile values through every entry point.

Each form, htmx fragment, paste box, CSV import and JSON quote that takes a number or a date gets
1e30, 1E+999999, NaN, Infinity, -1, 5×10¹² impressions, days in 1900 and 9999 and flights in the
past. Each must answer with the field at fault named (400, never 500) and leave the database as
it was. Run on SQLite and PostgreSQL: a Numeric column overflows differently on each.
"""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.accounts.models import Account
from app.catalog.models import AdUnit, Package, Product
from app.db import utcnow
from app.extensions import current_clock, db
from app.finance.models import ThirdPartyCount
from app.orders.models import OrderLine
from app.proposals.models import Proposal, ProposalLine
from app.ratecards.models import RateCard
from app.workflow.models import ApprovalRule
from tests.conftest import DEMO_USERS, user
from tests.functional.test_proposal_pages import header

pytestmark = pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)

#: Amounts and percentages no one means.
NUMBERS = ["1e30", "1E+999999", "NaN", "Infinity", "-1"]
#: Quantities: the same, plus more impressions than exist.
QUANTITIES = [*NUMBERS, "5000000000000", "5e12"]
#: Adjustments may be negative (down to -90 % or -100 %), but not by a thousand percent.
ADJUSTMENTS = ["1e30", "1E+999999", "NaN", "Infinity", "-1000"]
DAYS = ["1900-01-01", "9999-12-31"]


# -- What "refused" means ---------------------------------------------------------------------


def fingerprint(app, *records) -> tuple:
    """Row counts of every table, and the columns of the given (model, id) records."""
    with app.app_context():
        counts = {
            table.name: db.session.scalar(sa.select(sa.func.count()).select_from(table))
            for table in db.metadata.sorted_tables
            if table.name not in {"user_sessions", "login_attempts"}
        }
        rows = []
        for model, record_id in records:
            row = db.session.get(model, record_id)
            rows.append({c.key: getattr(row, c.key) for c in sa.inspect(model).column_attrs})
        return counts, rows


#: Where an import lists its problems (each with its line and column).
IMPORT_PROBLEMS = 'data-testid="import-problems"'


def refused(response, field: str, *, json: bool = False) -> None:
    """A 400 with a message on `field`: its marker in HTML (or the import's list of problems),
    its key in JSON."""
    body = response.get_data(as_text=True)
    assert response.status_code == 400, f"{field}: {response.status_code} {body[:600]}"
    if json:
        assert field in response.json["errors"], response.json
    elif field == IMPORT_PROBLEMS:
        assert field in body and "Line 2: " in body, body[:3000]
    else:
        assert f'data-field-error="{field}"' in body, f"no error on {field}: {body[:3000]}"


def each_refused(app, send, cases, *records, json: bool = False) -> None:
    """Send every (field, value) case; each is refused on its field and nothing changes."""
    before = fingerprint(app, *records)
    for field, value, *marker in cases:
        refused(send(field, value), marker[0] if marker else field, json=json)
        assert fingerprint(app, *records) == before, f"{field}={value} changed the database"


# -- The demo's records -----------------------------------------------------------------------


def ids(app) -> dict:
    with app.app_context():
        year = current_clock().today().year + 1
        return {
            "advertiser": db.session.scalar(sa.select(Account.id).where(Account.name == "Halden Auto Group")),
            "agency": db.session.scalar(sa.select(Account.id).where(Account.kind == "agency").limit(1)),
            "card": db.session.scalar(sa.select(RateCard.id).where(RateCard.name == f"Standard {year}")),
            "sport": db.session.scalar(sa.select(Product.id).where(Product.name == "Sport Display")),
            "package": db.session.scalar(sa.select(Package.id).limit(1)),
            "site": db.session.scalar(sa.select(AdUnit.id).where(AdUnit.level == "site").limit(1)),
            "rep": user(DEMO_USERS["sales_rep"]).id,
            "year": year,
            "today": current_clock().today(),
        }


@pytest.fixture
def proposal(app, client, auth) -> dict:
    """A rep's proposal for next February with one priced line."""
    auth.login_as("sales_rep")
    v = ids(app)
    response = client.post("/proposals/new", data=header(v, "Bounded"))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    v["proposal"] = int(response.location.rsplit("/", 1)[1])
    assert client.post(f"/proposals/{v['proposal']}/lines", data={"product": v["sport"], "quantity": "500000"})
    with app.app_context():
        found = db.session.get(Proposal, v["proposal"])
        v["line"] = found.lines[0].id
        v["version"] = found.version
        v["seen"] = found.lines[0].updated_at.isoformat()
    return v


def past_flight(v: dict) -> dict:
    yesterday = v["today"] - timedelta(days=1)
    return {"start": (yesterday - timedelta(days=6)).isoformat(), "end": yesterday.isoformat()}


LINE_CASES = [
    *(("quantity", value) for value in QUANTITIES),
    *(("budget", value) for value in NUMBERS),
    *(("line_discount_pct", value) for value in NUMBERS),
    *(("start", value) for value in DAYS),
    *(("end", value) for value in DAYS),
]


# -- Proposals ----------------------------------------------------------------------------------


def test_the_proposal_header_refuses_unbounded_budgets_discounts_and_dates(app, client, proposal):
    v = proposal
    cases = [
        *(("budget_goal", value) for value in NUMBERS),
        *(("discount_pct", value) for value in NUMBERS),
        *((name, value) for name in ("start_day", "end_day", "expires_on") for value in DAYS),
    ]
    each_refused(app, lambda f, x: client.post("/proposals/new", data=header(v, "Bounded", **{f: x})), cases)
    each_refused(
        app,
        lambda f, x: client.post(
            f"/proposals/{v['proposal']}/edit", data=header(v, "Bounded", version=v["version"], **{f: x})
        ),
        cases,
        (Proposal, v["proposal"]),
    )


def test_a_proposal_flight_beyond_its_rate_cards_horizon_is_refused(app, client, proposal):
    v = proposal
    beyond = f"{v['year'] + 1}-01-10"
    response = client.post("/proposals/new", data=header(v, "Bounded", end_day=beyond))
    refused(response, "end_day")


def test_a_line_refuses_unbounded_numbers_and_dates_when_added_edited_or_previewed(app, client, proposal):
    v = proposal
    base = {"product": v["sport"], "quantity": "500000"}

    def line(f, x):
        data = {k: val for k, val in base.items() if not (f == "budget" and k == "quantity")}
        return {**data, f: x}

    each_refused(app, lambda f, x: client.post(f"/proposals/{v['proposal']}/lines", data=line(f, x)), LINE_CASES)
    each_refused(
        app,
        lambda f, x: client.post(
            f"/proposals/{v['proposal']}/lines/{v['line']}", data={**line(f, x), "seen": v["seen"]}
        ),
        LINE_CASES,
        (ProposalLine, v["line"]),
    )
    each_refused(
        app,
        lambda f, x: client.get(
            f"/proposals/{v['proposal']}/lines/{v['line']}/preview",
            query_string={"start": f"{v['year']}-02-01", "end": f"{v['year']}-02-14", "pricing_model": "cpm"}
            | line(f, x),
        ),
        LINE_CASES,
    )
    each_refused(
        app,
        lambda f, x: client.get(
            "/pricing/quote",
            query_string={
                **line(f, x),
                "rate_card": v["card"],
                "pricing_model": "cpm",
                "start": f"{v['year']}-02-01",
                "end": f"{v['year']}-02-14",
                **({f: x} if f in ("start", "end") else {}),
            },
        ),
        LINE_CASES,
        json=True,
    )


def test_a_new_line_whose_flight_is_over_is_refused(app, client, proposal):
    v = proposal
    before = fingerprint(app)
    response = client.post(
        f"/proposals/{v['proposal']}/lines", data={"product": v["sport"], "quantity": "500000", **past_flight(v)}
    )
    refused(response, "end")
    assert "a new line runs today or later" in response.get_data(as_text=True)
    assert fingerprint(app) == before


def test_a_line_costing_more_than_any_budget_is_refused_on_its_quantity(app, client, proposal):
    from app.ratecards.service import set_base_rate

    v = proposal
    with app.app_context():
        card = db.session.get(RateCard, v["card"])
        set_base_rate(card, db.session.get(Product, v["sport"]), "cpm", Decimal("5000000"), actor=None, now=utcnow())
        db.session.commit()
    before = fingerprint(app)
    response = client.post(
        f"/proposals/{v['proposal']}/lines", data={"product": v["sport"], "quantity": "999999999999"}
    )
    refused(response, "quantity")
    assert "more than the 100,000,000,000 any line may" in response.get_data(as_text=True)
    assert fingerprint(app) == before


def test_pasted_lines_refuse_unbounded_quantities_and_dates(app, client, proposal):
    v = proposal
    start, end = f"{v['year']}-02-01", f"{v['year']}-02-14"
    past = past_flight(v)
    rows = [
        *(f"Sport Display\t{q}\t{start}\t{end}" for q in QUANTITIES),
        *(f"Sport Display\t500000\t{d}\t{end}" for d in DAYS),
        *(f"Sport Display\t500000\t{start}\t{d}" for d in DAYS),
        f"Sport Display\t500000\t{past['start']}\t{past['end']}",
    ]
    each_refused(
        app,
        lambda f, x: client.post(f"/proposals/{v['proposal']}/paste", data={"paste": x}),
        [("paste", row) for row in rows],
    )


def test_recommendations_and_their_lines_refuse_unbounded_budgets_quantities_and_dates(app, client, proposal):
    v = proposal
    start, end = f"{v['year']}-02-01", f"{v['year']}-02-14"
    goals = {"budget": "20000", "start": start, "end": end}
    cases = [
        *(("budget", value) for value in NUMBERS),
        *(("start", value) for value in DAYS),
        *(("end", value) for value in DAYS),
        ("end", past_flight(v)),
    ]

    def goals_with(f, x) -> dict:
        return {**goals, **(x if isinstance(x, dict) else {f: x})}

    each_refused(
        app, lambda f, x: client.get(f"/proposals/{v['proposal']}/recommend", query_string=goals_with(f, x)), cases
    )
    lines = {**goals, "product": [v["sport"]], "impressions": ["500000"]}
    each_refused(
        app,
        lambda f, x: client.post(f"/proposals/{v['proposal']}/recommended-lines", data={**lines, **goals_with(f, x)}),
        [
            *((f, x, "recommend") for f, x in cases),
            *(("impressions", value, "recommend") for value in QUANTITIES),
        ],
    )


def test_a_package_refuses_unbounded_impressions(app, client, proposal):
    v = proposal
    each_refused(
        app,
        lambda f, x: client.post(f"/proposals/{v['proposal']}/package", data={"package": v["package"], f: x}),
        [("impressions", value, "package") for value in QUANTITIES],
    )


# -- Rate cards, catalog, accounts, rules, inventory, finance -----------------------------------


def test_rate_card_rows_and_dates_refuse_unbounded_values(app, client, auth):
    auth.login_as("admin")
    v = ids(app)
    card = v["card"]
    page = f"/rate-cards/{card}"
    forms = [
        ("base-rates", {"rate-product_id": v["sport"], "rate-pricing_model": "cpm"}, "rate-rate", "rate"),
        ("premiums", {"premium-dimension": "geo", "premium-kind": "absolute"}, "premium-amount", "amount"),
        ("volume-tiers", {"tier-discount_pct": "5"}, "tier-min_quantity", "min_quantity"),
        ("volume-tiers", {"tier-min_quantity": "1000"}, "tier-discount_pct", "discount_pct"),
        ("demand-bands", {"band-adjustment_pct": "5"}, "band-from_pct", "from_pct"),
        ("demand-bands", {"band-from_pct": "50"}, "band-adjustment_pct", "adjustment_pct"),
        ("floors", {"floor-product_id": v["sport"], "floor-pricing_model": "cpm"}, "floor-rate", "rate"),
    ]
    for path, fixed, name, field in forms:
        values = ADJUSTMENTS if name == "band-adjustment_pct" else QUANTITIES
        each_refused(
            app,
            lambda f, x, path=path, fixed=fixed, name=name: client.post(f"{page}/{path}", data={**fixed, name: x}),
            [(field, value, name) for value in values],
            (RateCard, card),
        )
    season = {"season-name": "Bounded", "season-adjustment_pct": "10"}
    each_refused(
        app,
        lambda f, x: client.post(
            f"{page}/seasons",
            data={**season, "season-starts_on": f"{v['year']}-03-01", "season-ends_on": f"{v['year']}-03-10", f: x},
        ),
        [
            *(("season-adjustment_pct", value) for value in ADJUSTMENTS),
            *(("season-starts_on", value) for value in DAYS),
            *(("season-ends_on", value) for value in DAYS),
        ],
        (RateCard, card),
    )
    each_refused(
        app,
        lambda f, x: client.post(f"{page}/copy", data={"copy-name": "Bounded copy", f: x}),
        [("copy-years", value) for value in ["1e30", "1E+999999", "NaN", "Infinity", "5000000000000", "9000", "-9000"]],
        (RateCard, card),
    )
    with app.app_context():
        found = db.session.get(RateCard, card)
        fields = {"name": found.name, "currency": found.currency, "version": found.version, "status": found.status}
    each_refused(
        app,
        lambda f, x: client.post(
            f"{page}/edit", data={**fields, "valid_from": f"{v['year']}-01-01", "valid_to": f"{v['year']}-12-31", f: x}
        ),
        [(name, value) for name in ("valid_from", "valid_to") for value in DAYS],
        (RateCard, card),
    )


def test_a_rate_card_csv_with_unbounded_values_imports_nothing(app, client, auth):
    auth.login_as("admin")
    v = ids(app)
    header_row = (
        "record,product,pricing_model,dimension,value,kind,amount,name,starts_on,ends_on,min_quantity,from_pct\n"
    )
    rows = [
        *(f"base_rate,Sport Display,cpm,,,,{x},,,,," for x in NUMBERS),
        *(f"volume_tier,,,,,,5,,,,{x}," for x in QUANTITIES),
        *(f"season,,,,,,10,Bounded,{d},{v['year']}-03-10,," for d in DAYS),
        *(f"demand_band,,,,,,{x},,,,,50" for x in ADJUSTMENTS),
    ]

    def send(f, row):
        data = {"file": (io.BytesIO((header_row + row + "\n").encode()), "card.csv")}
        return client.post(f"/rate-cards/{v['card']}/import", data=data, content_type="multipart/form-data")

    each_refused(app, send, [("import", row, IMPORT_PROBLEMS) for row in rows], (RateCard, v["card"]))


def test_products_refuse_unbounded_quantities_from_the_form_and_csv(app, client, auth):
    from tests.functional.test_catalog_pages import product_form

    auth.login_as("admin")
    each_refused(
        app,
        lambda f, x: client.post("/catalog/products/new", data=product_form(app, **{f: x})),
        [(name, value) for name in ("min_quantity", "max_quantity") for value in QUANTITIES],
    )
    header_row = "name,category,line_item_type,pricing_models,ad_units,min_quantity,max_quantity\n"

    def send(f, x):
        row = f"Bounded,Display,standard,cpm,harbour-sport,{x if f == 'min' else ''},{x if f == 'max' else ''}\n"
        data = {"file": (io.BytesIO((header_row + row).encode()), "products.csv")}
        return client.post("/catalog/products/import", data=data, content_type="multipart/form-data")

    each_refused(app, send, [(f, x, IMPORT_PROBLEMS) for f in ("min", "max") for x in QUANTITIES])


def test_package_and_ad_unit_percentages_are_bounded(app, client, auth):
    auth.login_as("admin")
    v = ids(app)
    with app.app_context():
        package = db.session.get(Package, v["package"])
        members = {f"member_{m.product_id}": "mandatory" if m.mandatory else "optional" for m in package.members}
        fixed = {"name": package.name, "status": package.status, **members}
        site = db.session.get(AdUnit, v["site"])
        unit = {"name": site.name, "sizes": ", ".join(site.sizes), "parent_id": ""}
    each_refused(
        app,
        lambda f, x: client.post(f"/catalog/packages/{v['package']}", data={**fixed, f: x}),
        [("discount_pct", value) for value in NUMBERS],
        (Package, v["package"]),
    )
    each_refused(
        app,
        lambda f, x: client.post(f"/catalog/ad-units/{v['site']}", data={**unit, f: x}),
        [("safety_margin_pct", value) for value in NUMBERS],
        (AdUnit, v["site"]),
    )


def test_account_discounts_and_commissions_are_bounded(app, client, auth):
    auth.login_as("sales_manager")
    v = ids(app)
    fields = {}
    for kind in ("advertiser", "agency"):
        with app.app_context():
            account = db.session.get(Account, v[kind])
            fields[kind] = {
                "kind": account.kind,
                "name": account.name,
                "billing_address": account.billing_address,
                "billing_country": account.billing_country,
                "currency": account.currency,
                "credit_status": account.credit_status,
                "owner_id": account.owner_id,
                "discount_pct": account.discount_pct,
                "agency_commission_pct": account.agency_commission_pct,
                "version": account.version,
            }
    for kind, field in (("advertiser", "discount_pct"), ("agency", "agency_commission_pct")):
        each_refused(
            app,
            lambda f, x, kind=kind: client.post(f"/accounts/{v[kind]}/edit", data={**fields[kind], f: x}),
            [(field, value) for value in NUMBERS],
            (Account, v[kind]),
        )


def test_approval_rule_values_are_bounded(app, client, auth):
    auth.login_as("admin")
    form = {
        "name": "Bounded",
        "kind": "approval",
        "combinator": "all",
        "op_0": ">",
        "step": "1",
        "approver_role": "ad_ops",
        "step_mode": "all",
        "active": "on",
    }
    cases = [
        ("conditions", (name, value))
        for name in ("total_net", "max_discount_pct", "lines")
        for value in ("1e30", "1E+999999", "NaN", "Infinity", "-1")
    ]
    each_refused(
        app,
        lambda f, x: client.post("/workflow/rules/new", data={**form, "field_0": x[0], "value_0": x[1]}),
        cases,
    )
    with app.app_context():
        rule = db.session.scalar(sa.select(ApprovalRule).limit(1))
        assert rule is not None


def test_availability_and_holds_refuse_unbounded_quantities_and_dates(app, client, auth):
    auth.login_as("sales_rep")
    v = ids(app)
    query = {"product": v["sport"], "start": f"{v['year']}-02-01", "end": f"{v['year']}-02-14", "quantity": "1000"}
    cases = [
        *(("quantity", value) for value in QUANTITIES),
        *(("start", value) for value in DAYS),
        *(("end", value) for value in DAYS),
    ]
    each_refused(
        app, lambda f, x: client.get("/inventory/availability", query_string={**query, f: x}), cases, json=True
    )
    hold = {**query, "label": "Bounded", "back": f"/catalog/products/{v['sport']}"}
    each_refused(
        app,
        lambda f, x: client.post("/inventory/holds", data={**hold, f: x}),
        [*cases, ("end", past_flight(v)["end"]), ("label", " ")],
    )


def test_third_party_counts_refuse_unbounded_units_and_days(app, client, auth):
    auth.login_as("finance")
    with app.app_context():
        line_id = db.session.scalar(sa.select(OrderLine.id).limit(1))
        count = db.session.scalar(sa.select(sa.func.count(ThirdPartyCount.id)))
        today = current_clock().today().isoformat()

    def send(f, x):
        text = f"line,day,units\n{line_id},{x if f == 'day' else today},{x if f == 'units' else 5}\n"
        return client.post(
            "/finance/counts",
            data={"counts": (io.BytesIO(text.encode()), "counts.csv")},
            content_type="multipart/form-data",
        )

    each_refused(
        app,
        send,
        [*(("units", x, "counts") for x in QUANTITIES), *(("day", d, "counts") for d in DAYS)],
    )
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(ThirdPartyCount.id))) == count
