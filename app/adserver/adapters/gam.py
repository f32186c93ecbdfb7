"""Google Ad Manager, through its SOAP API and Google's googleads library.

A push finds or creates the advertiser and agency (companies, by name and type), the order (by its
deterministic name) and the line items (by `externalId`, our order line id), then updates the line
items that differ from the order line and pauses, resumes or archives them to match its status.
Every lookup happens before any create, so a retry after a timeout adopts what the first attempt
made instead of making it twice.

Choices the API leaves open:

- Timeouts: `AdManagerClient(timeout=...)` hands the value unchanged to zeep's transport
  (`timeout` for the WSDL, `operation_timeout` for calls), which passes it to requests: seconds,
  although googleads' docstring says milliseconds. The service account's token refresh gets the
  same timeout; so does the report download.
- Flat-fee lines: the API has no flat cost type, so a flat line is booked as CPD, its fee spread
  evenly over the days of its flight (rounded to the cent) and a note says so. `read_lines` gives
  that daily rate back.
- `Order.externalOrderId` is an `xsd:int`: it carries our numeric order id; the order number goes
  to `poNumber` (unless the proposal has a PO number) and to the order's notes.
- Key-values and audiences are both custom criteria ("keyId:valueId"); `read_lines` returns them
  together under "key_value". Day parts and frequency caps are not sent: a note says so.
"""

from __future__ import annotations

import csv
import functools
import gzip
import io
import json
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import google.auth.exceptions
import google.auth.transport.requests
import googleads.errors
import googleads.oauth2
import pytz
import requests
import zeep.exceptions
from google.oauth2 import service_account
from googleads import ad_manager, common

from app import money
from app.adserver.adapters import register
from app.adserver.adapters.base import (
    Adapter,
    AdServerError,
    AdvertiserSpec,
    DeliveryRow,
    LineSpec,
    OrderSpec,
    PushResult,
    RemoteLine,
    SettingField,
)

#: the API version used unless the connection or the app config names another
DEFAULT_API_VERSION = "v202608"
DEFAULT_SERVER = "https://ads.google.com"
DEFAULT_APPLICATION_NAME = "Flightdeck"
#: how long delivery() waits for Ad Manager to run a report, and its first and longest pause between polls
REPORT_WAIT_SECONDS = 300.0
REPORT_POLL_SECONDS = (0.25, 8.0)

LINE_ITEM_TYPES = {
    "sponsorship": "SPONSORSHIP",
    "standard": "STANDARD",
    "price_priority": "PRICE_PRIORITY",
    "house": "HOUSE",
}
#: flat fees are booked per day: see the module's docstring
COST_TYPES = {"cpm": "CPM", "cpd": "CPD", "flat": "CPD"}
#: line item types whose goal is a daily share of voice in percent rather than a number of impressions
SHARE_OF_VOICE_TYPES = {"SPONSORSHIP", "HOUSE"}
#: targeting dimensions a push sends; others are noted as left out
SENT_DIMENSIONS = {"geo", "device", "key_value", "audience"}
#: errors worth retrying: the server's trouble, not the request's
TRANSIENT_ERROR_TYPES = {"ServerError", "InternalApiError", "QuotaError"}
TRANSIENT_REASONS = {"SERVER_ERROR", "SERVER_BUSY", "EXCEEDED_QUOTA", "CONCURRENT_MODIFICATION", "TRANSIENT_ERROR"}
#: Ad Manager's computed line item statuses, as Flightdeck's line statuses
LINE_STATUSES = {
    "DRAFT": "active",
    "PENDING_APPROVAL": "active",
    "READY": "active",
    "DELIVERING": "active",
    "DELIVERY_EXTENDED": "active",
    "INACTIVE": "active",
    "COMPLETED": "active",
    "PAUSED": "paused",
    "PAUSED_INVENTORY_RELEASED": "paused",
    "CANCELED": "cancelled",
}
ACTION_VERBS = {
    "PauseLineItems": "paused",
    "ResumeLineItems": "resumed",
    "ArchiveLineItems": "archived",
    "UnarchiveLineItems": "unarchived",
}
MICROS = 1_000_000


