"""Helpers for tests that talk to the sandbox as an app would: connect a company, call the API.

They speak plain HTTP with httpx (no booksync code), so a test of the sandbox proves what Intuit's
wire behaviour looks like rather than what an adapter believes it to be.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from local.sandboxes.kit.client import redirect_params
from local.sandboxes.quickbooks.control import SHARED_TLS, SandboxControl

ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"
MINOR_VERSION = "75"


def authorize_url(base_url: str, client_id: str, redirect_uri: str, state: str = "state-1") -> str:
    query = {
        "client_id": client_id,
        "response_type": "code",
        "scope": ACCOUNTING_SCOPE,
        "redirect_uri": redirect_uri,
        "state": state,
    }
    return f"{base_url}/connect/oauth2?{urlencode(query)}"


def basic_auth(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


@dataclass
class Connection:
    realm: str
    access_token: str
    refresh_token: str


def connect(
    base_url: str, client_id: str, secret: str, redirect_uri: str, realm: str | None = None
) -> Connection:
    """The whole authorization-code flow: consent, redirect, code exchange."""
    with SandboxControl(base_url) as control:
        location = control.approve_consent(authorize_url(base_url, client_id, redirect_uri), realm=realm)
        params = redirect_params(location)
        answer = control.http.post(
            f"{base_url}/oauth2/v1/tokens/bearer",
            data={"grant_type": "authorization_code", "code": params["code"], "redirect_uri": redirect_uri},
            headers={"Authorization": basic_auth(client_id, secret), "Accept": "application/json"},
        )
    answer.raise_for_status()
    tokens = answer.json()
    return Connection(params["realmId"], tokens["access_token"], tokens["refresh_token"])


class QBOClient:
    """Raw Accounting API calls for one company; every method answers the httpx.Response."""

    def __init__(self, base_url: str, connection: Connection, *, timeout: float = 10.0) -> None:
        self.connection = connection
        self.http = httpx.Client(
            base_url=f"{base_url}/v3/company/{connection.realm}",
            headers={"Authorization": f"Bearer {connection.access_token}", "Accept": "application/json"},
            timeout=timeout,
            verify=SHARED_TLS,
        )

    def close(self) -> None:
        self.http.close()

    def use_token(self, access_token: str) -> None:
        self.http.headers["Authorization"] = f"Bearer {access_token}"

    @staticmethod
    def _params(extra: dict[str, str] | None = None) -> dict[str, str]:
        return {"minorversion": MINOR_VERSION, **(extra or {})}

    def write(self, entity: str, body: Any, **params: str) -> httpx.Response:
        return self.http.post(f"/{entity.lower()}", json=body, params=self._params(params))

    def read(self, entity: str, entity_id: str) -> httpx.Response:
        return self.http.get(f"/{entity.lower()}/{entity_id}", params=self._params())

    def query(self, statement: str, *, method: str = "POST") -> httpx.Response:
        if method == "GET":
            return self.http.get("/query", params=self._params({"query": statement}))
        headers = {"Content-Type": "application/text"}
        return self.http.post("/query", content=statement, headers=headers, params=self._params())

    def batch(self, items: list[dict[str, Any]], **params: str) -> httpx.Response:
        return self.http.post("/batch", json={"BatchItemRequest": items}, params=self._params(params))

    def created(self, entity: str, body: Any, **params: str) -> dict[str, Any]:
        """Create (or update) and return the object; fails loudly on any error answer."""
        answer = self.write(entity, body, **params)
        if answer.status_code != 200:
            raise AssertionError(f"{entity} write failed: {answer.status_code} {answer.text}")
        result: dict[str, Any] = answer.json()[entity]
        return result
