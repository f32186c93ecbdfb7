"""The read side of finance: revenue rows per line and month, straight from the database.

Rows come in chunks of order lines with their delivery summed by SQL, never by loading order
objects, so a year of a large publisher streams in flat memory. An open month is computed from the
orders as they stand; a closed month is read back from what was frozen when it closed. Each
month's adjustments (later changes to closed months) follow its lines.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import NamedTuple

import sqlalchemy as sa

from app import money
from app.accounts.models import Account
from app.adserver.models import DeliveryDay
from app.auth.models import User, UserRole
from app.catalog.models import Product
from app.extensions import db
from app.finance import revenue
from app.finance.models import ClosedPeriod, EntryKind, FinanceExport, RevenueEntry, ThirdPartyCount
from app.orders.models import LineStatus, Order, OrderLine
from app.proposals.models import Proposal
from app.roles import Role

CHUNK = 5000
NONE_DELIVERED = (0, 0, 0, 0)
ZERO = revenue.Booked(Decimal(0), Decimal(0), Decimal(0))

#: the export's columns: (key, heading)
COLUMNS = (
    ("period", "Period"),
    ("order_number", "Order"),
    ("remote_order_id", "Ad-server order"),
    ("line_id", "Line"),
    ("remote_line_id", "Ad-server line"),
    ("advertiser", "Advertiser"),
    ("agency", "Agency"),
    ("rep", "Rep"),
    ("product", "Product"),
    ("pricing_model", "Pricing model"),
    ("flight_start", "Flight start"),
    ("flight_end", "Flight end"),
    ("time_zone", "Time zone"),
    ("quantity", "Contracted quantity"),
    ("net_rate", "Net rate"),
    ("gross", "Gross"),
    ("commission", "Agency commission"),
    ("net", "Net booked"),
    ("delivered", "Delivered units"),
    ("billing_source", "Billing source"),
    ("recognised", "Recognised"),
    ("adjustment_for", "Adjustment for"),
    ("adjustment_reason", "Adjustment reason"),
    ("currency", "Currency"),
)
#: the money columns a control summary totals per currency
MONEY = ("gross", "commission", "net", "recognised")


class Row(NamedTuple):
    period: str
    order_number: str
    remote_order_id: str
    line_id: int
    remote_line_id: str
    advertiser: str
    agency: str
    rep: str
    product: str
    pricing_model: str
    flight_start: date
    flight_end: date
    time_zone: str
    quantity: int | None
    net_rate: Decimal | None
    gross: Decimal
    commission: Decimal
    net: Decimal
    delivered: int
    billing_source: str
    recognised: Decimal
    adjustment_for: str
    adjustment_reason: str
    currency: str
    # not exported: for the page's drill-down and filters, and why recognised differs from booked
    order_id: int = 0
    #: the line this one makes good (a make-good bills nothing)
    make_good_of: int | None = None
    #: the day a cancelled line stopped
    cancelled_on: date | None = None
    #: the contract cap held what this month's delivery would bill
    capped: bool = False


@dataclass
class Filters:
    advertiser_id: int | None = None
    agency_id: int | None = None
    rep_id: int | None = None
    product_id: int | None = None
    order_status: str | None = None
    currency: str | None = None
    order_id: int | None = None

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v not in (None, "")}

    def conditions(self) -> list:
        """The filters set, as conditions on Order, OrderLine and Proposal (the rep's filter is the
        only one on Proposal: a query joins it when `rep_id` is set)."""
        columns = (
            (self.advertiser_id, Order.advertiser_id),
            (self.agency_id, Order.agency_id),
            (self.rep_id, Proposal.owner_id),
            (self.product_id, OrderLine.product_id),
            (self.order_status, Order.status),
            (self.currency, Order.currency),
            (self.order_id, Order.id),
        )
        return [column == wanted for wanted, column in columns if wanted]


@dataclass
class Totals:
    rows: int = 0
    by_currency: dict[str, dict[str, Decimal]] = field(default_factory=dict)

    def add(self, row: Row) -> None:
        self.rows += 1
        sums = self.by_currency.setdefault(row.currency, {k: Decimal(0) for k in MONEY})
        for key in MONEY:
            sums[key] += getattr(row, key)

    def as_json(self) -> dict:
        return {
            c: {k: str(money.quantize(v, c)) for k, v in sums.items()} for c, sums in sorted(self.by_currency.items())
        }


def closed_periods() -> dict[date, ClosedPeriod]:
    return {c.period: c for c in db.session.scalars(sa.select(ClosedPeriod).order_by(ClosedPeriod.period))}


def first_open_month(today: date) -> date:
    """The month after the last closed one; before any close, the first month with an order line
    (this month when there is none)."""
    last = db.session.scalar(sa.select(sa.func.max(ClosedPeriod.period)))
    if last:
        return revenue.next_month(last)
    earliest = db.session.scalar(sa.select(sa.func.min(OrderLine.start_day)))
    return min(revenue.month_of(earliest), revenue.month_of(today)) if earliest else revenue.month_of(today)


def _line_query(filters: Filters):
    agency = sa.orm.aliased(Account)
    query = (
        sa.select(
            OrderLine.id,
            OrderLine.order_id,
            Order.number,
            Order.remote_order_id,
            OrderLine.remote_line_id,
            Account.name,
            agency.name,
            User.name,
            Product.name,
            OrderLine.pricing_model,
            OrderLine.start_day,
            OrderLine.end_day,
            OrderLine.time_zone,
            OrderLine.quantity,
            OrderLine.net_rate,
            OrderLine.gross,
            OrderLine.commission,
            OrderLine.status,
            OrderLine.billing_source,
            OrderLine.billing_cap,
            OrderLine.make_good_of_id,
            Order.currency,
            OrderLine.cancelled_on,
        )
        .join(Order, Order.id == OrderLine.order_id)
        .join(Proposal, Proposal.id == Order.proposal_id)
        .join(User, User.id == Proposal.owner_id)
        .join(Account, Account.id == Order.advertiser_id)
        .outerjoin(agency, agency.id == Order.agency_id)
        .join(Product, Product.id == OrderLine.product_id)
    )
    return query.where(*filters.conditions())


def _delivery(first_id: int, last_id: int, lo: date, hi: date) -> dict[int, tuple[int, int, int, int]]:
    """Per line in the id range: (impressions in the month, before it, days delivered in the month,
    before it), in one grouped query."""
    in_month = DeliveryDay.day.between(lo, hi)
    before = DeliveryDay.day < lo
    delivered = DeliveryDay.impressions > 0
    rows = db.session.execute(
        sa.select(
            DeliveryDay.order_line_id,
            sa.func.sum(sa.case((in_month, DeliveryDay.impressions), else_=0)),
            sa.func.sum(sa.case((before, DeliveryDay.impressions), else_=0)),
            sa.func.sum(sa.case((sa.and_(in_month, delivered), 1), else_=0)),
            sa.func.sum(sa.case((sa.and_(before, delivered), 1), else_=0)),
        )
        .where(DeliveryDay.order_line_id.between(first_id, last_id), DeliveryDay.day <= hi)
        .group_by(DeliveryDay.order_line_id)
    )
    return {line_id: (int(a or 0), int(b or 0), int(c or 0), int(d or 0)) for line_id, a, b, c, d in rows}


def _counts(first_id: int, last_id: int, lo: date, hi: date) -> dict[int, tuple[int, int, int, int]]:
    """Per line in the id range: third-party units in the month and before it, and the days
    counted (for CPD lines, which bill days)."""
    in_month, before = ThirdPartyCount.day.between(lo, hi), ThirdPartyCount.day < lo
    counted = ThirdPartyCount.units > 0
    rows = db.session.execute(
        sa.select(
            ThirdPartyCount.order_line_id,
            sa.func.sum(sa.case((in_month, ThirdPartyCount.units), else_=0)),
            sa.func.sum(sa.case((before, ThirdPartyCount.units), else_=0)),
            sa.func.sum(sa.case((sa.and_(in_month, counted), 1), else_=0)),
            sa.func.sum(sa.case((sa.and_(before, counted), 1), else_=0)),
        )
        .where(ThirdPartyCount.order_line_id.between(first_id, last_id), ThirdPartyCount.day <= hi)
        .group_by(ThirdPartyCount.order_line_id)
    )
    return {line_id: (int(a or 0), int(b or 0), int(c or 0), int(d or 0)) for line_id, a, b, c, d in rows}


def live_rows(
    month: date, filters: Filters, *, calendar: str = "calendar", line_ids: list[int] | None = None
) -> Iterator[Row]:
    """Every line's figures for `month` as the orders stand now (only `line_ids`, when given).

    Lines come in chunks of ids; each chunk is one query for the lines and one grouped query each
    for delivery and third-party counts, bounded by the chunk's id range (no long IN lists)."""
    lo, hi = revenue.period_bounds(month, calendar)
    active = sa.or_(
        sa.and_(OrderLine.start_day <= hi, OrderLine.end_day >= lo),
        sa.select(DeliveryDay.id)
        .where(DeliveryDay.order_line_id == OrderLine.id, DeliveryDay.day.between(lo, hi))
        .exists(),
        sa.select(ThirdPartyCount.id)
        .where(ThirdPartyCount.order_line_id == OrderLine.id, ThirdPartyCount.day.between(lo, hi))
        .exists(),
    )
    query = _line_query(filters).with_only_columns(OrderLine.id).where(active).order_by(OrderLine.id)
    if line_ids is not None:
        query = query.where(OrderLine.id.in_(line_ids))
    ids = list(db.session.scalars(query))
    label = revenue.month_label(month)
    wanted = set(ids) if line_ids is not None else None
    for start in range(0, len(ids), CHUNK):
        first_id, last_id = ids[start], ids[min(start + CHUNK, len(ids)) - 1]
        lines = db.session.execute(
            _line_query(filters).where(active, OrderLine.id.between(first_id, last_id)).order_by(OrderLine.id)
        ).all()
        delivery = _delivery(first_id, last_id, lo, hi)
        counts = _counts(first_id, last_id, lo, hi)
        for line in lines:
            if wanted is None or line[0] in wanted:
                yield _row(line, label, month, calendar, delivery, counts)


