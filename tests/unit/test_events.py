"""The sample events in events/ (used by `sam local invoke -e` and the integration tests) are
real event shapes, and every function and route in template.yaml has at least one.

Layout: events/<function code dir>/<name>.json, where the code dir is the last part of the
function's CodeUri (functions/sync_invoice/ -> events/sync_invoice/).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl

import pytest
from aws_lambda_powertools.utilities.parser.models import (
    APIGatewayProxyEventV2Model,
    EventBridgeModel,
    SqsModel,
)
from booksync.documents import Customer, Invoice, InvoiceStatus, Item, Payment, Refund
from booksync.providers.freshbooks.webhooks import Verification, naming_account, parse_delivery
from booksync.providers.xero.webhooks import FEED as xero_feed
from booksync.webhooks.quickbooks import parse_payload
from booksync.webhooks.square import parse_event
from cfnlint.decode import decode
from pydantic import BaseModel, ConfigDict, Field

from local.runtime.gateway import RouteTable
from local.runtime.model import RouteSpec

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
JWT_CLAIMS = {"sub", "company_id", "role", "email"}
PROXY_SAMPLES_REQUIRED = [
    ("GET", r"/integrations"),
    ("POST", r"/integrations/quickbooks/connect"),
    ("PUT", r"/customers/[^/]+"),
    ("PUT", r"/items/[^/]+"),
    ("PUT", r"/invoices/[^/]+"),
    ("PUT", r"/payments/[^/]+"),
    ("PUT", r"/refunds/[^/]+"),
    ("GET", r"/refunds/[^/]+"),
    ("POST", r"/invoices/[^/]+/sync"),
    ("POST", r"/integrations/quickbooks/sync"),
    ("GET", r"/invoices/[^/]+/sync-status"),
    ("GET", r"/sync-runs"),
    ("GET", r"/integrations/quickbooks/accounts"),
    ("GET", r"/integrations/quickbooks/account-mapping"),
    ("PUT", r"/integrations/quickbooks/account-mapping/items/[^/]+"),
    ("POST", r"/integrations/quickbooks/account-mapping/apply-to-unmapped"),
    ("PUT", r"/integrations/quickbooks/account-mapping/payment-account"),
    ("PATCH", r"/integrations/quickbooks/settings"),
    ("POST", r"/integrations/square/connect"),
    ("POST", r"/oauth/quickbooks/complete"),
    ("GET", r"/square/payments/unmatched"),
    ("POST", r"/square/payments/[^/]+/match"),
    ("GET", r"/payouts"),
    ("GET", r"/payouts/[^/]+"),
    ("POST", r"/payouts/[^/]+/retry"),
    ("POST", r"/memory/search"),
    ("GET", r"/memory/prices"),
    ("POST", r"/memory/ask"),
    ("GET", r"/memory/tools"),
    ("GET", r"/integrations/quickbooks/wizard"),
    ("GET", r"/integrations/quickbooks/wizard/customers"),
    ("POST", r"/integrations/quickbooks/wizard/customers/import"),
    ("POST", r"/integrations/quickbooks/wizard/customers/skip"),
    ("GET", r"/integrations/quickbooks/wizard/items"),
    ("POST", r"/integrations/quickbooks/wizard/items/import"),
    ("POST", r"/integrations/quickbooks/wizard/items/skip"),
    ("GET", r"/integrations/quickbooks/wizard/summary"),
]
DOCUMENT_ROUTES: dict[str, type[BaseModel]] = {
    "customers": Customer,
    "items": Item,
    "invoices": Invoice,
    "payments": Payment,
    "refunds": Refund,
}


class CatalogJob(BaseModel):
    """docs/architecture.md, "Queue message: catalog job"."""

    model_config = ConfigDict(extra="forbid")

    job_id: str = Field(min_length=1)
    company_id: str = Field(min_length=1)
    provider: Literal["quickbooks", "xero", "freshbooks", "wave"]
    run_id: str = Field(min_length=1)
    kinds: list[Literal["customers", "items", "invoices"]] = Field(min_length=1)
    step: int = Field(ge=0)
    trigger: Literal["manual", "connect", "auto", "first_sync"]


class SyncJob(BaseModel):
    """docs/architecture.md, "Queue message: sync job"."""

    model_config = ConfigDict(extra="forbid")

    job_id: str = Field(min_length=1)
    company_id: str = Field(min_length=1)
    invoice_id: str = Field(min_length=1)
    provider: Literal["quickbooks"]
    trigger: Literal["auto", "manual", "sweep"]
    run_id: str | None


class WebhookMessage(BaseModel):
    """docs/architecture.md, "Queue message: QuickBooks webhook delivery"."""

    model_config = ConfigDict(extra="forbid")

    v: Literal[1]
    provider: Literal["quickbooks", "square", "xero", "freshbooks"]
    received_at: float
    signed: bool
    body: str
    malformed: str | None


# ---------------------------------------------------------------- template


def _load_template() -> dict[str, Any]:
    template, problems = decode(str(ROOT / "template.yaml"))
    assert not problems, [str(p) for p in problems]
    loaded: dict[str, Any] = json.loads(json.dumps(template))
    return loaded


TEMPLATE = _load_template()
FUNCTIONS: dict[str, dict[str, Any]] = {
    name: res for name, res in TEMPLATE["Resources"].items() if res["Type"] == "AWS::Serverless::Function"
}


def code_dir(function: str) -> str:
    return str(FUNCTIONS[function]["Properties"]["CodeUri"]).rstrip("/").rsplit("/", 1)[-1]


def events_of(function: str, kind: str) -> list[dict[str, Any]]:
    return [
        event["Properties"]
        for event in FUNCTIONS[function]["Properties"].get("Events", {}).values()
        if event["Type"] == kind
    ]


def samples_of(function: str) -> dict[str, dict[str, Any]]:
    folder = EVENTS / code_dir(function)
    return {str(p.relative_to(EVENTS)): json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}


# Samples live in a function's folder; events/env.local.json (sam's --env-vars file) is not one.
ALL_SAMPLES = sorted(str(p.relative_to(EVENTS)) for p in EVENTS.rglob("*.json") if p.parent != EVENTS)


def _route_regex(path: str) -> re.Pattern[str]:
    """An HttpApi route path as a regex: {name} is one segment, {name+} the rest of the path."""
    pattern = re.sub(r"\\\{(\w+)\\\+\\\}", r"(?P<\1>.+)", re.escape(path))
    pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", pattern)
    return re.compile(f"^{pattern}$")


def declared_routes() -> dict[str, tuple[str, dict[str, Any]]]:
    """routeKey ("GET /health") -> (function, event properties)."""
    return {
        f"{props['Method'].upper()} {props['Path']}": (function, props)
        for function in FUNCTIONS
        for props in events_of(function, "HttpApi")
    }


def route_for(method: str, path: str) -> str | None:
    """The route API Gateway picks for a request, as the local gateway picks it."""
    specs = [
        RouteSpec("HttpApi", *key.split(" ", 1), function, "", None, (), 30_000)
        for key, (function, _props) in declared_routes().items()
    ]
    matched = RouteTable(specs).match(method, path)
    return matched[0].route_key if matched else None


def has_float(node: Any) -> bool:
    if isinstance(node, float):
        return True
    if isinstance(node, dict):
        return any(has_float(v) for v in node.values())
    if isinstance(node, list):
        return any(has_float(v) for v in node)
    return False


# ---------------------------------------------------------------- coverage


def test_every_function_has_a_sample_event() -> None:
    assert FUNCTIONS
    for function in FUNCTIONS:
        assert samples_of(function), f"no sample event in events/{code_dir(function)}/ for {function}"


def test_every_sample_belongs_to_a_declared_function() -> None:
    folders = {code_dir(f) for f in FUNCTIONS}
    for sample in ALL_SAMPLES:
        folder = sample.split("/", 1)[0]
        assert folder in folders, f"events/{sample}: no function has CodeUri .../{folder}/"


def test_every_route_has_a_sample_event() -> None:
    routes = declared_routes()
    assert routes
    covered = {
        event["routeKey"]
        for function in FUNCTIONS
        for event in samples_of(function).values()
        if "routeKey" in event
    }
    assert set(routes) <= covered, f"routes without a sample event: {sorted(set(routes) - covered)}"


def test_the_api_has_a_sample_for_each_operation() -> None:
    """Each API operation reached through ApiFunction's proxy route or SetupApiFunction's routes."""
    routes = declared_routes()
    samples = [
        e
        for e in samples_of("ApiFunction").values()
        if e["routeKey"] == "ANY /{proxy+}" or routes[e["routeKey"]][0] == "SetupApiFunction"
    ]
    seen = {(e["requestContext"]["http"]["method"], e["rawPath"]) for e in samples}
    for method, pattern in PROXY_SAMPLES_REQUIRED:
        assert any(m == method and re.fullmatch(pattern, p) for m, p in seen), (
            f"no sample for {method} {pattern}"
        )


def test_every_queue_and_schedule_has_a_sample_event() -> None:
    for function in FUNCTIONS:
        samples = samples_of(function).values()
        if events_of(function, "SQS"):
            assert any("Records" in s for s in samples), function
        for schedule in events_of(function, "Schedule"):
            if "Input" in schedule:
                assert json.loads(schedule["Input"]) in list(samples), function
            else:
                assert any(s.get("detail-type") == "Scheduled Event" for s in samples), function


# ---------------------------------------------------------------- shapes


@pytest.mark.parametrize("sample", ALL_SAMPLES)
def test_sample_parses_as_its_function_receives_it(sample: str) -> None:
    folder = sample.split("/", 1)[0]
    event = json.loads((EVENTS / sample).read_text())
    function = function_for(folder, event)
    if "routeKey" in event:
        assert events_of(function, "HttpApi"), f"{function} has no HTTP route"
        check_http_event(event, function)
    elif "Records" in event:
        assert events_of(function, "SQS"), f"{function} has no SQS event source"
        check_sqs_event(event, function)
    elif "detail-type" in event:
        EventBridgeModel.model_validate(event)
    else:
        # A schedule with Input delivers that JSON itself, not an EventBridge envelope.
        inputs = [json.loads(s["Input"]) for s in events_of(function, "Schedule") if "Input" in s]
        assert event in inputs, f"events/{sample} is neither an HTTP, SQS nor a scheduled event"


def function_for(folder: str, event: dict[str, Any]) -> str:
    """The function a sample is for: several functions may share a code folder (webhooks/)."""
    candidates = [f for f in FUNCTIONS if code_dir(f) == folder]
    if len(candidates) > 1 and "routeKey" in event:
        candidates = [
            f
            for f in candidates
            if any(f"{p['Method'].upper()} {p['Path']}" == event["routeKey"] for p in events_of(f, "HttpApi"))
        ]
    elif len(candidates) > 1 and "Records" in event:
        candidates = [f for f in candidates if events_of(f, "SQS")]
        if len(candidates) > 1:  # several consumers share the folder: the queue tells them apart
            arn = str(event["Records"][0].get("eventSourceARN", ""))
            candidates = [
                f
                for f in candidates
                if any(arn.endswith(p["Queue"]["Fn::GetAtt"][0]) for p in events_of(f, "SQS"))
            ]
    (function,) = candidates
    return function


def check_http_event(event: dict[str, Any], function: str) -> None:
    parsed = APIGatewayProxyEventV2Model.model_validate(event)
    assert parsed.version == "2.0"
    routes = declared_routes()
    assert parsed.routeKey in routes, f"undeclared route {parsed.routeKey}"
    assert routes[parsed.routeKey][0] == function
    assert parsed.requestContext.routeKey == parsed.routeKey
    assert parsed.requestContext.stage == "$default"
    method, path = parsed.requestContext.http.method, parsed.rawPath
    assert parsed.requestContext.http.path == path
    assert route_for(method, path) == parsed.routeKey, f"API Gateway would route {method} {path} elsewhere"
    route_path = parsed.routeKey.split(" ", 1)[1]
    match = _route_regex(route_path).match(path)
    assert match is not None
    assert (parsed.pathParameters or {}) == match.groupdict()
    assert dict(parse_qsl(parsed.rawQueryString)) == (parsed.queryStringParameters or {})
    assert all(name == name.lower() for name in parsed.headers), "HTTP API lower-cases header names"

    props = routes[parsed.routeKey][1]
    public = props.get("Auth", {}).get("Authorizer") == "NONE"
    if public:
        assert parsed.requestContext.authorizer is None, "a public route has no authorizer context"
    else:
        authorizer = parsed.requestContext.authorizer
        assert authorizer is not None
        assert authorizer.jwt is not None
        claims = authorizer.jwt.claims
        assert set(claims) >= JWT_CLAIMS
        assert claims["role"] in {"admin", "member"}
        assert "authorization" in parsed.headers

    if isinstance(parsed.body, str) and parsed.body and parsed.rawPath == "/webhooks/freshbooks":
        # FreshBooks posts forms: every field a string, so no float can travel.
        assert parsed.headers.get("content-type") == "application/x-www-form-urlencoded"
        assert parse_delivery(
            naming_account(parsed.body.encode(), (parsed.queryStringParameters or {}).get("account_id"))
        )
        return
    if isinstance(parsed.body, str) and parsed.body:
        assert parsed.headers.get("content-type", "").startswith("application/json")
        if parsed.isBase64Encoded:
            # API Gateway base64-encodes bodies it takes for binary; only webhooks must cope.
            assert parsed.rawPath.startswith("/webhooks/")
            body = json.loads(base64.b64decode(parsed.body))
            assert not has_float(body)
            return
        body = json.loads(parsed.body)
        assert not has_float(body), "money travels as strings, never JSON floats"
        check_document_body(method, path, parsed.body)


def check_document_body(method: str, path: str, body: str) -> None:
    segments = path.strip("/").split("/")
    if method != "PUT" or len(segments) != 2 or segments[0] not in DOCUMENT_ROUTES:
        return
    document = DOCUMENT_ROUTES[segments[0]].model_validate_json(body)
    assert getattr(document, "id", None) == segments[1], "the body's id is the one in the path"


def check_sqs_event(event: dict[str, Any], function: str) -> None:
    parsed = SqsModel.model_validate(event)
    assert parsed.Records
    (source,) = events_of(function, "SQS")
    assert len(parsed.Records) <= source["BatchSize"]
    job_ids = []
    for record in parsed.Records:
        assert record.eventSource == "aws:sqs"
        assert record.md5OfBody == hashlib.md5(record.body.encode()).hexdigest()
        if function == "QuickBooksEventsFunction":
            message = WebhookMessage.model_validate_json(record.body)
            assert parse_payload(message.body), "a queued delivery carries at least one event"
            job_ids.append(record.messageId)
            continue
        if function == "XeroEventsFunction":
            message = WebhookMessage.model_validate_json(record.body)
            assert message.provider == "xero"
            assert xero_feed.parse(message.body), "a queued delivery carries at least one event"
            job_ids.append(record.messageId)
            continue
        if function == "FreshBooksEventsFunction":
            message = WebhookMessage.model_validate_json(record.body)
            assert message.provider == "freshbooks"
            # A callback's verification (unsigned: it brings the verifier) or one signed event.
            assert message.signed == (not isinstance(parse_delivery(message.body), Verification))
            job_ids.append(record.messageId)
            continue
        if function == "SquareEventsFunction":
            message = WebhookMessage.model_validate_json(record.body)
            assert message.provider == "square"
            parse_event(message.body)  # a queued delivery is a Square event
            job_ids.append(record.messageId)
            continue
        if function == "PayoutDepositFunction":
            from booksync.payouts.deposits import parse_message

            job_ids.append(parse_message(record.body).event_id)
            continue
        if function == "EmbedBillingFunction":
            from booksync.memory.feed import EmbedJob

            EmbedJob.model_validate_json(record.body)  # a document to embed, named by its kind and id
            job_ids.append(record.messageId)
            continue
        if function == "SyncCatalogFunction":
            catalog = CatalogJob.model_validate_json(record.body)
            job_ids.append(catalog.job_id)
            continue
        job = SyncJob.model_validate_json(record.body)
        job_ids.append(job.job_id)
    assert len(set(job_ids)) == len(job_ids), "job_id is unique per enqueue"


# ---------------------------------------------------------------- content


def _api_sample(method: str, pattern: str) -> dict[str, Any]:
    for event in samples_of("ApiFunction").values():
        if event["requestContext"]["http"]["method"] == method and re.fullmatch(pattern, event["rawPath"]):
            return event
    raise AssertionError(f"no sample for {method} {pattern}")


def test_oauth_callback_sample_carries_code_state_and_realm() -> None:
    event = _api_sample("GET", r"/oauth/quickbooks/callback")
    assert {"code", "state", "realmId"} <= set(event["queryStringParameters"])
    assert event["pathParameters"] == {"provider": "quickbooks"}


def test_invoice_sample_is_a_sent_invoice_with_discount_and_tax() -> None:
    invoice = Invoice.model_validate_json(_api_sample("PUT", r"/invoices/[^/]+")["body"])
    assert invoice.status is InvoiceStatus.SENT
    assert len(invoice.lines) == 2
    assert invoice.discount is not None
    assert invoice.discount.kind == "percent"
    assert invoice.tax_rate_percent
    assert invoice.tax_amount > 0
    customer = Customer.model_validate_json(_api_sample("PUT", r"/customers/[^/]+")["body"])
    assert invoice.customer_id == customer.id
    item = Item.model_validate_json(_api_sample("PUT", r"/items/[^/]+")["body"])
    assert item.id in invoice.item_ids
    payment = Payment.model_validate_json(_api_sample("PUT", r"/payments/[^/]+")["body"])
    assert payment.invoice_id == invoice.id
    assert payment.amount == invoice.total


def test_sync_job_samples_cover_every_trigger() -> None:
    triggers = set()
    for event in samples_of("SyncInvoiceFunction").values():
        for record in event.get("Records", []):
            triggers.add(SyncJob.model_validate_json(record["body"]).trigger)
    assert triggers == {"auto", "manual", "sweep"}
