"""Finance in the browser: revenue by month with a chart and drill-down, exports, closing months,
third-party counts and each line's billing terms."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from flask import Blueprint, current_app, flash, redirect, render_template, request, send_file, url_for
from flask.blueprints import BlueprintSetupState
from flask_login import current_user
from flask_wtf import FlaskForm

from app.access import allow
from app.accounts.models import AccountKind
from app.accounts.queries import account_choices
from app.db import utcnow
from app.errors import NotFound, ValidationFailed
from app.extensions import current_clock, current_settings, db
from app.finance import figures, queries, revenue, service
from app.finance.models import BillingSource, FinanceExport
from app.finance.revenue_svg import revenue_svg
from app.finance.variance import MonthVariance, explain_line
from app.formats import ngettext
from app.orders.models import OrderLine, OrderStatus
from app.roles import Role
from app.routing import safe_next
from app.transaction import abandon
from app.validation import page_number, parse_id

bp = Blueprint("finance", __name__, url_prefix="/finance")


@bp.record_once
def date_adjustments_by_the_app_clock(state: BlueprintSetupState) -> None:
    """Adjustments posted after a commit are dated by the running app's clock (registered once)."""
    if publisher_day not in service.publisher_days:
        service.publisher_days.append(publisher_day)


def publisher_day() -> date:
    return current_clock().today()


FINANCE = (Role.FINANCE, Role.ADMIN)
#: the range shown when none is chosen: this many months back, through the last month with booked
#: revenue but at most DEFAULT_AHEAD months ahead (each month shown is computed line by line, so a
#: longer look is a choice; the page says when booked revenue runs further)
DEFAULT_BACK, DEFAULT_AHEAD = 3, 6


@dataclass
class Month:
    month: date
    closed: bool
    started: bool
    by_currency: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    #: currency -> recognised against booked, by reason
    explained: dict[str, MonthVariance] = field(default_factory=dict)


def _month_arg(name: str, default: date, *, today: date, errors: dict) -> date:
    raw = (request.values.get(name) or "").strip()
    if not raw:
        return default
    try:
        return revenue.parse_period(raw, today=today, latest=revenue.horizon(today))
    except ValueError as error:
        errors[name] = [str(error)]
        return default


def _filters() -> queries.Filters:
    args = request.values
    status = args.get("status") or None
    currency = (args.get("currency") or "").strip().upper()[:3] or None
    return queries.Filters(
        advertiser_id=parse_id(args.get("advertiser_id")),
        agency_id=parse_id(args.get("agency_id")),
        rep_id=parse_id(args.get("rep_id")),
        product_id=parse_id(args.get("product_id")),
        order_status=status if status in OrderStatus._value2member_map_ else None,
        currency=currency,
    )


WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve")


def _months(count: int) -> str:
    """'three months', 'one month' (in words up to twelve)."""
    number = WORDS[count] if count < len(WORDS) else f"{count:,}"
    return ngettext("%(num)s month", "%(num)s months", count, num=number)


@dataclass(frozen=True)
class Shown:
    """The months the page shows (and exports), and why those."""

    first: date
    last: date
    #: the person chose From or To (otherwise the default range)
    chosen: bool
    #: the last month with booked revenue for these filters (None: nothing booked)
    booked_until: date | None
    this_month: date

    def describe(self) -> str:
        span = f"{self.first:%B %Y}" if self.first == self.last else f"{self.first:%B %Y} to {self.last:%B %Y}"
        further = self.booked_until is not None and self.booked_until > self.last
        if self.chosen:
            text = f"Showing {span}, the months you chose."
            return text + (f" Booked revenue runs to {self.booked_until:%B %Y}." if further else "")
        text = f"Showing {span}: {_months(DEFAULT_BACK)} back through "
        if further:
            return text + (
                f"{_months(DEFAULT_AHEAD)} ahead. Booked revenue runs to {self.booked_until:%B %Y}: "
                "choose To to see further."
            )
        if self.booked_until is not None and self.booked_until > self.this_month:
            return text + f"{self.last:%B %Y}, the last month with booked revenue."
        return text + "this month; nothing is booked after it."


