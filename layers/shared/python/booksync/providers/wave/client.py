"""Low-level Wave GraphQL client: one POST endpoint, the bearer token, the errors at HTTP 200.

It speaks Wave's GraphQL (documents from ``operations.py``, dicts in, dicts out) and raises
booksync's typed errors (``faults.py``); the mapping from booksync documents lives in ``mapping.py``.

- Every request is ``POST {api_url}`` with ``{"query", "variables", "operationName"}``; a query is
  a read (the HTTP client retries it after a reset or a 5xx), a mutation is a write (never resent
  inline after it may have reached Wave: the engine looks up before it writes again, since Wave
  keeps no idempotency key).
- Wave answers errors at HTTP 200 (``errors[].extensions.code``), and a mutation's refusal in its
  payload (``didSucceed: false``, ``inputErrors``): both become typed errors.
- A token Wave refuses (HTTP 401 or ``UNAUTHENTICATED``; nothing was run) gets one refreshed token
  and one retry; a second refusal means the connection is down.
- 429s are waited out (``Retry-After``) by the HTTP client; Wave throttles around two requests at
  once, so the declaration lets one through at a time per business by default (``WAVE_MAX_CONCURRENT``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any

from booksync.errors import ConfigurationError, RemoteNotFound, TransientError
from booksync.providers.http import HttpClient, dumps_json, response_json, shared_client
from booksync.providers.port import TokenSource
from booksync.providers.wave import LABEL, PROVIDER
from booksync.providers.wave.faults import UNAUTHENTICATED, codes, graphql_error, http_error, input_error

if TYPE_CHECKING:
    import httpx

    from booksync.sync.rate_limits import RequestGate

PRODUCTION_API_URL = "https://gql.waveapps.com/graphql/public"
MAX_PAGE = 200  # pageSize 1-200 (providers.md 7.3)
# Wave's ids are opaque base64 text ("QnVzaW5lc3M6..."), never anything that needs quoting.
_SAFE_ID = re.compile(r"[A-Za-z0-9+/=_:.-]{1,200}")
_OPERATION = re.compile(r"^\s*(query|mutation)\s+([A-Za-z_][A-Za-z0-9_]*)")

Json = dict[str, Any]


def shared_http() -> HttpClient:
    """The process-wide HTTP client for Wave's API (warm invocations reuse its connections)."""
    return shared_client(provider=PROVIDER, label=LABEL)


def operation(document: str) -> tuple[str, str]:
    """(``query`` or ``mutation``, its name) of a document booksync sends."""
    found = _OPERATION.match(document)
    if found is None:
        raise ValueError("a Wave document is one named query or mutation")
    return found.group(1), found.group(2)


def nodes(connection: Any) -> list[Json]:
    """The nodes of a connection's ``edges``."""
    edges = connection.get("edges") if isinstance(connection, Mapping) else None
    return [
        edge["node"]
        for edge in edges or []
        if isinstance(edge, Mapping) and isinstance(edge.get("node"), dict)
    ]


def total_pages(connection: Any) -> int:
    info = connection.get("pageInfo") if isinstance(connection, Mapping) else None
    pages = info.get("totalPages") if isinstance(info, Mapping) else None
    return pages if isinstance(pages, int) and pages > 0 else 1


