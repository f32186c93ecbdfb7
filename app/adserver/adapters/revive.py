"""Revive Adserver, through its XML-RPC API v2 at `<url>/www/api/v2/xmlrpc/`.

How Flightdeck's objects sit in Revive:

- Revive has no order. Its hierarchy is manager account (the API calls it "agency") → advertiser →
  campaign → banner. So an order's remote id is the Revive advertiser's id, and each order line is
  one Revive campaign under that advertiser, named with the line's deterministic name. That name
  starts with the order number, so one order's campaigns sort together. All of the advertiser's
  orders share the advertiser; `order_url` opens its list of campaigns.
- Revive has no external ids and accepts duplicates, so the adapter finds things again by content.
  It finds the advertiser by its exact name in the manager account (the lowest id wins if there are
  several). It finds a campaign by the line `flightdeck-line:<line id>`, which it writes into the
  campaign's `comments`. The comments also record the line's status and the zones the adapter
  linked, because the API can neither store a campaign status nor list a campaign's zones.
- Dates are calendar dates. Revive starts a campaign at 00:00 on its start date and ends it at
  23:59:59 on its end date, in the time zone of Revive's manager account. That time zone must be the
  connection's time zone.

Line item types become Revive campaign types, which Revive encodes as `priority`:

- sponsorship → -1, "Contract (Exclusive)": delivers ahead of every other campaign; weight 1.
- standard → 5, "Contract": Revive paces the booked impressions over the flight. Contract
  priorities run from 1 to 10, and 5 (the middle) is Revive's default. Revive refuses a weight
  above 0 on contract campaigns, so the weight is 0.
- price_priority → 0, "Remnant", weight 10.
- house → 0, "Remnant", weight 1. Revive has no tier below remnant (eCPM, -2, only works where the
  administrator has enabled it). Weight sets each remnant campaign's share, so a house line gets a
  tenth of a paid remnant line's share.

The revenue is the line's rate, rounded to Revive's 4 decimal places and sent as a double. The
revenue type follows the pricing model: cpm → 1 (CPM), cpd and flat → 4 (monthly tenancy). Tenancy
is Revive's only revenue type based on time; Revive has none per day and none for a flat fee. The
rate goes over unchanged, so it reads back exactly when checking for drift. But Revive's own revenue
statistics for cpd and flat lines are therefore not the booked revenue: Flightdeck's figures are,
and the campaign's comments say how the line is priced.

The API v2 has no campaign status; only Revive's admin screens can pause a campaign.
- paused: the adapter unlinks the campaign from its zones. Delivery stops at once, and the dates,
  goal and statistics stay. When the line is active again, the adapter links the zones again.
- cancelled: the adapter unlinks the campaign from its zones and moves its end date forward to
  today, so Revive also shows it as expired. A cancelled line that never reached Revive is not
  created. Nothing is deleted, so the delivery history stays for billing.

Targeting and sizes are not pushed. Revive's delivery rules belong to banners, which Flightdeck does
not create, so a push notes each line whose targeting ad ops must set in Revive.
"""

from __future__ import annotations

import http.client
import re
import xmlrpc.client
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import urlsplit
from xml.parsers.expat import ExpatError
from zoneinfo import ZoneInfo

from app import money
from app.adserver.adapters import register
from app.adserver.adapters.base import (
    Adapter,
    AdServerError,
    DeliveryRow,
    LineSpec,
    OrderSpec,
    PushResult,
    RemoteLine,
    SettingField,
)

API_PATH = "/www/api/v2/xmlrpc/"
#: The fault code of every refusal from Revive's services: PEAR XML_RPC's $XML_RPC_erruser + 1.
REFUSAL = 801
#: What Revive answers when the session has gone (expired, or logged off elsewhere).
SESSION_GONE = "Session ID is invalid"
#: What Revive answers when unlinking a zone that is not linked.
NOT_LINKED = "Unknown link for zoneId and campaignId Error"

#: line item type -> (Revive priority, weight); see the module docstring.
PRIORITY_AND_WEIGHT = {
    "sponsorship": (-1, 1),
    "standard": (5, 0),
    "price_priority": (0, 10),
    "house": (0, 1),
}
#: pricing model -> Revive revenue type (MAX_FINANCE_CPM = 1, MAX_FINANCE_MT = 4)
REVENUE_TYPE = {"cpm": 1, "cpd": 4, "flat": 4}
#: Revive keeps revenue as DECIMAL(10,4)
REVENUE_PLACES = Decimal("0.0001")
#: Revive's "no limit" for impressions and clicks
UNLIMITED = -1