def _row(line, label: str, month: date, calendar: str, delivery: dict, counts: dict) -> Row:
    (line_id, order_id, number, remote_order, remote_line, advertiser, agency, rep, product, model, start, end, zone,
     quantity, net_rate, gross, commission, status, source, cap, make_good_of, currency, cancelled_on,
     ) = line  # fmt: skip
    stop = cancelled_on if status == LineStatus.CANCELLED.value else None
    booked = revenue.booked_for(gross, commission, start, end, zone, month, calendar, currency=currency, stop=stop)
    imps, imps_before, days, days_before = delivery.get(line_id, NONE_DELIVERED)
    counted, counted_before, counted_days, counted_days_before = counts.get(line_id, NONE_DELIVERED)
    if source == "third_party" and model == "cpd":
        units, before, shown = counted_days, counted_days_before, counted
    elif source == "third_party":
        units, before, shown = counted, counted_before, counted
    elif model == "cpd":
        units, before, shown = days, days_before, imps
    else:
        units, before, shown = imps, imps_before, imps
    capped = (
        cap == "contract"
        and source != "contracted"
        and model != "flat"
        and make_good_of is None
        and revenue.billable(model, net_rate, units + before, currency) > gross
    )
    recognised = revenue.recognised_for(
        source=source,
        cap=cap,
        pricing_model=model,
        net_rate=net_rate,
        contract=gross,
        booked_gross=booked.gross,
        units_in_month=units,
        units_before=before,
        make_good=make_good_of is not None,
        currency=currency,
    )
    return Row(
        label, number, remote_order or "", line_id, remote_line or "", advertiser, agency or "", rep, product, model,
        start, end, zone, quantity, net_rate, booked.gross, booked.commission, booked.net, shown, source,
        recognised, "", "", currency, order_id, make_good_of, stop,
        capped,
    )  # fmt: skip


