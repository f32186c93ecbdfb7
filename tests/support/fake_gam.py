"""A fake Google Ad Manager on loopback: the SOAP API the GAM adapter speaks, for its tests.

It serves a WSDL of our own per service (`gam_wsdl/types.xsd`, written from the API reference,
plus the operations below) under the path googleads asks for,
`{server}/apis/ads/publisher/{version}/{Service}?wsdl`, with the SOAP address pointing back here.
Requests are parsed and answers written with zeep against that same WSDL, so what the adapter sends
has to fit the documented types (subtypes with xsi:type included).

Like the real server it keeps companies, orders and line items (in memory), gives them ids, never
refuses a duplicate name (creating twice makes two), answers PQL with bind variables (only the
few statements the adapter sends: anything else fails loudly, see `unsupported`), checks the
`Authorization: Bearer` header and the network code, answers faults in the ApiException shape
googleads parses, runs report jobs over `delivery` and serves their gzipped CSV. It can also stand
in for Google's OAuth token endpoint, for a service-account key made by `service_account_key()`.

Faults on demand: `fail_next(count, mode)` with mode "timeout" (stall without doing the work),
"error" (an ApiException, SERVER_ERROR unless told otherwise) or "slow_success" (do the work, then
stall, so the client gives up although the write happened); `reject_field(path, reason)` refuses
every write that sets that field. A stall lasts `stall` seconds: make it longer than the client's
timeout.
"""

from __future__ import annotations

import csv
import functools
import gzip
import io
import itertools
import json
import re
import threading
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import zeep
from lxml import etree

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
TYPES_XSD = Path(__file__).with_name("gam_wsdl") / "types.xsd"
#: the versions googleads 51 knows; any other is a 404, as on the real server
VERSIONS = ("v202511", "v202602", "v202605", "v202608")

# service -> operation -> ([(parameter, type, repeated)], (return type, repeated))
Operation = tuple[list[tuple[str, str, bool]], tuple[str, bool]]
STATEMENT = ("filterStatement", "tns:Statement", False)
SERVICES: dict[str, dict[str, Operation]] = {
    "NetworkService": {"getCurrentNetwork": ([], ("tns:Network", False))},
    "UserService": {"getCurrentUser": ([], ("tns:User", False))},
    "CompanyService": {
        "createCompanies": ([("companies", "tns:Company", True)], ("tns:Company", True)),
        "getCompaniesByStatement": ([STATEMENT], ("tns:CompanyPage", False)),
        "updateCompanies": ([("companies", "tns:Company", True)], ("tns:Company", True)),
    },
    "OrderService": {
        "createOrders": ([("orders", "tns:Order", True)], ("tns:Order", True)),
        "getOrdersByStatement": ([STATEMENT], ("tns:OrderPage", False)),
        "updateOrders": ([("orders", "tns:Order", True)], ("tns:Order", True)),
        "performOrderAction": ([("orderAction", "tns:OrderAction", False), STATEMENT], ("tns:UpdateResult", False)),
    },
    "LineItemService": {
        "createLineItems": ([("lineItems", "tns:LineItem", True)], ("tns:LineItem", True)),
        "getLineItemsByStatement": ([STATEMENT], ("tns:LineItemPage", False)),
        "updateLineItems": ([("lineItems", "tns:LineItem", True)], ("tns:LineItem", True)),
        "performLineItemAction": (
            [("lineItemAction", "tns:LineItemAction", False), STATEMENT],
            ("tns:UpdateResult", False),
        ),
    },
    "ReportService": {
        "runReportJob": ([("reportJob", "tns:ReportJob", False)], ("tns:ReportJob", False)),
        "getReportJobStatus": ([("reportJobId", "xsd:long", False)], ("tns:ReportJobStatus", False)),
        "getReportDownloadUrlWithOptions": (
            [("reportJobId", "xsd:long", False), ("reportDownloadOptions", "tns:ReportDownloadOptions", False)],
            ("xsd:string", False),
        ),
    },
}
#: what each kind of object may be filtered on in PQL (the documented filter fields we need)
FILTERABLE = {
    "companies": {"id", "name", "type"},
    "orders": {"id", "name", "advertiserId", "status"},
    "line_items": {"id", "name", "orderId", "externalId"},
}
#: fields the reference marks required on create
REQUIRED = {
    "companies": ("name", "type"),
    "orders": ("name", "advertiserId", "traffickerId"),
    "line_items": (
        "orderId",
        "name",
        "lineItemType",
        "costType",
        "costPerUnit",
        "creativePlaceholders",
        "creativeRotationType",
        "targeting",
    ),
}
MODES = ("timeout", "error", "slow_success")


