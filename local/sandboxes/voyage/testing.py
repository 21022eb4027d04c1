"""Helpers for tests, the bench and the demo that talk to the Voyage sandbox as an app and as
Voyage's dashboard would (plain HTTP with httpx, no booksync code): the control client and a raw
embeddings client."""

from __future__ import annotations

from typing import Any

import httpx

from local.sandboxes.kit.client import SHARED_TLS, ControlClient
from local.sandboxes.voyage.config import DEFAULT_KEY, MODELS, VoyageConfig
from local.sandboxes.voyage.embeddings import count_tokens
from local.sandboxes.voyage.server import EMBEDDINGS_PATH, VoyageSandbox

__all__ = [
    "DEFAULT_KEY",
    "EMBEDDINGS_PATH",
    "MODELS",
    "VoyageClient",
    "VoyageConfig",
    "VoyageControl",
    "VoyageSandbox",
    "count_tokens",
]


class VoyageControl(ControlClient):
    """The control API (/_sandbox/...) as typed calls; every call fails loudly on an error answer."""

    ACCOUNT_KEY = "key"

    def ledger(self, key: str | None = None) -> dict[str, Any]:
        """Billed calls (one key's, by name, when given) with ``totals`` and ``by_model``."""
        found: dict[str, Any] = self._call("GET", "/_sandbox/ledger", params={"key": key} if key else None)
        return found

    def clear_ledger(self) -> None:
        self._call("DELETE", "/_sandbox/ledger")

    def keys(self) -> list[str]:
        names: list[str] = self._call("GET", "/_sandbox/keys")["keys"]
        return names

    def add_key(self, name: str, key: str | None = None) -> str:
        """A new API key named ``name``; answers its value."""
        return str(self._call("POST", "/_sandbox/keys", json={"name": name, "key": key})["key"])

    def revoke_key(self, name: str) -> None:
        self._call("DELETE", f"/_sandbox/keys/{name}")


class VoyageClient:
    """An app's embeddings calls with one API key (answers are httpx responses)."""

    def __init__(self, base_url: str, api_key: str | None = DEFAULT_KEY) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=30.0, verify=SHARED_TLS)
        self.api_key = api_key

    def close(self) -> None:
        self.http.close()

    def post(self, body: object) -> httpx.Response:
        """``body`` as the request's JSON, as it is."""
        headers = {"authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        return self.http.post(EMBEDDINGS_PATH, json=body, headers=headers)

    def embed(self, texts: str | list[str], model: str = "voyage-4-lite", **fields: object) -> httpx.Response:
        return self.post({"input": texts, "model": model, **fields})
