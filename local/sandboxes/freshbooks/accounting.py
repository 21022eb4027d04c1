"""The accounting API, ``/accounting/account/{account_id}/{path}[/{id}]`` (providers.md 3.3;
freshbooks-sdk api/accounting.py and builders/): create is a POST of ``{"<single>": {...}}``,
update a PUT of the same wrapper, delete a PUT of ``{"<single>": {"vis_state": 1}}`` (invoices
and taxes: a real DELETE answering ``{"response": {}}``); answers are ``{"response": {"result":
{"<single>": {...}}}}``, lists ``{"response": {"result": {"<plural>": [...], "page", "pages",
"per_page", "total"}}}``.

Lists take what the SDK's builders send: ``search[<field>]=v`` (equals), ``search[<field>s][]=v``
(in a list), ``search[<field>_like]=v`` (contains), ``search[<field>_min]`` / ``_max`` (between;
``date_min`` / ``date_max`` on an invoice's ``create_date``), ``sort=<field>_asc|_desc``,
``page``, ``per_page`` (at most 100) and ``include[]=`` (an invoice's ``lines`` come only with
``include[]=lines``). A search key the sandbox does not know is refused (400) rather than ignored,
so a lookup that would silently match everything fails loudly.

Each call needs a bearer token (401 ``unauthenticated``) and an account the user keeps books of
(403 otherwise), and counts against the business's limit (429 with Retry-After).
"""

from __future__ import annotations

import copy
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from local.sandboxes.freshbooks import errors
from local.sandboxes.freshbooks.books import (
    CLIENTS,
    DELETED,
    INVOICES,
    ITEMS,
    KINDS,
    PAYMENTS,
    TAXES,
    Business,
    Businesses,
    Kind,
)
from local.sandboxes.freshbooks.config import FreshBooksConfig
from local.sandboxes.freshbooks.errors import FreshBooksError, OAuthError, Style
from local.sandboxes.freshbooks.identity import FreshBooksIdentity
from local.sandboxes.freshbooks.limits import Limits
from local.sandboxes.kit.wire import Request, Response, json_response

PREFIX = "/accounting/account/(?P<account_id>[^/]+)/"
Handler = Callable[[Request, Business, Kind, dict[str, str]], Response]


@dataclass(frozen=True)
class Search:
    """What a list of one kind can be searched by (FreshBooks' per-resource search docs)."""

    equals: frozenset[str]
    like: frozenset[str]
    lists: dict[str, str]  # search[<key>][] -> the field
    ranges: dict[str, str]  # search[<base>_min|_max] -> the field


_COMMON_RANGES = {"updated": "updated"}
SEARCHES = {
    "clients": Search(
        frozenset({"email", "fname", "lname", "organization", "userid", "currency_code", "vis_state"}),
        frozenset({"email", "fname", "lname", "organization"}),
        {"userids": "userid", "emails": "email"},
        _COMMON_RANGES,
    ),
    "items": Search(
        frozenset({"name", "sku", "itemid", "vis_state"}),
        frozenset({"name", "sku", "description"}),
        {"itemids": "itemid"},
        _COMMON_RANGES,
    ),
    "taxes": Search(
        frozenset({"name", "number", "taxid"}), frozenset({"name"}), {"taxids": "taxid"}, _COMMON_RANGES
    ),
    "invoices": Search(
        frozenset(
            {
                "invoice_number",
                "invoiceid",
                "customerid",
                "status",
                "v3_status",
                "payment_status",
                "currency_code",
                "po_number",
                "create_date",
                "vis_state",
            }
        ),
        frozenset({"invoice_number", "po_number", "notes", "organization"}),
        {"invoiceids": "invoiceid", "customerids": "customerid", "invoice_numbers": "invoice_number"},
        {**_COMMON_RANGES, "date": "create_date", "amount": "amount", "outstanding": "outstanding"},
    ),
    "payments": Search(
        frozenset({"invoiceid", "clientid", "type", "date", "paymentid", "vis_state"}),
        frozenset({"note"}),
        {"invoiceids": "invoiceid", "paymentids": "paymentid", "clientids": "clientid"},
        {**_COMMON_RANGES, "date": "date", "amount": "amount"},
    ),
}


def _scalar(record: dict[str, Any], field: str) -> str:
    value = record.get(field)
    if isinstance(value, dict) and "amount" in value:
        return str(value["amount"])
    return "" if value is None else str(value)