@register
class GamAdapter(Adapter):
    kind = "gam"
    label = "Google Ad Manager"
    #: geography, devices, and key-values and audiences as custom targeting; the others are not sent
    mapped_dimensions = frozenset({"geo", "device", "key_value", "audience"})
    settings_fields = (
        SettingField("network_code", "Network code", help="The number in the Ad Manager address, e.g. 21700001."),
        SettingField(
            "application_name",
            "Application name",
            required=False,
            help=f"How Ad Manager's change history names us; {DEFAULT_APPLICATION_NAME} if empty.",
        ),
        SettingField(
            "api_version",
            "API version",
            required=False,
            help=f"The Ad Manager API version, e.g. {DEFAULT_API_VERSION}; the app's default if empty.",
        ),
        SettingField(
            "server",
            "API address",
            required=False,
            help=f"{DEFAULT_SERVER} if empty. Change it only for a proxy or tests.",
        ),
        SettingField(
            "service_account_key",
            "Service account key",
            required=False,
            secret=True,
            multiline=True,
            help="The JSON key of a service account added to the network as an API user.",
        ),
        SettingField(
            "access_token",
            "Access token",
            required=False,
            secret=True,
            help="An OAuth2 access token, instead of a service account key (it expires within hours).",
        ),
        SettingField(
            "approve_orders",
            "Approve orders",
            required=False,
            help='"yes" to approve each order in Ad Manager once its line items are in; "no" leaves it a draft.',
        ),
        SettingField(
            "trafficker_id",
            "Trafficker user id",
            required=False,
            help="The Ad Manager user id that orders are trafficked by; the API user if empty.",
        ),
    )

    def __init__(self, settings: Mapping[str, str], *, time_zone: str, timeout: float = 30.0) -> None:
        super().__init__(settings, time_zone=time_zone, timeout=timeout)
        self._client: ad_manager.AdManagerClient | None = None
        self._services: dict[str, common.GoogleSoapService] = {}

    @property
    def network_code(self) -> str:
        return (self.settings.get("network_code") or "").strip()

    @property
    def api_version(self) -> str:
        return (self.settings.get("api_version") or "").strip() or DEFAULT_API_VERSION

    @property
    def server(self) -> str:
        return (self.settings.get("server") or "").strip() or DEFAULT_SERVER

    # The adapter interface

    def check(self) -> str:
        with self._errors_translated():
            network = self.call("NetworkService", "getCurrentNetwork")
        return f"Network {network.networkCode}: {network.displayName}"

    def push(self, order: OrderSpec) -> PushResult:
        with self._errors_translated():
            return _Push(self, order, now=datetime.now(UTC)).run()

    def read_lines(self, remote_order_id: str, remote_line_ids: Sequence[str]) -> list[RemoteLine]:
        """The order's line items with these ids (all of them when no ids are given)."""
        wanted = {str(i) for i in remote_line_ids}
        with self._errors_translated():
            items = self.line_items_of(_numeric(remote_order_id, "order id"))
        return [_remote_line(item) for item in items if not wanted or str(item.id) in wanted]

    def delivery(self, remote_line_ids: Sequence[str], start: date, end: date) -> list[DeliveryRow]:
        ids = sorted({_numeric(i, "line item id") for i in remote_line_ids})
        if not ids:
            return []
        # Report filters take a literal list after IN (bind variables only stand for single values);
        # the ids are ints by now, so nothing but digits reaches the statement.
        query = {
            "dimensions": ["LINE_ITEM_ID", "DATE"],
            "columns": ["AD_SERVER_IMPRESSIONS", "AD_SERVER_CLICKS"],
            "dateRangeType": "CUSTOM_DATE",
            "startDate": _gam_date(start),
            "endDate": _gam_date(end),
            "statement": {"query": f"WHERE LINE_ITEM_ID IN ({', '.join(str(i) for i in ids)})"},
        }
        with self._errors_translated():
            job = self.call("ReportService", "runReportJob", {"reportQuery": query})
            self._wait_for_report(job.id)
            url = self.call(
                "ReportService",
                "getReportDownloadUrlWithOptions",
                job.id,
                {
                    "exportFormat": "CSV_DUMP",
                    "includeReportProperties": False,
                    "includeTotalsRow": False,
                    "useGzipCompression": True,
                },
            )
            response = requests.get(url, timeout=self.timeout)
            response.raise_for_status()
        return _delivery_rows(response.content)

    def order_url(self, remote_order_id: str) -> str | None:
        return (
            f"https://admanager.google.com/{self.network_code}#delivery/order/order_overview/order_id={remote_order_id}"
        )

    # Talking to Ad Manager

    def call(self, service: str, method: str, *args):
        """Call one method of one Ad Manager service (its client made on first use)."""
        if service not in self._services:
            self._services[service] = self._ad_manager().GetService(
                service, version=self.api_version, server=self.server
            )
        return getattr(self._services[service], method)(*args)

    def _ad_manager(self) -> ad_manager.AdManagerClient:
        if self._client is None:
            if not self.network_code:
                raise AdServerError("The connection has no Ad Manager network code.", transient=False)
            self._client = ad_manager.AdManagerClient(
                self._credentials(),
                (self.settings.get("application_name") or "").strip() or DEFAULT_APPLICATION_NAME,
                network_code=self.network_code,
                cache=common.ZeepServiceProxy.NO_CACHE,
                timeout=self.timeout,
            )
        return self._client

    def _credentials(self) -> googleads.oauth2.GoogleOAuth2Client:
        key = (self.settings.get("service_account_key") or "").strip()
        token = (self.settings.get("access_token") or "").strip()
        if key:
            try:
                credentials = service_account.Credentials.from_service_account_info(
                    json.loads(key), scopes=[googleads.oauth2.GetAPIScope("ad_manager")]
                )
            except (ValueError, KeyError) as error:
                raise AdServerError(f"The service account key cannot be used: {error}", transient=False) from error
            return _ServiceAccountClient(credentials, timeout=self.timeout)
        if token:
            return googleads.oauth2.GoogleAccessTokenClient(token, None)
        raise AdServerError(
            "The connection needs a service account key or an access token for Ad Manager.", transient=False
        )

    def statement(self, where: str, **values) -> ad_manager.StatementBuilder:
        """A PQL statement with every value bound, never formatted into the text."""
        statement = ad_manager.StatementBuilder(version=self.api_version).Where(where).OrderBy("id")
        for name, value in values.items():
            statement.WithBindVariable(name, value)
        return statement

    def select(self, service: str, method: str, statement: ad_manager.StatementBuilder) -> list:
        """Every object the statement selects, page after page."""
        found: list = []
        while True:
            page = self.call(service, method, statement.ToStatement())
            results = list(_field(page, "results") or [])
            found.extend(results)
            if not results or len(found) >= (_field(page, "totalResultSetSize") or 0):
                return found
            statement.offset += len(results)

    def line_items_of(self, order_id: int) -> list:
        statement = self.statement("orderId = :orderId", orderId=order_id)
        return self.select("LineItemService", "getLineItemsByStatement", statement)

    def _wait_for_report(self, job_id: int) -> None:
        deadline = time.monotonic() + REPORT_WAIT_SECONDS
        pause, longest = REPORT_POLL_SECONDS
        while True:
            status = self.call("ReportService", "getReportJobStatus", job_id)
            if status == "COMPLETED":
                return
            if status == "FAILED":
                raise AdServerError(f"Ad Manager could not run the delivery report (job {job_id}).", transient=True)
            if time.monotonic() + pause > deadline:
                raise AdServerError(
                    f"Ad Manager's delivery report (job {job_id}) was not ready after {REPORT_WAIT_SECONDS:g} s.",
                    transient=True,
                )
            time.sleep(pause)
            pause = min(pause * 2, longest)

    @contextmanager
    def _errors_translated(self) -> Iterator[None]:
        """Turn what googleads, zeep, requests and google-auth raise into AdServerErrors."""
        try:
            yield
        except googleads.errors.GoogleAdsServerFault as fault:
            raise _fault_error(fault.errors, str(fault)) from fault
        except zeep.exceptions.Fault as fault:
            raise _fault_error((), fault.message) from fault
        except zeep.exceptions.TransportError as error:
            raise _http_error(error.status_code, str(error)) from error
        except zeep.exceptions.XMLSyntaxError as error:
            raise AdServerError(
                f"Ad Manager answered with something other than SOAP: {error}", transient=True
            ) from error
        except requests.Timeout as error:
            raise AdServerError(f"Ad Manager did not answer within {self.timeout:g} s.", transient=True) from error
        except requests.ConnectionError as error:
            raise AdServerError(f"Could not reach Ad Manager at {self.server}: {error}", transient=True) from error
        except requests.HTTPError as error:
            raise _http_error(error.response.status_code, str(error)) from error
        except google.auth.exceptions.RefreshError as error:
            raise AdServerError(f"Ad Manager refused the credentials: {error}", transient=False) from error
        except google.auth.exceptions.TransportError as error:
            raise AdServerError(f"Could not reach Google's sign-in service: {error}", transient=True) from error
        except googleads.errors.GoogleAdsSoapTransportError as error:
            # raised while loading a WSDL, from requests' HTTPError
            cause = error.__context__
            status = cause.response.status_code if isinstance(cause, requests.HTTPError) else 0
            raise _http_error(status, str(error)) from error
        except googleads.errors.GoogleAdsValueError as error:
            raise AdServerError(f"Ad Manager: {error}", transient=False) from error
        except googleads.errors.GoogleAdsError as error:  # e.g. "Access token has expired."
            raise AdServerError(f"Ad Manager refused the credentials: {error}", transient=False) from error


