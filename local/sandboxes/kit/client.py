"""The client side of every sandbox's control API (/_sandbox/...): one httpx client, refusals as
ControlError, and the calls every sandbox answers (fault rules, the request log, reset, config,
the clock).

Each sandbox's own client adds its provider's calls (QuickBooks' realms and consent page, Square's
sellers, payments and payouts) on top of this one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self
from urllib.parse import parse_qs, urlsplit

import httpx

# Building an SSL context costs ~0.1 s per httpx.Client; one shared context keeps tests fast.
SHARED_TLS = httpx.create_ssl_context()


class ControlError(Exception):
    """The control API (or a page the sandbox serves) refused a request."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"sandbox answered {status}: {body[:300]}")
        self.status = status
        self.body = body


class ControlClient:
    ACCOUNT_KEY: ClassVar[str]  # the query parameter the request log is filtered by

    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, verify=SHARED_TLS)

    @property
    def http(self) -> httpx.Client:
        """The underlying client, for raw calls to the sandbox (e.g. the token endpoint in tests)."""
        return self._http

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _call(
        self, method: str, path: str, *, json: object = None, params: Mapping[str, str] | None = None
    ) -> Any:
        response = self._http.request(method, path, json=json, params=params)
        if response.status_code >= 400:
            raise ControlError(response.status_code, response.text)
        return response.json()

    # ------------------------------------------------------------ faults

    def add_fault(self, action: str, **match: object) -> dict[str, Any]:
        """A rule, e.g. ``add_fault("commit_then_reset", operation="create", times=1)``."""
        result: dict[str, Any] = self._call("POST", "/_sandbox/faults", json={"action": action, **match})
        return result

    def faults(self) -> list[dict[str, Any]]:
        rules: list[dict[str, Any]] = self._call("GET", "/_sandbox/faults")["rules"]
        return rules

    def clear_faults(self) -> None:
        self._call("DELETE", "/_sandbox/faults")

    # ------------------------------------------------------------ request log

    def requests(self, account: str | None = None) -> list[dict[str, Any]]:
        """The provider traffic the sandbox logged, only one account's when ``account`` is given."""
        params = {self.ACCOUNT_KEY: account} if account else None
        entries: list[dict[str, Any]] = self._call("GET", "/_sandbox/requests", params=params)["requests"]
        return entries

    def clear_requests(self) -> None:
        self._call("DELETE", "/_sandbox/requests")

    # ------------------------------------------------------------ the sandbox itself

    def reset(self, **options: object) -> None:
        self._call("POST", "/_sandbox/reset", json=options or None)

    def config(self) -> dict[str, Any]:
        config: dict[str, Any] = self._call("GET", "/_sandbox/config")
        return config

    def set_config(self, **settings: object) -> dict[str, Any]:
        config: dict[str, Any] = self._call("POST", "/_sandbox/config", json=settings)
        return config

    def advance(self, seconds: float) -> None:
        """Move the sandbox's clock forward: a lifetime (token, code) or a limit's window runs out
        without waiting for it."""
        self._call("POST", "/_sandbox/clock/advance", json={"seconds": seconds})


def redirect_params(location: str) -> dict[str, str]:
    """The query of a redirect back to an app (``code`` and ``state``, or ``error``)."""
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}