def _comparable(value: str) -> Decimal | str:
    try:
        return Decimal(value)
    except InvalidOperation:
        return value.replace("T", " ").rstrip("Z")


class ListQuery:
    """A list call's query string, checked and applied."""

    def __init__(self, request: Request, kind: Kind, config: FreshBooksConfig) -> None:
        self.kind = kind
        self.search = SEARCHES[kind.plural]
        self.tests: list[Callable[[dict[str, Any]], bool]] = []
        self.visible: set[int] | None = None  # vis_state asked for (default: all but deleted)
        self.sort: tuple[str, bool] | None = None
        self.page, self.per_page = 1, config.per_page
        for key, values in request.query.items():
            self._read(key, values, config)

    def _read(self, key: str, values: list[str], config: FreshBooksConfig) -> None:
        if key == "include[]":
            return
        if key == "page":
            self.page = max(1, _whole(key, values[0]))
        elif key == "per_page":
            self.per_page = min(max(1, _whole(key, values[0])), config.max_per_page)
        elif key == "sort":
            self._sort(values[0])
        elif key.startswith("search[") and key.endswith("][]"):
            self._in_list(key[7:-3], values)
        elif key.startswith("search[") and key.endswith("]"):
            self._one(key[7:-1], values[0])
        else:
            raise errors.bad_request(
                f"{key} is not a parameter of a {self.kind.single} list: use search[...], sort, page, "
                "per_page or include[]"
            )

    def _unknown(self, name: str) -> FreshBooksError:
        s = self.search
        known = sorted(
            [*s.equals, *(f"{f}_like" for f in s.like), *(f"{k}[]" for k in s.lists)]
            + [f"{base}_min" for base in s.ranges]
            + [f"{base}_max" for base in s.ranges]
        )
        return errors.bad_request(
            f"search[{name}] is not a {self.kind.single} search; known: {', '.join(known)}"
        )

    def _sort(self, value: str) -> None:
        field, _, direction = value.rpartition("_")
        if direction not in ("asc", "desc") or not field:
            raise errors.bad_request(f"sort must be <field>_asc or <field>_desc (got {value})")
        self.sort = (field, direction == "desc")

    def _in_list(self, name: str, values: list[str]) -> None:
        field = self.search.lists.get(name)
        if field is None:
            raise self._unknown(f"{name}][")
        wanted = set(values)
        self.tests.append(lambda record: _scalar(record, field) in wanted)

    def _one(self, name: str, value: str) -> None:
        s = self.search
        if name == "vis_state":
            self.visible = {_whole(name, value)}
        elif name in s.equals:
            self.tests.append(lambda record: _scalar(record, name) == value)
        elif name.endswith("_like") and name[:-5] in s.like:
            needle = value.lower()
            self.tests.append(lambda record: needle in _scalar(record, name[:-5]).lower())
        elif name[-4:] in ("_min", "_max") and name[:-4] in s.ranges:
            field, bound = s.ranges[name[:-4]], _comparable(value)
            if name.endswith("_min"):
                self.tests.append(lambda record: _at_least(_comparable(_scalar(record, field)), bound))
            else:
                self.tests.append(lambda record: _at_least(bound, _comparable(_scalar(record, field))))
        else:
            raise self._unknown(name)

    def run(self, records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, int]]:
        visible = self.visible
        found = [
            r
            for r in records
            if (r["vis_state"] in visible if visible is not None else r["vis_state"] != DELETED)
            and all(test(r) for test in self.tests)
        ]
        if self.sort is not None:
            field, descending = self.sort
            found.sort(key=lambda r: _sort_key(_scalar(r, field)), reverse=descending)
        total = len(found)
        start = (self.page - 1) * self.per_page
        pages = {
            "page": self.page,
            "pages": math.ceil(total / self.per_page),
            "per_page": self.per_page,
            "total": total,
        }
        return found[start : start + self.per_page], pages


def _at_least(value: Decimal | str, bound: Decimal | str) -> bool:
    if isinstance(value, Decimal) and isinstance(bound, Decimal):
        return value >= bound
    return str(value) >= str(bound)


def _sort_key(value: str) -> tuple[int, Decimal, str]:
    number = _comparable(value)
    return (0, number, "") if isinstance(number, Decimal) else (1, Decimal(0), number)