class _ServiceAccountClient(googleads.oauth2.GoogleRefreshableOAuth2Client):
    """googleads' service-account client, built from the key's JSON instead of a key file, and
    refreshing its token within the adapter's timeout (googleads' own has none)."""

    def __init__(self, credentials: service_account.Credentials, *, timeout: float) -> None:
        self.creds = credentials
        self.timeout = timeout

    def CreateHttpHeader(self) -> dict[str, str]:  # googleads' name
        if not self.creds.valid:
            self.Refresh()
        headers: dict[str, str] = {}
        self.creds.apply(headers)
        return headers

    def Refresh(self) -> None:  # googleads' name
        with requests.Session() as session:
            request = google.auth.transport.requests.Request(session=session)
            self.creds.refresh(functools.partial(request, timeout=self.timeout))


class _Push:
    """One push of one order: the lookups, then the writes, collecting notes on the way."""

    def __init__(self, adapter: GamAdapter, order: OrderSpec, *, now: datetime) -> None:
        self.adapter = adapter
        self.order = order
        self.now = now
        self.notes: list[str] = []

    def run(self) -> PushResult:
        order = self.order
        # Read first and plan every line: a line that cannot be pushed stops the push before anything
        # is written in Ad Manager.
        remote_order = self.find_order()
        existing: dict[str, object] = {}
        if remote_order is not None:
            for item in self.adapter.line_items_of(remote_order.id):
                existing.setdefault(str(item.externalId), item)  # the oldest, if a line was ever made twice
        to_create: list[tuple[LineSpec, dict]] = []
        to_update: list[tuple[LineSpec, object]] = []
        to_unarchive: list = []  # archived there, not cancelled here: back before any update
        kept: dict[int, object] = {}
        for line in order.lines:
            item = existing.get(str(line.line_id))
            if line.status == "cancelled":
                if item is not None:
                    kept[line.line_id] = item
                continue
            fields, remarks = self.line_item_fields(line)
            with_start = fields["startDateTimeType"] == "USE_START_DATE_TIME"
            if item is not None and item.isArchived:
                to_unarchive.append(item)
            if item is None:
                self.refuse_if_ended(line)
                to_create.append((line, fields))
            elif _shape(item, with_start=with_start) != _shape(fields, with_start=with_start):
                self.refuse_if_ended(line)
                to_update.append((line, _updated(item, fields)))
            else:
                kept[line.line_id] = item
                continue
            self.notes.extend(remarks)  # about what is sent, so only for lines sent

        advertiser_id = self.company(order.advertiser, "ADVERTISER", on_order=_field(remote_order, "advertiserId"))
        agency_id = None
        if order.agency is not None:
            agency_id = self.company(order.agency, "AGENCY", on_order=_field(remote_order, "agencyId"))
        if remote_order is None:
            remote_order = self.create_order(advertiser_id, agency_id)
        order_id = remote_order.id
        for item in to_unarchive:
            self.perform("UnarchiveLineItems", item)
            item.isArchived = False
        if to_create:
            for _, fields in to_create:
                fields["orderId"] = order_id
            created = self.adapter.call("LineItemService", "createLineItems", [fields for _, fields in to_create])
            by_external = {str(item.externalId): item for item in created}
            for line, _ in to_create:
                kept[line.line_id] = by_external[str(line.line_id)]
            self.notes.append(f"created {_count(len(created), 'line item')}")
        if to_update:
            updated = self.adapter.call("LineItemService", "updateLineItems", [item for _, item in to_update])
            for (line, _), item in zip(to_update, updated, strict=True):
                kept[line.line_id] = item
            self.notes.append(f"updated {_count(len(updated), 'line item')}")
        for line in order.lines:
            if line.line_id in kept:
                self.match_status(line, kept[line.line_id])

        if order.approve:
            self.approve(order_id)
        return PushResult(
            remote_order_id=str(order_id),
            remote_line_ids={line.line_id: str(kept[line.line_id].id) for line in order.lines if line.line_id in kept},
            advertiser_remote_id=str(advertiser_id),
            agency_remote_id=None if agency_id is None else str(agency_id),
            notes=tuple(self.notes),
        )

    # Accounts and the order

    def company(self, account: AdvertiserSpec, company_type: str, *, on_order: int | None) -> int:
        """The company's id: the mapped one, else the adopted order's, else the first of its name and
        type, else a new one."""
        kind = company_type.lower()
        if account.remote_id:
            return _numeric(account.remote_id, f"{kind} id")
        if on_order is not None:
            return on_order
        statement = self.adapter.statement("name = :name AND type = :type", name=account.name, type=company_type)
        found = self.adapter.select("CompanyService", "getCompaniesByStatement", statement)
        if found:
            self.notes.append(f"adopted existing {kind} {found[0].id}")
            return found[0].id
        (created,) = self.adapter.call(
            "CompanyService", "createCompanies", [{"name": account.name, "type": company_type}]
        )
        self.notes.append(f"created {kind} {created.id}")
        return created.id

    def find_order(self):
        """The order pushed before (by its id), else the order of this name, the oldest if there are
        several; None if there is none. The id comes first so a renamed campaign is no new order."""
        found = []
        if self.order.remote_id and self.order.remote_id.isdigit():
            statement = self.adapter.statement("id = :id", id=int(self.order.remote_id))
            found = self.adapter.select("OrderService", "getOrdersByStatement", statement)
        if not found:
            statement = self.adapter.statement("name = :name", name=self.order.name)
            found = self.adapter.select("OrderService", "getOrdersByStatement", statement)
        if not found:
            return None
        self.notes.append(f"adopted existing order {found[0].id}")
        return found[0]

    def create_order(self, advertiser_id: int, agency_id: int | None):
        order = self.order
        fields = {
            "name": order.name,
            "advertiserId": advertiser_id,
            "traffickerId": self.trafficker_id(),
            "externalOrderId": order.order_id,
            "poNumber": (order.po_number or order.number)[:63],
            "notes": f"Flightdeck order {order.number}",
        }
        if agency_id is not None:
            fields["agencyId"] = agency_id
        (created,) = self.adapter.call("OrderService", "createOrders", [fields])
        self.notes.append(f"created order {created.id}")
        return created

    def trafficker_id(self) -> int:
        configured = (self.adapter.settings.get("trafficker_id") or "").strip()
        if configured:
            return _numeric(configured, "trafficker user id")
        return self.adapter.call("UserService", "getCurrentUser").id

    def approve(self, order_id: int) -> None:
        statement = self.adapter.statement("id = :id", id=order_id).ToStatement()
        try:
            result = self.adapter.call("OrderService", "performOrderAction", {"xsi_type": "ApproveOrders"}, statement)
        except googleads.errors.GoogleAdsServerFault as fault:
            if not any("ALREADY_APPROVED" in _error_kind(error) for error in fault.errors):
                raise
            result = None
        if result is not None and result.numChanges:
            self.notes.append(f"approved order {order_id}")
        else:
            self.notes.append(f"order {order_id} was already approved")

    # Line items

    def refuse_if_ended(self, line: LineSpec) -> None:
        if line.end <= self.now:
            raise AdServerError(
                f"Line {line.name} ended on {line.end:%d %b %Y}; change its dates before pushing.", transient=False
            )

    def line_item_fields(self, line: LineSpec) -> tuple[dict, list[str]]:
        """The line item as Ad Manager should have it (but its order id), in the dict form googleads
        sends, and notes on what could not be said exactly."""
        remarks: list[str] = []
        try:
            line_item_type = LINE_ITEM_TYPES[line.line_item_type]
            cost_type = COST_TYPES[line.pricing_model]
        except KeyError as error:
            raise AdServerError(
                f"Line {line.name}: Ad Manager has no equivalent of {error.args[0]}.", transient=False
            ) from None
        fields: dict = {
            "name": line.name,
            "externalId": str(line.line_id),
            "lineItemType": line_item_type,
            "costType": cost_type,
            "costPerUnit": {"currencyCode": self.order.currency, "microAmount": self.micros_per_unit(line, remarks)},
            "primaryGoal": _goal(line, line_item_type),
            "creativeRotationType": "OPTIMIZED",
            "creativePlaceholders": [_placeholder(line, size) for size in line.sizes],
            "targeting": self.targeting(line, remarks),
            "endDateTime": _gam_datetime(line.end, line.time_zone),
        }
        if line.start <= self.now:
            fields["startDateTimeType"] = "IMMEDIATELY"
        else:
            fields["startDateTimeType"] = "USE_START_DATE_TIME"
            fields["startDateTime"] = _gam_datetime(line.start, line.time_zone)
        return fields, remarks

    def micros_per_unit(self, line: LineSpec, remarks: list[str]) -> int:
        rate = Decimal(line.rate)
        if line.pricing_model == "flat":
            zone = ZoneInfo(line.time_zone)
            days = (line.end.astimezone(zone).date() - line.start.astimezone(zone).date()).days + 1
            currency = self.order.currency
            daily = money.quantize(rate / days, currency)
            remarks.append(
                f"line {line.name}: flat fee {money.quantize(rate, currency)} {currency} booked as CPD {daily} "
                f"over {_count(days, 'day')}"
            )
            rate = daily
        return int((rate * MICROS).to_integral_value(ROUND_HALF_UP))

    def targeting(self, line: LineSpec, remarks: list[str]) -> dict:
        targeting: dict = {
            "inventoryTargeting": {
                "targetedAdUnits": [{"adUnitId": ad_unit, "includeDescendants": True} for ad_unit in line.ad_units]
            }
        }
        geo = line.targeting.get("geo") or ()
        if geo:
            targeting["geoTargeting"] = {"targetedLocations": [{"id": _numeric(g, "location id")} for g in geo]}
        devices = line.targeting.get("device") or ()
        if devices:
            targeting["technologyTargeting"] = {
                "deviceCategoryTargeting": {
                    "targetedDeviceCategories": [
                        {"xsi_type": "DeviceCategory", "id": _numeric(d, "device category id")} for d in devices
                    ]
                }
            }
        criteria: dict[int, set[int]] = {}
        for pair in (*(line.targeting.get("key_value") or ()), *(line.targeting.get("audience") or ())):
            key, _, value = str(pair).partition(":")
            criteria.setdefault(_numeric(key, "custom targeting key id"), set()).add(
                _numeric(value, "custom targeting value id")
            )
        if criteria:
            # Ad Manager's documented shape: a top-level OR of AND sets of criteria.
            targeting["customTargeting"] = {
                "logicalOperator": "OR",
                "children": [
                    {
                        "xsi_type": "CustomCriteriaSet",
                        "logicalOperator": "AND",
                        "children": [
                            {"xsi_type": "CustomCriteria", "keyId": key, "valueIds": sorted(values), "operator": "IS"}
                            for key, values in sorted(criteria.items())
                        ],
                    }
                ],
            }
        for dimension, values in sorted(line.targeting.items()):
            if values and dimension not in SENT_DIMENSIONS:
                remarks.append(f"line {line.name}: {dimension} targeting is not sent to Ad Manager; set it there")
        return targeting

    def match_status(self, line: LineSpec, item) -> None:
        paused = item.status in ("PAUSED", "PAUSED_INVENTORY_RELEASED")
        if line.status == "cancelled" and not item.isArchived:
            self.perform("ArchiveLineItems", item)
        elif line.status == "paused" and not paused:
            self.perform("PauseLineItems", item)
        elif line.status == "active" and paused:
            self.perform("ResumeLineItems", item)

    def perform(self, action: str, item) -> None:
        statement = self.adapter.statement("id = :id", id=item.id).ToStatement()
        self.adapter.call("LineItemService", "performLineItemAction", {"xsi_type": action}, statement)
        self.notes.append(f"{ACTION_VERBS[action]} line item {item.id}")


