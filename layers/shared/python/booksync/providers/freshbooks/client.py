"""Low-level FreshBooks accounting API client: URLs under the business's account, the envelope,
errors (providers.md 3.3 and 7.2; the official ``freshbooks-sdk`` 1.3.0's ``api/accounting.py``).

It speaks FreshBooks' JSON (dicts in, dicts out) and raises booksync's typed errors
(``faults.py``); the mapping from booksync documents lives in ``mapping.py``.

- Every resource is ``{api_base_url}/accounting/account/{account_id}/{path}[/{id}]``; a write
  sends ``{"<single name>": {...}}`` (POST creates, PUT updates) and FreshBooks answers
  ``{"response": {"result": {"<single name>": {...}}}}``; a list answers
  ``{"response": {"result": {"<list name>": [...], "page", "pages", "per_page", "total"}}}``.
- Searches are ``search[<field>]=<value>`` query parameters.
- Amounts come as strings; the JSON is parsed with ``Decimal`` (``providers/http.py``): never a float.
- FreshBooks has no idempotency key: a write whose answer is lost is reported uncertain, never
  resent inline, and the engine's lookup finds it before anything is created again.
- A 401 gets one refreshed token and one retry; a second 401, or a 403, means the connection is down.
- A 429 is waited out by the HTTP client with its Retry-After; one it could not cure is ``RateLimited``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from booksync.errors import ConfigurationError, RemoteNotFound, TransientError
from booksync.providers.freshbooks import LABEL, PROVIDER
from booksync.providers.freshbooks.faults import to_error
from booksync.providers.http import HttpClient, bearer_request, dumps_json, response_json, shared_client
from booksync.providers.port import TokenSource

if TYPE_CHECKING:
    from booksync.sync.rate_limits import RequestGate

PRODUCTION_API_BASE = "https://api.freshbooks.com"
MAX_PAGE = 100  # FreshBooks pages lists at most 100 a page

_SAFE_ACCOUNT = re.compile(r"[A-Za-z0-9]{1,32}")
_SAFE_ID = re.compile(r"[0-9]{1,20}")

Json = dict[str, Any]


class Resource:
    """One resource as the SDK names it: its path, and its names in bodies and answers; ``root``
    the API it is under (``accounting``, or ``events`` for the webhook callbacks: the SDK's
    ``EventsResource``, ``{api_base_url}/events/account/{account_id}/events/callbacks``)."""

    def __init__(self, path: str, single: str, plural: str, root: str = "accounting") -> None:
        self.root = root
        self.path = path
        self.single = single
        self.plural = plural


CLIENTS = Resource("users/clients", "client", "clients")
ITEMS = Resource("items/items", "item", "items")
INVOICES = Resource("invoices/invoices", "invoice", "invoices")
PAYMENTS = Resource("payments/payments", "payment", "payments")
TAXES = Resource("taxes/taxes", "tax", "taxes")


def shared_http() -> HttpClient:
    """The process-wide HTTP client for FreshBooks' API (warm invocations reuse its connections)."""
    return shared_client(provider=PROVIDER, label=LABEL)


# A list's query: one value per key, or several for a key ending in ``[]``.
Search = Mapping[str, str | Sequence[str]]


def search(**fields: str) -> dict[str, str]:
    """``search[<field>]=<value>`` parameters."""
    return {f"search[{name}]": value for name, value in fields.items()}


