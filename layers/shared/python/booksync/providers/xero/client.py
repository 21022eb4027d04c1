"""Low-level Xero Accounting API client: URLs, the tenant header, Idempotency-Key, errors.

It speaks Xero's JSON (dicts in, dicts out) and raises booksync's typed errors (``faults.py``);
the mapping from booksync documents lives in ``mapping.py``.

- Every call names the organisation (``xero-tenant-id``) and asks for JSON.
- Every write carries an ``Idempotency-Key`` derived from the intent's key: Xero keeps the first
  answer 6 minutes and replays it to the same request, so the engine's retry of a write whose
  answer was lost (a reset, a 5xx: reported uncertain, never resent inline) is answered, not made
  again; past those minutes the engine's lookup finds it.
- A 401 gets one refreshed token and one retry; a second 401, or a 403 (the tenant is no longer
  connected), means the connection is down.
- 429s with ``X-Rate-Limit-Problem`` ``minute``, ``appminute`` or ``concurrent`` are waited out
  (``Retry-After``) by the HTTP client; a ``day`` one is answered at once as the daily limit.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote as quote_path

from booksync.errors import ConfigurationError, RemoteNotFound, TransientError
from booksync.providers.http import HttpClient, bearer_request, dumps_json, response_json, shared_client
from booksync.providers.port import TokenSource
from booksync.providers.xero.faults import day_limit_reached, element_error, to_error
from booksync.providers.xero.oauth import LABEL, PROVIDER

if TYPE_CHECKING:
    from booksync.sync.rate_limits import RequestGate

PRODUCTION_API_BASE = "https://api.xero.com/api.xro/2.0"
TRACE_HEADER = "xero-correlation-id"
IDEMPOTENCY_KEY_MAX = 128  # providers.md 7.1
BODY_DIGEST = 16
MAX_PAGE = 1000  # pageSize 1-1000
# A write of one record asks for Xero's summarized refusal (a 400 ValidationException), as Xero
# answers when the parameter is absent; the OpenAPI text declares ``default: false`` (a 200 with
# the element marked ERROR), so it is said, never assumed, and ``_one`` reads the element anyway.
SUMMARIZED = {"summarizeErrors": "true"}

_SAFE_KEY = re.compile(r"[A-Za-z0-9._:#-]+")
_SAFE_TENANT = re.compile(r"[A-Za-z0-9-]{1,64}")
_SAFE_COLLECTION = re.compile(r"[A-Z][A-Za-z]*")

Json = dict[str, Any]


def shared_http() -> HttpClient:
    """The process-wide HTTP client for Xero's API (warm invocations reuse its connections)."""
    return shared_client(provider=PROVIDER, label=LABEL, trace_header=TRACE_HEADER)


def idempotency_key(key: str, content: bytes) -> str:
    """The Idempotency-Key of a write: the intent's key (a digest of it where it does not fit)
    and a digest of the body. The same request again is answered Xero's first answer; the same
    intent sending another body (after an edit) is a request of its own, not a 400."""
    body = hashlib.sha256(content).hexdigest()[:BODY_DIGEST]
    room = IDEMPOTENCY_KEY_MAX - BODY_DIGEST - 1
    intent = (
        key if len(key) <= room and _SAFE_KEY.fullmatch(key) else hashlib.sha256(key.encode()).hexdigest()
    )
    return f"{intent}.{body}"


