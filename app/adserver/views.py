"""Ad servers for admins and ad ops: connections, id mappings, and the push queue."""

from __future__ import annotations

from datetime import date, timedelta

from flask import (
    Blueprint,
    current_app,
    flash,
    has_request_context,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask_login import current_user
from flask_wtf import FlaskForm

from app import background
from app.access import allow
from app.adserver import delivery, outbox, push_checks, queries, sandbox_clock, service
from app.adserver import mappings as id_mappings
from app.adserver.adapters import adapter_class, kinds
from app.adserver.adapters.base import AdServerError
from app.adserver.models import Connection, MappingKind
from app.db import utcnow
from app.errors import DomainError, NotFound, ValidationFailed
from app.extensions import current_settings, db
from app.formats import ngettext
from app.forms import form_sent_before, redirect_to_created
from app.orders.views import readable_order
from app.roles import Role
from app.routing import safe_next
from app.transaction import abandon, after_commit
from app.validation import parse_id

bp = Blueprint("adserver", __name__, url_prefix="/adserver")

OPS = (Role.AD_OPS, Role.ADMIN)


@bp.record_once
def send_pushes_after_commit(state: BlueprintSetupState) -> None:
    """Register the after-commit sender of pushes (once: it reads the app's settings when it runs)."""
    if push_after_commit not in service.push_senders:
        service.push_senders.append(push_after_commit)


def push_after_commit(order_ids: set[int]) -> None:
    """Without a worker (the embedded set-up), send the pushes a unit of work queued right after its
    commit, before the response leaves (or in the background thread that made the order, the buyer's
    Accept's). Off in production, where `flask adserver worker` runs beside gunicorn, and outside
    requests (a CLI command's pushes wait for the worker, as before). A failure
    never changes the response: the job stays in the outbox with its error."""
    if (
        not (has_request_context() or background.in_background())
        or not current_app.config["ADSERVER_PUSH_AFTER_REQUEST"]
    ):
        return
    settings = outbox.Settings.from_config(current_app.config)
    outbox.drain(worker="web", settings=settings, limit=len(order_ids), order_ids=set(order_ids))


def _back(default: str) -> str:
    return safe_next(request.form.get("next"), default)


def _connection(connection_id: int) -> Connection:
    connection = db.session.get(Connection, connection_id)
    if connection is None:
        raise NotFound("No such ad-server connection.")
    return connection


@bp.route("/")
@allow(*OPS)
def index(errors: dict[int, dict[str, list[str]]] | None = None, until: dict[int, str] | None = None):
    """The connections; `errors` and `until`: a refused "Run until" shown again on its connection."""
    connections = queries.connections()
    counts = queries.order_counts_by_connection()
    unmapped = {}  # per connection: how many items lack an id, and the first kind that has some
    for c in connections:
        missing = {kind: n for kind, n in id_mappings.unmapped_counts(c).items() if n}
        unmapped[c.id] = (sum(missing.values()), next(iter(missing), MappingKind.AD_UNIT).value)
    return render_template(
        "adserver/index.html",
        connections=connections,
        counts=counts,
        unmapped=unmapped,
        kinds=kinds(),
        form=FlaskForm(),
        errors=errors or {},
        until=until or {},
    ), (400 if errors else 200)


def _form_data(kind: str) -> service.ConnectionData:
    form = request.form
    cls = adapter_class(kind)
    return service.ConnectionData(
        name=form.get("name", ""),
        kind=kind,
        time_zone=(form.get("time_zone") or "").strip(),
        settings={s.name: form.get(f"setting_{s.name}", "") for s in cls.settings_fields},
        is_default=form.get("is_default") == "y",
        active=form.get("active", "y") == "y",
    )


@bp.route("/connections/new", methods=["GET", "POST"])
@allow(Role.ADMIN)
def new_connection():
    kind = request.values.get("kind") or "sandbox"
    try:
        cls = adapter_class(kind)
    except AdServerError:
        raise NotFound("No such kind of ad server.") from None
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        if (earlier := form_sent_before()) is not None:
            return earlier
        data = _form_data(kind)
        try:
            connection = service.save_connection(None, data, actor=current_user, now=utcnow())
        except ValidationFailed as failed:
            abandon(db.session)
            errors = failed.errors
        else:
            flash(f"Connection “{connection.name}” saved.", "success")
            return redirect_to_created(url_for("adserver.index"))
    return render_template(
        "adserver/connection_form.html",
        connection=None,
        cls=cls,
        kind=kind,
        values=request.form if request.method == "POST" else {"time_zone": current_settings().time_zone.key},
        errors=errors,
        form=FlaskForm(),
    ), (400 if errors else 200)


@bp.route("/connections/<int:connection_id>", methods=["GET", "POST"])
@allow(Role.ADMIN)
def edit_connection(connection_id: int):
    connection = _connection(connection_id)
    cls = adapter_class(connection.kind)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            service.save_connection(connection, _form_data(connection.kind), actor=current_user, now=utcnow())
        except ValidationFailed as failed:
            abandon(db.session)
            errors = failed.errors
            connection = _connection(connection_id)
        else:
            flash(f"Connection “{connection.name}” saved.", "success")
            return redirect(url_for("adserver.index"))
    secrets = {s.name for s in cls.settings_fields if s.secret}
    values = (
        request.form
        if request.method == "POST"
        else {
            "name": connection.name,
            "time_zone": connection.time_zone,
            "is_default": "y" if connection.is_default else "",
            "active": "y" if connection.active else "n",
            **{f"setting_{k}": v for k, v in connection.settings.items() if k not in secrets},
        }
    )
    return render_template(
        "adserver/connection_form.html",
        connection=connection,
        cls=cls,
        kind=connection.kind,
        values=values,
        errors=errors,
        form=FlaskForm(),
    ), (400 if errors else 200)


@bp.route("/connections/<int:connection_id>/check", methods=["POST"])
@allow(*OPS)
def check_connection(connection_id: int):
    connection = _connection(connection_id)
    try:
        message = service.adapter_of(connection, timeout=current_app.config["ADSERVER_TIMEOUT_SECONDS"]).check()
    except AdServerError as error:
        flash(f"{connection.name}: {error.message}", "danger")
    else:
        flash(message, "success")
    return redirect(url_for("adserver.index"))


@bp.route("/connections/<int:connection_id>/sync", methods=["POST"])
@allow(*OPS)
def sync_connection(connection_id: int):
    connection = _connection(connection_id)
    after_commit(db.session, lambda: _flash_sync(_sync_now(connection)))
    return redirect(_back(url_for("adserver.index")))


def _flash_sync(report: delivery.SyncReport, prefix: str = "") -> None:
    flash(f"{prefix}{report}", "danger" if report.error else "success")


@bp.route("/connections/<int:connection_id>/next-day", methods=["POST"])
@allow(*OPS)
def next_day(connection_id: int):
    """The sandbox's clock moves a day ahead and that day's delivery comes back, in this request's
    unit of work."""
    connection = _connection(connection_id)
    if connection.kind != "sandbox":
        raise DomainError("Only the sandbox's clock can be moved.")
    today = sandbox_clock.real_today(connection)
    try:
        run = sandbox_clock.run_until(
            connection,
            sandbox_clock.delivered_through(connection, today=today) + timedelta(days=1),
            today=today,
            actor=current_user,
            now=utcnow(),
            timeout=current_app.config["ADSERVER_TIMEOUT_SECONDS"],
        )
    except ValidationFailed as failed:
        abandon(db.session)
        flash(" ".join(failed.errors["until"]), "danger")
    else:
        ahead = ngettext("The sandbox is now %(num)s day ahead.", "The sandbox is now %(num)s days ahead.", run.ahead)
        flash(f"{ahead} {run.fetched()}", "success")
    return redirect(_back(url_for("adserver.index")))


@bp.route("/connections/<int:connection_id>/run-until", methods=["POST"])
@allow(*OPS)
def run_until(connection_id: int):
    """Run the sandbox over every day up to a date (a new order's flight weeks ahead, in one click)."""
    connection = _connection(connection_id)
    raw = (request.form.get("until") or "").strip()[:20]
    try:
        until = date.fromisoformat(raw) if raw else None
    except ValueError:
        until = None
    try:
        if raw and until is None:
            raise ValidationFailed.on("until", "Give the day as a date, e.g. 2027-01-31.")
        run = sandbox_clock.run_until(
            connection,
            until,
            today=sandbox_clock.real_today(connection),
            actor=current_user,
            now=utcnow(),
            timeout=current_app.config["ADSERVER_TIMEOUT_SECONDS"],
        )
    except ValidationFailed as failed:
        abandon(db.session)
        return index(errors={connection_id: failed.errors}, until={connection_id: raw})
    flash(str(run), "success")
    return redirect(_back(url_for("adserver.index")))


def _sync_now(connection: Connection) -> delivery.SyncReport:
    """A sync from a button: it takes the connection's sync claim, so it never runs beside the worker's."""
    config = current_app.config
    if not delivery.claim_sync(
        connection.id, now=utcnow(), every=timedelta(0), lease=timedelta(seconds=config["ADSERVER_LEASE_SECONDS"])
    ):
        return delivery.SyncReport(connection.name, 0, 0, 0, error="a sync is already running; try again in a minute")
    return delivery.sync_connection(
        db.session.get(Connection, connection.id),
        now=utcnow(),
        timeout=config["ADSERVER_TIMEOUT_SECONDS"],
        api_version=config["GAM_API_VERSION"],
    )


# Mappings


def _mapping_kind(raw: str | None) -> MappingKind:
    raw = raw or MappingKind.AD_UNIT.value
    return MappingKind(raw) if raw in MappingKind._value2member_map_ else MappingKind.AD_UNIT


@bp.route("/connections/<int:connection_id>/mappings")
@allow(*OPS)
def mappings(connection_id: int):
    """One kind's mappings, searched; `order=` shows only what that order's push still needs."""
    connection = _connection(connection_id)
    kind = _mapping_kind(request.args.get("kind"))
    search = (request.args.get("q") or "")[:100]
    only_unmapped = request.args.get("unmapped") == "1"
    rows = id_mappings.mapping_rows(connection, kind, search=search)
    unmapped = sum(1 for r in rows if r.remote_id is None)
    if only_unmapped:
        rows = [r for r in rows if r.remote_id is None]
    order, needed = None, []
    if (order_id := parse_id(request.args.get("order"))) is not None:
        order = readable_order(order_id)
        needed = push_checks.unmapped_items(order, connection)
        rows = [r for r in rows if any(i.kind is kind and i.local_id == r.local_id for i in needed)]
    return render_template(
        "adserver/mappings.html",
        connection=connection,
        kind=kind,
        kinds=list(MappingKind),
        rows=rows[:500],
        more=max(0, len(rows) - 500),
        unmapped=unmapped,
        counts=id_mappings.unmapped_counts(connection),
        search=search,
        only_unmapped=only_unmapped,
        order=order,
        needed=needed,
        form=FlaskForm(),
    )


@bp.route("/connections/<int:connection_id>/mappings/count")
@allow(*OPS)
def unmapped_count(connection_id: int):
    """The page's unmapped counter, fetched again after each row is saved (htmx, `mappings-changed`)."""
    connection = _connection(connection_id)
    kind = _mapping_kind(request.args.get("kind"))
    unmapped = sum(1 for r in id_mappings.mapping_rows(connection, kind) if r.remote_id is None)
    return render_template("adserver/_unmapped_count.html", connection=connection, kind=kind, unmapped=unmapped)


@bp.route("/connections/<int:connection_id>/mappings/set", methods=["POST"])
@allow(*OPS)
def set_mapping(connection_id: int):
    connection = _connection(connection_id)
    kind_raw = request.form.get("kind", "")
    if kind_raw not in MappingKind._value2member_map_:
        raise ValidationFailed.on("kind", "Choose ad units, targeting values or advertisers.")
    local_id = parse_id(request.form.get("local_id"))
    if local_id is None:
        raise ValidationFailed.on("local_id", "No such item to map.")
    kind = MappingKind(kind_raw)
    try:
        id_mappings.set_mapping(
            connection, kind, local_id, request.form.get("remote_id", ""), actor=current_user, now=utcnow()
        )
    except ValidationFailed as failed:
        abandon(db.session)
        message = " ".join(m for ms in failed.errors.values() for m in ms)
        if request.headers.get("HX-Request"):
            return render_template(
                "adserver/_mapping_row.html",
                row=_row(connection, kind, local_id),
                kind=kind,
                connection=connection,
                form=FlaskForm(),
                error=message,
            ), 400
        flash(message, "danger")
    else:
        if request.headers.get("HX-Request"):
            return render_template(
                "adserver/_mapping_row.html",
                row=_row(connection, kind, local_id),
                kind=kind,
                connection=connection,
                form=FlaskForm(),
                saved=True,
            ), {"HX-Trigger": "mappings-changed"}
        flash("Mapping saved.", "success")
    return redirect(
        url_for("adserver.mappings", connection_id=connection.id, kind=kind.value, q=request.form.get("q", ""))
    )


def _row(connection: Connection, kind: MappingKind, local_id: int):
    row = next((r for r in id_mappings.mapping_rows(connection, kind) if r.local_id == local_id), None)
    if row is None:
        raise NotFound("No such item to map.")
    return row


@bp.route("/connections/<int:connection_id>/mappings/own-ids", methods=["POST"])
@allow(*OPS)
def map_own_ids(connection_id: int):
    connection = _connection(connection_id)
    count = id_mappings.map_to_own_ids(connection, actor=current_user, now=utcnow())
    flash(
        ngettext(
            "%(num)s item mapped to the sandbox's own ids.", "%(num)s items mapped to the sandbox's own ids.", count
        ),
        "success",
    )
    return redirect(url_for("adserver.mappings", connection_id=connection.id))


# The ad-ops queue and pushes are in push_views, on the same blueprint.
from app.adserver import push_views  # noqa: E402, F401
