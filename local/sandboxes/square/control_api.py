"""The control API under /_sandbox/: what tests and the demo use to act as Square and its sellers.

No authentication (loopback only) and not in the request log: it is not Square traffic. Every
action that Square would announce by webhook answers the events it raised and, when
``deliver`` (default: the ``auto_deliver`` setting) is on, what each subscription answered.
"""

from __future__ import annotations

import dataclasses
from datetime import date
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
from local.sandboxes.square.config import ClientApp, FeeModel
from local.sandboxes.square.ledger import Event, LedgerError
from local.sandboxes.square.webhooks import signed_request

if TYPE_CHECKING:
    from local.sandboxes.square.server import SquareSandbox

_SETTABLE: dict[str, type] = {
    "page_size": int,
    "send_retry_after": bool,
    "auto_deliver": bool,
    "consent": str,
    "access_token_lifetime_s": int,
    "auth_code_lifetime_s": int,
    "pkce_refresh_token_lifetime_s": int,
    # The sellers' currency (ISO 4217) for money made from now on: amounts are its minor units.
    "currency": str,
}
_ID = "(?P<ident>[^/]+)"


def register_control_routes(sandbox: SquareSandbox, add: AddRoute) -> None:
    control = _Control(sandbox)
    routes: ControlRoutes = [
        ("POST", "/_sandbox/reset", control.reset),
        ("GET", "/_sandbox/config", control.get_config),
        ("POST", "/_sandbox/config", control.set_config),
        *shared_routes(sandbox.faults, sandbox.log),
        ("POST", "/_sandbox/clock/advance", control.advance_clock),
        ("POST", "/_sandbox/clients", control.register_client),
        ("GET", "/_sandbox/merchants", control.list_merchants),
        ("POST", "/_sandbox/merchants", control.add_merchant),
        ("POST", "/_sandbox/consent", control.consent),
        ("POST", "/_sandbox/tokens/issue", control.issue_tokens),
        ("POST", "/_sandbox/tokens/expire", control.expire_tokens),
        ("POST", "/_sandbox/tokens/revoke", control.revoke_tokens),
        ("POST", "/_sandbox/payments", control.create_payment),
        ("POST", f"/_sandbox/payments/{_ID}/complete", control.complete_payment),
        ("POST", f"/_sandbox/payments/{_ID}/refunds", control.refund_payment),
        ("POST", f"/_sandbox/refunds/{_ID}/complete", control.complete_refund),
        ("POST", "/_sandbox/payouts", control.create_payout),
        ("GET", f"/_sandbox/payouts/{_ID}", control.show_payout),
        ("POST", f"/_sandbox/payouts/{_ID}/paid", control.payout_paid),
        ("POST", f"/_sandbox/payouts/{_ID}/failed", control.payout_failed),
        ("GET", "/_sandbox/webhooks/subscriptions", control.list_subscriptions),
        ("POST", "/_sandbox/webhooks/subscriptions", control.subscribe),
        ("DELETE", f"/_sandbox/webhooks/subscriptions/{_ID}", control.unsubscribe),
        ("GET", "/_sandbox/webhooks/deliveries", control.deliveries),
        ("GET", "/_sandbox/events", control.list_events),
        ("GET", f"/_sandbox/events/{_ID}", control.show_event),
        ("POST", f"/_sandbox/events/{_ID}/deliver", control.deliver_event),
    ]
    add_control_routes(add, routes, refusals=(LedgerError,))


def _cents(body: dict[str, Any], name: str, default: int | None = None) -> int:
    """An amount in integer cents; a float or a string is refused (money is never a float)."""
    value = body.get(name, default)
    if value is None:
        raise BadRequest(f"{name} is required (an integer number of cents, e.g. 1050 for $10.50)")
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"{name} must be an integer number of cents, e.g. 1050 for $10.50 (got {value!r})")
    return value


def _text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be a string")
    return value


def _required(body: dict[str, Any], name: str) -> str:
    value = _text(body, name)
    if not value:
        raise BadRequest(f"{name} is required")
    return value


