"""A Revive Adserver XML-RPC API v2 on loopback, for the Revive adapter's tests.

It answers at the real path (`/www/api/v2/xmlrpc/`) and behaves as Revive does (see
revive-adserver's lib/OA/Dll/*.php and www/api/v2/xmlrpc/*):

- `ox.logon` hands out a session id. Wrong credentials get Revive's fault, and every other method
  checks the session first.
- Refusals are fault 801 with Revive's wording ("Unknown campaignId Error",
  "Field 'impressions' is not integer", ...).
- Nothing is checked for duplicates, ids count up from 1, and everything stays in memory.
- Linking a zone that is already linked answers true; unlinking a missing link is refused.
- `ox.campaignDailyStatistics` reports what the test put in `delivery[(campaign_id, day)]`.

A test can also make the next calls fail: `fail_next(count, mode)`, where the mode is
- "timeout": the fake waits longer than the client's timeout and does nothing;
- "fault": Revive refuses the call (fault 801 with `message`);
- "slow_success": the fake does the work and then waits, so the client gives up although the
  call succeeded;
- "server_error": HTTP 500.
`reject_field(name, message)` refuses any add or modify that sets that field.
"""

from __future__ import annotations

import itertools
import secrets
import socketserver
import threading
import xmlrpc.client
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from xmlrpc.server import SimpleXMLRPCRequestHandler, SimpleXMLRPCServer

import pytest

API_PATH = "/www/api/v2/xmlrpc/"
REFUSAL = 801
WRONG_CREDENTIALS = "The username and/or password were not correct. Please try again."

#: the fields of OA_Dll_CampaignInfo and their XML-RPC types
CAMPAIGN_FIELDS = {
    "campaignId": "integer",
    "advertiserId": "integer",
    "campaignName": "string",
    "startDate": "date",
    "endDate": "date",
    "impressions": "integer",
    "clicks": "integer",
    "priority": "integer",
    "weight": "integer",
    "targetImpressions": "integer",
    "targetClicks": "integer",
    "targetConversions": "integer",
    "revenue": "double",
    "revenueType": "integer",
    "capping": "integer",
    "sessionCapping": "integer",
    "block": "integer",
    "comments": "string",
    "viewWindow": "integer",
    "clickWindow": "integer",
}
#: the fields of OA_Dll_AdvertiserInfo
ADVERTISER_FIELDS = {
    "advertiserId": "integer",
    "accountId": "integer",
    "agencyId": "integer",
    "advertiserName": "string",
    "contactName": "string",
    "emailAddress": "string",
    "comments": "string",
}
#: what OA_Dll_CampaignInfo::setDefaultForAdd fills in
CAMPAIGN_DEFAULTS = {
    "impressions": -1,
    "clicks": -1,
    "priority": 0,
    "weight": 1,
    "targetImpressions": 0,
    "targetClicks": 0,
    "targetConversions": 0,
    "viewWindow": 0,
    "clickWindow": 0,
}
MODES = ("timeout", "fault", "slow_success", "server_error")


class Refused(xmlrpc.client.Fault):
    """A refusal as Revive's services send it."""

    def __init__(self, message: str) -> None:
        super().__init__(REFUSAL, message)


@dataclass
class _Failure:
    mode: str
    message: str
    method: str | None