def _range(today: date, errors: dict, filters: queries.Filters) -> Shown:
    """The months asked for; by default three months back through the last month with booked
    revenue (at most DEFAULT_AHEAD ahead), so the months that new orders book into show."""
    this_month = revenue.month_of(today)
    booked_until = queries.last_booked_month(filters)
    default_first = revenue.months_after(this_month, -DEFAULT_BACK)
    default_last = min(max(this_month, booked_until or this_month), revenue.months_after(this_month, DEFAULT_AHEAD))
    first = _month_arg("from", default_first, today=today, errors=errors)
    # a From chosen past the default's end, without a To, shows that month on
    last = _month_arg("to", max(default_last, first), today=today, errors=errors)
    if last < first:
        errors["to"] = ["The last month comes before the first."]
        last = first
    if len(queries.months_between(first, last)) > 36:
        errors["to"] = ["Show at most 36 months at once."]
        last = first
    chosen = bool((request.values.get("from") or "").strip() or (request.values.get("to") or "").strip())
    return Shown(first, last, chosen, booked_until, this_month)


def _filter_words(filters: queries.Filters, choices: dict, calendar: str) -> list[str]:
    """The filters in force, as the export's description reads them."""
    words = []
    for key, label, attr in (
        ("advertiser_id", "advertiser", "advertisers"),
        ("agency_id", "agency", "agencies"),
        ("rep_id", "rep", "reps"),
        ("product_id", "product", "products"),
    ):
        wanted = getattr(filters, key)
        if wanted:
            name = next((c.name for c in choices[attr] if c.id == wanted), f"#{wanted}")
            words.append(f"{label} {name}")
    if filters.order_status:
        words.append(f"orders {OrderStatus(filters.order_status).label.lower()}")
    if filters.currency:
        words.append(f"in {filters.currency}")
    if calendar == "broadcast":
        words.append("broadcast months")
    return words


def _choices() -> dict:
    return {
        "advertisers": account_choices(AccountKind.ADVERTISER),
        "agencies": account_choices(AccountKind.AGENCY),
        "reps": queries.sellers(),
        "products": queries.all_products(),
        "statuses": list(OrderStatus),
        "order_currencies": queries.order_currencies(),
    }


@bp.route("/")
@allow(*FINANCE)
def index():
    today = current_clock().today()
    errors: dict[str, list[str]] = {}
    filters = _filters()
    shown = _range(today, errors, filters)
    first, last = shown.first, shown.last
    calendar = "broadcast" if request.args.get("calendar") == "broadcast" else "calendar"
    closed = queries.closed_periods()
    months = {m: Month(m, m in closed, m <= revenue.month_of(today)) for m in queries.months_between(first, last)}
    currencies: set[str] = set()
    for m, found in figures.months(first, last, filters, calendar=calendar, today=today).items():
        months[m].by_currency, months[m].explained = found.by_currency, found.explained
        currencies |= set(found.by_currency)
    home = current_settings().currency
    currency = filters.currency or (home if home in currencies or not currencies else sorted(currencies)[0])
    totals: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for m in months.values():
        for cur, sums in m.by_currency.items():
            for key, value in sums.items():
                totals[cur][key] += value
    zero = {"gross": Decimal(0), "recognised": Decimal(0)}
    # Recognised is delivered units at the net rate, before agency commission: set against gross booked.
    chart = revenue_svg(
        [(m.month, m.by_currency.get(currency, zero)["gross"], m.by_currency.get(currency, zero)["recognised"])
         for m in months.values()],
        currency,
    )  # fmt: skip
    first_open = queries.first_open_month(today)
    closeable = first_open if first_open < revenue.month_of(today) else None
    exports = queries.recent_exports(limit=10)
    args = {k: v for k, v in request.args.items() if k != "page"}
    choices = _choices()
    return render_template(
        "finance/index.html",
        months=list(months.values()),
        totals=totals,
        currencies=sorted(currencies),
        currency=currency,
        chart=chart,
        first=first,
        last=last,
        shown=shown,
        calendar=calendar,
        filters=filters,
        filter_words=_filter_words(filters, choices, calendar),
        errors=errors,
        closeable=closeable,
        closed=closed,
        exports=exports,
        args=args,
        default_range_args={k: v for k, v in args.items() if k not in ("from", "to")},
        form=FlaskForm(),
        **choices,
    ), (400 if errors else 200)


