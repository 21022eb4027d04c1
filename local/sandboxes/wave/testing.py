"""Helpers for tests and the demo that talk to the Wave sandbox as an app, as its user and as Wave
would (plain HTTP with httpx, no booksync code): the control client, a connect flow and a small
GraphQL client. ``document_errors`` (re-exported) checks a document against Wave's schema."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from local.sandboxes.kit.client import SHARED_TLS, ControlClient, redirect_params
from local.sandboxes.wave.books import CURRENCY_UNSUPPORTED, PLAN_REQUIRED
from local.sandboxes.wave.schema import document_errors

__all__ = [
    "CURRENCY_UNSUPPORTED",
    "PLAN_REQUIRED",
    "SCOPES",
    "Tokens",
    "WaveClient",
    "WaveControl",
    "authorize_url",
    "document_errors",
    "redirect_params",
]

GRAPHQL_PATH = "/graphql/public"
AUTHORIZE_PATH = "/oauth2/authorize/"
TOKEN_PATH = "/oauth2/token/"
# What an accounting sync asks Wave for (resource:operation, space-delimited; write does not
# imply read).
SCOPES = (
    "user:read business:read account:read customer:read customer:write product:read product:write "
    "invoice:read invoice:write sales_tax:read transaction:read transaction:write"
)


def authorize_url(base_url: str, client_id: str, redirect_uri: str, scope: str = SCOPES, **extra: str) -> str:
    query = {
        "client_id": client_id,
        "response_type": "code",
        "scope": scope,
        "redirect_uri": redirect_uri,
        "state": "state-1",
        **extra,
    }
    return f"{base_url}{AUTHORIZE_PATH}?{urlencode(query)}"


@dataclass
class Tokens:
    access_token: str
    refresh_token: str | None
    business_id: str
    answer: dict[str, Any]


class WaveControl(ControlClient):
    """The control API (/_sandbox/...) as typed calls; every call fails loudly on an error answer."""

    ACCOUNT_KEY = "business_id"

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        return self._call(method, f"/_sandbox{path}", json=body)

    def register_client(self, client_id: str, secret: str, redirect_uris: list[str]) -> None:
        self.call(
            "POST",
            "/clients",
            {"client_id": client_id, "client_secret": secret, "redirect_uris": redirect_uris},
        )

    def businesses(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.call("GET", "/businesses")["businesses"]
        return found

    def business_id(self, name: str) -> str:
        return next(str(b["id"]) for b in self.businesses() if b["name"] == name)

    def add_business(self, name: str, currency: str = "USD", plan: str = "pro") -> str:
        return str(
            self.call("POST", "/businesses", {"name": name, "currency": currency, "plan": plan})["business"][
                "id"
            ]
        )

    def ledger(self, business_id: str) -> dict[str, list[dict[str, Any]]]:
        books: dict[str, list[dict[str, Any]]] = self.call("GET", f"/businesses/{business_id}/ledger")
        return books

    def set_plan(self, business_id: str, plan: str) -> None:
        self.call("POST", f"/businesses/{business_id}/plan", {"plan": plan})

    def disconnect(self, business_id: str) -> None:
        self.call("POST", f"/businesses/{business_id}/disconnect")

    def in_wave(
        self, business_id: str, query: str, variables: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """As the user in Wave's web app: run a GraphQL document with full access to the business."""
        answer: dict[str, Any] = self.call(
            "POST", f"/businesses/{business_id}/graphql", {"query": query, "variables": variables or {}}
        )
        return answer

    def view_invoice(self, business_id: str, invoice_id: str) -> str:
        """The customer opens the sent invoice's link; answers its status (VIEWED unless paid)."""
        return str(self.call("POST", f"/businesses/{business_id}/invoices/{invoice_id}/view")["status"])

    def hold(self, hold: bool = True) -> int:
        """Hold GraphQL calls in flight (``False``: release them); answers how many are in flight."""
        return int(self.call("POST", "/hold", {"hold": hold})["in_flight"])

    def full_access_token(self) -> str:
        return str(self.call("POST", "/tokens/full-access")["access_token"])

    def expire_tokens(self, business_id: str | None = None) -> int:
        return int(self.call("POST", "/tokens/expire", {"business_id": business_id})["expired"])

    def consent(self, client_id: str, redirect_uri: str, business_id: str, **extra: str) -> dict[str, str]:
        """As the user: open the authorize page, pick ``business_id`` and allow; the redirect's query."""
        return redirect_params(
            self.consent_at(authorize_url(self.base_url, client_id, redirect_uri, **extra), business_id)
        )

    def consent_at(self, url: str, business_id: str, decision: str = "allow") -> str:
        """``consent`` for an app's own authorize URL: the redirect's location back to the app."""
        page = self.http.get(url)
        if page.status_code == 302:
            return str(page.headers["location"])
        if page.status_code != 200:
            raise AssertionError(f"authorize answered {page.status_code}: {page.text[:200]}")
        hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text))
        form = [*hidden.items(), ("business", business_id), ("decision", decision)]
        answer = self.http.post(
            "/oauth2/consent/",
            content=urlencode(form).encode(),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        if answer.status_code != 302:
            raise AssertionError(f"consent answered {answer.status_code}: {answer.text[:200]}")
        return str(answer.headers["location"])

    def connect(
        self, client_id: str, secret: str, redirect_uri: str, business_id: str, scope: str = SCOPES
    ) -> Tokens:
        """The whole code flow for one business: consent, then the code for tokens."""
        code = self.consent(client_id, redirect_uri, business_id, scope=scope)["code"]
        answer = self.http.post(
            TOKEN_PATH,
            data={
                "client_id": client_id,
                "client_secret": secret,
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
            },
        )
        answer.raise_for_status()
        tokens = answer.json()
        return Tokens(tokens["access_token"], tokens.get("refresh_token"), tokens["businessId"], tokens)


class WaveClient:
    """An app's GraphQL calls with one access token (answers are httpx responses, or their JSON)."""

    def __init__(self, base_url: str, access_token: str | None) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=10.0, verify=SHARED_TLS)
        self.access_token = access_token

    def close(self) -> None:
        self.http.close()

    def post(self, query: str, variables: dict[str, Any] | None = None) -> httpx.Response:
        headers = {"authorization": f"Bearer {self.access_token}"} if self.access_token else {}
        return self.http.post(
            GRAPHQL_PATH, json={"query": query, "variables": variables or {}}, headers=headers
        )

    def gql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        answer = self.post(query, variables)
        answer.raise_for_status()
        body: dict[str, Any] = answer.json()
        return body