# Building Ad Manager's objects


def _gam_datetime(moment: datetime, zone: str) -> dict:
    """An Ad Manager DateTime for `moment`, in `zone`: pytz names the zone as Ad Manager knows it."""
    try:
        tz = pytz.timezone(zone)
    except pytz.UnknownTimeZoneError:
        raise AdServerError(f"Ad Manager does not know the time zone {zone}.", transient=False) from None
    local = moment.astimezone(tz)
    return {
        "date": _gam_date(local.date()),
        "hour": local.hour,
        "minute": local.minute,
        "second": local.second,
        "timeZoneId": tz.zone,
    }


def _gam_date(day: date) -> dict:
    return {"year": day.year, "month": day.month, "day": day.day}


def _goal(line: LineSpec, line_item_type: str) -> dict:
    if line_item_type in SHARE_OF_VOICE_TYPES:
        return {"goalType": "DAILY", "unitType": "IMPRESSIONS", "units": 100}
    if line.impressions is not None:
        return {"goalType": "LIFETIME", "unitType": "IMPRESSIONS", "units": line.impressions}
    return {"goalType": "NONE", "unitType": "IMPRESSIONS"}


def _placeholder(line: LineSpec, size: str) -> dict:
    match = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", size)
    if match is None:
        raise AdServerError(f"Line {line.name}: the size {size!r} is not WIDTHxHEIGHT.", transient=False)
    return {"size": {"width": int(match[1]), "height": int(match[2]), "isAspectRatio": False}}