def _entry_rows(month: date, filters: Filters, kind: EntryKind, line_ids: list[int] | None = None) -> Iterator[Row]:
    query = (
        _line_query(filters)
        .add_columns(
            RevenueEntry.gross,
            RevenueEntry.commission,
            RevenueEntry.net,
            RevenueEntry.delivered,
            RevenueEntry.recognised,
            RevenueEntry.for_period,
            RevenueEntry.reason,
            RevenueEntry.currency,
            RevenueEntry.billing_source,
        )
        .join(RevenueEntry, RevenueEntry.order_line_id == OrderLine.id)
        .where(RevenueEntry.period == month, RevenueEntry.kind == kind.value)
        .order_by(RevenueEntry.order_line_id, RevenueEntry.id)
        .execution_options(yield_per=CHUNK)
    )
    if line_ids is not None:
        query = query.where(RevenueEntry.order_line_id.in_(line_ids))
    label = revenue.month_label(month)
    for r in db.session.execute(query):
        (line_id, order_id, number, remote_order, remote_line, advertiser, agency, rep, product, model, start, end,
         zone, quantity, net_rate, _g, _c, status, source, _cap, make_good_of, _currency, cancelled_on, gross,
         commission, net, delivered, recognised, for_period, reason, currency, billed_from) = r  # fmt: skip
        yield Row(
            label, number, remote_order or "", line_id, remote_line or "", advertiser, agency or "", rep, product,
            model, start, end, zone, quantity, net_rate, money.quantize(gross, currency),
            money.quantize(commission, currency), money.quantize(net, currency), delivered, billed_from or source,
            money.quantize(recognised, currency),
            revenue.month_label(for_period) if for_period else "", reason, currency, order_id, make_good_of,
            cancelled_on if status == LineStatus.CANCELLED.value else None,
        )  # fmt: skip


