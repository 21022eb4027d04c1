"""Low-level QuickBooks Online Accounting API client: URLs, auth, requestid, query, batch, faults.

It speaks Intuit's JSON (dicts in, dicts out) and raises booksync's typed errors; the mapping
from booksync documents lives in ``adapter.py``.

- Every call carries ``minorversion``; every write carries ``requestid`` (and no read does, so a
  replayed read can never be served a stale cached answer).
- Writes are never retried inline on an uncertain outcome: Intuit's requestid is reported not to
  prevent duplicates reliably, so the engine looks the object up instead (design.md).
- A 401 gets one refreshed token and one retry; a second 401 means the connection is down.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote as quote_path

from booksync.errors import ConfigurationError, ProviderError, TransientError
from booksync.providers.http import HttpClient, dumps_json, parse_retry_after, response_json, shared_client
from booksync.providers.port import TokenSource
from booksync.providers.quickbooks.faults import LABEL, PROVIDER, FaultInfo, parse_faults, to_error

if TYPE_CHECKING:
    import httpx

    from booksync.sync.rate_limits import RequestGate

logger = logging.getLogger(__name__)

PRODUCTION_API_BASE = "https://quickbooks.api.intuit.com"
SANDBOX_API_BASE = "https://sandbox-quickbooks.api.intuit.com"
DEFAULT_MINOR_VERSION = 75
TRACE_HEADER = "intuit_tid"

MAX_REQUEST_ID = 50  # all operations except batch
MAX_BATCH_REQUEST_ID = 36
MAX_BATCH_ITEMS = 30  # limits-and-throttles: "recommended maximum ... is 30"
MAX_BID = 10
MAX_PAGE = 1000  # query: at most 1000 rows per page

_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]+")
_SAFE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_SAFE_REALM = re.compile(r"[A-Za-z0-9_-]{1,64}")

Json = dict[str, Any]


def shared_http() -> HttpClient:
    """The process-wide HTTP client for the QuickBooks API: warm Lambda invocations reuse its
    connection pool and TLS sessions instead of paying a handshake per job. Its deadline is the
    running invocation's (``booksync.providers.http.bind_lambda_deadline``)."""
    return shared_client(provider=PROVIDER, label=LABEL, trace_header=TRACE_HEADER)


def request_id(key: str, limit: int = MAX_REQUEST_ID) -> str:
    """A requestid for an idempotency key: the key itself when it fits, else a stable digest."""
    if len(key) <= limit and _SAFE_REQUEST_ID.fullmatch(key):
        return key
    # 32 hex digits of SHA-256: same key -> same requestid, and within the 36-char batch limit.
    return "bs-" + hashlib.sha256(key.encode()).hexdigest()[:32]


