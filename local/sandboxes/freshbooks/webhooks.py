"""FreshBooks' webhook callbacks (providers.md 3.4, 7.2; freshbooks-sdk api/events.py and
docs/user_guide/webhooks.md):

- ``POST /events/account/{account_id}/events/callbacks`` ``{"callback": {"event", "uri"}}``
  registers a callback, unverified; FreshBooks then POSTs a verification to the URI
  (``name=callback.verify&object_id=<callbackid>&verifier=<code>...``), and the app activates the
  callback with ``PUT .../callbacks/{id}`` ``{"callback": {"verifier": "<code>"}}``; ``{"callback":
  {"resend": true}}`` sends the code again. GET lists or reads them, DELETE answers 204.
- Each change to the business's books (the app's calls and the user's own, through the control
  API) is POSTed, form-encoded, to every verified callback of the account whose ``event`` is the
  change's name (``invoice.create``) or its object (``invoice``): ``name``, ``object_id``,
  ``account_id``, ``business_id``, ``identity_id``, ``user_id`` in that order, signed
  ``X-FreshBooks-Hmac-SHA256 = base64(HMAC-SHA256(verifier, json.dumps(fields)))`` with Python's
  default separators, ASCII escaping and the fields in posted order (FreshBooks' own snippet).
- The events API's errors are ``{"errno", "message", "details"}`` (SDK fixtures).

``delivery: async`` (the default) posts from a worker thread soon after the change, as
FreshBooks does (in seconds to minutes); ``manual`` keeps every POST until the control API's
``POST /_sandbox/callbacks/deliver``, which also posts what an async attempt failed to deliver.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

from local.sandboxes.freshbooks.books import Businesses, Event, utc_now
from local.sandboxes.freshbooks.config import FreshBooksConfig
from local.sandboxes.freshbooks.errors import OAuthError
from local.sandboxes.freshbooks.identity import FreshBooksIdentity
from local.sandboxes.kit.wire import Request, Response, json_response

SIGNATURE_HEADER = "X-FreshBooks-Hmac-SHA256"
CALLBACKS_PATH = "/events/account/(?P<account_id>[^/]+)/events/callbacks"
# The objects whose events the sandbox raises, and their actions.
OBJECTS = ("client", "item", "tax", "invoice", "payment")
ACTIONS = ("create", "update", "delete")
EVENTS = frozenset(OBJECTS) | {f"{obj}.{action}" for obj in OBJECTS for action in ACTIONS}


def signature(verifier: str, fields: list[tuple[str, str]]) -> str:
    """What FreshBooks puts in X-FreshBooks-Hmac-SHA256: the form's fields as strings, in posted
    order, through ``json.dumps`` with its defaults, HMAC-SHA256 keyed by the verifier, base64."""
    message = json.dumps(dict(fields)).encode("utf-8")
    return base64.b64encode(hmac.new(verifier.encode("utf-8"), message, hashlib.sha256).digest()).decode()


@dataclass
class Callback:
    id: int
    account_id: str
    event: str
    uri: str
    verifier: str
    verified: bool = False
    updated_at: str = field(default_factory=utc_now)

    def public(self) -> dict[str, Any]:
        return {
            "callbackid": self.id,
            "event": self.event,
            "uri": self.uri,
            "verified": self.verified,
            "updated_at": self.updated_at.replace(" ", "T") + "Z",
        }

    def hears(self, name: str) -> bool:
        return self.event in (name, name.split(".", maxsplit=1)[0])


@dataclass
class Delivery:
    """One POST to a callback's URI (a verification or an event), and what became of it."""

    callback_id: int
    uri: str
    fields: list[tuple[str, str]]
    verifier: str
    attempts: list[dict[str, Any]] = field(default_factory=list)
    delivered: bool = False

    def public(self) -> dict[str, Any]:
        return {
            "callback_id": self.callback_id,
            "uri": self.uri,
            "fields": dict(self.fields),
            "delivered": self.delivered,
            "attempts": list(self.attempts),
        }