class WaveClient:
    """Calls Wave's GraphQL API for one business with a token from ``tokens``."""

    def __init__(
        self,
        *,
        business_id: str,
        tokens: TokenSource,
        http: HttpClient | None = None,
        api_url: str = PRODUCTION_API_URL,
        gate: RequestGate | None = None,
    ) -> None:
        if not _SAFE_ID.fullmatch(business_id):
            raise ConfigurationError(f"the {LABEL} business id is not valid")
        self.business_id = business_id
        self._tokens = tokens
        self._http = http or shared_http()
        # The business's shared limiter (sync/rate_limits.py): every request holds a slot while out.
        self._gate = gate
        self._url = api_url

    def __repr__(self) -> str:
        return f"WaveClient(business_id={self.business_id!r})"

    # ------------------------------------------------------------------ reads

    def query(self, document: str, variables: Mapping[str, Any] | None = None) -> Json:
        """A query's ``data``."""
        return self._call(document, dict(variables or {}))

    def business(self, document: str, variables: Mapping[str, Any] | None = None) -> Json:
        """``data.business`` of a query on this business (``$businessId`` given); Wave answering
        none means the grant no longer reaches it."""
        data = self.query(document, {"businessId": self.business_id, **(variables or {})})
        found = data.get("business")
        if not isinstance(found, dict):
            raise RemoteNotFound(
                f"{LABEL} answered no business {self.business_id}",
                provider=PROVIDER,
                fix=f"Reconnect {LABEL}, choosing the business booksync keeps the books in.",
            )
        return found

    def record(self, document: str, field: str, ident: str) -> Json | None:
        """One record of the business by its id (``business { <field>(id:) }``); None when Wave
        has none (answered null or NOT_FOUND)."""
        if not _SAFE_ID.fullmatch(ident):
            return None
        try:
            found = self.business(document, {"id": ident}).get(field)
        except RemoteNotFound:
            return None
        return found if isinstance(found, dict) else None

    def pages(
        self,
        document: str,
        field: str,
        variables: Mapping[str, Any] | None = None,
        *,
        page_size: int = MAX_PAGE,
        each: Callable[[Callable[[], Json]], Json] = lambda page: page(),
    ) -> list[Json]:
        """Every node of the business's ``field`` connection, page by page (1-based); each page's
        request is made through ``each`` (a caller's pacing)."""
        size = max(1, min(page_size, MAX_PAGE))
        rows: list[Json] = []
        page = 1
        while True:
            answer = each(
                lambda p=page: self.business(  # type: ignore[misc]
                    document, {**(variables or {}), "page": p, "pageSize": size}
                )
            )
            connection = answer.get(field)
            rows += nodes(connection)
            if page >= total_pages(connection):
                return rows
            page += 1

    # ------------------------------------------------------------------ writes

    def mutate(self, document: str, input_: Mapping[str, Any]) -> Json:
        """A mutation's payload (``data.<mutation>``), refused typed when ``didSucceed`` is false."""
        kind, name = operation(document)
        if kind != "mutation":
            raise ValueError(f"{name} is not a mutation")
        data = self._call(document, {"input": dict(input_)})
        field = next(iter(data), None) if len(data) == 1 else None
        payload = data.get(field) if field is not None else None
        if not isinstance(payload, dict):
            # A 200 without the payload: treat like a lost answer, which it effectively is.
            raise TransientError(
                f"{LABEL} answered {name} without its result", provider=PROVIDER, uncertain=True
            )
        if payload.get("didSucceed") is not True:
            raise input_error(payload.get("inputErrors"), mutation=name)
        return payload

    # ------------------------------------------------------------------ transport

    def _call(self, document: str, variables: Json) -> Json:
        kind, name = operation(document)
        write = kind == "mutation"
        content = dumps_json({"query": document, "variables": variables, "operationName": name}).encode()
        token = self._tokens.access_token()
        response = self._send(content, token=token, write=write)
        if _refused_token(response):
            # Wave refused the token (expired early, or rotated by another worker): one fresh
            # token, one retry. Nothing was run on a refused token, so a mutation is safe to resend.
            token = self._tokens.refreshed_after_rejection(token)
            response = self._send(content, token=token, write=write)
        payload = response_json(response)
        if response.status_code != 200:
            errors = payload.get("errors") if isinstance(payload, dict) else None
            if isinstance(errors, list) and errors and response.status_code in (400, 401, 403):
                raise graphql_error(_errors(errors), operation=name, write=write, secrets=(token,))
            raise http_error(
                response.status_code,
                response.text,
                write=write,
                retry_after=response.headers.get("Retry-After"),
            )
        if not isinstance(payload, dict):
            raise TransientError(f"{LABEL} answered {name} without JSON", provider=PROVIDER, uncertain=write)
        errors = payload.get("errors")
        if isinstance(errors, list) and errors:
            raise graphql_error(_errors(errors), operation=name, write=write, secrets=(token,))
        data = payload.get("data")
        if not isinstance(data, dict):
            raise TransientError(f"{LABEL} answered {name} without data", provider=PROVIDER, uncertain=write)
        return data

    def _send(self, content: bytes, *, token: str, write: bool) -> httpx.Response:
        with self._gate.slot(batch=False) if self._gate is not None else nullcontext():
            return self._http.request(
                "POST",
                self._url,
                headers={
                    "Accept": "application/json",
                    "Content-Type": "application/json",
                    "Authorization": f"Bearer {token}",
                },
                content=content,
                read=not write,
            )


def _errors(errors: list[Any]) -> list[Mapping[str, Any]]:
    return [error for error in errors if isinstance(error, Mapping)]


def _refused_token(response: httpx.Response) -> bool:
    """HTTP 401, or Wave's ``UNAUTHENTICATED`` at 200 (or 400, as a validation failure before auth is not)."""
    if response.status_code == 401:
        return True
    payload = response_json(response)
    errors = payload.get("errors") if isinstance(payload, dict) else None
    return isinstance(errors, list) and UNAUTHENTICATED in codes(_errors(errors))
