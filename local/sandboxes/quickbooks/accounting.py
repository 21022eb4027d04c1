"""The Accounting API v3 under /v3/company/{realmId}/: auth, throttles, requestid, then the work."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from typing import Any

from local.sandboxes.kit.faults import CallInfo
from local.sandboxes.kit.wire import Request, Response, json_response
from local.sandboxes.quickbooks import errors, ops, query
from local.sandboxes.quickbooks.books import Books
from local.sandboxes.quickbooks.clock import CompanyClock
from local.sandboxes.quickbooks.config import SandboxConfig
from local.sandboxes.quickbooks.currency import preferences
from local.sandboxes.quickbooks.entities import BY_PATH, ENTITY_TYPES
from local.sandboxes.quickbooks.limits import RateLimiter, Throttled
from local.sandboxes.quickbooks.model import Realm, StoredAnswer
from local.sandboxes.quickbooks.oauth import OAuthServer

_BATCH_ATTRIBUTES = {"bId", "operation", "optionsData"}


def classify(request: Request, realm: str, rest: str) -> CallInfo:
    """What a v3 request is about, read leniently: a malformed one is classified, then refused."""
    parts = rest.strip("/").split("/")
    head = parts[0].lower()
    if head == "query":
        return CallInfo("api", "query", realm, query.entity_of(_query_text(request)))
    if head == "batch":
        return CallInfo("api", "batch", realm, batch_items=_batch_preview(request))
    etype = BY_PATH.get(head)
    entity = etype.name if etype else None
    if request.method == "GET":
        return CallInfo("api", "read", realm, entity)
    return CallInfo("api", write_operation(request, _lenient_json(request)), realm, entity)


def write_operation(request: Request, body: object) -> str:
    """POST /{entity}: ?operation=void|delete, payment's ?operation=update&include=void, else by Id."""
    operation = (request.param("operation") or "").lower()
    if operation == "update" and (request.param("include") or "").lower() == "void":
        return "void"
    if operation in {"void", "delete", "update"}:
        return operation
    return "update" if isinstance(body, dict) and body.get("Id") is not None else "create"


def _lenient_json(request: Request) -> object:
    try:
        return request.json()
    except (ValueError, UnicodeDecodeError):
        return None


def _query_text(request: Request) -> str:
    if request.method == "GET":
        return request.param("query") or ""
    return request.body.decode("utf-8", "replace")


def _batch_preview(request: Request) -> list[tuple[str | None, str]]:
    body = _lenient_json(request)
    items = body.get("BatchItemRequest") if isinstance(body, dict) else None
    preview: list[tuple[str | None, str]] = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        if "Query" in item:
            preview.append((query.entity_of(str(item["Query"])), "query"))
            continue
        names = [key for key in item if key not in _BATCH_ATTRIBUTES]
        preview.append((names[0] if names else None, str(item.get("operation") or "create")))
    return preview