def namespace(version: str) -> str:
    return f"https://www.google.com/apis/ads/publisher/{version}"


def wsdl_for(service: str, version: str, address: str) -> str:
    """The WSDL of one service: the shared types, this service's operations, its SOAP address."""
    operations = SERVICES[service]
    ns = namespace(version)

    def element(name: str, type_: str, repeated: bool) -> str:
        return f'<element name="{name}" type="{type_}" minOccurs="0" maxOccurs="{"unbounded" if repeated else 1}"/>'

    wrappers = "".join(
        f'<element name="{op}"><complexType><sequence>{"".join(element(*p) for p in params)}</sequence>'
        f'</complexType></element><element name="{op}Response"><complexType><sequence>'
        f"{element('rval', *returns)}</sequence></complexType></element>"
        for op, (params, returns) in operations.items()
    )
    schema = TYPES_XSD.read_text().split("?>", 1)[1].replace("/publisher/VERSION", f"/publisher/{version}")
    schema = schema.replace("</schema>", wrappers + "</schema>")
    messages = "".join(
        f'<wsdl:message name="{op}Request"><wsdl:part element="tns:{op}" name="parameters"/></wsdl:message>'
        f'<wsdl:message name="{op}Response"><wsdl:part element="tns:{op}Response" name="parameters"/></wsdl:message>'
        for op in operations
    )
    port_operations = "".join(
        f'<wsdl:operation name="{op}"><wsdl:input message="tns:{op}Request" name="{op}Request"/>'
        f'<wsdl:output message="tns:{op}Response" name="{op}Response"/>'
        f'<wsdl:fault message="tns:ApiException" name="ApiException"/></wsdl:operation>'
        for op in operations
    )
    binding_operations = "".join(
        f'<wsdl:operation name="{op}"><wsdlsoap:operation soapAction=""/>'
        f'<wsdl:input name="{op}Request"><wsdlsoap:header message="tns:RequestHeader" part="RequestHeader"'
        f' use="literal"/><wsdlsoap:body use="literal"/></wsdl:input>'
        f'<wsdl:output name="{op}Response"><wsdlsoap:header message="tns:ResponseHeader" part="ResponseHeader"'
        f' use="literal"/><wsdlsoap:body use="literal"/></wsdl:output>'
        f'<wsdl:fault name="ApiException"><wsdlsoap:fault name="ApiException" use="literal"/></wsdl:fault>'
        f"</wsdl:operation>"
        for op in operations
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<wsdl:definitions targetNamespace="{ns}" xmlns:tns="{ns}" xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"
  xmlns:wsdlsoap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:xsd="http://www.w3.org/2001/XMLSchema">
  <wsdl:types>{schema}</wsdl:types>
  <wsdl:message name="RequestHeader"><wsdl:part element="tns:RequestHeader" name="RequestHeader"/></wsdl:message>
  <wsdl:message name="ResponseHeader"><wsdl:part element="tns:ResponseHeader" name="ResponseHeader"/></wsdl:message>
  <wsdl:message name="ApiException"><wsdl:part element="tns:ApiExceptionFault" name="ApiException"/></wsdl:message>
  {messages}
  <wsdl:portType name="{service}Interface">{port_operations}</wsdl:portType>
  <wsdl:binding name="{service}SoapBinding" type="tns:{service}Interface">
    <wsdlsoap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    {binding_operations}
  </wsdl:binding>
  <wsdl:service name="{service}">
    <wsdl:port binding="tns:{service}SoapBinding" name="{service}InterfacePort">
      <wsdlsoap:address location="{address}"/>
    </wsdl:port>
  </wsdl:service>
</wsdl:definitions>
"""


@functools.cache
def schema_client(version: str, service: str) -> zeep.Client:
    """A zeep client over our own WSDL, with which the fake reads requests and writes answers (the
    same for every fake, so made once)."""
    text = wsdl_for(service, version, "http://127.0.0.1/unused")
    return zeep.Client(io.BytesIO(text.encode()))


class ApiFault(Exception):
    """Answer with an ApiException: `errors` are (type, reason, field path, trigger)."""

    def __init__(self, *errors: tuple[str, str, str, str]) -> None:
        super().__init__("; ".join(f"{kind}.{reason} @ {path}" for kind, reason, path, _ in errors))
        self.errors = errors


@dataclass
class Failure:
    mode: str
    operation: str | None
    error: str
    field_path: str


@dataclass
class ReportJob:
    id: int
    line_item_ids: tuple[int, ...]
    start: date
    end: date
    polls_left: int


class FakeAdManager:
    """Listens on 127.0.0.1 (port 0); `.url` is the `server` setting that reaches it."""

    host = "127.0.0.1"

    def __init__(
        self,
        *,
        token: str = "fake-access-token",
        network_code: str = "21700001",
        network_name: str = "Harbour Media",
        user_id: int = 4400001,
        stall: float = 3.0,
        report_polls: int = 1,
    ) -> None:
        self.token = token
        self.network_code = network_code
        self.network_name = network_name
        self.user_id = user_id
        self.stall = stall
        #: how many status polls a report job answers IN_PROGRESS before COMPLETED
        self.report_polls = report_polls
        self.companies: dict[int, object] = {}
        self.orders: dict[int, object] = {}
        self.line_items: dict[int, object] = {}
        self.reports: dict[int, ReportJob] = {}
        #: (line item id, day) -> (impressions, clicks), what reports show
        self.delivery: dict[tuple[int, date], tuple[int, int]] = {}
        #: every SOAP operation answered or refused, in order ("LineItemService.createLineItems")
        self.calls: list[str] = []
        #: line item actions performed: (action, line item id)
        self.actions: list[tuple[str, int]] = []
        #: statements and requests the fake does not understand; the fixture fails the test on any
        self.unsupported: list[str] = []
        self.token_requests = 0
        self._ids = itertools.count(5_000_001)
        self._failures: deque[Failure] = deque()
        self._rejections: dict[str, tuple[str, str]] = {}
        self._service_account_public_key: bytes | None = None
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer((self.host, 0), _handler_for(self))
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-gam", daemon=True
        )

    # Lifecycle

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self._server.server_address[1]}"

    def start(self) -> FakeAdManager:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes stalled requests
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeAdManager:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # Controls for tests

    def fail_next(
        self,
        count: int = 1,
        mode: str = "error",
        *,
        operation: str | None = None,
        error: str = "ServerError.SERVER_ERROR",
        field_path: str = "",
    ) -> None:
        """Make the next `count` SOAP calls (of `operation` only, when named) fail in `mode`."""
        if mode not in MODES:
            raise ValueError(f"fail_next mode must be one of {MODES}, not {mode!r}")
        if "." not in error:
            raise ValueError(f"error must read Type.REASON, e.g. ServerError.SERVER_ERROR, not {error!r}")
        with self._lock:
            self._failures.extend(Failure(mode, operation, error, field_path) for _ in range(count))

    def reject_field(self, field_path: str, reason: str, *, error_type: str = "CommonError") -> None:
        """Refuse every create or update that sets `field_path` (e.g. "lineItem[0].costPerUnit")."""
        with self._lock:
            self._rejections[field_path] = (error_type, reason)

    def service_account_key(self) -> str:
        """A service account's JSON key whose token endpoint is this server, which then hands out
        `token` for a JWT the key signed."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._service_account_public_key = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return json.dumps(
            {
                "type": "service_account",
                "project_id": "flightdeck-tests",
                "private_key_id": uuid.uuid4().hex,
                "private_key": pem.decode(),
                "client_email": "flightdeck@flightdeck-tests.iam.gserviceaccount.com",
                "client_id": "1000001",
                "token_uri": f"{self.url}/token",
            }
        )

    # Reading the state, for assertions

    def orders_named(self, name: str) -> list:
        return [order for order in self.orders.values() if order.name == name]

    def line_items_of(self, order_id: int) -> list:
        return [item for item in self.line_items.values() if item.orderId == order_id]

    # SOAP

    def answer(self, version: str, service: str, body: bytes, headers) -> tuple[int, bytes, Failure | None]:
        """Status and SOAP envelope for one POST; a failure still to act out after the work."""
        client = schema_client(version, service)
        ns = namespace(version)
        envelope = etree.fromstring(body)
        request = envelope.find(f"{{{SOAP_ENV}}}Body")[0]
        operation = etree.QName(request).localname
        soap_header = envelope.find(f"{{{SOAP_ENV}}}Header/{{{ns}}}RequestHeader")
        network_code = soap_header.findtext(f"{{{ns}}}networkCode") if soap_header is not None else None
        with self._lock:
            self.calls.append(f"{service}.{operation}")
            failure = self._take_failure(operation)
            try:
                if headers.get("Authorization") != f"Bearer {self.token}":
                    raise ApiFault(("AuthenticationError", "AUTHENTICATION_FAILED", "", ""))
                if network_code != self.network_code:
                    raise ApiFault(("AuthenticationError", "NETWORK_NOT_FOUND", "", network_code or ""))
                if operation not in SERVICES[service]:
                    self.unsupported.append(f"{service}.{operation}")
                    raise ApiFault(("CommonError", "UNSUPPORTED_OPERATION", "", operation))
                if failure is not None and failure.mode == "timeout":
                    return 0, b"", failure
                if failure is not None and failure.mode == "error":
                    kind, reason = failure.error.split(".", 1)
                    raise ApiFault((kind, reason, failure.field_path, ""))
                arguments = client.get_element(f"{{{ns}}}{operation}").parse(request, client.wsdl.types)
                result = getattr(self, f"_{operation}")(client, ns, arguments)
            except ApiFault as fault:
                return 500, self._fault(client, ns, fault), None
            except Exception as error:  # a request the fake cannot read: fail the test, not just the call
                self.unsupported.append(f"{service}.{operation}: {error!r}")
                fault = ApiFault(("CommonError", "UNKNOWN", "", repr(error)[:200]))
                return 500, self._fault(client, ns, fault), None
            return 200, self._response(client, ns, operation, result), failure

    def _take_failure(self, operation: str) -> Failure | None:
        for failure in self._failures:
            if failure.operation in (None, operation):
                self._failures.remove(failure)
                return failure
        return None

    def _response(self, client: zeep.Client, ns: str, operation: str, result) -> bytes:
        envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV})
        header = etree.SubElement(envelope, f"{{{SOAP_ENV}}}Header")
        response_header = client.get_element(f"{{{ns}}}ResponseHeader")
        response_header.render(header, response_header(requestId=uuid.uuid4().hex, responseTime=3))
        body = etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body")
        wrapper = client.get_element(f"{{{ns}}}{operation}Response")
        wrapper.render(body, wrapper(rval=result))
        return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")

    def _fault(self, client: zeep.Client, ns: str, fault: ApiFault) -> bytes:
        envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV})
        body = etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body")
        node = etree.SubElement(body, f"{{{SOAP_ENV}}}Fault")
        etree.SubElement(node, "faultcode").text = "soap:Server"
        strings = [f"{kind}.{reason} @ {path}".rstrip(" @") for kind, reason, path, _ in fault.errors]
        etree.SubElement(node, "faultstring").text = "[" + ", ".join(strings) + "]"
        detail = etree.SubElement(node, "detail")
        errors = [
            client.get_type(f"{{{ns}}}{kind}")(
                fieldPath=path, trigger=trigger, errorString=f"{kind}.{reason}", reason=reason
            )
            for kind, reason, path, trigger in fault.errors
        ]
        exception = client.get_element(f"{{{ns}}}ApiExceptionFault")
        exception.render(detail, exception(message="[" + ", ".join(strings) + "]", errors=errors))
        return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")

    # PQL

    def _select(self, kind: str, objects: dict[int, object], statement) -> tuple[list, int]:
        """The objects `statement` selects and their total count, or a PQL fault."""
        query = (statement.query if statement is not None else "") or ""
        match = re.fullmatch(
            r"\s*(?:WHERE\s+(?P<where>.+?))?\s*(?:ORDER BY\s+(?P<order>\w+)(?:\s+(?P<direction>ASC|DESC))?)?"
            r"\s*(?:LIMIT\s+(?P<limit>\d+))?\s*(?:OFFSET\s+(?P<offset>\d+))?\s*",
            query,
            flags=re.IGNORECASE | re.DOTALL,
        )
        if match is None:
            return self._unparsable(query)
        bound = {entry.key: entry.value for entry in (statement.values or [])}
        conditions = []
        for condition in re.split(r"\s+AND\s+", match["where"] or "", flags=re.IGNORECASE):
            if not condition:
                continue
            parsed = re.fullmatch(r"(\w+)\s*=\s*:(\w+)", condition.strip())
            if parsed is None or parsed[1] not in FILTERABLE[kind] or parsed[2] not in bound:
                return self._unparsable(query)
            conditions.append((parsed[1], _plain(bound[parsed[2]])))
        selected = [
            obj
            for _, obj in sorted(objects.items())
            if all(str(getattr(obj, field)) == str(value) for field, value in conditions)
        ]
        if match["order"]:
            if match["order"] not in FILTERABLE[kind]:
                return self._unparsable(query)
            selected.sort(
                key=lambda obj: getattr(obj, match["order"]), reverse=(match["direction"] or "").upper() == "DESC"
            )
        offset = int(match["offset"] or 0)
        limit = int(match["limit"]) if match["limit"] else len(selected)
        return selected[offset : offset + limit], len(selected)

    def _unparsable(self, query: str):
        self.unsupported.append(query)
        raise ApiFault(("PublisherQueryLanguageSyntaxError", "UNPARSABLE", "", query))

    def _page(self, client: zeep.Client, ns: str, page_type: str, found: tuple[list, int], statement):
        results, total = found
        offset = re.search(r"OFFSET\s+(\d+)", statement.query or "", flags=re.IGNORECASE)
        return client.get_type(f"{{{ns}}}{page_type}")(
            totalResultSetSize=total, startIndex=int(offset[1]) if offset else 0, results=results
        )

    # Writes

    def _check_write(self, kind: str, parameter: str, objects: list, *, creating: bool) -> None:
        singular = {"companies": "company", "orders": "order", "lineItems": "lineItem"}[parameter]
        errors = []
        for index, obj in enumerate(objects):
            for field in REQUIRED[kind] if creating else ("id",):
                value = getattr(obj, field)
                if value is None or value == []:
                    errors.append(("RequiredError", "REQUIRED", f"{parameter}[{index}].{field}", ""))
            if kind == "line_items" and obj.endDateTime is None and not obj.unlimitedEndDateTime:
                errors.append(("RequiredError", "REQUIRED", f"{parameter}[{index}].endDateTime", ""))
            if (
                kind == "line_items"
                and obj.startDateTime is None
                and obj.startDateTimeType in (None, "USE_START_DATE_TIME")
            ):
                errors.append(("RequiredError", "REQUIRED", f"{parameter}[{index}].startDateTime", ""))
            for path, (error_type, reason) in self._rejections.items():
                root, _, rest = path.partition(".")
                if re.fullmatch(rf"(?:{parameter}|{singular})\[{index}\]", root) and _walk(obj, rest) is not None:
                    errors.append((error_type, reason, path, str(_walk(obj, rest))[:80]))
        if errors:
            raise ApiFault(*errors)

    def _createCompanies(self, client, ns, arguments):
        self._check_write("companies", "companies", arguments.companies, creating=True)
        for company in arguments.companies:
            company.id = next(self._ids)
            self.companies[company.id] = company
        return arguments.companies

    def _updateCompanies(self, client, ns, arguments):
        self._check_write("companies", "companies", arguments.companies, creating=False)
        for company in arguments.companies:
            self._existing(self.companies, company.id)
            self.companies[company.id] = company
        return arguments.companies

    def _createOrders(self, client, ns, arguments):
        self._check_write("orders", "orders", arguments.orders, creating=True)
        for index, order in enumerate(arguments.orders):
            advertiser = self.companies.get(order.advertiserId)
            if advertiser is None or advertiser.type != "ADVERTISER":
                raise ApiFault(("CommonError", "NOT_FOUND", f"orders[{index}].advertiserId", str(order.advertiserId)))
            if order.agencyId is not None and getattr(self.companies.get(order.agencyId), "type", None) != "AGENCY":
                raise ApiFault(("CommonError", "NOT_FOUND", f"orders[{index}].agencyId", str(order.agencyId)))
        for order in arguments.orders:
            order.id, order.status, order.isArchived = next(self._ids), "DRAFT", False
            order.currencyCode = order.currencyCode or "EUR"
            self.orders[order.id] = order
        return arguments.orders

    def _updateOrders(self, client, ns, arguments):
        self._check_write("orders", "orders", arguments.orders, creating=False)
        for order in arguments.orders:
            stored = self._existing(self.orders, order.id)
            order.status, order.isArchived = stored.status, stored.isArchived
            self.orders[order.id] = order
        return arguments.orders

    def _createLineItems(self, client, ns, arguments):
        self._check_write("line_items", "lineItems", arguments.lineItems, creating=True)
        for index, item in enumerate(arguments.lineItems):
            if item.orderId not in self.orders:
                raise ApiFault(("CommonError", "NOT_FOUND", f"lineItems[{index}].orderId", str(item.orderId)))
        for item in arguments.lineItems:
            order = self.orders[item.orderId]
            item.id, item.orderName, item.status, item.isArchived = next(self._ids), order.name, "DRAFT", False
            if item.startDateTimeType in ("IMMEDIATELY", "ONE_HOUR_FROM_NOW"):
                item.startDateTime = _gam_now(client, ns, item.endDateTime.timeZoneId)
            self.line_items[item.id] = item
        return arguments.lineItems

    def _updateLineItems(self, client, ns, arguments):
        self._check_write("line_items", "lineItems", arguments.lineItems, creating=False)
        for index, item in enumerate(arguments.lineItems):
            stored = self._existing(self.line_items, item.id)
            if stored.isArchived:
                raise ApiFault(("CommonError", "CANNOT_UPDATE", f"lineItems[{index}]", str(item.id)))
        for item in arguments.lineItems:
            stored = self.line_items[item.id]
            item.orderId, item.orderName, item.status, item.isArchived = (
                stored.orderId,
                stored.orderName,
                stored.status,
                stored.isArchived,
            )
            if item.startDateTime is None:
                item.startDateTime = stored.startDateTime
            self.line_items[item.id] = item
        return arguments.lineItems

    def _existing(self, objects: dict[int, object], object_id):
        if object_id not in objects:
            raise ApiFault(("CommonError", "NOT_FOUND", "id", str(object_id)))
        return objects[object_id]

    # Reads and actions

    def _getCurrentNetwork(self, client, ns, arguments):
        return client.get_type(f"{{{ns}}}Network")(
            id=7001,
            displayName=self.network_name,
            networkCode=self.network_code,
            timeZone="Europe/Berlin",
            currencyCode="EUR",
            effectiveRootAdUnitId="9000001",
            isTest=False,
        )

    def _getCurrentUser(self, client, ns, arguments):
        return client.get_type(f"{{{ns}}}User")(
            id=self.user_id, name="Flightdeck API", email="api@harbour.example", isActive=True, isServiceAccount=True
        )

    def _getCompaniesByStatement(self, client, ns, arguments):
        found = self._select("companies", self.companies, arguments.filterStatement)
        return self._page(client, ns, "CompanyPage", found, arguments.filterStatement)

    def _getOrdersByStatement(self, client, ns, arguments):
        found = self._select("orders", self.orders, arguments.filterStatement)
        return self._page(client, ns, "OrderPage", found, arguments.filterStatement)

    def _getLineItemsByStatement(self, client, ns, arguments):
        found = self._select("line_items", self.line_items, arguments.filterStatement)
        return self._page(client, ns, "LineItemPage", found, arguments.filterStatement)

    def _performOrderAction(self, client, ns, arguments):
        action = arguments.orderAction._xsd_type.name
        if action != "ApproveOrders":
            self.unsupported.append(f"order action {action}")
            raise ApiFault(("CommonError", "UNSUPPORTED_OPERATION", "orderAction", action))
        changes = 0
        for order in self._select("orders", self.orders, arguments.filterStatement)[0]:
            if order.status != "APPROVED":
                order.status, changes = "APPROVED", changes + 1
                for item in self.line_items_of(order.id):
                    if item.status in ("DRAFT", "PENDING_APPROVAL"):
                        item.status = "READY"
        return client.get_type(f"{{{ns}}}UpdateResult")(numChanges=changes)

    def _performLineItemAction(self, client, ns, arguments):
        action = arguments.lineItemAction._xsd_type.name
        changes = 0
        for item in self._select("line_items", self.line_items, arguments.filterStatement)[0]:
            ready = "READY" if self.orders[item.orderId].status == "APPROVED" else "DRAFT"
            before = (item.status, item.isArchived)
            if action == "PauseLineItems" and not item.isArchived:
                item.status = "PAUSED"
            elif action in ("ResumeLineItems", "ActivateLineItems") and not item.isArchived:
                item.status = ready
            elif action == "ArchiveLineItems":
                item.isArchived = True
            elif action == "UnarchiveLineItems":
                item.isArchived = False
            elif action not in ("PauseLineItems", "ResumeLineItems", "ActivateLineItems"):
                self.unsupported.append(f"line item action {action}")
                raise ApiFault(("CommonError", "UNSUPPORTED_OPERATION", "lineItemAction", action))
            if (item.status, item.isArchived) != before:
                changes += 1
                self.actions.append((action, item.id))
        return client.get_type(f"{{{ns}}}UpdateResult")(numChanges=changes)

    # Reports

    def _runReportJob(self, client, ns, arguments):
        query = arguments.reportJob.reportQuery
        if (
            list(query.dimensions) != ["LINE_ITEM_ID", "DATE"]
            or list(query.columns) != ["AD_SERVER_IMPRESSIONS", "AD_SERVER_CLICKS"]
            or query.dateRangeType != "CUSTOM_DATE"
        ):
            self.unsupported.append(f"report {list(query.dimensions)} {list(query.columns)} {query.dateRangeType}")
            raise ApiFault(("CommonError", "UNSUPPORTED_OPERATION", "reportJob.reportQuery", ""))
        filter_ = re.fullmatch(
            r"\s*WHERE\s+LINE_ITEM_ID\s+IN\s*\(([\d\s,]+)\)\s*",
            (query.statement.query if query.statement else "") or "",
        )
        if filter_ is None:
            return self._unparsable(query.statement.query if query.statement else "")
        job = ReportJob(
            id=next(self._ids),
            line_item_ids=tuple(int(i) for i in filter_[1].split(",")),
            start=date(query.startDate.year, query.startDate.month, query.startDate.day),
            end=date(query.endDate.year, query.endDate.month, query.endDate.day),
            polls_left=self.report_polls,
        )
        self.reports[job.id] = job
        arguments.reportJob.id = job.id
        return arguments.reportJob

    def _getReportJobStatus(self, client, ns, arguments):
        job = self._existing(self.reports, arguments.reportJobId)
        if job.polls_left > 0:
            job.polls_left -= 1
            return "IN_PROGRESS"
        return "COMPLETED"

    def _getReportDownloadUrlWithOptions(self, client, ns, arguments):
        job = self._existing(self.reports, arguments.reportJobId)
        options = arguments.reportDownloadOptions
        if job.polls_left > 0:
            raise ApiFault(("CommonError", "NOT_APPLICABLE", "reportJobId", str(job.id)))
        if options.exportFormat != "CSV_DUMP" or not options.useGzipCompression:
            self.unsupported.append(f"report download {options.exportFormat} gzip={options.useGzipCompression}")
            raise ApiFault(("CommonError", "UNSUPPORTED_OPERATION", "reportDownloadOptions", ""))
        return f"{self.url}/reports/{job.id}.csv.gz"

    def report_file(self, job_id: int) -> bytes | None:
        """The gzipped CSV_DUMP of a finished report job, as GAM's download URL serves it."""
        with self._lock:
            job = self.reports.get(job_id)
            if job is None:
                return None
            out = io.StringIO()
            writer = csv.writer(out)
            writer.writerow(
                [
                    "Dimension.LINE_ITEM_ID",
                    "Dimension.DATE",
                    "Dimension.LINE_ITEM_NAME",
                    "Column.AD_SERVER_IMPRESSIONS",
                    "Column.AD_SERVER_CLICKS",
                ]
            )
            for (line_item_id, day), (impressions, clicks) in sorted(self.delivery.items()):
                if line_item_id in job.line_item_ids and job.start <= day <= job.end:
                    name = getattr(self.line_items.get(line_item_id), "name", "")
                    writer.writerow([line_item_id, day.isoformat(), name, impressions, clicks])
            return gzip.compress(out.getvalue().encode())

    # OAuth

    def grant_token(self, form: dict[str, list[str]]) -> tuple[int, dict]:
        """Google's token endpoint for a JWT bearer grant signed with `service_account_key()`'s key."""
        import google.auth.exceptions
        from google.auth import jwt

        with self._lock:
            self.token_requests += 1
            if form.get("grant_type") != ["urn:ietf:params:oauth:grant-type:jwt-bearer"] or "assertion" not in form:
                return 400, {"error": "unsupported_grant_type"}
            if self._service_account_public_key is None:
                return 400, {"error": "invalid_grant", "error_description": "unknown key"}
            try:
                # google-auth addresses the assertion to Google's endpoint whatever the key's token_uri
                claims = jwt.decode(
                    form["assertion"][0],
                    certs=self._service_account_public_key,
                    audience="https://oauth2.googleapis.com/token",
                )
            except (ValueError, google.auth.exceptions.GoogleAuthError) as error:
                return 400, {"error": "invalid_grant", "error_description": str(error)}
            if "https://www.googleapis.com/auth/dfp" not in claims.get("scope", "").split():
                return 400, {"error": "invalid_scope"}
            return 200, {"access_token": self.token, "expires_in": 3600, "token_type": "Bearer"}

    def wait_stall(self) -> None:
        """Sleep as long as a stall lasts, or until the server stops."""
        self._stopping.wait(self.stall)