def _updated(item, fields: dict):
    """The line item as read, with our fields set on it: Ad Manager replaces the whole object on
    update, so what ad ops set by hand elsewhere (creatives' settings, day parts) is kept."""
    targeting = item.targeting
    for name, value in fields.items():
        if name == "targeting" and targeting is not None:
            for part in ("inventoryTargeting", "geoTargeting", "customTargeting"):
                targeting[part] = value.get(part)
            devices = (value.get("technologyTargeting") or {}).get("deviceCategoryTargeting")
            if targeting.technologyTargeting is not None:
                targeting.technologyTargeting.deviceCategoryTargeting = devices
            elif devices is not None:
                targeting.technologyTargeting = {"deviceCategoryTargeting": devices}
        elif name in ("startDateTime", "startDateTimeType") and fields["startDateTimeType"] == "IMMEDIATELY":
            continue  # it has started: its start stays as it is
        else:
            item[name] = value
    return item


def _shape(item, *, with_start: bool) -> dict:
    """What a push compares between the line item as read (a zeep object) and as it should be (a
    dict): the same fields the same way, whatever their form. A line that has started keeps its
    start, so the start counts only `with_start`."""
    goal = _field(item, "primaryGoal")
    cost = _field(item, "costPerUnit")
    targeting = _field(item, "targeting")
    return {
        "name": _field(item, "name"),
        "lineItemType": _field(item, "lineItemType"),
        "costType": _field(item, "costType"),
        "cost": (_field(cost, "currencyCode"), _field(cost, "microAmount")),
        # a goal of NONE has no units (Ad Manager may answer -1 there)
        "goal": (_field(goal, "goalType"), _field(goal, "unitType"), _field(goal, "units"))
        if _field(goal, "goalType") != "NONE"
        else ("NONE", None, None),
        "start": _moment(_field(item, "startDateTime")) if with_start else None,
        "end": _moment(_field(item, "endDateTime")),
        "sizes": sorted(
            (_field(_field(p, "size"), "width"), _field(_field(p, "size"), "height"))
            for p in _field(item, "creativePlaceholders") or ()
        ),
        **{k: sorted(v) for k, v in _targeting_read(targeting).items()},
    }