class _Control:
    def __init__(self, sandbox: SquareSandbox) -> None:
        self.sb = sandbox

    # ------------------------------------------------------------ whole sandbox

    def reset(self, request: Request) -> object:
        """Forget sellers, tokens, events, faults and logs. Apps, the config and the webhook
        subscriptions stay (they are the developer's dashboard settings, and the local stack's
        subscription must survive a test's reset) unless ``{"subscriptions": true}``."""
        drop_subscriptions = _flag(json_body(request), "subscriptions")
        self.sb.ledger.reset()
        self.sb.oauth.reset()
        self.sb.webhooks.reset(subscriptions=drop_subscriptions)
        self.sb.faults.clear()
        self.sb.log.clear()
        return {"reset": True, "subscriptions": len(self.sb.webhooks.subscriptions)}

    def get_config(self, request: Request) -> object:
        config = self.sb.config
        return {
            **{name: getattr(config, name) for name in _SETTABLE},
            "clock_scale": config.clock_scale,
            "fees": dataclasses.asdict(config.fees),
            "clients": sorted(config.clients),
        }

    def set_config(self, request: Request) -> object:
        for name, value in json_body(request).items():
            if name == "fees" and isinstance(value, dict):
                self.sb.config.fees = _fees(self.sb.config.fees, value)
            elif name in _SETTABLE:
                setattr(self.sb.config, name, _setting(name, value))
            else:
                raise BadRequest(
                    f"{name} can't be changed at run time (settable: {sorted(_SETTABLE)} and fees)"
                )
        return self.get_config(request)

    def advance_clock(self, request: Request) -> object:
        """Jump token and code lifetimes forward: {"seconds": 2592000} expires 30-day tokens."""
        seconds = json_body(request).get("seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 0:
            raise BadRequest("seconds must be a non-negative integer")
        return {"now": self.sb.clock.advance(seconds), "scale": self.sb.clock.scale}

    # ------------------------------------------------------------ apps, sellers, tokens

    def register_client(self, request: Request) -> object:
        body = json_body(request)
        client_id, secret = _required(body, "client_id"), _required(body, "client_secret")
        uris = body.get("redirect_uris") or []
        if not isinstance(uris, list) or not all(isinstance(uri, str) for uri in uris) or not uris:
            raise BadRequest("redirect_uris must be a non-empty list of URLs")
        self.sb.config.clients[client_id] = ClientApp(secret=secret, redirect_uris=list(uris))
        return {"client_id": client_id, "redirect_uris": uris}

    def list_merchants(self, request: Request) -> object:
        with self.sb.ledger.lock:
            return {"merchants": [self._merchant(mid) for mid in self.sb.ledger.merchants]}

    def add_merchant(self, request: Request) -> object:
        body = json_body(request)
        locations = body.get("locations") or ["Main"]
        if not isinstance(locations, list) or not all(isinstance(name, str) and name for name in locations):
            raise BadRequest("locations must be a list of location names (the first is the main location)")
        merchant = self.sb.ledger.add_merchant(
            _text(body, "name") or "Sandbox Seller", locations, _text(body, "merchant_id")
        )
        return {"merchant": self._merchant(merchant.id)}

    def _merchant(self, merchant_id: str) -> dict[str, Any]:
        merchant = self.sb.ledger.merchant(merchant_id)
        return {
            "id": merchant.id,
            "name": merchant.name,
            "main_location_id": merchant.main_location.id,
            "locations": [self.sb.ledger.render_location(location) for location in merchant.locations],
        }

    def consent(self, request: Request) -> object:
        merchant_id = _required(json_body(request), "merchant_id")
        self.sb.oauth.set_consenting_merchant(merchant_id)
        return {"merchant_id": merchant_id}

    def issue_tokens(self, request: Request) -> object:
        body = json_body(request)
        client_id, merchant_id = _required(body, "client_id"), _required(body, "merchant_id")
        if client_id not in self.sb.config.clients:
            raise BadRequest(f"unknown client_id {client_id!r}: register it with POST /_sandbox/clients")
        self.sb.ledger.merchant(merchant_id)
        return self.sb.oauth.issue_direct(client_id, merchant_id)

    def expire_tokens(self, request: Request) -> object:
        merchant_id = _required(json_body(request), "merchant_id")
        return {"merchant_id": merchant_id, "expired": self.sb.oauth.expire(merchant_id)}

    def revoke_tokens(self, request: Request) -> object:
        merchant_id = _required(json_body(request), "merchant_id")
        return {"merchant_id": merchant_id, "revoked": self.sb.oauth.revoke_all(merchant_id)}

    # ------------------------------------------------------------ payments and refunds

    def create_payment(self, request: Request) -> object:
        """A card payment. ``approve_first`` makes a COMPLETED one the way autocomplete often
        looks on the wire: payment.created (APPROVED), then payment.updated (COMPLETED)."""
        body = _checked(json_body(request))
        status = _text(body, "status") or "COMPLETED"
        two_steps = _flag(body, "approve_first") and status == "COMPLETED"
        payment, events = self.sb.ledger.create_payment(
            _required(body, "merchant_id"),
            amount=_cents(body, "amount"),
            tip=_cents(body, "tip", 0),
            location_id=_text(body, "location_id"),
            reference_id=_text(body, "reference_id"),
            note=_text(body, "note"),
            customer_id=_text(body, "customer_id"),
            status="APPROVED" if two_steps else status,
        )
        if two_steps:
            payment, completed = self.sb.ledger.complete_payment(payment.id)
            events = events + completed
        return self._announce(body, {"payment": self.sb.ledger.render_payment(payment)}, events)

    def complete_payment(self, request: Request, ident: str) -> object:
        body = _checked(json_body(request))
        payment, events = self.sb.ledger.complete_payment(ident)
        return self._announce(body, {"payment": self.sb.ledger.render_payment(payment)}, events)

    def refund_payment(self, request: Request, ident: str) -> object:
        body = _checked(json_body(request))
        amount = _cents(body, "amount") if body.get("amount") is not None else None
        refund, events = self.sb.ledger.refund(
            ident,
            amount=amount,
            reason=_text(body, "reason") or "Returned",
            status=_text(body, "status") or "COMPLETED",
        )
        return self._announce(body, {"refund": self.sb.ledger.render_refund(refund)}, events)

    def complete_refund(self, request: Request, ident: str) -> object:
        body = _checked(json_body(request))
        refund, events = self.sb.ledger.complete_refund(ident, _text(body, "status") or "COMPLETED")
        return self._announce(body, {"refund": self.sb.ledger.render_refund(refund)}, events)

    # ------------------------------------------------------------ payouts

    def create_payout(self, request: Request) -> object:
        body = _checked(json_body(request))
        adjustment = _cents(body, "adjustment") if body.get("adjustment") is not None else None
        payout, events = self.sb.ledger.create_payout(
            _required(body, "merchant_id"),
            location_id=_text(body, "location_id"),
            instant=_flag(body, "instant"),
            adjustment=adjustment,
            arrival_date=_date(body, "arrival_date"),
            amount_offset=_cents(body, "amount_offset", 0),
        )
        return self._announce(body, self._payout(payout.id), events)

    def show_payout(self, request: Request, ident: str) -> object:
        return self._payout(ident)

    def _payout(self, payout_id: str) -> dict[str, Any]:
        ledger = self.sb.ledger
        with ledger.lock:
            payout = ledger.payouts.get(payout_id)
            if payout is None:
                raise BadRequest(f"unknown payout {payout_id!r}", 404)
            return {
                "payout": ledger.render_payout(payout),
                "payout_entries": [ledger.render_entry(entry) for entry in payout.entries],
            }

    def payout_paid(self, request: Request, ident: str) -> object:
        body = _checked(json_body(request))
        payout, events = self.sb.ledger.settle_payout(ident, "PAID")
        return self._announce(body, {"payout": self.sb.ledger.render_payout(payout)}, events)

    def payout_failed(self, request: Request, ident: str) -> object:
        body = _checked(json_body(request))
        payout, events = self.sb.ledger.settle_payout(ident, "FAILED")
        return self._announce(body, {"payout": self.sb.ledger.render_payout(payout)}, events)

    # ------------------------------------------------------------ webhooks

    def list_subscriptions(self, request: Request) -> object:
        with self.sb.webhooks.lock:
            return {"subscriptions": [s.public() for s in self.sb.webhooks.subscriptions.values()]}

    def subscribe(self, request: Request) -> object:
        try:
            return {"subscription": self.sb.webhooks.subscribe(json_body(request)).public()}
        except ValueError as exc:
            raise BadRequest(str(exc)) from None

    def unsubscribe(self, request: Request, ident: str) -> object:
        if not self.sb.webhooks.unsubscribe(ident):
            raise BadRequest(f"unknown subscription {ident!r}", 404)
        return {"deleted": ident}

    def deliveries(self, request: Request) -> object:
        return {"deliveries": self.sb.webhooks.log()}

    def list_events(self, request: Request) -> object:
        kind, merchant = request.param("type"), request.param("merchant_id")
        ledger = self.sb.ledger
        with ledger.lock:
            events = [ledger.events[event_id] for event_id in ledger.event_order]
        chosen = [e for e in events if kind in (None, e.type) and merchant in (None, e.merchant_id)]
        return {"events": [event.envelope() for event in chosen]}

    def show_event(self, request: Request, ident: str) -> object:
        return {"event": self.sb.ledger.event(ident).envelope()}

    def deliver_event(self, request: Request, ident: str) -> object:
        """Deliver a recorded event again: same event_id and snapshot (a duplicate, or a stale one).

        Body: {"times": N (default 1), "concurrent": true to send the copies at once,
        "send": false to get the signed requests back unsent}.
        """
        body = _checked(json_body(request))
        event = self.sb.ledger.event(ident)
        times = _times(body)
        if not _flag(body, "send", default=True):
            return {
                "event": event.envelope(),
                "requests": [r.public() for r in self.sb.webhooks.prepare(event)],
            }
        return {
            "event": event.envelope(),
            "deliveries": [
                d.public()
                for d in self.sb.webhooks.deliver(event, times, concurrent=_flag(body, "concurrent"))
            ],
        }

    def _announce(self, body: dict[str, Any], answer: dict[str, Any], events: list[Event]) -> dict[str, Any]:
        """Add the events an action raised; deliver them (``deliver``), or sign them for the caller."""
        answer["events"] = [event.envelope() for event in events]
        if body.get("deliver", self.sb.config.auto_deliver) is False:
            answer["requests"] = [
                signed_request(event, s).public()
                for event in events
                for s in self.sb.webhooks.listening(event)
            ]
            return answer
        times, concurrent = _times(body), _flag(body, "concurrent")
        answer["deliveries"] = [
            d.public()
            for event in events
            for d in self.sb.webhooks.deliver(event, times, concurrent=concurrent)
        ]
        return answer


def _times(body: dict[str, Any]) -> int:
    times = body.get("times", 1)
    if isinstance(times, bool) or not isinstance(times, int) or not 1 <= times <= 100:
        raise BadRequest("times must be an integer from 1 to 100")
    return times


def _checked(body: dict[str, Any]) -> dict[str, Any]:
    """Delivery options are checked before the action, so a bad one changes nothing."""
    _times(body)
    _flag(body, "deliver")
    _flag(body, "concurrent")
    _flag(body, "send", default=True)
    return body


def _flag(body: dict[str, Any], name: str, default: bool = False) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise BadRequest(f"{name} must be true or false")
    return value


def _date(body: dict[str, Any], name: str) -> str | None:
    value = _text(body, name)
    if value is None:
        return None
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or len(value) != 10:
        raise BadRequest(f"{name} must be a date YYYY-MM-DD (got {value!r})")
    return parsed.isoformat()


def _fees(current: FeeModel, changes: dict[str, Any]) -> FeeModel:
    kinds = {f.name: type(getattr(current, f.name)) for f in dataclasses.fields(FeeModel)}
    unknown = set(changes) - set(kinds)
    if unknown:
        raise BadRequest(f"unknown fee settings {sorted(unknown)} (known: {sorted(kinds)})")
    for name, value in changes.items():
        if type(value) is not kinds[name] or (kinds[name] is int and value < 0):
            raise BadRequest(f"fees.{name} must be a non-negative {kinds[name].__name__}")
    return dataclasses.replace(current, **changes)


def _setting(name: str, value: object) -> object:
    kind = _SETTABLE[name]
    if kind is bool:
        if not isinstance(value, bool):
            raise BadRequest(f"{name} must be true or false")
        return value
    if kind is str:
        if name == "currency" and not is_currency(value):
            raise BadRequest(f"currency must be {EXPECTED_FORM}")
        if not isinstance(value, str):
            raise BadRequest(f"{name} must be a string")
        if name == "consent" and value not in {"approve", "deny"}:
            raise BadRequest("consent must be approve or deny")
        return value
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BadRequest(f"{name} must be a positive integer")
    return value