class EventsError(Exception):
    """The events API's refusal: ``{"errno": <status>, "message", "details": [...]}``."""

    def __init__(self, status: int, message: str, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details or []

    def response(self) -> Response:
        body = {"errno": self.status, "message": self.message, "details": self.details}
        return json_response(self.status, body, fault_code=str(self.status))


class Callbacks:
    def __init__(
        self, config: FreshBooksConfig, businesses: Businesses, identity: FreshBooksIdentity
    ) -> None:
        self.config = config
        self.businesses = businesses
        self.identity = identity
        self.lock = threading.Condition()
        self.callbacks: dict[int, Callback] = {}
        self._ids = itertools.count(2001)
        self.outbox: list[Delivery] = []  # not attempted yet
        self.parked: list[Delivery] = []  # attempted, not delivered
        self.done: list[Delivery] = []
        self.posting = 0
        self._worker: threading.Thread | None = None
        self._stopping = False
        businesses.listeners.append(self.on_event)

    def reset(self) -> None:
        with self.lock:
            self.callbacks.clear()
            self.outbox.clear()
            self.parked.clear()
            self.done.clear()

    def stop(self) -> None:
        with self.lock:
            self._stopping = True
            self.lock.notify_all()

    # ------------------------------------------------------------ the events API

    def routes(self) -> list[tuple[str, str, str, Callable[..., Response]]]:
        one = CALLBACKS_PATH + "/(?P<callback_id>[^/]+)"
        return [
            ("GET", CALLBACKS_PATH, "query", self.list_callbacks),
            ("POST", CALLBACKS_PATH, "create", self.register),
            ("GET", one, "read", self.read),
            ("PUT", one, "update", self.change),
            ("DELETE", one, "delete", self.remove),
        ]

    def call(self, request: Request, handler: Callable[..., Response], params: dict[str, str]) -> Response:
        try:
            try:
                grant = self.identity.grant_of(request.header("authorization"))
            except OAuthError:
                raise EventsError(
                    401, "invalid_token: The request token failed to authenticate or validate."
                ) from None
            if self.businesses.reachable(params["account_id"], grant.identity_id) is None:
                raise EventsError(
                    403, "You do not have access to this account: use an account_id from /users/me."
                )
            return handler(request, **params)
        except EventsError as error:
            return error.response()

    @staticmethod
    def _data(request: Request) -> dict[str, Any]:
        try:
            body = request.json()
        except ValueError:
            raise EventsError(400, "The request body is not valid JSON.") from None
        data = body.get("callback") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise EventsError(400, 'The body must be {"callback": {...}}.')
        return data

    def _callback(self, account_id: str, raw: str) -> Callback:
        found = self.callbacks.get(int(raw)) if raw.isdigit() else None
        if found is None or found.account_id != account_id:
            raise EventsError(404, "Requested resource could not be found.")
        return found

    @staticmethod
    def _result(callback: Callback) -> Response:
        return json_response(200, {"response": {"result": {"callback": callback.public()}}})

    def list_callbacks(self, request: Request, account_id: str) -> Response:
        with self.lock:
            mine = [c.public() for c in self.callbacks.values() if c.account_id == account_id]
        page = {"page": 1, "pages": 1, "per_page": max(len(mine), 1), "total": len(mine)}
        return json_response(200, {"response": {"result": {"callbacks": mine, **page}}})

    def read(self, request: Request, account_id: str, callback_id: str) -> Response:
        with self.lock:
            return self._result(self._callback(account_id, callback_id))

    def register(self, request: Request, account_id: str) -> Response:
        data = self._data(request)
        event, uri = data.get("event"), data.get("uri")
        details = []
        if event not in EVENTS:
            details.append(f"event: Value error, Unrecognized event. Known: {', '.join(sorted(EVENTS))}")
        parts = urlsplit(uri) if isinstance(uri, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            details.append("uri: Input should be a valid URL, relative URL without a base")
        if details:
            raise EventsError(
                422,
                "The request was well-formed but was unable to be followed due to semantic errors.",
                details,
            )
        assert isinstance(event, str)
        assert isinstance(uri, str)
        with self.lock:
            callback = Callback(next(self._ids), account_id, event, uri, secrets.token_urlsafe(24))
            self.callbacks[callback.id] = callback
            self._send_verifier(callback)
            return self._result(callback)

    def change(self, request: Request, account_id: str, callback_id: str) -> Response:
        data = self._data(request)
        with self.lock:
            callback = self._callback(account_id, callback_id)
            if data.get("resend") is True:
                self._send_verifier(callback)
            elif "verifier" in data:
                if not isinstance(data["verifier"], str) or not hmac.compare_digest(
                    data["verifier"], callback.verifier
                ):
                    raise EventsError(
                        422,
                        "The verifier does not match the code FreshBooks sent to the callback's URI.",
                        ['verifier: the code of the callback.verify POST (resend it with {"resend": true})'],
                    )
                callback.verified = True
            else:
                raise EventsError(
                    422, 'Send {"verifier": "<code>"} or {"resend": true}.', ["callback: nothing to do"]
                )
            callback.updated_at = utc_now()
            return self._result(callback)

    def remove(self, request: Request, account_id: str, callback_id: str) -> Response:
        with self.lock:
            callback = self._callback(account_id, callback_id)
            del self.callbacks[callback.id]
        return Response(204)

    # ------------------------------------------------------------ deliveries

    def _send_verifier(self, callback: Callback) -> None:
        business = self.businesses.get(callback.account_id)
        fields = [
            ("name", "callback.verify"),
            ("object_id", str(callback.id)),
            ("verifier", callback.verifier),
            ("system", business.name if business else ""),
            ("user_id", str(business.user_id if business else 1)),
        ]
        self._enqueue(Delivery(callback.id, callback.uri, fields, callback.verifier))

    def on_event(self, event: Event) -> None:
        """A change to a business's books: a delivery to each verified callback that hears it."""
        fields = [
            ("name", event.name),
            ("object_id", str(event.object_id)),
            ("account_id", event.account_id),
            ("business_id", str(event.business_id)),
            ("identity_id", str(event.identity_id)),
            ("user_id", str(event.user_id)),
        ]
        with self.lock:
            for callback in self.callbacks.values():
                if (
                    callback.verified
                    and callback.account_id == event.account_id
                    and callback.hears(event.name)
                ):
                    self._enqueue(Delivery(callback.id, callback.uri, list(fields), callback.verifier))

    def _enqueue(self, delivery: Delivery) -> None:
        """(Under the lock.) Kept for the worker or for ``deliver``."""
        self.outbox.append(delivery)
        if self.config.delivery == "async":
            self._start_worker()
            self.lock.notify_all()

    def _start_worker(self) -> None:
        if self._worker is None or not self._worker.is_alive():
            self._stopping = False
            self._worker = threading.Thread(target=self._work, name="freshbooks-callbacks", daemon=True)
            self._worker.start()

    def _work(self) -> None:
        while True:
            with self.lock:
                while not self._stopping and not self._ready():
                    self.lock.wait()
                if self._stopping:
                    return
                delivery = self._ready()[0]
                self.outbox.remove(delivery)
                self.posting += 1
            self._post(delivery, wrong_signature=False)
            with self.lock:
                # What an attempt did not deliver waits for ``deliver``.
                (self.done if delivery.delivered else self.parked).append(delivery)
                self.posting -= 1
                self.lock.notify_all()

    def _ready(self) -> list[Delivery]:
        return self.outbox if self.config.delivery == "async" else []

    def deliver(self, times: int = 1, *, wrong_signature: bool = False) -> list[Delivery]:
        """POST everything waiting (``times`` times each: FreshBooks may repeat one); answers the
        deliveries. One that no attempt delivered waits for the next call."""
        with self.lock:
            waiting = [*self.parked, *self.outbox]
            self.parked.clear()
            self.outbox.clear()
        for delivery in waiting:
            for _ in range(times):
                self._post(delivery, wrong_signature=wrong_signature)
        with self.lock:
            for delivery in waiting:
                (self.done if delivery.delivered else self.parked).append(delivery)
        return waiting

    def _post(self, delivery: Delivery, *, wrong_signature: bool, timeout: float = 10.0) -> None:
        key = secrets.token_urlsafe(24) if wrong_signature else delivery.verifier
        headers = {
            "content-type": "application/x-www-form-urlencoded",
            SIGNATURE_HEADER: signature(key, delivery.fields),
            "user-agent": "FreshBooks-Webhooks (booksync sandbox)",
        }
        attempt: dict[str, Any] = {"at": utc_now(), "signed_correctly": not wrong_signature}
        try:
            answer = httpx.post(
                delivery.uri, content=urlencode(delivery.fields).encode(), headers=headers, timeout=timeout
            )
        except httpx.HTTPError as error:  # the receiver's failure is what the caller wants to see
            attempt["error"] = f"{type(error).__name__}: {error}"
        else:
            attempt["status"] = answer.status_code
            if answer.is_success and not wrong_signature:
                delivery.delivered = True
        delivery.attempts.append(attempt)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Until the async worker has posted everything queued (or ``timeout`` seconds)."""
        with self.lock:
            return self.lock.wait_for(lambda: not self._ready() and not self.posting, timeout)

    def log(self) -> list[dict[str, Any]]:
        with self.lock:
            return [d.public() for d in [*self.done, *self.parked, *self.outbox]]

    def public(self) -> list[dict[str, Any]]:
        with self.lock:
            return [
                {**c.public(), "account_id": c.account_id, "verifier": c.verifier}
                for c in self.callbacks.values()
            ]