# Reading Ad Manager's objects


def _field(obj, name: str):
    """A field of a zeep object or a dict, None when absent."""
    if obj is None:
        return None
    try:
        return obj[name]
    except (KeyError, AttributeError, TypeError):
        return None


def _moment(value) -> datetime | None:
    if value is None:
        return None
    day = _field(value, "date")
    return datetime(
        _field(day, "year"),
        _field(day, "month"),
        _field(day, "day"),
        _field(value, "hour") or 0,
        _field(value, "minute") or 0,
        _field(value, "second") or 0,
        tzinfo=ZoneInfo(_field(value, "timeZoneId") or "UTC"),
    )


def _targeting_read(targeting) -> dict[str, tuple[str, ...]]:
    """Ad units and targeting values of a Targeting, in Flightdeck's form ("keyId:valueId")."""
    inventory = _field(targeting, "inventoryTargeting")
    geo = _field(targeting, "geoTargeting")
    devices = _field(_field(targeting, "technologyTargeting"), "deviceCategoryTargeting")
    pairs: list[str] = []

    def leaves(node) -> None:
        if _field(node, "keyId") is not None:
            pairs.extend(f"{_field(node, 'keyId')}:{value}" for value in _field(node, "valueIds") or ())
        for child in _field(node, "children") or ():
            leaves(child)

    leaves(_field(targeting, "customTargeting"))
    return {
        "ad_units": tuple(str(_field(u, "adUnitId")) for u in _field(inventory, "targetedAdUnits") or ()),
        "geo": tuple(str(_field(loc, "id")) for loc in _field(geo, "targetedLocations") or ()),
        "device": tuple(str(_field(d, "id")) for d in _field(devices, "targetedDeviceCategories") or ()),
        "key_value": tuple(sorted(pairs)),
    }