def quote(value: str) -> str:
    """A string literal of Xero's ``where`` filter."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class XeroClient:
    """Calls ``{api_base_url}/{Collection}`` for one organisation with a token from ``tokens``."""

    def __init__(
        self,
        *,
        tenant_id: str,
        tokens: TokenSource,
        http: HttpClient | None = None,
        api_base_url: str = PRODUCTION_API_BASE,
        gate: RequestGate | None = None,
    ) -> None:
        if not _SAFE_TENANT.fullmatch(tenant_id):
            raise ConfigurationError("the Xero organisation id (tenant id) is not valid")
        self.tenant_id = tenant_id
        self._tokens = tokens
        self._http = http or shared_http()
        # The organisation's shared limiter (sync/rate_limits.py): every request holds a slot while out.
        self._gate = gate
        self._base = api_base_url.rstrip("/")

    def __repr__(self) -> str:
        return f"XeroClient(tenant_id={self.tenant_id!r})"

    # ------------------------------------------------------------------ reads

    def query(self, collection: str, *, where: str | None = None, **params: str) -> list[Json]:
        """Every element of ``collection`` matching ``where`` (Xero's filter) and ``params``."""
        query = {**params, **({"where": where} if where else {})}
        return self._elements(self._call("GET", collection, collection=collection, params=query), collection)

    def list_all(
        self,
        collection: str,
        *,
        where: str | None = None,
        page_size: int = MAX_PAGE,
        each: Callable[[Callable[[], list[Json]]], list[Json]] = lambda page: page(),
        **params: str,
    ) -> list[Json]:
        """Every element, page by page (``page`` is 1-based), ``params`` on each; each page's
        request is made through ``each`` (a caller's pacing)."""
        size = str(max(1, min(page_size, MAX_PAGE)))
        rows: list[Json] = []
        page = 1
        while True:
            found = each(
                lambda p=page: self.query(  # type: ignore[misc]
                    collection, where=where, page=str(p), pageSize=size, **params
                )
            )
            rows += found
            if len(found) < int(size):
                return rows
            page += 1

    def read(self, collection: str, ident: str) -> Json | None:
        """One element by its id (or number, code); None when Xero answers 404."""
        try:
            found = self._elements(
                self._call("GET", collection, ident=ident, collection=collection), collection
            )
        except RemoteNotFound:
            return None
        return found[0] if found else None

    def organisation(self) -> Json:
        return self._one(
            self._call("GET", "Organisation", collection="Organisations"), "Organisations", write=False
        )

    # ------------------------------------------------------------------ writes

    def create(self, collection: str, element: Mapping[str, Any], *, idempotency_key: str) -> Json:
        """``PUT /{collection}`` with one element: Xero creates it."""
        payload = self._call(
            "PUT",
            collection,
            collection=collection,
            body={collection: [dict(element)]},
            params=SUMMARIZED,
            key=idempotency_key,
        )
        return self._one(payload, collection, write=True)

    def write_many(
        self, method: str, collection: str, elements: Sequence[Mapping[str, Any]], *, idempotency_key: str
    ) -> list[Json]:
        """Many elements in one request, ``PUT`` (creates) or ``POST`` (updates naming their ids),
        each answering for itself (``summarizeErrors=false``: a refused one carries its
        ``ValidationErrors``, the others are saved): the answers, in the order sent."""
        if method not in ("PUT", "POST"):
            raise ValueError(f"an array is sent by PUT or POST, not {method}")
        payload = self._call(
            method,
            collection,
            collection=collection,
            body={collection: [dict(element) for element in elements]},
            params={"summarizeErrors": "false"},
            key=idempotency_key,
        )
        return self._elements(payload, collection)

    def update(
        self, collection: str, ident: str, element: Mapping[str, Any], *, idempotency_key: str
    ) -> Json:
        """``POST /{collection}/{id}``: the fields sent change, the others stay."""
        payload = self._call(
            "POST",
            collection,
            ident=ident,
            collection=collection,
            body={collection: [dict(element)]},
            params=SUMMARIZED,
            key=idempotency_key,
        )
        return self._one(payload, collection, write=True)

    def put_under(
        self, collection: str, ident: str, part: str, element: Mapping[str, Any], *, idempotency_key: str
    ) -> Json:
        """``PUT /{collection}/{id}/{part}`` with one element (a credit note's Allocations)."""
        payload = self._call(
            "PUT",
            collection,
            ident=ident,
            part=part,
            collection=part,
            body={part: [dict(element)]},
            params=SUMMARIZED,
            key=idempotency_key,
        )
        return self._one(payload, part, write=True)

    # ------------------------------------------------------------------ transport

    def _call(
        self,
        method: str,
        path: str,
        *,
        collection: str,
        ident: str | None = None,
        part: str | None = None,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        key: str | None = None,
    ) -> Json:
        if not _SAFE_COLLECTION.fullmatch(path) or (
            part is not None and not _SAFE_COLLECTION.fullmatch(part)
        ):
            raise ValueError(f"not a Xero collection: {path!r}")
        url = f"{self._base}/{path}"
        if ident is not None:
            url += f"/{quote_path(ident, safe='')}"
        if part is not None:
            url += f"/{part}"
        headers = {"Accept": "application/json", "xero-tenant-id": self.tenant_id}
        content: bytes | None = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            content = dumps_json(body).encode()
        if key is not None:
            headers["Idempotency-Key"] = idempotency_key(key, content or b"")
        write = method != "GET"
        response, token = bearer_request(
            self._http,
            self._tokens,
            self._gate,
            method,
            url,
            params=params,
            headers=headers,
            content=content,
            write=write,
            final_429=day_limit_reached,
        )
        payload = response_json(response)
        if response.is_success and isinstance(payload, dict):
            return payload
        if response.is_success:
            raise TransientError(f"{LABEL} answered without {collection}", provider=PROVIDER, uncertain=write)
        raise to_error(response, entity=collection, write=write, secrets=(token,))

    @staticmethod
    def _elements(payload: Json, collection: str) -> list[Json]:
        found = payload.get(collection)
        return [row for row in found if isinstance(row, dict)] if isinstance(found, list) else []

    def _one(self, payload: Json, collection: str, *, write: bool) -> Json:
        """The one element answered; a write's element Xero marked refused (``StatusAttributeString``
        ERROR, ``ValidationErrors``) is its typed refusal (``DuplicateName`` for a name taken)."""
        found = self._elements(payload, collection)
        if found:
            refused = element_error(found[0], collection) if write else None
            if refused is not None:
                raise refused
            return found[0]
        # A 200 without the element: treat like a lost answer, which it effectively is.
        raise TransientError(f"{LABEL} answered without the {collection}", provider=PROVIDER, uncertain=write)