LINE_MARKER = re.compile(r"^flightdeck-line:(\d+)$", re.MULTILINE)
STATUS_MARKER = re.compile(r"^flightdeck-status:(\w+)$", re.MULTILINE)
ZONES_MARKER = re.compile(r"^flightdeck-zones:([\d,]*)$", re.MULTILINE)


@register
class ReviveAdapter(Adapter):
    """Pushes orders to Revive as one advertiser with one campaign per line (see the module docstring)."""

    kind = "revive"
    label = "Revive Adserver"
    #: Revive keeps delivery rules on banners, which Flightdeck does not create: no targeting is pushed
    mapped_dimensions = frozenset()
    settings_fields = (
        SettingField(
            "url",
            "Revive URL",
            help="Revive's base URL, e.g. https://ads.example.com; the API is under /www/api/v2/xmlrpc/.",
        ),
        SettingField("username", "Username", help="A Revive administrator: the API admits no one else."),
        SettingField("password", "Password", secret=True),
        SettingField(
            "agency_id",
            "Manager account id",
            required=False,
            help="The Revive manager (agency) account that holds the advertisers; "
            "may stay empty when Revive has only one.",
        ),
    )

    # -- the interface ---------------------------------------------------------------------------

    def check(self) -> str:
        with self._session() as api:
            agency_id = self._agency_id(api)
            agency = api.call("ox.getAgency", agency_id)
        return (
            f"Revive at {self._url}: signed in as {self.settings.get('username', '')}, "
            f"manager account {agency.get('agencyName', '')} (#{agency_id})"
        )

    def push(self, order: OrderSpec) -> PushResult:
        now = datetime.now(self._tz)
        notes: list[str] = []
        with self._session() as api:
            advertiser_id = self._find_advertiser(api, order, notes)
            existing = self._campaigns_by_line(api, advertiser_id, notes) if advertiser_id else {}
            # Plan every line before changing anything, so a refused line leaves Revive as it was.
            plans, errors = [], []
            for line in order.lines:
                try:
                    plans.append(self._plan(order, line, existing.get(line.line_id), now))
                except AdServerError as error:
                    errors.append(error.message)
            if errors:
                raise AdServerError("\n".join(errors), transient=False)
            if advertiser_id is None:
                advertiser_id = self._create_advertiser(api, order, notes)
            remote_line_ids: dict[int, str] = {}
            for plan in plans:
                campaign_id = self._apply(api, advertiser_id, plan, notes)
                if campaign_id is not None:
                    remote_line_ids[plan.line.line_id] = str(campaign_id)
        return PushResult(
            remote_order_id=str(advertiser_id),
            remote_line_ids=remote_line_ids,
            advertiser_remote_id=str(advertiser_id),
            # Revive has no media agencies; its "agency" is the publisher's manager account.
            agency_remote_id=None,
            notes=tuple(notes),
        )

    def read_lines(self, remote_order_id: str, remote_line_ids: Sequence[str]) -> list[RemoteLine]:
        """The campaigns as Revive has them now.

        `ad_units` is always empty: the API v2 has no call that lists a campaign's zones, and the
        zones recorded in the comments are what Flightdeck linked, not what Revive has now.
        `targeting` is empty too, since Revive keeps delivery rules on banners. `status` is the one
        the adapter recorded: paused, cancelled, or active.
        """
        lines = []
        with self._session() as api:
            for remote_id in remote_line_ids:
                campaign = api.call("ox.getCampaign", _remote_id(remote_id))
                marker = _Marker.read(campaign.get("comments", ""))
                start, end = campaign.get("startDate"), campaign.get("endDate")
                impressions = campaign.get("impressions")
                lines.append(
                    RemoteLine(
                        remote_id=str(campaign.get("campaignId", remote_id)),
                        line_id=marker.line_id,
                        start=datetime.combine(start.date(), time(0, 0), self._tz) if start else None,
                        end=datetime.combine(end.date(), time(23, 59, 59), self._tz) if end else None,
                        impressions=None if impressions in (None, UNLIMITED) else int(impressions),
                        rate=_decimal(campaign["revenue"]) if "revenue" in campaign else None,
                        ad_units=(),
                        targeting={},
                        status=marker.status,
                    )
                )
        return lines

    def delivery(self, remote_line_ids: Sequence[str], start: date, end: date) -> list[DeliveryRow]:
        """Per campaign and day, from Revive's daily statistics in its manager account's time zone.

        Revive leaves out the days without delivery, and so does this list.
        """
        rows = []
        with self._session() as api:
            for remote_id in remote_line_ids:
                # The last argument asks for days in the manager account's time zone instead of UTC.
                days = api.call("ox.campaignDailyStatistics", _remote_id(remote_id), _day(start), _day(end), True)
                rows.extend(
                    DeliveryRow(
                        remote_line_id=str(remote_id),
                        day=day["day"].date(),
                        impressions=int(day.get("impressions", 0)),
                        clicks=int(day.get("clicks", 0)),
                    )
                    for day in days or ()
                )
        return rows

    def order_url(self, remote_order_id: str) -> str | None:
        return f"{self._url}/www/admin/advertiser-campaigns.php?clientid={remote_order_id}"

    # -- the advertiser --------------------------------------------------------------------------

    def _find_advertiser(self, api: _Api, order: OrderSpec, notes: list[str]) -> int | None:
        """The mapped advertiser, or the first one with the exact name in the manager account."""
        if order.advertiser.remote_id:
            return _remote_id(order.advertiser.remote_id)
        agency_id = self._agency_id(api)
        named = sorted(
            int(advertiser["advertiserId"])
            for advertiser in api.call("ox.getAdvertiserListByAgencyId", agency_id) or ()
            if advertiser.get("advertiserName") == order.advertiser.name
        )
        if not named:
            return None
        notes.append(f"adopted advertiser #{named[0]} {order.advertiser.name}")
        if len(named) > 1:
            notes.append(f"Revive has {len(named)} advertisers called {order.advertiser.name}; used the first")
        return named[0]

    def _create_advertiser(self, api: _Api, order: OrderSpec, notes: list[str]) -> int:
        advertiser_id = int(
            api.call(
                "ox.addAdvertiser",
                {
                    "agencyId": self._agency_id(api),
                    "advertiserName": order.advertiser.name,
                    "comments": f"Created by Flightdeck for its advertiser {order.advertiser.local_id}.",
                },
            )
        )
        notes.append(f"created advertiser #{advertiser_id} {order.advertiser.name}")
        return advertiser_id

    def _agency_id(self, api: _Api) -> int:
        configured = self.settings.get("agency_id", "").strip()
        if configured:
            if not configured.isdigit():
                raise AdServerError(f"The Revive manager account id {configured!r} is not a number.", transient=False)
            return int(configured)
        agencies = api.call("ox.getAgencyList") or []
        if len(agencies) == 1:
            return int(agencies[0]["agencyId"])
        if not agencies:
            raise AdServerError(f"Revive at {self._url} has no manager account for advertisers.", transient=False)
        names = ", ".join(f"{agency.get('agencyName', '')} (#{agency['agencyId']})" for agency in agencies)
        raise AdServerError(
            f"Revive at {self._url} has several manager accounts ({names}); "
            "set the connection's manager account id to the one Flightdeck should use.",
            transient=False,
        )

    # -- the campaigns ---------------------------------------------------------------------------

    def _campaigns_by_line(self, api: _Api, advertiser_id: int, notes: list[str]) -> dict[int, dict[str, Any]]:
        """The advertiser's campaigns that carry a line marker, by line id; the lowest id per line."""
        found: dict[int, list[dict[str, Any]]] = {}
        for campaign in api.call("ox.getCampaignListByAdvertiserId", advertiser_id) or ():
            line_id = _Marker.read(campaign.get("comments", "")).line_id
            if line_id is not None:
                found.setdefault(line_id, []).append(campaign)
        adopted = {}
        for line_id, campaigns in found.items():
            campaigns.sort(key=lambda campaign: int(campaign["campaignId"]))
            adopted[line_id] = campaigns[0]
            if len(campaigns) > 1:
                others = ", ".join(f"#{campaign['campaignId']}" for campaign in campaigns[1:])
                notes.append(
                    f"Revive has {len(campaigns)} campaigns for line {line_id}; "
                    f"used #{campaigns[0]['campaignId']}, left {others} alone"
                )
        return adopted

    def _plan(self, order: OrderSpec, line: LineSpec, campaign: dict[str, Any] | None, now: datetime) -> _Plan:
        """What the line's campaign should look like, or AdServerError if Revive cannot have it so."""
        today = now.date()
        start_day = line.start.astimezone(self._tz).date()
        end_day = line.end.astimezone(self._tz).date()
        ended = line.end < now
        if line.status not in ("active", "paused", "cancelled"):
            raise AdServerError(f"Line {line.name} has the status {line.status!r}, unknown to Revive.", transient=False)
        if line.line_item_type not in PRIORITY_AND_WEIGHT:
            raise AdServerError(
                f"Line {line.name} is a {line.line_item_type} line; Revive has no campaign type for it.",
                transient=False,
            )
        if line.pricing_model not in REVENUE_TYPE:
            raise AdServerError(
                f"Line {line.name} is priced {line.pricing_model}; Revive has no revenue type for it.",
                transient=False,
            )
        if campaign is None and (line.status == "cancelled" or (line.status == "paused" and ended)):
            return _Plan(line, zones=(), fields={}, create=False, existing=None)
        # A finished line that Revive already ran to the same end date is left as it is; any other
        # active line that ends in the past could never deliver.
        if line.status == "active" and ended and (campaign is None or _date_of(campaign.get("endDate")) != end_day):
            raise AdServerError(
                f"Line {line.name} ended on {end_day.isoformat()}; change its dates before pushing", transient=False
            )

        zones = tuple(_zone_id(line, zone) for zone in line.ad_units)
        priority, weight = PRIORITY_AND_WEIGHT[line.line_item_type]
        fields: dict[str, Any] = {
            "campaignName": line.name,
            "impressions": line.impressions if line.impressions is not None else UNLIMITED,
            "priority": priority,
            "weight": weight,
            "revenue": float(_revenue(line, order.currency)),
            "revenueType": REVENUE_TYPE[line.pricing_model],
            "comments": _Marker(line.line_id, line.status, zones).write(order, line),
        }
        # A campaign starts today at the earliest. A running campaign whose line also started in the
        # past keeps its start date: moving it would only change Revive's record, not delivery.
        current_start = _date_of(campaign.get("startDate")) if campaign else None
        start = max(start_day, today)
        if campaign is None or current_start is None or current_start > today or start_day > today:
            fields["startDate"] = start
        else:
            start = current_start
        end = end_day
        if line.status == "cancelled":
            end = min(end_day, today)
            if start > end:
                fields["startDate"] = start = end
        fields["endDate"] = end
        return _Plan(line, zones=zones, fields=fields, create=True, existing=campaign)

    def _apply(self, api: _Api, advertiser_id: int, plan: _Plan, notes: list[str]) -> int | None:
        """Create or update the line's campaign and its zone links; the campaign id, if it has one."""
        line = plan.line
        fields = {name: _wire(value) for name, value in plan.fields.items()}
        campaign = plan.existing
        if campaign is None:
            if not plan.create:
                notes.append(f"line {line.name} is {line.status}; not created in Revive")
                return None
            campaign_id = int(api.call("ox.addCampaign", {"advertiserId": advertiser_id, **fields}))
            notes.append(f"created campaign #{campaign_id} for line {line.name}")
        else:
            campaign_id = int(campaign["campaignId"])
            linked = _Marker.read(campaign.get("comments", "")).zones
            # Unlink before recording the new zones, so a retry still knows what to unlink.
            gone = set(linked) - set(plan.zones) if line.status == "active" else set(linked) | set(plan.zones)
            for zone in sorted(gone):
                self._unlink(api, zone, campaign_id)
            changed = _changed_fields(campaign, fields)
            if changed:
                api.call("ox.modifyCampaign", {"campaignId": campaign_id, **changed})
                notes.append(f"updated campaign #{campaign_id} for line {line.name}: {', '.join(sorted(changed))}")
            else:
                notes.append(f"adopted campaign #{campaign_id} for line {line.name}, unchanged")
        if line.status == "active":
            for zone in plan.zones:
                # Revive answers true when the link already exists, so linking again is harmless.
                try:
                    api.call("ox.linkCampaign", zone, campaign_id)
                except _Refusal as refusal:
                    raise AdServerError(
                        f"Revive would not link line {line.name} to zone {zone}: {refusal.message}", transient=False
                    ) from refusal
        else:
            notes.append(f"line {line.name} is {line.status}: campaign #{campaign_id} is linked to no zone")
        if line.targeting:
            notes.append(
                f"line {line.name}: targeting ({', '.join(sorted(line.targeting))}) is not pushed; "
                "set it on the campaign's banners in Revive"
            )
        return campaign_id

    def _unlink(self, api: _Api, zone: int, campaign_id: int) -> None:
        try:
            api.call("ox.unlinkCampaign", zone, campaign_id)
        except _Refusal as refusal:
            # Not linked, or the zone is gone: either way the campaign no longer delivers there.
            if refusal.message not in (NOT_LINKED, "Unknown zoneId Error"):
                raise

    # -- the session -----------------------------------------------------------------------------

    @property
    def _url(self) -> str:
        return self.settings.get("url", "").strip().rstrip("/")

    @property
    def _tz(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @contextmanager
    def _session(self) -> Iterator[_Api]:
        """Sign in, yield the session, and sign out (unless Revive stopped answering)."""
        url = self._url
        scheme = urlsplit(url).scheme
        if scheme not in ("http", "https"):
            raise AdServerError(f"The Revive URL {url!r} must start with http:// or https://.", transient=False)
        transport = _TimeoutHttpsTransport(self.timeout) if scheme == "https" else _TimeoutTransport(self.timeout)
        proxy = xmlrpc.client.ServerProxy(url + API_PATH, transport=transport)
        api = _Api(proxy, url, self.timeout)
        api.logon(self.settings.get("username", ""), self.settings.get("password", ""))
        try:
            yield api
        finally:
            api.logoff()


@dataclass
class _Plan:
    """What one line's campaign should be; `existing` is the campaign Revive already has for it."""

    line: LineSpec
    zones: tuple[int, ...]
    #: the campaign's fields as Python values (dates as `date`); converted for the wire by `_wire`
    fields: dict[str, Any]
    #: False when a missing campaign should stay missing (a cancelled line, an ended paused one)
    create: bool
    existing: dict[str, Any] | None


@dataclass(frozen=True)
class _Marker:
    """What the adapter records in a campaign's comments: whose it is, its status, its zones."""

    line_id: int | None
    status: str = "active"
    zones: tuple[int, ...] = ()

    @classmethod
    def read(cls, comments: str) -> _Marker:
        line = LINE_MARKER.search(comments)
        status = STATUS_MARKER.search(comments)
        zones = ZONES_MARKER.search(comments)
        return cls(
            line_id=int(line.group(1)) if line else None,
            status=status.group(1) if status else "active",
            zones=tuple(int(zone) for zone in zones.group(1).split(",") if zone) if zones else (),
        )

    def write(self, order: OrderSpec, line: LineSpec) -> str:
        comments = [
            f"flightdeck-line:{self.line_id}",
            f"flightdeck-status:{self.status}",
            f"flightdeck-zones:{','.join(str(zone) for zone in self.zones)}",
            f"Booked in Flightdeck, order {order.number}: change it there, not here.",
        ]
        if line.pricing_model == "cpd":
            comments.append(
                f"Priced at {_revenue(line, order.currency)} {order.currency} per day (Revive shows tenancy)."
            )
        elif line.pricing_model == "flat":
            comments.append(f"Priced at {_revenue(line, order.currency)} {order.currency} flat (Revive shows tenancy).")
        return "\n".join(comments)


class _Refusal(AdServerError):
    """Revive refused a call (fault 801); `message` is Revive's own words."""

    def __init__(self, message: str) -> None:
        super().__init__(message, transient=False)


class _Api:
    """One signed-in session: each call passes the session id first; failures become AdServerError."""

    def __init__(self, proxy: xmlrpc.client.ServerProxy, url: str, timeout: float) -> None:
        self._proxy = proxy
        self._url = url
        self._timeout = timeout
        self._session_id: str | None = None
        #: set once Revive stopped answering, so we do not wait for it again just to sign out
        self._unreachable = False

    def logon(self, username: str, password: str) -> None:
        try:
            self._session_id = self._send("ox.logon", username, password)
        except _Refusal as refusal:
            raise AdServerError(
                f"Revive refused the username or password: {refusal.message}", transient=False
            ) from refusal

    def call(self, method: str, *args: Any) -> Any:
        return self._send(method, self._session_id, *args)

    def logoff(self) -> None:
        if self._session_id is None or self._unreachable:
            return
        # The work is done; a session left open simply expires in Revive.
        with suppress(AdServerError):
            self._send("ox.logoff", self._session_id)
        self._session_id = None

    def _send(self, method: str, *args: Any) -> Any:
        try:
            return getattr(self._proxy, method)(*args)
        except xmlrpc.client.Fault as fault:
            if fault.faultString == SESSION_GONE:
                # Revive dropped the session (it expires when idle): signing in again will do.
                raise AdServerError(f"Revive ended the API session during {method}.", transient=True) from fault
            if fault.faultCode == REFUSAL:
                raise _Refusal(fault.faultString) from fault
            raise AdServerError(
                f"Revive answered {method} with fault {fault.faultCode}: {fault.faultString}", transient=False
            ) from fault
        except xmlrpc.client.ProtocolError as error:
            transient = error.errcode >= 500 or error.errcode in (408, 429)
            self._unreachable = transient
            advice = "" if transient else "; check the connection's URL"
            raise AdServerError(
                f"Revive at {self._url} answered {method} with HTTP {error.errcode} {error.errmsg}{advice}",
                transient=transient,
            ) from error
        except TimeoutError as error:
            self._unreachable = True
            raise AdServerError(
                f"Revive at {self._url} did not answer {method} within {self._timeout:g} s.", transient=True
            ) from error
        except (OSError, http.client.HTTPException) as error:
            self._unreachable = True
            raise AdServerError(f"Could not reach Revive at {self._url}: {error}", transient=True) from error
        except ExpatError as error:
            raise AdServerError(
                f"Revive at {self._url} did not answer {method} in XML-RPC; check the connection's URL.",
                transient=False,
            ) from error


class _TimeoutTransport(xmlrpc.client.Transport):
    """HTTP with a socket timeout; dateTime values arrive as `datetime`."""

    def __init__(self, timeout: float) -> None:
        super().__init__(use_builtin_types=True)
        self._timeout = timeout

    def make_connection(self, host):
        connection = super().make_connection(host)
        connection.timeout = self._timeout
        return connection


class _TimeoutHttpsTransport(xmlrpc.client.SafeTransport):
    """HTTPS with a socket timeout; dateTime values arrive as `datetime`."""

    def __init__(self, timeout: float) -> None:
        super().__init__(use_builtin_types=True)
        self._timeout = timeout

    def make_connection(self, host):
        connection = super().make_connection(host)
        connection.timeout = self._timeout
        return connection


def _changed_fields(campaign: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    """The wanted fields that differ from the campaign's; priority and weight, and revenue and its
    type, always travel together, because Revive checks each pair within the call."""
    changed = {name: value for name, value in wanted.items() if not _same(name, campaign.get(name), value)}
    for pair in (("priority", "weight"), ("revenue", "revenueType")):
        if any(name in changed for name in pair):
            changed.update({name: wanted[name] for name in pair})
    return changed


def _same(name: str, current: Any, wanted: Any) -> bool:
    if current is None:
        return False
    if isinstance(wanted, datetime):
        return _date_of(current) == wanted.date()
    if name == "revenue":
        return _decimal(current) == _decimal(wanted)
    return current == wanted


def _wire(value: Any) -> Any:
    """A field value as XML-RPC carries it to Revive: a date becomes dateTime.iso8601 at midnight."""
    return _day(value) if isinstance(value, date) and not isinstance(value, datetime) else value


def _day(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)


def _date_of(value: Any) -> date | None:
    return value.date() if isinstance(value, datetime) else None


def _revenue(line: LineSpec, currency: str) -> Decimal:
    """A rate as Revive keeps it (4 places); a flat fee is money, in the currency's minor unit."""
    if line.pricing_model == "flat":
        return money.quantize(line.rate, currency)
    return line.rate.quantize(REVENUE_PLACES, rounding=ROUND_HALF_UP)


def _decimal(value: Any) -> Decimal:
    """Revive's revenue double as the Decimal it stands for (it keeps 4 decimal places)."""
    # The double is the nearest binary value to Revive's 4-place decimal, far closer than half a
    # place, so rounding to 4 places gives that decimal back exactly.
    return Decimal(float(value)).quantize(REVENUE_PLACES, rounding=ROUND_HALF_UP)


def _remote_id(remote_id: str) -> int:
    try:
        return int(remote_id)
    except (TypeError, ValueError):
        raise AdServerError(f"{remote_id!r} is not a Revive id.", transient=False)


def _zone_id(line: LineSpec, zone: str) -> int:
    try:
        return int(zone)
    except (TypeError, ValueError):
        raise AdServerError(
            f"Line {line.name} has the ad unit {zone!r}, which is not a Revive zone id.", transient=False
        )