def _remote_line(item) -> RemoteLine:
    goal = item.primaryGoal
    impressions = None
    if goal is not None and goal.goalType == "LIFETIME" and goal.unitType == "IMPRESSIONS":
        impressions = goal.units
    micros = _field(item.costPerUnit, "microAmount")
    read = _targeting_read(item.targeting)
    if item.isArchived:
        status = "cancelled"
    else:
        status = LINE_STATUSES.get(item.status or "", (item.status or "unknown").lower())
    external = str(item.externalId or "")
    return RemoteLine(
        remote_id=str(item.id),
        line_id=int(external) if external.isdigit() else None,
        start=_moment(item.startDateTime),
        end=_moment(item.endDateTime),
        impressions=impressions,
        rate=None if micros is None else Decimal(micros) / MICROS,
        ad_units=read.pop("ad_units"),
        targeting={dimension: ids for dimension, ids in read.items() if ids},
        status=status,
    )


def _delivery_rows(content: bytes) -> list[DeliveryRow]:
    """DeliveryRows from a CSV_DUMP report file, gzipped or not."""
    if content[:2] == b"\x1f\x8b":
        content = gzip.decompress(content)
    reader = csv.DictReader(io.StringIO(content.decode("utf-8-sig")))
    columns = ("Dimension.LINE_ITEM_ID", "Dimension.DATE", "Column.AD_SERVER_IMPRESSIONS", "Column.AD_SERVER_CLICKS")
    missing = [c for c in columns if c not in (reader.fieldnames or ())]
    if missing:
        raise AdServerError(f"Ad Manager's delivery report has no {', '.join(missing)} column.", transient=False)
    rows = []
    for row in reader:
        line_item, day, impressions, clicks = (row[c] for c in columns)
        if not line_item.isdigit():  # a totals row
            continue
        rows.append(DeliveryRow(line_item, date.fromisoformat(day), int(impressions or 0), int(clicks or 0)))
    return rows