class FakeRevive:
    """The fake Revive server; use as a context manager, or `start()` and `stop()`."""

    def __init__(self, *, username: str = "api", password: str = "secret", hang_seconds: float = 2.0) -> None:
        self.username = username
        self.password = password
        #: how long "timeout" and "slow_success" hold the answer back; longer than the client waits
        self.hang_seconds = hang_seconds
        self.agencies: dict[int, dict[str, Any]] = {1: {"agencyId": 1, "agencyName": "Harbour Media", "accountId": 2}}
        self.advertisers: dict[int, dict[str, Any]] = {}
        self.campaigns: dict[int, dict[str, Any]] = {}
        self.zones: dict[int, str] = {1: "Home leaderboard", 2: "Home rectangle", 3: "Article skyscraper"}
        #: (zone id, campaign id)
        self.links: set[tuple[int, int]] = set()
        #: (campaign id, day) -> (impressions, clicks)
        self.delivery: dict[tuple[int, date], tuple[int, int]] = {}
        #: field name -> the refusal message
        self.rejected_fields: dict[str, str] = {}
        #: every call that reached the server, as (method, arguments without the session id)
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.sessions: set[str] = set()
        self._ids = itertools.count(1)
        self._failures: list[_Failure] = []
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- running ---------------------------------------------------------------------------------

    def start(self) -> FakeRevive:
        self._server = _Server(self)
        # A short poll interval: stop() waits for the serving loop to notice, once per test.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, name="fake-revive", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wake any answer that is being held back
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeRevive:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The Revive base URL, as a connection's settings hold it."""
        assert self._server is not None, "the fake is not running"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # -- controls --------------------------------------------------------------------------------

    def fail_next(self, count: int = 1, mode: str = "timeout", *, message: str = "", method: str | None = None) -> None:
        """Make the next `count` calls (of `method`, if given) fail in `mode`."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; one of {', '.join(MODES)}")
        with self._lock:
            self._failures.extend(_Failure(mode, message or "Simulated Revive fault", method) for _ in range(count))

    def reject_field(self, name: str, message: str) -> None:
        """Refuse every add or modify that sets the field `name`, with `message`."""
        with self._lock:
            self.rejected_fields[name] = message

    def add_advertiser(self, name: str, *, agency_id: int = 1) -> int:
        with self._lock:
            advertiser_id = next(self._ids)
            self.advertisers[advertiser_id] = {
                "advertiserId": advertiser_id,
                "agencyId": agency_id,
                "advertiserName": name,
                "accountId": 1000 + advertiser_id,
            }
            return advertiser_id

    def campaigns_of(self, advertiser_id: int) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(c) for c in self.campaigns.values() if c["advertiserId"] == advertiser_id]

    def zones_of(self, campaign_id: int) -> set[int]:
        with self._lock:
            return {zone for zone, campaign in self.links if campaign == campaign_id}

    def count(self, method: str) -> int:
        with self._lock:
            return sum(1 for called, _ in self.calls if called == method)

    # -- the server's side -----------------------------------------------------------------------

    def _take_failure(self, method: str) -> _Failure | None:
        with self._lock:
            for index, failure in enumerate(self._failures):
                if failure.method in (None, method):
                    return self._failures.pop(index)
        return None

    def _hang(self) -> None:
        self._stopping.wait(self.hang_seconds)

    def _dispatch(self, method: str, params: tuple[Any, ...]) -> Any:
        with self._lock:
            if method == "ox.logon":
                self.calls.append((method, (params[0], "…")))
                return self._logon(*params)
            self.calls.append((method, params[1:]))
            session_id, *args = params or ("",)
            if session_id not in self.sessions:
                raise Refused("Session ID is invalid")
            handler = getattr(self, "_" + method.removeprefix("ox."), None)
            if handler is None:
                # What PEAR's XML_RPC_Server answers for a method it does not know.
                raise xmlrpc.client.Fault(1, "Unknown method")
            return handler(*args)

    def _logon(self, username: str, password: str) -> str:
        if (username, password) != (self.username, self.password):
            raise Refused(WRONG_CREDENTIALS)
        session_id = secrets.token_hex(16)
        self.sessions.add(session_id)
        return session_id

    def _logoff(self) -> bool:
        return True

    def _getAgencyList(self) -> list[dict[str, Any]]:
        return [dict(agency) for agency in self.agencies.values()]

    def _getAgency(self, agency_id: int) -> dict[str, Any]:
        return dict(self._agency(agency_id))

    def _getAdvertiserListByAgencyId(self, agency_id: int) -> list[dict[str, Any]]:
        self._agency(agency_id)
        return [dict(a) for a in self.advertisers.values() if a["agencyId"] == agency_id]

    def _getAdvertiser(self, advertiser_id: int) -> dict[str, Any]:
        return dict(self._advertiser(advertiser_id))

    def _addAdvertiser(self, info: dict[str, Any]) -> int:
        info = self._accepted(info, ADVERTISER_FIELDS)
        if not info.get("advertiserName"):
            raise Refused("Field 'advertiserName' in structure does not exists")
        agency_id = info.get("agencyId", 1)
        self._agency(agency_id)
        advertiser_id = self.add_advertiser(info["advertiserName"], agency_id=agency_id)
        self.advertisers[advertiser_id].update({k: v for k, v in info.items() if k != "advertiserId"})
        return advertiser_id

    def _getCampaignListByAdvertiserId(self, advertiser_id: int) -> list[dict[str, Any]]:
        self._advertiser(advertiser_id)
        return [_campaign_out(c) for c in self.campaigns.values() if c["advertiserId"] == advertiser_id]

    def _getCampaign(self, campaign_id: int) -> dict[str, Any]:
        return _campaign_out(self._campaign(campaign_id))

    def _addCampaign(self, info: dict[str, Any]) -> int:
        info = self._accepted(info, CAMPAIGN_FIELDS)
        info.pop("campaignId", None)
        if "advertiserId" not in info:
            raise Refused("Field 'advertiserId' in structure does not exists")
        self._advertiser(info["advertiserId"])
        _check_campaign(info)
        campaign_id = next(self._ids)
        self.campaigns[campaign_id] = {**CAMPAIGN_DEFAULTS, **info, "campaignId": campaign_id}
        return campaign_id

    def _modifyCampaign(self, info: dict[str, Any]) -> bool:
        info = self._accepted(info, CAMPAIGN_FIELDS)
        if "campaignId" not in info:
            raise Refused("Field 'campaignId' in structure does not exists")
        campaign = self._campaign(info["campaignId"])
        if "advertiserId" in info:
            self._advertiser(info["advertiserId"])
        _check_campaign(info)
        campaign.update(info)
        return True

    def _deleteCampaign(self, campaign_id: int) -> bool:
        self._campaign(campaign_id)
        del self.campaigns[campaign_id]
        self.links = {(zone, campaign) for zone, campaign in self.links if campaign != campaign_id}
        return True

    def _linkCampaign(self, zone_id: int, campaign_id: int) -> bool:
        self._zone(zone_id)
        self._campaign(campaign_id)
        self.links.add((zone_id, campaign_id))  # a second link is no error in Revive either
        return True

    def _unlinkCampaign(self, zone_id: int, campaign_id: int) -> bool:
        self._zone(zone_id)
        self._campaign(campaign_id)
        if (zone_id, campaign_id) not in self.links:
            raise Refused("Unknown link for zoneId and campaignId Error")
        self.links.discard((zone_id, campaign_id))
        return True

    def _campaignDailyStatistics(
        self, campaign_id: int, start: datetime | None = None, end: datetime | None = None, local_tz: bool = False
    ) -> list[dict[str, Any]]:
        self._campaign(campaign_id)
        if start and end and start > end:
            raise Refused("The start date is after the end date")
        first = start.date() if start else date.min
        last = end.date() if end else date.max
        return [
            {
                "day": datetime.combine(day, datetime.min.time()),
                "requests": impressions,
                "impressions": impressions,
                "clicks": clicks,
                "revenue": 0.0,
            }
            for (campaign, day), (impressions, clicks) in sorted(self.delivery.items())
            if campaign == campaign_id and first <= day <= last
        ]

    def _accepted(self, info: Any, fields: dict[str, str]) -> dict[str, Any]:
        """The struct's known fields, type-checked as Revive's OA_Dll checks them."""
        if not isinstance(info, dict):
            raise xmlrpc.client.Fault(REFUSAL, "Wrong parameter: a struct was expected")
        # Revive reads only the fields it knows and ignores the rest.
        info = {name: value for name, value in info.items() if name in fields}
        for name in info:
            if name in self.rejected_fields:
                raise Refused(self.rejected_fields[name])
        for name, value in info.items():
            kind = fields[name]
            if kind == "integer" and (not isinstance(value, int) or isinstance(value, bool)):
                raise Refused(f"Field '{name}' is not integer")
            if kind == "double" and not isinstance(value, float):
                raise Refused(f"Field '{name}' is not double")
            if kind == "string" and not isinstance(value, str):
                raise Refused(f"Field '{name}' is not string")
            if kind == "date" and not isinstance(value, datetime):
                raise Refused(f"Field '{name}' is not a date")
        return {name: value.date() if isinstance(value, datetime) else value for name, value in info.items()}

    def _agency(self, agency_id: int) -> dict[str, Any]:
        if agency_id not in self.agencies:
            raise Refused("Unknown agencyId Error")
        return self.agencies[agency_id]

    def _advertiser(self, advertiser_id: int) -> dict[str, Any]:
        if advertiser_id not in self.advertisers:
            raise Refused("Unknown advertiserId Error")
        return self.advertisers[advertiser_id]

    def _campaign(self, campaign_id: int) -> dict[str, Any]:
        if campaign_id not in self.campaigns:
            raise Refused("Unknown campaignId Error")
        return self.campaigns[campaign_id]

    def _zone(self, zone_id: int) -> str:
        if zone_id not in self.zones:
            raise Refused("Unknown zoneId Error")
        return self.zones[zone_id]


def _check_campaign(info: dict[str, Any]) -> None:
    """OA_Dll_Campaign::_validate, for the fields in this call."""
    start, end = info.get("startDate"), info.get("endDate")
    if start and end and start > end:
        raise Refused("The start date is after the end date")
    priority = info.get("priority")
    high = priority is not None and 1 <= priority <= 10
    if high and info.get("weight", 0) > 0:
        raise Refused("High or medium priority campaigns cannot have a weight that is greater than zero.")
    targets = any(info.get(name, 0) > 0 for name in ("targetImpressions", "targetClicks", "targetConversions"))
    if not high and targets:
        raise Refused("Low or override priority campaigns cannot have targets.")
    if len(info.get("campaignName", "")) > 255:
        raise Refused("Exceed Maximum length of field 'campaignName'")


def _campaign_out(campaign: dict[str, Any]) -> dict[str, Any]:
    """A campaign as Revive sends it: no null fields, dates as dateTime at midnight."""
    return {
        name: datetime.combine(value, datetime.min.time()) if isinstance(value, date) else value
        for name, value in campaign.items()
        if value is not None
    }


class _Handler(SimpleXMLRPCRequestHandler):
    rpc_paths = (API_PATH,)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep the test output clean


class _Server(socketserver.ThreadingMixIn, SimpleXMLRPCServer):
    """Answers each request in its own thread, so a held-back answer does not block the next one."""

    daemon_threads = True

    def __init__(self, fake: FakeRevive) -> None:
        super().__init__(("127.0.0.1", 0), requestHandler=_Handler, logRequests=False, use_builtin_types=True)
        self.fake = fake
        self.register_instance(fake)

    def _marshaled_dispatch(self, data: bytes, dispatch_method=None, path=None) -> bytes:
        _, method = xmlrpc.client.loads(data, use_builtin_types=True)
        failure = self.fake._take_failure(method)
        if failure is None:
            return super()._marshaled_dispatch(data, dispatch_method, path)
        if failure.mode == "server_error":
            raise RuntimeError("fake Revive: internal server error")  # the handler answers HTTP 500
        if failure.mode == "fault":
            return xmlrpc.client.dumps(Refused(failure.message), methodresponse=True).encode()
        if failure.mode == "timeout":
            self.fake._hang()
            return xmlrpc.client.dumps(Refused("fake Revive: answered too late"), methodresponse=True).encode()
        answer = super()._marshaled_dispatch(data, dispatch_method, path)  # slow_success: do it, then wait
        self.fake._hang()
        return answer

    def handle_error(self, request, client_address) -> None:
        pass  # the client gave up on a held-back answer: nothing to report


@pytest.fixture
def fake_revive() -> Iterator[FakeRevive]:
    """A running fake Revive; import it into a test module to use it."""
    with FakeRevive() as fake:
        yield fake
