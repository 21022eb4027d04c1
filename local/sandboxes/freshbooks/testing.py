"""Helpers for tests and the demo that talk to the FreshBooks sandbox as an app, as its user and
as FreshBooks would (plain HTTP with httpx, no booksync code): the control client, the connect
flow and a raw accounting client."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from local.sandboxes.freshbooks.books import DEFAULT_USER
from local.sandboxes.freshbooks.identity import AUTHORIZE_PATH, CONSENT_PATH, ME_PATH, TOKEN_PATH
from local.sandboxes.kit.client import ControlClient, redirect_params


def authorize_url(
    base_url: str, client_id: str, redirect_uri: str, state: str = "state-1", **extra: str
) -> str:
    query = {
        "client_id": client_id,
        "response_type": "code",
        "redirect_uri": redirect_uri,
        "state": state,
        **extra,
    }
    return f"{base_url}{AUTHORIZE_PATH}?{urlencode(query)}"


@dataclass
class Tokens:
    access_token: str
    refresh_token: str
    answer: dict[str, Any]


class FreshBooksControl(ControlClient):
    """The control API (/_sandbox/...) as typed calls; every call fails loudly on an error answer."""

    ACCOUNT_KEY = "account_id"

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """Any control route by its path under /_sandbox."""
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

    def add_business(
        self, name: str, currency: str = "USD", role: str = "owner", user: str = DEFAULT_USER
    ) -> dict[str, Any]:
        """A business of ``user`` (an e-mail; a new one makes a FreshBooks user of its own)."""
        body = {"name": name, "currency": currency, "role": role, "user": user}
        business: dict[str, Any] = self.call("POST", "/businesses", body)["business"]
        return business

    def ledger(self, account_id: str) -> dict[str, list[dict[str, Any]]]:
        books: dict[str, list[dict[str, Any]]] = self.call("GET", f"/businesses/{account_id}/ledger")
        return books

    def user_create(self, account_id: str, plural: str, data: dict[str, Any]) -> dict[str, Any]:
        """As the user, in FreshBooks: create a record (``plural``: clients, items, invoices...)."""
        answer: dict[str, Any] = self.call("POST", f"/businesses/{account_id}/{plural}", data)
        return next(iter(answer.values()))

    def user_update(
        self, account_id: str, plural: str, record_id: int, data: dict[str, Any]
    ) -> dict[str, Any]:
        answer: dict[str, Any] = self.call("PUT", f"/businesses/{account_id}/{plural}/{record_id}", data)
        return next(iter(answer.values()))

    def user_delete(self, account_id: str, plural: str, record_id: int) -> dict[str, Any]:
        answer: dict[str, Any] = self.call("DELETE", f"/businesses/{account_id}/{plural}/{record_id}")
        return next(iter(answer.values()))

    def token_stats(self) -> dict[str, int]:
        stats: dict[str, int] = self.call("GET", "/tokens")
        return stats

    def expire_tokens(self) -> None:
        self.call("POST", "/tokens/expire")

    def disconnect(self, account_id: str | None = None) -> None:
        """As the user (of ``account_id``; else every user): disconnect the app in FreshBooks."""
        self.call("POST", "/disconnect", {"account_id": account_id} if account_id else None)

    # ------------------------------------------------------------ the user's side of OAuth

    def consent_at(self, url: str, *, allow: bool = True, login: str = DEFAULT_USER) -> str:
        """As the user ``login`` (an e-mail): open an app's authorize URL, log in and allow (or
        deny); answers the redirect's location back to the app."""
        page = self.http.get(url)
        if page.status_code == 302:
            return str(page.headers["location"])
        if page.status_code != 200:
            raise AssertionError(f"authorize answered {page.status_code}: {page.text[:200]}")
        hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text))
        form = [*hidden.items(), ("login", login), ("decision", "allow" if allow else "deny")]
        answer = self.http.post(
            CONSENT_PATH,
            content=urlencode(form).encode(),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        if answer.status_code != 302:
            raise AssertionError(f"consent answered {answer.status_code}: {answer.text[:200]}")
        return str(answer.headers["location"])

    def consent(
        self, client_id: str, redirect_uri: str, login: str = DEFAULT_USER, **extra: str
    ) -> dict[str, str]:
        """The redirect's query after the user allows (``code`` and ``state``, or ``error``)."""
        url = authorize_url(self.base_url, client_id, redirect_uri, **extra)
        return redirect_params(self.consent_at(url, login=login))

    def connect(self, client_id: str, secret: str, redirect_uri: str, login: str = DEFAULT_USER) -> Tokens:
        """The whole code flow as user ``login``: consent, then the code for tokens (form-encoded,
        as the SDK posts)."""
        code = self.consent(client_id, redirect_uri, login)["code"]
        answer = self.token(
            {
                "grant_type": "authorization_code",
                "code": code,
                "client_id": client_id,
                "client_secret": secret,
                "redirect_uri": redirect_uri,
            }
        )
        answer.raise_for_status()
        body: dict[str, Any] = answer.json()
        return Tokens(body["access_token"], body["refresh_token"], body)

    def token(self, form: dict[str, str]) -> httpx.Response:
        return self.http.post(TOKEN_PATH, data=form)

    def me(self, access_token: str) -> httpx.Response:
        return self.http.get(ME_PATH, headers={"authorization": f"Bearer {access_token}"})


class FreshBooksClient:
    """An app's accounting calls for one business, raw (answers are httpx responses):
    ``client.request("POST", "users/clients", json={"client": {...}})``."""

    def __init__(self, base_url: str, access_token: str, account_id: str) -> None:
        self.http = httpx.Client(base_url=f"{base_url}/accounting/account/{account_id}/", timeout=10.0)
        self.access_token = access_token
        self.account_id = account_id

    def close(self) -> None:
        self.http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: object = None,
        params: Any = None,  # what httpx takes: a dict, or pairs for repeated keys (search[ids][])
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        all_headers = {"authorization": f"Bearer {self.access_token}", **(headers or {})}
        return self.http.request(method, path, json=json, params=params, headers=all_headers)

    def result(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """The ``response.result`` of a call that must succeed."""
        answer = self.request(method, path, **kwargs)
        if answer.status_code != 200:
            raise AssertionError(f"{method} {path} answered {answer.status_code}: {answer.text[:300]}")
        found: dict[str, Any] = answer.json()["response"]["result"]
        return found