def _plain(value):
    """A PQL Value's Python value (TextValue, NumberValue, BooleanValue)."""
    return getattr(value, "value", value)


def _walk(obj, path: str):
    """The value at a dotted field path inside a zeep object ("costPerUnit.microAmount", "a[0].b")."""
    for part in filter(None, path.split(".")):
        name, _, index = part.partition("[")
        obj = getattr(obj, name, None) if obj is not None else None
        if index and obj is not None:
            position = int(index.rstrip("]"))
            obj = obj[position] if position < len(obj) else None
    return obj


def _gam_now(client: zeep.Client, ns: str, zone: str):
    now = datetime.now(ZoneInfo(zone)) + timedelta(minutes=1)
    return client.get_type(f"{{{ns}}}DateTime")(
        date={"year": now.year, "month": now.month, "day": now.day},
        hour=now.hour,
        minute=now.minute,
        second=now.second,
        timeZoneId=zone,
    )


def _handler_for(fake: FakeAdManager) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format, *args) -> None:  # quiet, like a real server's access log
            pass

        def _route(self) -> tuple[str, str] | None:
            match = re.fullmatch(r"/apis/ads/publisher/(v\d{6})/(\w+)", urlsplit(self.path).path)
            if match is None or match[1] not in VERSIONS or match[2] not in SERVICES:
                return None
            return match[1], match[2]

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting: what a timeout looks like from here

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            route = self._route()
            if route is not None and parts.query == "wsdl":
                version, service = route
                address = f"{fake.url}/apis/ads/publisher/{version}/{service}"
                self._send(200, wsdl_for(service, version, address).encode(), "text/xml; charset=UTF-8")
                return
            report = re.fullmatch(r"/reports/(\d+)\.csv\.gz", parts.path)
            data = fake.report_file(int(report[1])) if report else None
            if data is None:
                self._send(404, b"Not found", "text/plain")
                return
            self._send(200, data, "application/x-gzip")

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if urlsplit(self.path).path == "/token":
                status, answer = fake.grant_token(parse_qs(body.decode()))
                self._send(status, json.dumps(answer).encode(), "application/json")
                return
            route = self._route()
            if route is None:
                self._send(404, b"Not found", "text/plain")
                return
            status, answer, failure = fake.answer(*route, body, self.headers)
            if failure is not None and failure.mode in ("timeout", "slow_success"):
                fake.wait_stall()
                if failure.mode == "timeout":
                    return  # no answer at all: the connection closes once the client has gone
            self._send(status, answer, "text/xml; charset=UTF-8")

    return Handler