class FreshBooksClient:
    """Calls one business's accounting resources with a token from ``tokens``."""

    def __init__(
        self,
        *,
        account_id: str,
        tokens: TokenSource,
        http: HttpClient | None = None,
        api_base_url: str = PRODUCTION_API_BASE,
        gate: RequestGate | None = None,
    ) -> None:
        if not _SAFE_ACCOUNT.fullmatch(account_id):
            raise ConfigurationError(f"the {LABEL} business's account id is not valid")
        self.account_id = account_id
        self._tokens = tokens
        self._http = http or shared_http()
        # The business's shared limiter (sync/rate_limits.py): every request holds a slot while out.
        self._gate = gate
        self._base = api_base_url.rstrip("/")

    def __repr__(self) -> str:
        return f"FreshBooksClient(account_id={self.account_id!r})"

    # ------------------------------------------------------------------ reads

    def query(self, resource: Resource, params: Search, *, page: int = 1) -> tuple[list[Json], bool]:
        """One page (1-based) of ``resource`` matching ``params`` (several values of a key ending
        in ``[]``: ``search[itemids][]``), and whether more pages follow."""
        pairs = [
            (k, v) for k, value in params.items() for v in ([value] if isinstance(value, str) else value)
        ]
        pairs += [("page", str(page)), ("per_page", str(MAX_PAGE))]
        result = self._call("GET", resource, query=pairs)
        rows = result.get(resource.plural)
        found = [row for row in rows if isinstance(row, dict)] if isinstance(rows, list) else []
        pages = result.get("pages")
        more = int(pages) > page if isinstance(pages, int | str) and str(pages).isdigit() else False
        return found, more

    def list_all(self, resource: Resource, params: Search) -> list[Json]:
        """Every record of ``resource`` matching ``params``, page by page."""
        rows: list[Json] = []
        page = 1
        while True:
            found, more = self.query(resource, params, page=page)
            rows += found
            if not more:
                return rows
            page += 1

    def read(self, resource: Resource, ident: str) -> Json | None:
        """One record by its id; None when FreshBooks answers 404 (or the id is not one of its)."""
        if not _SAFE_ID.fullmatch(ident):
            return None
        try:
            return self._one(self._call("GET", resource, ident=ident), resource, write=False)
        except RemoteNotFound:
            return None

    # ------------------------------------------------------------------ writes

    def create(self, resource: Resource, body: Mapping[str, Any]) -> Json:
        """``POST``: FreshBooks creates the record (an invoice, as a draft)."""
        return self._one(
            self._call("POST", resource, body={resource.single: dict(body)}), resource, write=True
        )

    def update(self, resource: Resource, ident: str, body: Mapping[str, Any]) -> Json:
        """``PUT .../{id}``: the fields sent change, the others stay."""
        if not _SAFE_ID.fullmatch(ident):
            raise RemoteNotFound(
                f"{ident!r} is not a {LABEL} {resource.single} id", provider=PROVIDER, fix="Sync it again."
            )
        answer = self._call("PUT", resource, ident=ident, body={resource.single: dict(body)})
        return self._one(answer, resource, write=True)

    def delete(self, resource: Resource, ident: str) -> None:
        """``DELETE .../{id}`` (invoices; the other resources are deleted by ``vis_state``)."""
        if _SAFE_ID.fullmatch(ident):
            self._call("DELETE", resource, ident=ident)

    # ------------------------------------------------------------------ transport

    def _call(
        self,
        method: str,
        resource: Resource,
        *,
        ident: str | None = None,
        body: Mapping[str, Any] | None = None,
        query: Sequence[tuple[str, str]] = (),
    ) -> Json:
        url = f"{self._base}/{resource.root}/account/{self.account_id}/{resource.path}"
        if ident is not None:
            url += f"/{ident}"
        if query:
            url += f"?{urlencode(query)}"
        headers = {"Accept": "application/json"}
        content: bytes | None = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            content = dumps_json(body).encode()
        write = method != "GET"
        response, token = bearer_request(
            self._http,
            self._tokens,
            self._gate,
            method,
            url,
            params=None,
            headers=headers,
            content=content,
            write=write,
        )
        if not response.is_success:
            raise to_error(response, entity=resource.single, write=write, secrets=(token,))
        payload = response_json(response) if response.content else {}
        inner = payload.get("response") if isinstance(payload, dict) else None
        result = inner.get("result") if isinstance(inner, dict) else None
        if isinstance(result, dict):
            return result
        if method == "DELETE":
            return {}
        raise TransientError(
            f"{LABEL} answered without the {resource.single}", provider=PROVIDER, uncertain=write
        )

    @staticmethod
    def _one(result: Json, resource: Resource, *, write: bool) -> Json:
        found = result.get(resource.single)
        if isinstance(found, dict):
            return found
        # A 200 without the record: treat like a lost answer, which it effectively is.
        raise TransientError(
            f"{LABEL} answered without the {resource.single}", provider=PROVIDER, uncertain=write
        )
