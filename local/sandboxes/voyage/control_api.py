"""The control API under /_sandbox/: what tests, the bench and the demo use to read what Voyage
billed (the ledger), manage API keys and change limits.

No authentication (loopback only) and not in the request log: it is not Voyage traffic.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from local.sandboxes.kit.control import (
    AddRoute,
    BadRequest,
    ConfigControl,
    ControlRoutes,
    add_control_routes,
    json_body,
    shared_routes,
)
from local.sandboxes.kit.wire import Request

if TYPE_CHECKING:
    from local.sandboxes.voyage.server import VoyageSandbox

_SETTABLE: dict[str, type] = {
    "max_inputs": int,
    "requests_per_minute": int,
    "send_retry_after": bool,
}


def register_control_routes(sandbox: VoyageSandbox, add: AddRoute) -> None:
    control = _Control(sandbox)
    routes: ControlRoutes = [
        ("POST", "/_sandbox/reset", control.reset),
        # The kit's config and clock routes; no app registrations: Voyage has API keys (/_sandbox/keys).
        *ConfigControl(sandbox.config, sandbox.clock, _SETTABLE).routes(),
        *shared_routes(sandbox.faults, sandbox.log),
        ("GET", "/_sandbox/ledger", control.ledger),
        ("DELETE", "/_sandbox/ledger", control.clear_ledger),
        ("GET", "/_sandbox/keys", control.keys),
        ("POST", "/_sandbox/keys", control.add_key),
        ("DELETE", "/_sandbox/keys/(?P<name>[^/]+)", control.revoke_key),
    ]
    add_control_routes(add, routes)


class _Control:
    def __init__(self, sandbox: VoyageSandbox) -> None:
        self.sandbox = sandbox

    def reset(self, request: Request) -> object:
        self.sandbox.reset()
        return {"reset": True}

    def ledger(self, request: Request) -> object:
        """Every billed call (``?key=<name>``: one key's) with totals overall and by model."""
        return self.sandbox.ledger.public(request.param("key"))

    def clear_ledger(self, request: Request) -> object:
        self.sandbox.ledger.clear()
        return self.sandbox.ledger.public()

    def keys(self, request: Request) -> object:
        return {"keys": sorted(self.sandbox.config.api_keys.values())}

    def add_key(self, request: Request) -> object:
        """A new API key named ``name`` (``key``: its value, else a new one), as made in the dashboard."""
        body = json_body(request)
        name, key = body.get("name"), body.get("key") or f"pa-{secrets.token_urlsafe(24)}"
        if not isinstance(name, str) or not name or not isinstance(key, str):
            raise BadRequest("name (a string) is required; key, when given, must be a string")
        if name in self.sandbox.config.api_keys.values():
            raise BadRequest(f"a key named {name!r} exists", status=409)
        self.sandbox.config.api_keys[key] = name
        return {"name": name, "key": key}

    def revoke_key(self, request: Request, name: str) -> object:
        """The key is deleted in the dashboard: calls with it are answered 401 from now on."""
        keys = self.sandbox.config.api_keys
        found = [key for key, owner in keys.items() if owner == name]
        if not found:
            raise BadRequest(f"no key named {name!r}", status=404)
        for key in found:
            del keys[key]
        return {"revoked": name}
