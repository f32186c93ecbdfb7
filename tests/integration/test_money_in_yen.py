"""A yen rate card end to end: yen have no decimals, from the price to the PDF, revenue, the export
and the ad server; the rate keeps its 4 decimals throughout."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal as D

import openpyxl
import pypdf
import pytest
import sqlalchemy as sa
from babel.numbers import format_currency

from app.accounts.models import Account, Contact
from app.adserver import outbox
from app.adserver.models import SandboxLineItem
from app.auth.models import User
from app.catalog.models import Product
from app.errors import ValidationFailed
from app.extensions import current_clock, current_settings, db
from app.finance import export, queries
from app.orders.models import Order
from app.proposals import bulk, lines
from app.ratecards import service as ratecards
from app.workflow import service as workflow
from tests.conftest import DEMO_USERS, now, user
from tests.integration.test_adserver import FAST
from tests.integration.test_proposals import line_data, new_proposal, rep, settings
from tests.integration.test_signing import accept, sent

#: Sport Display's CPM on the yen card: a rate keeps 4 decimals in any currency.
RATE = D("1234.5678")
#: 1,234.5678 x 333,333 / 1,000 = 411,522.188... yen
GROSS = D("411522")


def yen_card():
    admin = user(DEMO_USERS["admin"])
    year = current_clock().today().year + 1
    card = ratecards.create_card(
        ratecards.CardData(
            name=f"Japan {year}", currency="JPY", valid_from=date(year, 1, 1), valid_to=date(year, 12, 31)
        ),
        actor=admin,
        now=now(),
    )
    sport = db.session.scalar(sa.select(Product).where(Product.name == "Sport Display"))
    ratecards.set_base_rate(card, sport, "cpm", RATE, actor=admin, now=now())
    return card


def yen_order() -> Order:
    """A signed order on the yen card: one line from 20 January to 9 February (12 of its 21 days in January)."""
    year = current_clock().today().year + 1
    proposal = new_proposal(
        rate_card_id=yen_card().id,
        advertiser_id=db.session.scalar(sa.select(Account.id).where(Account.name == "Ferrymoor Bank")),
        start_day=date(year, 1, 20),
        end_day=date(year, 2, 9),
    )
    proposal.buyer_contact = db.session.scalar(sa.select(Contact).where(Contact.account_id == proposal.advertiser_id))
    lines.add_line(proposal, line_data(proposal, quantity=333_333), actor=rep(), **settings())
    workflow.submit(proposal, actor=rep(), now=now(), acknowledged=True, render={}, settings=current_settings())
    while proposal.status != "approved":  # step by step: above 250,000 the VP decides in step 2
        for request in workflow.requests_of(proposal):
            if request.status == "pending":
                approver = (
                    user(DEMO_USERS[request.approver_role])
                    if request.approver_role
                    else db.session.get(User, request.approver_user_id)
                )
                workflow.decide(
                    request, approve=True, comment="", actor=approver, now=now(), settings=current_settings()
                )
    accept(sent(proposal))
    db.session.commit()
    return db.session.scalar(sa.select(Order).where(Order.proposal_id == proposal.id))


def pdf_text(pdf: bytes) -> str:
    # Where the system's fonts make pypdf read UTF-16 fragments ("\x00A\x00D"), the NULs are noise.
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages).replace("\x00", "")


def test_a_yen_line_costs_whole_yen_and_keeps_a_four_decimal_rate(ctx):
    proposal = new_proposal(rate_card_id=yen_card().id)
    line = lines.add_line(proposal, line_data(proposal, quantity=333_333), actor=rep(), **settings())
    assert proposal.currency == "JPY"
    assert line.net_rate == RATE and line.gross == GROSS and line.gross.as_tuple().exponent == 0
    assert line.price["price"]["gross"] == "411522" and line.price["price"]["net_rate"] == "1234.5678"
    assert str(lines.totals(proposal).gross) == "411522"
    budget = lines.add_line(proposal, line_data(proposal, quantity=None, budget=D("100000")), actor=rep(), **settings())
    assert budget.gross <= D("100000") and budget.gross == budget.gross.to_integral_value()
    with pytest.raises(ValidationFailed) as refused:
        lines.add_line(proposal, line_data(proposal, quantity=None, budget=D("100000.50")), actor=rep(), **settings())
    assert refused.value.errors["budget"] == ["A budget in JPY is a whole amount: JPY has no decimals."]


def test_the_pdf_booked_revenue_export_and_push_of_a_yen_order_are_in_whole_yen(ctx, tmp_path):
    order = yen_order()
    (line,) = order.lines
    assert order.currency == "JPY" and order.gross == GROSS and line.net_rate == RATE

    text = pdf_text(order.version.pdf)
    shown = format_currency(GROSS, "JPY", locale="en_GB")  # JP¥411,522
    assert shown in text and f"{shown}.00" not in text

    year = current_clock().today().year + 1
    january, february = date(year, 1, 1), date(year, 2, 1)
    rows = list(queries.rows(january, february, queries.Filters(currency="JPY")))
    booked = {row.period: row.gross for row in rows if row.line_id == line.id}
    assert booked == {f"{year}-01": D("235155"), f"{year}-02": D("176367")}  # 12/21 and 9/21, whole yen
    assert sum(booked.values()) == GROSS

    path = tmp_path / "yen.csv"
    totals = export.write_csv(queries.rows(january, february, queries.Filters(currency="JPY")), path)
    exported = [r for r in csv.DictReader(path.open(encoding="utf-8")) if r["Line"] == str(line.id)]
    assert [(r["Gross"], r["Net booked"], r["Currency"]) for r in exported] == [
        ("235155", "235155", "JPY"),
        ("176367", "176367", "JPY"),
    ]
    assert totals.as_json()["JPY"]["gross"] == "411522"
    book = tmp_path / "yen.xlsx"
    export.write_xlsx(queries.rows(january, february, queries.Filters(currency="JPY")), book, filters={})
    sheet = openpyxl.load_workbook(book)["Revenue"]
    heads = [c.value for c in sheet[1]]
    cells = [r[heads.index("Gross")] for r in sheet.iter_rows(min_row=2) if r[heads.index("Line")].value == line.id]
    assert [(c.value, c.number_format) for c in cells] == [(235155, "#,##0"), (176367, "#,##0")]

    assert [o.outcome for o in outbox.drain(worker="w1", settings=FAST)] == ["sent"]
    db.session.refresh(line)
    pushed = db.session.get(SandboxLineItem, int(line.remote_line_id))
    assert D(pushed.spec["rate"]) == RATE and pushed.spec["impressions"] == 333_333


def test_an_approval_reason_shows_a_yen_total_in_whole_yen_and_the_rule_value_plainly(ctx):
    proposal = new_proposal(rate_card_id=yen_card().id)
    lines.add_line(proposal, line_data(proposal, quantity=333_333), actor=rep(), **settings())
    workflow.submit(proposal, actor=rep(), now=now(), acknowledged=True, render={}, settings=current_settings())
    net = lines.totals(proposal).net
    reasons = [why for request in workflow.requests_of(proposal) for why in request.reasons if "total net" in why]
    shown = format_currency(net, "JPY", locale="en_GB")  # as the pages show it: JP¥411,522
    assert reasons == [f"total net {shown} is above 50,000", f"total net {shown} is above 250,000"]


def test_a_budget_goal_or_a_recommendation_budget_in_yen_is_a_whole_amount(ctx):
    card = yen_card()
    with pytest.raises(ValidationFailed) as refused:
        new_proposal(rate_card_id=card.id, budget_goal=D("1000.5"))
    assert refused.value.errors["budget_goal"] == ["A budget in JPY is a whole amount: JPY has no decimals."]
    proposal = new_proposal(rate_card_id=card.id, budget_goal=D("1000"))
    goals = bulk.Goals(budget=D("1000.5"), start_day=proposal.start_day, end_day=proposal.end_day)
    errors = bulk.check_goals(proposal, goals, today=current_clock().today()).errors
    assert errors["budget"] == ["A budget in JPY is a whole amount: JPY has no decimals."]
    goals.budget = D("1000")
    assert bulk.check_goals(proposal, goals, today=current_clock().today()).errors == {}