class AccountingAPI:
    def __init__(
        self,
        config: SandboxConfig,
        books: Books,
        oauth: OAuthServer,
        limiter: RateLimiter,
        clock: CompanyClock,
        stopping: threading.Event,
    ) -> None:
        self.config = config
        self.books = books
        self.oauth = oauth
        self.limiter = limiter
        self.clock = clock
        self.stopping = stopping

    def handle(self, request: Request, call: CallInfo, realm_id: str, rest: str) -> Response:
        try:
            self.oauth.check_bearer(request.header("authorization"), realm_id)
            self.limiter.acquire(realm_id, self.config.limits, batch=call.operation == "batch")
        except errors.QBOFault as fault:
            return self.fault_response(fault)
        except Throttled as throttled:
            return self.throttle_response(throttled.retry_after_s)
        try:
            if self.config.latency_ms > 0:
                # Sandbox time, like the throttle windows: a scaled clock keeps their ratio.
                self.stopping.wait(self.config.latency_ms / 1000 / self.config.clock_scale)
            return self._route(request, call, self.books.open(realm_id), rest)
        finally:
            self.limiter.release(realm_id)

    def fault_response(self, fault: errors.QBOFault, headers: dict[str, str] | None = None) -> Response:
        body = {"Fault": fault.fault(), "time": self.clock.response_time()}
        return json_response(fault.status, body, headers=headers, fault_code=fault.code)

    def throttle_response(self, retry_after_s: int) -> Response:
        headers = {"Retry-After": str(retry_after_s)} if self.config.send_retry_after else None
        return self.fault_response(errors.throttled(), headers)

    def _route(self, request: Request, call: CallInfo, realm: Realm, rest: str) -> Response:
        try:
            if call.operation == "query":
                return self._query(realm, _query_text(request))
            if call.operation == "batch":
                return self._remembered(realm, request, lambda: self._batch(realm, request))
            head = rest.strip("/").split("/")[0].lower()
            if head == "preferences" and call.operation == "read":
                with self.books.lock:
                    return self._ok({"Preferences": preferences(realm)})
            if head == "companyinfo" and call.operation == "read":
                return self._ok({"CompanyInfo": company_info(realm)})
            etype = BY_PATH.get(head)
            if etype is None:
                raise errors.unsupported_operation(f"{request.method} {rest}")
            if call.operation == "read":
                return self._read(realm, etype.name, rest)
            body = _parse_body(request)
            return self._remembered(
                realm, request, lambda: self._write(realm, etype.name, call.operation, body)
            )
        except errors.QBOFault as fault:
            return self.fault_response(fault)

    def _query(self, realm: Realm, text: str) -> Response:
        if not text.strip():
            raise errors.query_parse('Encountered "<EOF>" at line 1, column 1.')
        with self.books.lock:
            result = query.run(realm, text, self.clock)
        return self._ok({"QueryResponse": result})

    def _read(self, realm: Realm, entity: str, rest: str) -> Response:
        parts = rest.strip("/").split("/")
        if len(parts) != 2:
            raise errors.unsupported_operation(f"GET {rest}")
        with self.books.lock:
            return self._ok({entity: ops.read(realm, ENTITY_TYPES[entity], parts[1])})

    def _write(self, realm: Realm, entity: str, operation: str, body: object) -> Response:
        ctx = ops.context(realm, self.clock)
        return self._ok({entity: ops.perform(ctx, ENTITY_TYPES[entity], operation, body)})

    def _batch(self, realm: Realm, request: Request) -> Response:
        body = _parse_body(request)
        items = body.get("BatchItemRequest") if isinstance(body, dict) else None
        if not isinstance(items, list) or not items:
            raise errors.required_missing("BatchItemRequest")
        maximum = self.config.limits.batch_max_items
        if len(items) > maximum:
            raise errors.batch_too_large(len(items), maximum)
        return self._ok({"BatchItemResponse": [self._batch_item(realm, item) for item in items]})

    def _batch_item(self, realm: Realm, item: object) -> dict[str, Any]:
        """Each item stands alone: one failing does not stop or undo the others."""
        bid = item.get("bId") if isinstance(item, dict) else None
        try:
            if not isinstance(item, dict):
                raise errors.unsupported_property("BatchItemRequest")
            if "Query" in item:
                return {"bId": bid, "QueryResponse": query.run(realm, str(item["Query"]), self.clock)}
            entity, payload = _batch_entity(item)
            operation = item.get("operation")
            if not operation:
                raise errors.required_missing("operation")
            ctx = ops.context(realm, self.clock)
            return {"bId": bid, entity: ops.perform(ctx, ENTITY_TYPES[entity], str(operation), payload)}
        except errors.QBOFault as fault:
            return {"bId": bid, "Fault": fault.fault()}

    def _remembered(self, realm: Realm, request: Request, work: Callable[[], Response]) -> Response:
        """Apply a write once per (realm, requestid): a repeat gets the first answer back."""
        request_id = request.param("requestid") if self.config.honor_request_id else None
        with self.books.lock:
            stored = realm.answers.get(request_id) if request_id else None
            if stored is not None:
                return Response(stored.status, stored.body, dict(stored.headers), replayed=True)
            response = work()
            if request_id and 200 <= response.status < 300:
                realm.answers[request_id] = StoredAnswer(
                    response.status, response.body, dict(response.headers)
                )
            return response

    def _ok(self, payload: dict[str, Any]) -> Response:
        return json_response(200, {**payload, "time": self.clock.response_time()})


def _parse_body(request: Request) -> Any:
    try:
        return request.json()
    except (ValueError, UnicodeDecodeError):
        raise errors.unreadable_body() from None


def _batch_entity(item: dict[str, Any]) -> tuple[str, Any]:
    names = [key for key in item if key not in _BATCH_ATTRIBUTES]
    if len(names) != 1 or names[0] not in ENTITY_TYPES:
        raise errors.unsupported_property(names[0] if names else "BatchItemRequest")
    return names[0], copy.deepcopy(item[names[0]])


def company_info(realm: Realm) -> dict[str, Any]:
    """The CompanyInfo entity (GET /companyinfo/{realm}), as much of it as the sandbox models: read
    with a token for another company it is refused (403) by the bearer check, as Intuit does."""
    return {
        "CompanyName": f"Sandbox Company {realm.id}",
        "Country": "US",
        "Id": "1",
        "SyncToken": "0",
        "MetaData": {
            "CreateTime": CompanyClock.meta_time(realm.created_at),
            "LastUpdatedTime": CompanyClock.meta_time(realm.created_at),
        },
        "domain": "QBO",
        "sparse": False,
    }