def _whole(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise errors.bad_request(f"{name} must be a whole number (got {value})") from None


def _record_id(kind: Kind, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise errors.not_found(kind.single, kind.id_fields[-1], raw) from None


def present(kind: Kind, record: dict[str, Any], request: Request) -> dict[str, Any]:
    """A record as FreshBooks answers it: an invoice's lines only with ``include[]=lines``."""
    body = copy.deepcopy(record)
    if kind is INVOICES and "lines" not in request.query.get("include[]", []):
        body.pop("lines", None)
    return body


def result(payload: dict[str, Any]) -> Response:
    return json_response(200, {"response": {"result": payload}})


class Accounting:
    def __init__(
        self,
        businesses: Businesses,
        identity: FreshBooksIdentity,
        limits: Limits,
        config: FreshBooksConfig,
        stopping: threading.Event,
    ) -> None:
        self.stopping = stopping  # set while the sandbox stops: a slowed call wakes
        self.businesses = businesses
        self.identity = identity
        self.limits = limits
        self.config = config

    def routes(self) -> list[tuple[str, str, Kind, str, Handler]]:
        found: list[tuple[str, str, Kind, str, Handler]] = []
        for kind in KINDS:
            one = f"{kind.path}/(?P<record_id>[^/]+)"
            found += [
                ("GET", kind.path, kind, "query", self.list),
                ("POST", kind.path, kind, "create", self.create),
                ("GET", one, kind, "read", self.get),
                ("PUT", one, kind, "update", self.update),
            ]
            if kind.real_delete:
                found.append(("DELETE", one, kind, "delete", self.delete))
        return found

    @property
    def style(self) -> Style:
        return "rpc" if self.config.error_style == "rpc" else "legacy"

    def call(self, request: Request, kind: Kind, handler: Handler, params: dict[str, str]) -> Response:
        try:
            grant = self.identity.grant_of(request.header("authorization"))
            business = self.businesses.reachable(params["account_id"], grant.identity_id)
            if business is None:
                raise FreshBooksError(
                    403,
                    1003,
                    "You do not have access to this account: use an account_id from /users/me.",
                    field="account_id",
                    obj="account",
                    value=params["account_id"],
                )
            with self.limits.admit(business.account_id):
                if self.config.latency_ms > 0:
                    self.stopping.wait(self.config.latency_ms / 1000 / self.config.clock_scale)
                with business.lock:
                    return handler(request, business, kind, params)
        except OAuthError as error:
            return error.response()
        except FreshBooksError as error:
            return error.response(self.style)

    # ------------------------------------------------------------ handlers

    @staticmethod
    def _data(request: Request, kind: Kind) -> dict[str, Any]:
        try:
            body = request.json()
        except ValueError:
            raise errors.bad_request("the body is not valid JSON") from None
        data = body.get(kind.single) if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise errors.bad_request(f'the body must be {{"{kind.single}": {{...}}}}')
        return data

    def list(self, request: Request, business: Business, kind: Kind, params: dict[str, str]) -> Response:
        query = ListQuery(request, kind, self.config)
        page, pages = query.run(list(business.table(kind).values()))
        return result({kind.plural: [present(kind, r, request) for r in page], **pages})

    def get(self, request: Request, business: Business, kind: Kind, params: dict[str, str]) -> Response:
        record = business.get(kind, _record_id(kind, params["record_id"]))
        return result({kind.single: present(kind, record, request)})

    def create(self, request: Request, business: Business, kind: Kind, params: dict[str, str]) -> Response:
        record = business.create(kind, self._data(request, kind))
        return result({kind.single: present(kind, record, request)})

    def update(self, request: Request, business: Business, kind: Kind, params: dict[str, str]) -> Response:
        record_id = _record_id(kind, params["record_id"])
        record = business.update(kind, record_id, self._data(request, kind))
        return result({kind.single: present(kind, record, request)})

    def delete(self, request: Request, business: Business, kind: Kind, params: dict[str, str]) -> Response:
        business.delete(kind, _record_id(kind, params["record_id"]))
        return json_response(200, {"response": {}})


__all__ = ["CLIENTS", "INVOICES", "ITEMS", "PAYMENTS", "PREFIX", "TAXES", "Accounting", "present"]
