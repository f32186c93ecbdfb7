"""The demo's deals, written through the services: the approval rules, the rep's draft proposals (each
the way into one approver's path) and one signed order pushed to the built-in sandbox with its
delivery so far. Flushes only, except where the order must be committed before its push: the caller
commits the rest."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from app.adserver import delivery, outbox
from app.adserver import service as adserver
from app.auth.models import User
from app.demo import publisher
from app.extensions import db
from app.orders.service import make_order
from app.proposals import lines as proposal_lines
from app.proposals import service, versions
from app.proposals.models import ProposalStatus
from app.proposals.states import transition
from app.transaction import transaction
from app.workflow.approval_rules import RuleData, save_rule

#: (campaign, advertiser, agency, weeks from next Monday, weeks long, proposal discount %,
#: lines: (product, impressions, geo)). Each is the way into one approver's path (README "Demo logins"):
#: every demo advertiser but Skyweave Broadband (Winter launch is signed) is new, so finance sees the first
#: two; Summer drive's 20 % discount also needs the sales manager (step 1, with finance: the credit
#: hold); Spring relaunch for Skyweave is over 250,000 net: the sales manager, then the VP (step 2).
_PROPOSALS = (
    (
        "Summer drive",
        "Halden Auto Group",
        None,
        6,
        4,
        "20",
        (("Sport Display", 1_200_000, ("london",)), ("News Display", 800_000, ()), ("Football Pre-roll", 60_000, ())),
    ),
    (
        "Autumn savings",
        "Ferrymoor Bank",
        "Lanternfish Media",
        8,
        3,
        "0",
        (("Business & Finance Display", 400_000, ()), ("Native In-Feed", 300_000, ())),
    ),
    (
        "Spring relaunch",
        "Skyweave Broadband",
        None,
        10,
        8,
        "0",
        (
            ("Sport Display", 12_000_000, ()),
            ("News Display", 12_000_000, ()),
            ("Run of Network Display", 20_000_000, ()),
        ),
    ),
)


def load_proposals(products, users, accounts, cards, *, now: datetime, today: date) -> int:
    """The demo rep's proposals in draft, priced on the standard card of their flight: the list and the
    builder have something to show, and submitting each one reaches a different approver."""
    rep = users["rep@harbour.example"]
    by_name = {a.name: a for a in accounts}
    monday = today + timedelta(days=7 - today.weekday())
    made = 0
    for campaign, advertiser, agency, offset, weeks, discount, lines in _PROPOSALS:
        start = monday + timedelta(weeks=offset)
        end = start + timedelta(weeks=weeks) - timedelta(days=1)
        card = next((c for c in cards if not c.allowed_roles and c.valid_from <= start and end <= c.valid_to), None)
        if card is None:  # the flight straddles the new year: start it with next year's card
            start = date(start.year + 1, 1, 4)
            end = start + timedelta(weeks=weeks) - timedelta(days=1)
            card = next(c for c in cards if not c.allowed_roles and c.valid_from <= start <= c.valid_to)
        proposal = service.create_proposal(
            service.ProposalData(
                advertiser_id=by_name[advertiser].id,
                agency_id=by_name[agency].id if agency else None,
                campaign_name=campaign,
                rate_card_id=card.id,
                owner_id=rep.id,
                start_day=start,
                end_day=end,
                time_zone=publisher.TIME_ZONE,
                expires_on=today + timedelta(days=21),
                discount_pct=Decimal(discount),
            ),
            actor=rep,
            now=now,
            today=today,
        )
        for product, impressions, geo in lines:
            proposal_lines.add_line(
                proposal,
                proposal_lines.LineData(
                    product_id=products[product].id,
                    pricing_model="cpm",
                    start_day=start,
                    end_day=end,
                    time_zone=publisher.TIME_ZONE,
                    targeting={"geo": geo} if geo else {},
                    quantity=impressions,
                ),
                actor=rep,
                today=today,
                now=now,
                margin_pct=10,
            )
        made += 1
    return made


def load_signed_order(products, users, accounts, cards, *, now: datetime, today: date) -> int:
    """The built-in sandbox as the default ad server, mapped to its own ids, and one order signed six
    weeks ago, pushed to it, with its delivery so far: the order, pacing, ad-ops and finance pages
    (a past month to close) have something to show."""
    admin, rep = users["admin@harbour.example"], users["rep@harbour.example"]
    sandbox = adserver.save_connection(
        None,
        adserver.ConnectionData(name="Sandbox", kind="sandbox", time_zone=publisher.TIME_ZONE, is_default=True),
        actor=admin,
        now=now,
    )
    adserver.map_to_own_ids(sandbox, actor=admin, now=now)
    start = max(today - timedelta(days=42), date(today.year, 1, 1))
    end = min(today + timedelta(days=13), date(today.year, 12, 31))
    card = next(c for c in cards if not c.allowed_roles and c.valid_from <= start and end <= c.valid_to)
    by_name = {a.name: a for a in accounts}
    proposal = service.create_proposal(
        service.ProposalData(
            advertiser_id=by_name["Skyweave Broadband"].id,
            campaign_name="Winter launch",
            rate_card_id=card.id,
            owner_id=rep.id,
            start_day=start,
            end_day=end,
            time_zone=publisher.TIME_ZONE,
        ),
        actor=rep,
        now=now - timedelta(days=44),
        today=start,
    )
    for product, impressions in (("Sport Display", 400_000), ("News Display", 300_000)):
        proposal_lines.add_line(
            proposal,
            proposal_lines.LineData(
                product_id=products[product].id,
                pricing_model="cpm",
                start_day=start,
                end_day=end,
                time_zone=publisher.TIME_ZONE,
                quantity=impressions,
            ),
            actor=rep,
            today=today,
            now=now,
            margin_pct=10,
        )
    versions.freeze_version(proposal, actor=rep, now=now)
    for status, why in (
        (ProposalStatus.SUBMITTED, "Demo: submitted."),
        (ProposalStatus.APPROVED, "Demo: approved."),
        (ProposalStatus.SENT, "Demo: sent to the buyer."),
        (ProposalStatus.SIGNED, "Demo: signed by the buyer."),
    ):
        transition(proposal, status, actor=rep, now=now, why=why)
    with transaction(db.session):  # the order is committed before its push and the sync read it
        make_order(proposal, now=now, today=today, margin_pct=10)
    outbox.drain(worker="demo", settings=outbox.Settings())
    delivery.sync_connection(sandbox, now=now, timeout=30)
    return 1


def load_rules(users: dict[str, User], *, now: datetime) -> int:
    """The publisher's controls: who approves what, and what a rep is warned about or stopped by."""

    def c(field: str, op: str, value: str) -> dict:
        return {"field": field, "op": op, "value": value}

    rules = (
        RuleData(
            "Sales manager: discount or size",
            "approval",
            [c("max_discount_pct", ">", "15"), c("total_net", ">", "50000")],
            "any",
            1,
            "sales_manager",
        ),
        RuleData(
            "Ad ops: sponsorship or contention",
            "approval",
            [c("line_item_type", "is", "sponsorship"), c("contention", "is", "yes")],
            "any",
            1,
            "ad_ops",
        ),
        RuleData(
            "Finance: new advertiser, credit hold or non-standard terms",
            "approval",
            [c("new_advertiser", "is", "yes"), c("credit_on_hold", "is", "yes"), c("non_standard_terms", "is", "yes")],
            "any",
            1,
            "finance",
        ),
        RuleData(
            "VP sales: very large deal",
            "approval",
            [c("total_net", ">", "250000")],
            "all",
            2,
            None,
            users["vp@harbour.example"].id,
        ),
        RuleData(
            "Credit on hold",
            "warning",
            [c("credit_on_hold", "is", "yes")],
            message="the advertiser's credit is on hold: finance will look at it",
        ),
        RuleData(
            "Discount above 40 %",
            "block",
            [c("max_discount_pct", ">", "40")],
            message="a discount above 40 % is never offered",
        ),
    )
    for data in rules:
        save_rule(None, data, expected_version=None, actor=None, now=now)
    return len(rules)