def quote(value: str) -> str:
    """A query string literal. Backslash is the escape character, so it is escaped too:
    a name ending in a backslash would otherwise swallow the closing quote."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def select(entity: str, where: str | None = None, *, start: int = 1, max_results: int = MAX_PAGE) -> str:
    _check_name(entity)
    clause = f" where {where}" if where else ""
    # Not SQL: Intuit's query language; entity is checked above and values go through quote().
    return f"select * from {entity}{clause} STARTPOSITION {start} MAXRESULTS {max_results}"  # noqa: S608


def _check_name(entity: str) -> None:
    if not _SAFE_NAME.fullmatch(entity):
        raise ValueError(f"not a QuickBooks entity name: {entity!r}")


@dataclass(frozen=True)
class BatchOp:
    """One item of a batch request: an entity operation or a query."""

    bid: str
    entity: str | None = None
    operation: str | None = None  # create, update, delete, void
    body: Mapping[str, Any] | None = None
    query: str | None = None

    @classmethod
    def of(cls, bid: str, operation: str, entity: str, body: Mapping[str, Any]) -> BatchOp:
        return cls(bid=bid, entity=entity, operation=operation, body=body)

    @classmethod
    def select(cls, bid: str, statement: str) -> BatchOp:
        return cls(bid=bid, query=statement)

    def as_json(self) -> Json:
        if self.query is not None:
            return {"bId": self.bid, "Query": self.query}
        if not (self.entity and self.operation and self.body is not None):
            raise ValueError(f"batch item {self.bid} needs an entity, an operation and a body")
        _check_name(self.entity)
        return {"bId": self.bid, "operation": self.operation, self.entity: dict(self.body)}


@dataclass(frozen=True)
class BatchResult:
    bid: str
    entity: Mapping[str, Any] | None = None
    query: Mapping[str, Any] | None = None  # the QueryResponse of a query item
    error: ProviderError | None = None


class QuickBooksClient:
    """Calls ``{api_base_url}/v3/company/{realm_id}/…`` with a token from ``tokens``."""

    def __init__(
        self,
        *,
        realm_id: str,
        tokens: TokenSource,
        http: HttpClient | None = None,
        api_base_url: str = PRODUCTION_API_BASE,
        minor_version: int = DEFAULT_MINOR_VERSION,
        gate: RequestGate | None = None,
    ) -> None:
        if not _SAFE_REALM.fullmatch(realm_id):
            raise ConfigurationError("the QuickBooks company id (realmId) is not valid")
        self.realm_id = realm_id
        self.minor_version = minor_version
        self._tokens = tokens
        self._http = http or shared_http()
        # The company's shared limiter (sync/rate_limits.py): every request holds a slot while out.
        self._gate = gate
        self._base = f"{api_base_url.rstrip('/')}/v3/company/{realm_id}"

    def __repr__(self) -> str:
        return f"QuickBooksClient(realm_id={self.realm_id!r})"

    @property
    def http(self) -> HttpClient:
        return self._http

    # ------------------------------------------------------------------ entities

    def read(self, entity: str, entity_id: str) -> Json:
        """GET one entity; ``RemoteNotFound`` when Intuit answers 610."""
        _check_name(entity)
        path = f"{entity.lower()}/{quote_path(entity_id, safe='')}"
        return self._unwrap(self._call("GET", path, entity=entity, read=True), entity, write=False)

    def preferences(self) -> Json:
        """GET the company's Preferences (one per company, read without an id)."""
        return self._unwrap(
            self._call("GET", "preferences", entity="Preferences", read=True), "Preferences", write=False
        )

    def create(self, entity: str, body: Mapping[str, Any], *, idempotency_key: str) -> Json:
        return self._write(entity, body, idempotency_key=idempotency_key)

    def update(self, entity: str, body: Mapping[str, Any], *, idempotency_key: str) -> Json:
        """Sparse update: ``body`` carries Id and SyncToken; omitted fields stay as they are."""
        if "Id" not in body or "SyncToken" not in body:
            raise ValueError("an update needs Id and SyncToken")
        return self._write(entity, {**body, "sparse": True}, idempotency_key=idempotency_key)

    def operation(
        self, entity: str, body: Mapping[str, Any], *, operation: str, idempotency_key: str
    ) -> Json:
        """``POST /{entity}?operation=void`` and friends."""
        return self._write(entity, body, idempotency_key=idempotency_key, operation=operation)

    def _write(
        self,
        entity: str,
        body: Mapping[str, Any],
        *,
        idempotency_key: str,
        operation: str | None = None,
    ) -> Json:
        _check_name(entity)
        params = {"operation": operation} if operation else None
        payload = self._call(
            "POST",
            entity.lower(),
            entity=entity,
            body=body,
            params=params,
            request_id=request_id(idempotency_key),
            read=False,
        )
        return self._unwrap(payload, entity, write=True)

    # ------------------------------------------------------------------ query

    def query(self, statement: str) -> Json:
        """One query page: the ``QueryResponse`` object (``{}`` when nothing matched)."""
        payload = self._call("POST", "query", entity="query", text=statement, read=True)
        response = payload.get("QueryResponse")
        return dict(response) if isinstance(response, Mapping) else {}

    def select_all(self, entity: str, where: str | None = None, *, page_size: int = MAX_PAGE) -> list[Json]:
        """Every row matching ``where``, page by page (STARTPOSITION is 1-based)."""
        page_size = max(1, min(page_size, MAX_PAGE))
        rows: list[Json] = []
        start = 1
        while True:
            page = self.query(select(entity, where, start=start, max_results=page_size)).get(entity) or []
            rows.extend(row for row in page if isinstance(row, dict))
            if len(page) < page_size:
                return rows
            start += page_size

    # ------------------------------------------------------------------ batch

    def batch(self, ops: Sequence[BatchOp], *, idempotency_key: str | None = None) -> dict[str, BatchResult]:
        """Send up to 30 items in one call; results keyed by bId (Intuit's order is not promised)."""
        by_bid = _check_batch(ops)
        read = all(op.query is not None for op in ops)
        if not read and idempotency_key is None:
            raise ValueError("a batch with writes needs an idempotency key")
        rid = None if read or idempotency_key is None else request_id(idempotency_key, MAX_BATCH_REQUEST_ID)
        payload = self._call(
            "POST",
            "batch",
            entity="batch",
            body={"BatchItemRequest": [op.as_json() for op in ops]},
            request_id=rid,
            read=read,
        )
        results = _batch_results(payload, by_bid)
        for bid, op in by_bid.items():
            if bid not in results:  # no answer for it: it may or may not have been applied
                results[bid] = BatchResult(
                    bid=bid,
                    error=TransientError(
                        f"{LABEL} did not answer batch item {bid}",
                        provider=PROVIDER,
                        uncertain=op.query is None,
                    ),
                )
        return results

    # ------------------------------------------------------------------ transport

    def _call(
        self,
        method: str,
        path: str,
        *,
        entity: str,
        read: bool,
        body: Mapping[str, Any] | None = None,
        text: str | None = None,
        params: Mapping[str, str] | None = None,
        request_id: str | None = None,
    ) -> Json:
        query = {"minorversion": str(self.minor_version), **(params or {})}
        if request_id is not None:
            query["requestid"] = request_id
        headers = {"Accept": "application/json"}
        content: str | None = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            content = dumps_json(body)
        elif text is not None:
            headers["Content-Type"] = "application/text"
            content = text
        url = f"{self._base}/{path}"

        token = self._tokens.access_token()
        batch = entity == "batch"  # Intuit counts batch requests apart (40 a minute)
        response = self._send(method, url, query, headers, content, token=token, read=read, batch=batch)
        if _auth_failed(response):
            # Intuit rejected the token (expired early, or rotated by another worker): one fresh
            # token, one retry. Nothing was applied on a 401, so a write is safe to resend.
            token = self._tokens.refreshed_after_rejection(token)
            response = self._send(method, url, query, headers, content, token=token, read=read, batch=batch)
        return self._payload(response, entity=entity, write=not read, token=token)

    def _send(
        self,
        method: str,
        url: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        content: str | None,
        *,
        token: str,
        read: bool,
        batch: bool = False,
    ) -> httpx.Response:
        with self._gate.slot(batch=batch) if self._gate is not None else nullcontext():
            return self._http.request(
                method,
                url,
                params=query,
                headers={**headers, "Authorization": f"Bearer {token}"},
                content=content.encode() if content is not None else None,
                read=read,
                idempotent=False,
            )

    def _payload(self, response: httpx.Response, *, entity: str, write: bool, token: str) -> Json:
        payload = response_json(response)
        faults = parse_faults(payload)
        if response.is_success and not faults and isinstance(payload, dict):
            return payload
        if not faults:
            faults = [
                FaultInfo(code=None, message=f"HTTP {response.status_code}", detail="", element="", type="")
            ]
        trace = response.headers.get(TRACE_HEADER)
        raise to_error(
            faults[0],
            entity=entity,
            status=response.status_code,
            write=write,
            secrets=(token,),
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
            trace=f" [{TRACE_HEADER} {trace}]" if trace else "",
        )

    def _unwrap(self, payload: Json, entity: str, *, write: bool) -> Json:
        obj = payload.get(entity)
        if isinstance(obj, dict):
            return obj
        # A 200 without the object: treat like a lost answer, which it effectively is.
        raise TransientError(
            f"{LABEL} answered without the {entity}",
            provider=PROVIDER,
            uncertain=write,
        )