@bp.route("/months/<period>")
@allow(*FINANCE)
def month(period: str):
    today = current_clock().today()
    try:
        first = revenue.parse_period(period, today=today, latest=revenue.horizon(today))
    except ValueError as error:
        raise NotFound(str(error)) from None
    filters = _filters()
    calendar = "broadcast" if request.args.get("calendar") == "broadcast" else "calendar"
    closed = queries.closed_periods()
    found = figures.months(first, first, filters, calendar=calendar, today=today)[first]
    page = figures.page_rows(
        first,
        filters,
        calendar=calendar,
        closed=first in closed,
        total=found.rows,
        number=page_number(request.args),
    )
    by_order: dict[str, list[tuple[queries.Row, object]]] = defaultdict(list)
    for row in page.rows:
        by_order[row.order_number].append((row, explain_line(row, first, today=today, calendar=calendar)))
    return render_template(
        "finance/month.html",
        month=first,
        closed=closed.get(first),
        by_order=by_order,
        explained=[found.explained[c] for c in sorted(found.explained)],
        totals=found.by_currency,
        row_count=found.rows,
        page=page,
        calendar=calendar,
        args={k: v for k, v in request.args.items() if k != "page"},
    )


@bp.route("/export", methods=["POST"])
@allow(*FINANCE)
def export():
    """Export the months and filters the page showed (the form carries them), future months
    included: their rows carry booked revenue, and recognised follows as they deliver."""
    today = current_clock().today()
    errors: dict[str, list[str]] = {}
    filters = _filters()
    shown = _range(today, errors, filters)
    fmt = request.form.get("format", "")
    if fmt not in ("csv", "xlsx"):
        errors["format"] = ["Choose CSV or XLSX."]
    if errors:
        raise ValidationFailed(errors)
    calendar = "broadcast" if request.form.get("calendar") == "broadcast" else "calendar"
    made = service.run_export(
        fmt,
        shown.first,
        shown.last,
        filters,
        directory=service.export_dir(current_app.instance_path, current_app.config["FINANCE_EXPORT_DIR"]),
        actor=current_user,
        today=today,
        now=utcnow(),
        calendar=calendar,
    )
    return redirect(url_for("finance.export_detail", export_id=made.id))


@bp.route("/exports/<int:export_id>")
@allow(*FINANCE)
def export_detail(export_id: int):
    made = db.session.get(FinanceExport, export_id)
    if made is None:
        raise NotFound("No such export.")
    return render_template("finance/export.html", export=made)


@bp.route("/exports/<int:export_id>/download")
@allow(*FINANCE)
def download(export_id: int):
    made = db.session.get(FinanceExport, export_id)
    if made is None or not made.filename:
        raise NotFound("No such export.")
    path = service.export_dir(current_app.instance_path, current_app.config["FINANCE_EXPORT_DIR"]) / made.filename
    if not path.is_file():
        raise NotFound("The file of this export is no longer on the server: export again.")
    return send_file(path, as_attachment=True, download_name=made.filename)


@bp.route("/close", methods=["POST"])
@allow(*FINANCE)
def close():
    today = current_clock().today()
    try:
        period = revenue.parse_period(request.form.get("period", ""), today=today)
    except ValueError as error:
        raise ValidationFailed.on("period", str(error)) from None
    closed = service.close_month(period, actor=current_user, today=today, now=utcnow())
    flash(f"{period:%B %Y} is closed: {closed.rows:,} rows frozen. Later changes post adjustments.", "success")
    return redirect(
        url_for("finance.index", **{"from": revenue.month_label(period), "to": revenue.month_label(period)})
    )


@bp.route("/counts", methods=["GET", "POST"])
@allow(*FINANCE)
def counts():
    errors: list[str] = []
    if request.method == "POST":
        upload = request.files.get("counts")
        raw = upload.read() if upload else b""
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            errors = ["The file is not UTF-8 text: save it as CSV (UTF-8)."]
        else:
            try:
                count = service.upload_counts(text, actor=current_user, now=utcnow())
            except ValidationFailed as failed:
                abandon(db.session)
                errors = failed.errors["counts"]
            else:
                flash(
                    ngettext(
                        "%(num)s line-day of third-party counts saved.",
                        "%(num)s line-days of third-party counts saved.",
                        count,
                    ),
                    "success",
                )
                return redirect(url_for("finance.counts"))
    return render_template("finance/counts.html", errors=errors, form=FlaskForm()), (400 if errors else 200)


@bp.route("/lines/<int:line_id>/billing", methods=["POST"])
@allow(*FINANCE)
def billing(line_id: int):
    line = db.session.get(OrderLine, line_id)
    if line is None:
        raise NotFound("No such order line.")
    service.set_billing(
        line,
        source=request.form.get("billing_source", ""),
        cap=request.form.get("billing_cap", ""),
        actor=current_user,
        now=utcnow(),
    )
    flash(f"Line {line.position}: billed from {BillingSource(line.billing_source).label.lower()}.", "success")
    return redirect(safe_next(request.form.get("next"), url_for("orders.detail", order_id=line.order_id)))
