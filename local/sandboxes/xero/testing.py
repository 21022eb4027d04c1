"""Helpers for tests and the demo that talk to the Xero sandbox as an app, as its user and as
Xero would (plain HTTP with httpx, no booksync code): the control client and a connect flow."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from local.sandboxes.kit.client import ControlClient, redirect_params

# What booksync asks Xero for: granular scopes and offline_access (refresh).
SCOPES = "offline_access accounting.contacts accounting.invoices accounting.payments accounting.settings"
PREFIX = "/api.xro/2.0"


def authorize_url(base_url: str, client_id: str, redirect_uri: str, scope: str = SCOPES, **extra: str) -> str:
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": "state-1",
        **extra,
    }
    return f"{base_url}/identity/connect/authorize?{urlencode(query)}"


def auth_event_id(access_token: str) -> str:
    """The consent an access token comes from: its JWT's ``authentication_event_id`` claim."""
    claims = access_token.split(".")[1]
    decoded: dict[str, str] = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    return decoded["authentication_event_id"]


def consent_form(page: str) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """The consent page's hidden fields and its organisations as (tenant id, name)."""
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page))
    tenants = re.findall(r'name="tenant" value="([^"]+)"> ([^<]+)</label>', page)
    return hidden, tenants


@dataclass
class Tokens:
    access_token: str
    refresh_token: str
    tenant_ids: list[str]


class XeroControl(ControlClient):
    """The control API (/_sandbox/...) as typed calls; every call fails loudly on an error answer."""

    ACCOUNT_KEY = "tenant_id"

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """Any control route by its path under /_sandbox."""
        return self._call(method, f"/_sandbox{path}", json=body)

    def register_client(self, client_id: str, secret: str, redirect_uris: list[str]) -> None:
        body = {"client_id": client_id, "client_secret": secret, "redirect_uris": redirect_uris}
        self.call("POST", "/clients", body)

    def organisations(self) -> list[dict[str, str]]:
        found: list[dict[str, str]] = self.call("GET", "/organisations")["organisations"]
        return found

    def ledger(self, tenant_id: str) -> dict[str, list[dict[str, Any]]]:
        books: dict[str, list[dict[str, Any]]] = self.call("GET", f"/organisations/{tenant_id}/ledger")
        return books

    def consent(
        self, client_id: str, redirect_uri: str, tenants: list[str] | None = None, **extra: str
    ) -> dict[str, str]:
        """As the user: open the consent page, tick ``tenants`` (default: every organisation) and
        allow; answers the redirect's query (``code`` or ``error``)."""
        url = authorize_url(self.base_url, client_id, redirect_uri, **extra)
        return redirect_params(self.consent_at(url, tenants))

    def consent_at(self, url: str, tenants: list[str] | None = None) -> str:
        """``consent`` for an app's own authorize URL (its state, its PKCE challenge): the
        redirect's location back to the app (its callback)."""
        page = self.http.get(url)
        if page.status_code == 302:
            return str(page.headers["location"])
        hidden, offered = consent_form(page.text)
        chosen = tenants if tenants is not None else [tenant for tenant, _ in offered]
        form = [*hidden.items(), *(("tenant", tenant) for tenant in chosen), ("decision", "allow")]
        answer = self.http.post(
            "/identity/connect/consent",
            content=urlencode(form).encode(),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        if answer.status_code != 302:
            raise AssertionError(f"consent answered {answer.status_code}: {answer.text[:200]}")
        return str(answer.headers["location"])

    def connect(
        self, client_id: str, secret: str, redirect_uri: str, tenants: list[str] | None = None
    ) -> Tokens:
        """The whole code flow: consent, code for tokens, the connections' tenants."""
        code = self.consent(client_id, redirect_uri, tenants)["code"]
        answer = self.http.post(
            "/connect/token",
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri},
            auth=(client_id, secret),
        )
        answer.raise_for_status()
        tokens = answer.json()
        connections = self.http.get(  # the organisations this consent granted (its event's)
            "/connections",
            params={"authEventId": auth_event_id(tokens["access_token"])},
            headers={"authorization": f"Bearer {tokens['access_token']}"},
        )
        connections.raise_for_status()
        return Tokens(
            tokens["access_token"], tokens["refresh_token"], [c["tenantId"] for c in connections.json()]
        )


class XeroClient:
    """An app's Accounting calls for one tenant, raw (answers are httpx responses)."""

    def __init__(self, base_url: str, access_token: str, tenant_id: str) -> None:
        self.http = httpx.Client(base_url=f"{base_url}{PREFIX}", timeout=10.0)
        self.access_token = access_token
        self.tenant_id = tenant_id

    def close(self) -> None:
        self.http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: object = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        all_headers = {
            "authorization": f"Bearer {self.access_token}",
            "xero-tenant-id": self.tenant_id,
            "accept": "application/json",
            **(headers or {}),
        }
        return self.http.request(method, path, json=json, headers=all_headers, params=params)