def _auth_failed(response: httpx.Response) -> bool:
    if response.status_code == 401:
        return True
    return any(fault.is_auth for fault in parse_faults(response_json(response)))


def _check_batch(ops: Sequence[BatchOp]) -> dict[str, BatchOp]:
    if not ops:
        raise ValueError("an empty batch")
    if len(ops) > MAX_BATCH_ITEMS:
        raise ValueError(f"a batch holds at most {MAX_BATCH_ITEMS} items, not {len(ops)}")
    by_bid: dict[str, BatchOp] = {}
    for op in ops:
        if not op.bid or len(op.bid) > MAX_BID or op.bid in by_bid:
            raise ValueError(f"batch ids must be unique and 1-{MAX_BID} characters: {op.bid!r}")
        by_bid[op.bid] = op
    return by_bid


def _batch_results(payload: Json, by_bid: Mapping[str, BatchOp]) -> dict[str, BatchResult]:
    results: dict[str, BatchResult] = {}
    for item in payload.get("BatchItemResponse") or []:
        if not isinstance(item, Mapping):
            continue
        bid = str(item.get("bId", ""))
        op = by_bid.get(bid)
        if op is None:
            logger.warning("batch answer for an unknown bId", extra={"provider": PROVIDER, "bid": bid})
            continue
        faults = parse_faults(item)
        if faults:
            error = to_error(faults[0], entity=op.entity or "query", status=None, write=op.query is None)
            results[bid] = BatchResult(bid=bid, error=error)
        elif op.query is not None:
            response = item.get("QueryResponse")
            results[bid] = BatchResult(bid=bid, query=response if isinstance(response, Mapping) else {})
        elif isinstance(obj := item.get(op.entity or ""), Mapping):
            results[bid] = BatchResult(bid=bid, entity=obj)
        # Anything else is left out: the caller's loop marks it as an unanswered, uncertain item.
    return results
