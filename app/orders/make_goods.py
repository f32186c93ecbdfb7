"""Make-good rules: when a free line that makes good an under-delivered order line may run, and what
it may give. Proposals ask them through `app.proposals.registry`, which `app.orders.hooks` fills at
start-up (orders sit above proposals, so proposals never import this module).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa

from app import money
from app.errors import Errors, ValidationFailed
from app.extensions import db
from app.formats import impression_count
from app.orders import events
from app.orders.models import OrderLine
from app.proposals.lines import LineData, data_of
from app.proposals.models import Proposal, ProposalLine, ProposalStatus

#: How many days after its order's last day a make-good may still run (MAKE_GOOD_WINDOW_DAYS).
MAKE_GOOD_WINDOW_DAYS = 60


def check_make_good_line(
    proposal: Proposal, data: LineData, *, today: date, make_good_days: int | None, line_id: int | None = None
) -> Errors:
    """`check_make_good` for a make-good line (one linked to an order line); nothing for a paid one."""
    if data.make_good_of_id is None:
        return Errors()
    days = MAKE_GOOD_WINDOW_DAYS if make_good_days is None else make_good_days
    return check_make_good(proposal, data, today=today, make_good_days=days, line_id=line_id)


def make_good_window(original, *, days: int) -> tuple[date, date]:
    """When a make-good of the order line `original` may run: from the day after it ended until
    `days` after its order's last day."""
    last = max(line.end_day for line in original.order.lines)
    return original.end_day + timedelta(days=1), last + timedelta(days=days)


def live_make_good(original_id: int, *, other_than: int | None = None) -> ProposalLine | None:
    """The line that already makes good the order line `original_id`, on a proposal still alive."""
    query = (
        sa.select(ProposalLine)
        .join(Proposal, Proposal.id == ProposalLine.proposal_id)
        .where(
            ProposalLine.make_good_of_id == original_id,
            Proposal.deleted_at.is_(None),
            Proposal.status.not_in([ProposalStatus.DECLINED.value, ProposalStatus.EXPIRED.value]),
        )
    )
    if other_than is not None:
        query = query.where(ProposalLine.id != other_than)
    return db.session.scalar(query.limit(1))


def _targeting_of(targeting: dict) -> dict[str, list[str]]:
    return {key: sorted(values) for key, values in targeting.items() if values}


def check_make_good(
    proposal: Proposal, data: LineData, *, today: date, make_good_days: int, line_id: int | None = None
) -> Errors:
    """A make-good line is free, so it gives only what is owed: the original line's product,
    pricing model and targeting, inside the order's make-good window, for at most the impressions
    the original line did not deliver (their value at its net rate is what is owed), for the
    order's advertiser, once."""
    errors = Errors()
    original = db.session.get(OrderLine, data.make_good_of_id)
    if original is None:
        errors.add("product", "A make-good makes good a line of a signed order.")
        return errors
    order, where = original.order, f"line {original.position} of {original.order.number}"
    if proposal.advertiser_id != order.advertiser_id:
        errors.add("advertiser_id", f"A make-good of {where} is for {order.advertiser.name}.")
    if data.product_id != original.product_id:
        errors.add("product", f"A make-good runs on the line it makes good: {original.product.name} ({where}).")
    if data.pricing_model != original.pricing_model:
        errors.add(
            "pricing_model", f"A make-good keeps the pricing model of {where}: {original.pricing_model.upper()}."
        )
    wanted, kept = _targeting_of(data.targeting), _targeting_of(original.targeting)
    for key in sorted(set(wanted) | set(kept)):
        if wanted.get(key) != kept.get(key):
            errors.add(key, f"A make-good keeps the targeting of {where}.")
    first, last = make_good_window(original, days=make_good_days)
    if data.start_day < first:
        errors.add("start", f"The make-good window of {where} runs from {first} to {last}: start on {first} or later.")
    if data.end_day > last:
        errors.add("end", f"The make-good window of {where} runs from {first} to {last}: end on {last} or earlier.")
    if data.budget is not None:
        errors.add("budget", "A make-good gives impressions, not a budget: enter the impressions.")
    (pacing,) = events.pacing_of([original], today=today)
    owed = pacing.undelivered if pacing.owed > 0 else 0
    value = money.quantize(Decimal(data.quantity or 0) * (original.net_rate or 0) / 1000, order.currency)
    if data.quantity is None or data.quantity > owed or value > pacing.owed:
        errors.add(
            "quantity",
            f"A make-good gives at most the {impression_count(owed)} {where} did not deliver "
            f"(worth {pacing.owed} {order.currency}).",
        )
    if (twin := live_make_good(original.id, other_than=line_id)) is not None:
        errors.add("quantity", f"The shortfall of {where} is already made good in {twin.proposal.number}.")
    return errors


def check_make_goods(proposal: Proposal, *, today: date, make_good_days: int) -> Errors:
    """Every make-good line of the proposal checked again (for submission: delivery may have come
    in late, or the window closed, since the line was saved)."""
    errors = Errors()
    for line in proposal.lines:
        if line.make_good_of_id is not None:
            found = check_make_good(
                proposal, data_of(line), today=today, make_good_days=make_good_days, line_id=line.id
            )
            for messages in found.errors.values():
                for message in messages:
                    errors.add("submit", f"Line {line.position}: {message}")
    return errors


def check_make_good_advertiser(proposal: Proposal, advertiser_id: int | None) -> None:
    for line in proposal.lines:
        if line.make_good_of_id is not None:
            order = db.session.get(OrderLine, line.make_good_of_id).order
            if advertiser_id != order.advertiser_id:
                raise ValidationFailed.on(
                    "advertiser_id",
                    f"Line {line.position} makes good {order.number}: the advertiser stays {order.advertiser.name}.",
                )