def month_rows(
    month: date, filters: Filters, *, closed: bool, calendar: str = "calendar", line_ids: list[int] | None = None
) -> Iterator[Row]:
    """A month's lines (frozen when it is closed, live when open), then the adjustments posted into
    it (only `line_ids`'s, when given)."""
    if closed and calendar == "calendar":
        yield from _entry_rows(month, filters, EntryKind.LINE, line_ids)
    else:
        yield from live_rows(month, filters, calendar=calendar, line_ids=line_ids)
    if calendar == "calendar":
        yield from _entry_rows(month, filters, EntryKind.ADJUSTMENT, line_ids)


def last_booked_month(filters: Filters) -> date | None:
    """The last month in which a line these filters select books revenue (a cancelled line's runs
    to the month it stopped in), or None when nothing is booked. Without filters, read from the
    indexes on flight end and status (every line joins the rest: the joins select no fewer)."""
    cancelled = sa.and_(OrderLine.status == LineStatus.CANCELLED.value, OrderLine.cancelled_on.is_not(None))
    last_day = sa.case(
        (
            cancelled,
            sa.case((OrderLine.cancelled_on < OrderLine.end_day, OrderLine.cancelled_on), else_=OrderLine.end_day),
        ),
        else_=OrderLine.end_day,
    )
    if filters.as_dict():
        days = [
            db.session.scalar(_line_query(filters).with_only_columns(sa.func.max(last_day)).where(OrderLine.gross > 0))
        ]
    else:
        running = sa.select(OrderLine.end_day).where(OrderLine.gross > 0, sa.not_(cancelled))
        days = [
            db.session.scalar(running.order_by(OrderLine.end_day.desc()).limit(1)),
            db.session.scalar(sa.select(sa.func.max(last_day)).where(OrderLine.gross > 0, cancelled)),
        ]
    # SQLite returns MAX over an expression as text
    days = [date.fromisoformat(d) if isinstance(d, str) else d for d in days if d is not None]
    return revenue.month_of(max(days)) if days else None


def months_between(first: date, last: date) -> list[date]:
    months = []
    month = first
    while month <= last:
        months.append(month)
        month = revenue.next_month(month)
    return months


def rows(first: date, last: date, filters: Filters, *, calendar: str = "calendar") -> Iterator[Row]:
    closed = closed_periods()
    for month in months_between(first, last):
        yield from month_rows(month, filters, closed=month in closed, calendar=calendar)


def estimate_rows(first: date, last: date, filters: Filters) -> int:
    """About how many rows an export of these months has (lines whose flight touches each month),
    for a progress bar."""
    total = 0
    for month in months_between(first, last):
        lo, hi = revenue.period_bounds(month, "calendar")
        query = _line_query(filters).where(OrderLine.start_day <= hi, OrderLine.end_day >= lo)
        total += db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    return total


# -- The filters' choices and the exports list --------------------------------------------------


def sellers() -> list[User]:
    """Sales reps and managers, by name: whom the revenue report can be filtered by."""
    return list(
        db.session.scalars(
            sa.select(User)
            .join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role.in_([Role.SALES_REP.value, Role.SALES_MANAGER.value]))
            .distinct()
            .order_by(User.name)
        )
    )


def all_products() -> list[Product]:
    return list(db.session.scalars(sa.select(Product).order_by(Product.name)))


def order_currencies() -> list[str]:
    """Every currency an order is in."""
    return list(db.session.scalars(sa.select(Order.currency).distinct().order_by(Order.currency)))


def recent_exports(*, limit: int) -> list[FinanceExport]:
    return list(db.session.scalars(sa.select(FinanceExport).order_by(FinanceExport.id.desc()).limit(limit)))
