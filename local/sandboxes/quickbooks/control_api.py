"""The control API under /_sandbox/: what tests and the demo use to steer and inspect the sandbox
(the kit's shared routes: fault rules and the request log, ``?realm=`` filtering it)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from booksync.currency import EXPECTED_FORM, is_currency

from local.sandboxes.kit.control import (
    AddRoute,
    BadRequest,
    ControlRoutes,
    add_control_routes,
    json_body,
    shared_routes,
)
from local.sandboxes.kit.wire import Request
from local.sandboxes.quickbooks import errors, ops
from local.sandboxes.quickbooks.config import Limits
from local.sandboxes.quickbooks.entities import ENTITY_TYPES, entity_type
from local.sandboxes.quickbooks.entities.base import EntityType
from local.sandboxes.quickbooks.model import Realm

if TYPE_CHECKING:
    from local.sandboxes.quickbooks.server import QuickBooksSandbox

_NAME_LISTS = {"Customer", "Item", "Account", "PaymentMethod"}
_SETTABLE: dict[str, type[int] | type[bool]] = {
    "latency_ms": int,
    "honor_request_id": bool,
    "send_retry_after": bool,
}


class _BadRequest(BadRequest):
    def __init__(self, message: str, status: int = 400, fault: errors.QBOFault | None = None) -> None:
        super().__init__(message, status)
        self.fault = fault

    def extra(self) -> dict[str, Any]:
        return {"Fault": self.fault.fault()} if self.fault is not None else {}


def register_control_routes(sandbox: QuickBooksSandbox, add: AddRoute) -> None:
    control = _Control(sandbox)
    routes: ControlRoutes = [
        *shared_routes(sandbox.faults, sandbox.log),
        ("GET", "/_sandbox/ledger", control.ledger),
        ("GET", "/_sandbox/realms", control.realms),
        ("POST", "/_sandbox/realms", control.open_realm),
        ("GET", "/_sandbox/token-calls", control.token_calls),
        ("POST", "/_sandbox/tokens/expire", control.expire_tokens),
        ("POST", "/_sandbox/tokens/revoke", control.revoke_tokens),
        ("POST", "/_sandbox/tokens/issue", control.issue_tokens),
        ("POST", "/_sandbox/realms/(?P<realm>[^/]+)/seed", control.seed),
        ("POST", "/_sandbox/realms/(?P<realm>[^/]+)/currency", control.set_currency),
        (
            "POST",
            "/_sandbox/realms/(?P<realm>[^/]+)/entities/(?P<entity>[A-Za-z]+)/(?P<id>[^/]+)/(?P<action>[a-z]+)",
            control.user_action,
        ),
        ("POST", "/_sandbox/reset", control.reset),
        ("GET", "/_sandbox/config", control.get_config),
        ("POST", "/_sandbox/config", control.set_config),
        ("POST", "/_sandbox/webhooks", control.send_webhook),
    ]
    add_control_routes(add, routes)


class _Control:
    def __init__(self, sandbox: QuickBooksSandbox) -> None:
        self.sb = sandbox

    # companies
    def _realm(self, realm_id: str | None) -> Realm:
        realm = self.sb.books.get(realm_id or "")
        if realm is None:
            raise _BadRequest(f"unknown realm {realm_id!r}", status=404)
        return realm

    def ledger(self, request: Request) -> object:
        with self.sb.books.lock:
            realm = self._realm(request.param("realm"))
            return {
                "realm": realm.id,
                "entities": {name: [ops.render(realm, r) for r in realm.all(name)] for name in ENTITY_TYPES},
                "creates": {name: realm.api_creates[name] for name in ENTITY_TYPES},
                "user_creates": {name: realm.user_creates[name] for name in ENTITY_TYPES},
                "voided": {name: [r.id for r in realm.all(name) if r.voided] for name in ENTITY_TYPES},
                "deleted": {name: sorted(records) for name, records in realm.deleted.items()},
            }

    def realms(self, request: Request) -> object:
        with self.sb.books.lock:
            listed = [
                {
                    "realm": realm.id,
                    "created": realm.created_at.isoformat(timespec="seconds"),
                    "counts": {name: len(realm.all(name)) for name in ENTITY_TYPES},
                }
                for realm in self.sb.books.realms.values()
            ]
        return {"realms": listed}

    def open_realm(self, request: Request) -> object:
        realm_id = json_body(request).get("realm") or self.sb.config.realm_id_factory()
        return {"realm": self.sb.books.open(str(realm_id)).id}

    def set_currency(self, request: Request, realm: str) -> object:
        """The company's user sets its home currency or turns multicurrency on (Account and
        Settings > Advanced > Currency). As in QuickBooks, multicurrency cannot be turned off, and
        the home currency cannot change once transactions exist (a deposit too) nor once
        multicurrency is on (QuickBooks locks it then)."""
        body = json_body(request)
        book = self.sb.books.open(realm)
        with self.sb.books.lock:
            home = body.get("home_currency", book.home_currency)
            if not is_currency(home):
                raise _BadRequest(f"home_currency must be {EXPECTED_FORM}")
            transactions = ("Invoice", "Payment", "RefundReceipt", "Deposit")
            if home != book.home_currency and any(book.all(name) for name in transactions):
                raise _BadRequest("the home currency cannot change once the company has transactions")
            if home != book.home_currency and book.multicurrency:
                raise _BadRequest(
                    "the home currency cannot change once multicurrency is on (QuickBooks locks it)"
                )
            multicurrency = body.get("multicurrency", book.multicurrency)
            if not isinstance(multicurrency, bool) or (book.multicurrency and not multicurrency):
                raise _BadRequest("multicurrency can only be turned on (QuickBooks cannot turn it off)")
            if (home, multicurrency) != (book.home_currency, book.multicurrency):
                book.home_currency, book.multicurrency = home, multicurrency
                book.preferences_version += 1
                book.preferences_changed_at = self.sb.company_clock.now()
            return {"realm": realm, "home_currency": home, "multicurrency": multicurrency}

    def seed(self, request: Request, realm: str) -> object:
        """Entities created as the company's user would create them in QuickBooks."""
        body = json_body(request)
        book = self.sb.books.open(realm)
        created: dict[str, list[dict[str, Any]]] = {}
        with self.sb.books.lock:
            for name, objects in body.items():
                etype = ENTITY_TYPES.get(name)
                if etype is None or not isinstance(objects, list):
                    raise _BadRequest(f"{name} is not an entity list the sandbox knows")
                created[name] = [self._create_as_user(book, etype, obj) for obj in objects]
        return {"realm": realm, "created": created}

    def user_action(self, request: Request, realm: str, entity: str, id: str, action: str) -> object:
        etype = entity_type(entity)
        if etype is None:
            raise _BadRequest(f"unknown entity {entity}", status=404)
        with self.sb.books.lock:
            book = self._realm(realm)
            record = book.get(etype.name, id)
            if record is None:
                raise _BadRequest(f"{etype.name} {id} not found", status=404)
            ctx = ops.context(book, self.sb.company_clock, origin="user")
            if action == "update":
                changes = json_body(request)
                return self._as_user(lambda: ops.user_edit(ctx, etype, record, changes))
            if action in {"delete", "inactivate"} and etype.name in _NAME_LISTS:
                # QuickBooks never deletes list entries: "delete" makes them inactive.
                return self._as_user(lambda: ops.user_edit(ctx, etype, record, {"Active": False}))
            if action == "delete":
                self._as_user(lambda: ops.remove(ctx, etype, record))
                return {"domain": "QBO", "status": "Deleted", "Id": record.id}
        raise _BadRequest(f"action {action} is not possible on {etype.name}")

    def _create_as_user(self, book: Realm, etype: EntityType, body: object) -> dict[str, Any]:
        ctx = ops.context(book, self.sb.company_clock, origin="user")
        created: dict[str, Any] = self._as_user(lambda: ops.create(ctx, etype, body))
        return created

    @staticmethod
    def _as_user(work: Callable[[], Any]) -> Any:
        try:
            return work()
        except errors.QBOFault as fault:
            raise _BadRequest(str(fault), status=409, fault=fault) from None

    # tokens
    def token_calls(self, request: Request) -> object:
        realm = request.param("realm") or ""
        return {"realm": realm, **self.sb.oauth.calls_for(realm)}

    def expire_tokens(self, request: Request) -> object:
        realm = str(json_body(request).get("realm", ""))
        return {"realm": realm, "expired": self.sb.oauth.expire_access_tokens(realm)}

    def revoke_tokens(self, request: Request) -> object:
        realm = str(json_body(request).get("realm", ""))
        return {"realm": realm, "revoked": self.sb.oauth.revoke_realm(realm)}

    def issue_tokens(self, request: Request) -> object:
        body = json_body(request)
        client_id = str(body.get("client_id", ""))
        if client_id not in self.sb.config.clients:
            raise _BadRequest(f"unknown client_id {client_id!r}")
        realm = str(body.get("realm") or self.sb.config.realm_id_factory())
        return self.sb.oauth.issue_direct(client_id, realm)

    # whole sandbox
    def reset(self, request: Request) -> object:
        self.sb.books.reset()
        self.sb.oauth.reset()
        self.sb.faults.clear()
        self.sb.log.clear()
        self.sb.limiter.reset()
        return {"reset": True}

    # webhooks
    def send_webhook(self, request: Request) -> object:
        """Deliver change notifications to ``url`` signed with ``verifier_token``, as Intuit does.

        Body: {"url", "verifier_token", "format": "legacy"|"cloudevents", "changes": [{"realm",
        "entity", "id", "operation", "deleted_id"?}]}. Answers what the endpoint answered.
        """
        from local.sandboxes.quickbooks import webhooks

        body = json_body(request)
        try:
            changes = [
                webhooks.Change(
                    realm=str(c["realm"]),
                    entity=str(c["entity"]),
                    id=str(c["id"]),
                    operation=str(c["operation"]),
                    deleted_id=str(c["deleted_id"]) if c.get("deleted_id") else None,
                )
                for c in body.get("changes", [])
            ]
            payload = webhooks.render(changes, str(body.get("format", "cloudevents")))
            url, token = str(body["url"]), str(body["verifier_token"])
        except (KeyError, TypeError, ValueError) as exc:
            raise _BadRequest(f"bad webhook request: {exc}") from None
        try:
            answer = webhooks.deliver(url, payload, token)
        except Exception as exc:  # the endpoint's own failure is the answer the caller wants
            raise _BadRequest(f"delivery to {url} failed: {type(exc).__name__}", status=502) from None
        return {"status": answer.status_code, "body": answer.text, "sent": payload.decode()}

    def get_config(self, request: Request) -> object:
        config = self.sb.config
        return {
            **{name: getattr(config, name) for name in _SETTABLE},
            "clock_scale": config.clock_scale,
            "limits": dataclasses.asdict(config.limits),
            "clients": sorted(config.clients),
        }

    def set_config(self, request: Request) -> object:
        body = json_body(request)
        for name, value in body.items():
            if name in _SETTABLE:
                setattr(self.sb.config, name, _setting(name, value))
            elif name == "limits" and isinstance(value, dict):
                self.sb.config.limits = dataclasses.replace(self.sb.config.limits, **_ints(value))
            else:
                raise _BadRequest(f"{name} can't be changed at run time")
        return self.get_config(request)


def _ints(values: dict[str, Any]) -> dict[str, int]:
    unknown = set(values) - {f.name for f in dataclasses.fields(Limits)}
    if unknown:
        raise _BadRequest(f"unknown limits {sorted(unknown)}")
    return {name: int(value) for name, value in values.items()}


def _setting(name: str, value: object) -> int | bool:
    if _SETTABLE[name] is bool:
        if not isinstance(value, bool):
            raise _BadRequest(f"{name} must be true or false")
        return value
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _BadRequest(f"{name} must be a number")
    return int(value)