# Errors


def _error_kind(error) -> str:
    """Ad Manager's errorString ("ServerError.SERVER_ERROR"), or else the error's type and reason."""
    text = _field(error, "errorString")
    if text:
        return str(text)
    xsd_type = getattr(error, "_xsd_type", None)
    return f"{getattr(xsd_type, 'name', 'ApiError')}.{_field(error, 'reason') or 'UNKNOWN'}"


def _fault_error(errors: Sequence, fallback: str) -> AdServerError:
    kinds = [_error_kind(error) for error in errors]
    described = []
    for error, kind in zip(errors, kinds, strict=True):
        path, trigger = _field(error, "fieldPath"), _field(error, "trigger")
        text = f"{path}: {kind}" if path else kind
        described.append(f"{text} ({trigger})" if trigger else text)
    message = "; ".join(described) or fallback
    if any(k.startswith("AuthenticationError") or "NOT_WHITELISTED" in k for k in kinds) or (
        not kinds and "AuthenticationError" in fallback
    ):
        return AdServerError(f"Ad Manager refused the credentials: {message}", transient=False)
    if any(k.split(".")[0] in TRANSIENT_ERROR_TYPES or k.split(".")[-1] in TRANSIENT_REASONS for k in kinds):
        return AdServerError(f"Ad Manager could not do it now: {message}", transient=True)
    return AdServerError(f"Ad Manager refused the request: {message}", transient=False)


def _http_error(status: int, text: str) -> AdServerError:
    if status in (401, 403):
        return AdServerError(f"Ad Manager refused the credentials: {text}", transient=False)
    if status >= 500 or status in (0, 408, 429):
        return AdServerError(f"Ad Manager could not do it now: {text}", transient=True)
    return AdServerError(f"Ad Manager refused the request: {text}", transient=False)


def _numeric(value: str | int, what: str) -> int:
    text = str(value).strip()
    if not text.isdigit():
        raise AdServerError(f"{text!r} is not an Ad Manager {what}.", transient=False)
    return int(text)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
