"""A small in-memory Intuit for unit tests, served through ``httpx.MockTransport``.

It answers the shapes providers.md §1 documents: entities wrapped as ``{"Customer": {...}}``,
queries as ``{"QueryResponse": {...}}``, faults as ``{"Fault": {"Error": [...], "type": ...}}``,
401s in the gateway's lower-case shape, OAuth token and revoke endpoints. Tests can queue
scripted answers (``script``) that pre-empt routing, to inject faults and transport errors.
"""

from __future__ import annotations

import base64
import re
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

import httpx
from booksync.providers.http import dumps_json, loads_json

REALM = "9130357"
API = "https://qbo.test"
Json = dict[str, Any]
Script = Callable[[httpx.Request], "httpx.Response | None"]

NAME_FIELDS = {"Customer": "DisplayName", "Item": "Name", "PaymentMethod": "Name", "Account": "Name"}
REF_FIELDS = {"CustomerRef": "value", "PrimaryEmailAddr": "Address"}


def respond(status: int, body: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
    content = b"" if body is None else dumps_json(body).encode()
    return httpx.Response(
        status,
        content=content,
        headers={"Content-Type": "application/json", "intuit_tid": "tid-1", **(headers or {})},
    )


def fault(
    code: int | str, message: str, detail: str = "", element: str = "", kind: str = "ValidationFault"
) -> Json:
    return {
        "Fault": {
            "Error": [{"Message": message, "Detail": detail, "code": str(code), "element": element}],
            "type": kind,
        },
        "time": "2025-01-01T00:00:00.000-08:00",
    }


def auth_fault(detail: str = "Token expired: 0123") -> Json:
    # The gateway's 401 body is lower-case (python-quickbooks issues #118, #250).
    return {
        "fault": {
            "error": [
                {
                    "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                    "detail": detail,
                    "code": "3200",
                }
            ],
            "type": "AUTHENTICATION",
        },
        "requestId": "r-1",
    }


# ---------------------------------------------------------------------- query language


def _split_conditions(where: str) -> list[str]:
    """Split on AND outside quoted literals."""
    parts, current, quoted, index = [], "", False, 0
    while index < len(where):
        char = where[index]
        if quoted and char == "\\":
            current += where[index : index + 2]
            index += 2
            continue
        if char == "'":
            quoted = not quoted
        if not quoted and where[index : index + 5].lower() == " and ":
            parts.append(current.strip())
            current, index = "", index + 5
            continue
        current += char
        index += 1
    if quoted:
        raise ValueError("unterminated literal")
    parts.append(current.strip())
    return parts


def _literal(text: str) -> str:
    if not (text.startswith("'") and text.endswith("'")) or len(text) < 2:
        raise ValueError(f"not a literal: {text}")
    body, out, index = text[1:-1], "", 0
    while index < len(body):
        if body[index] == "\\":
            out += body[index + 1]
            index += 2
            continue
        if body[index] == "'":
            raise ValueError("unescaped quote")
        out += body[index]
        index += 1
    return out


def _field(obj: Json, name: str) -> Any:
    value = obj.get(name)
    if name in REF_FIELDS and isinstance(value, dict):
        return value.get(REF_FIELDS[name])
    return value


def _condition(text: str) -> Callable[[Json], bool]:
    match = re.fullmatch(r"(\w+)\s+IN\s+\((.*)\)", text, re.IGNORECASE)
    if match:
        name, values = match.group(1), [v.strip().lower() for v in match.group(2).split(",")]
        return lambda obj: str(obj.get(name, True)).lower() in values
    match = re.fullmatch(r"(\w+)\s*=\s*(true|false)", text, re.IGNORECASE)
    if match:
        name, flag = match.group(1), match.group(2).lower() == "true"
        return lambda obj: obj.get(name, True) is flag
    match = re.fullmatch(r"(\w+)\s+(=|LIKE)\s+('.*')", text, re.IGNORECASE)
    if not match:
        raise ValueError(f"cannot parse condition {text!r}")
    name, op, value = match.group(1), match.group(2).upper(), _literal(match.group(3))
    if any(ord(ch) > 0x7E for ch in value):
        raise ValueError("Lexical error")
    if op == "=":
        # Intuit ignores letter case; it does not fold "ß" into "ss".
        return lambda obj: str(_field(obj, name) or "").lower() == value.lower()
    pattern = re.compile(".*".join(re.escape(p) for p in value.split("%")), re.IGNORECASE | re.DOTALL)
    return lambda obj: bool(pattern.fullmatch(str(_field(obj, name) or "")))


# ---------------------------------------------------------------------- the fake


class FakeIntuit:
    def __init__(self, *, realm: str = REALM) -> None:
        self.realm = realm
        self.requests: list[httpx.Request] = []
        self.store: dict[str, dict[str, Json]] = defaultdict(dict)
        self.script: deque[Script] = deque()
        self.valid_tokens: set[str] = {"access-1", "access-2"}
        self.query_lexer_ascii_only = True
        self._next_id = 100
        self.oauth_clients = {"client-id": "client-secret-value"}
        self.refresh_tokens = {"refresh-1"}

    # -- plumbing

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def then(self, *answers: Script | httpx.Response | Exception) -> FakeIntuit:
        for answer in answers:
            self.script.append(_as_script(answer))
        return self

    def handle(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        if self.script:
            answer = self.script.popleft()(request)
            if answer is not None:
                return answer
        return self.route(request)

    def route(self, request: httpx.Request) -> httpx.Response:
        """Answer as Intuit would, ignoring the script."""
        if request.url.path.startswith("/oauth2/") or request.url.path.startswith("/v2/oauth2/"):
            return self._oauth(request)
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.valid_tokens:
            return respond(401, auth_fault())
        return self._api(request)

    def add(self, entity: str, **fields: Any) -> Json:
        obj = {"Id": self._new_id(), "SyncToken": "0", **fields}
        self.store[entity][obj["Id"]] = obj
        return obj

    def _new_id(self) -> str:
        self._next_id += 1
        return str(self._next_id)

    # -- API

    def _api(self, request: httpx.Request) -> httpx.Response:
        prefix = f"/v3/company/{self.realm}/"
        path = request.url.path
        if not path.startswith(prefix):
            return respond(404)
        rest = path[len(prefix) :].split("/")
        if rest == ["query"]:
            return self._query(request.content.decode())
        if rest == ["batch"]:
            return self._batch(loads_json(request.content))
        entity = _entity_name(rest[0])
        if request.method == "GET" and len(rest) == 2:
            obj = self.store[entity].get(rest[1])
            if obj is None:
                return respond(
                    400,
                    fault(
                        610,
                        "Object Not Found",
                        "Object Not Found : Something you're trying to use has been made inactive. Check the fields with accounts, customers, items, vendors or employees.",
                        kind="ValidationFault",
                    ),
                )
            return respond(200, {entity: obj, "time": "t"})
        body = loads_json(request.content)
        status, answer = self._write(entity, body, request.url.params.get("operation"))
        return respond(status, answer)

    def _write(self, entity: str, body: Json, operation: str | None) -> tuple[int, Json]:
        if operation == "void":
            return self._void(entity, body)
        if "Id" in body:
            return self._update(entity, body)
        name_field = NAME_FIELDS.get(entity)
        if name_field and any(
            str(o.get(name_field, "")).lower() == str(body.get(name_field, "")).lower()
            for o in self.store[entity].values()
        ):
            return 400, fault(
                6240,
                "Duplicate Name Exists Error",
                "The name supplied already exists. : Another customer is already using this name.",
            )
        obj = {**body, "Id": self._new_id(), "SyncToken": "0"}
        self._computed(entity, obj)
        self.store[entity][obj["Id"]] = obj
        return 200, {entity: obj, "time": "t"}

    def _update(self, entity: str, body: Json) -> tuple[int, Json]:
        current = self.store[entity].get(str(body["Id"]))
        if current is None:
            return 400, fault(610, "Object Not Found", "Object Not Found")
        if str(body.get("SyncToken")) != current["SyncToken"]:
            return 400, fault(
                5010,
                "Stale Object Error",
                "Stale Object Error : You and another user were working on the same thing.",
            )
        if body.get("sparse") is True:
            merged = {**current, **{k: v for k, v in body.items() if k != "sparse"}}
        else:
            merged = dict(body)
        merged["SyncToken"] = str(int(current["SyncToken"]) + 1)
        self._computed(entity, merged)
        self.store[entity][merged["Id"]] = merged
        return 200, {entity: merged, "time": "t"}

    def _void(self, entity: str, body: Json) -> tuple[int, Json]:
        current = self.store[entity].get(str(body["Id"]))
        if current is None:
            return 400, fault(610, "Object Not Found", "")
        if str(body.get("SyncToken")) != current["SyncToken"]:
            return 400, fault(5010, "Stale Object Error", "")
        current.update(
            Line=[],
            TotalAmt=Decimal("0"),
            Balance=Decimal("0"),
            PrivateNote=f"Voided {current.get('PrivateNote', '')}",
        )
        current["SyncToken"] = str(int(current["SyncToken"]) + 1)
        return 200, {entity: current, "time": "t"}

    @staticmethod
    def _computed(entity: str, obj: Json) -> None:
        if entity == "Invoice":
            lines = obj.get("Line", [])
            subtotal = sum(
                (Decimal(str(ln["Amount"])) for ln in lines if ln["DetailType"] == "SalesItemLineDetail"),
                Decimal(0),
            )
            discount = sum(
                (Decimal(str(ln["Amount"])) for ln in lines if ln["DetailType"] == "DiscountLineDetail"),
                Decimal(0),
            )
            tax = Decimal(str(obj.get("TxnTaxDetail", {}).get("TotalTax", 0)))
            obj["TotalAmt"] = subtotal - discount + tax
            obj["Balance"] = obj["TotalAmt"]
        if entity == "Payment":
            obj["UnappliedAmt"] = Decimal("0")

    def _query(self, statement: str) -> httpx.Response:
        try:
            entity, rows, start, size = self._run(statement)
        except ValueError as exc:
            return respond(400, fault(4000, "Error parsing query", f"QueryParserError: {exc}"))
        page = rows[start - 1 : start - 1 + size]
        answer: Json = {"startPosition": start, "maxResults": len(page)} if page else {}
        if page:
            answer[entity] = page
        return respond(200, {"QueryResponse": answer, "time": "t"})

    def _run(self, statement: str) -> tuple[str, list[Json], int, int]:
        match = re.fullmatch(
            r"select \* from (\w+)(?: where (.*?))?(?: STARTPOSITION (\d+))?(?: MAXRESULTS (\d+))?",
            statement.strip(),
            re.IGNORECASE | re.DOTALL,
        )
        if not match:
            raise ValueError(f"cannot parse {statement!r}")
        entity = match.group(1)
        texts = _split_conditions(match.group(2)) if match.group(2) else []
        conditions = [_condition(t) for t in texts]
        if not any(t.lower().startswith("active") for t in texts):
            conditions.append(lambda obj: obj.get("Active", True) is not False)
        rows = [o for o in self.store[entity].values() if all(c(o) for c in conditions)]
        return entity, rows, int(match.group(3) or 1), int(match.group(4) or 100)

    def _batch(self, body: Json) -> httpx.Response:
        answers = []
        for item in reversed(body["BatchItemRequest"]):  # Intuit does not promise the order
            bid = item["bId"]
            if "Query" in item:
                try:
                    entity, rows, start, size = self._run(item["Query"])
                    answers.append(
                        {"bId": bid, "QueryResponse": {entity: rows[start - 1 : start - 1 + size]}}
                    )
                except ValueError as exc:
                    answers.append({"bId": bid, **fault(4000, "Error parsing query", str(exc))})
                continue
            entity = next(k for k in item if k not in ("bId", "operation"))
            status, answer = self._write(entity, item[entity], None)
            answers.append(
                {"bId": bid, **({"Fault": answer["Fault"]} if status != 200 else {entity: answer[entity]})}
            )
        return respond(200, {"BatchItemResponse": answers, "time": "t"})

    # -- OAuth

    def _oauth(self, request: httpx.Request) -> httpx.Response:
        auth = request.headers.get("Authorization", "")
        client_id, _, secret = base64.b64decode(auth.removeprefix("Basic ")).decode().partition(":")
        if self.oauth_clients.get(client_id) != secret:
            return respond(401, {"error": "invalid_client"})
        if request.url.path.endswith("/revoke"):
            token = loads_json(request.content).get("token")
            if token in self.refresh_tokens:
                self.refresh_tokens.discard(token)
                return respond(200)
            return respond(400, {"error": "invalid_token"})
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        if form.get("grant_type") == "authorization_code" and form.get("code") == "good-code":
            return self._tokens()
        if form.get("grant_type") == "refresh_token" and form.get("refresh_token") in self.refresh_tokens:
            self.refresh_tokens.discard(form["refresh_token"])
            return self._tokens()
        return respond(
            400, {"error": "invalid_grant", "error_description": "Incorrect or invalid refresh token"}
        )

    def _tokens(self) -> httpx.Response:
        new_refresh = f"refresh-{len(self.requests) + 1}"
        self.refresh_tokens.add(new_refresh)
        return respond(
            200,
            {
                "token_type": "bearer",
                "access_token": "eyJhbGciOiJkaXIiLCJlbmMiOiJBMTI4Q0JDLUhTMjU2In0.access",
                "refresh_token": new_refresh,
                "expires_in": 3600,
                "x_refresh_token_expires_in": 8726400,
            },
        )

    # -- inspection helpers

    def api_requests(self) -> Iterator[httpx.Request]:
        return (r for r in self.requests if r.url.path.startswith("/v3/"))

    def last(self) -> httpx.Request:
        return self.requests[-1]


def _entity_name(segment: str) -> str:
    known = {
        "customer": "Customer",
        "item": "Item",
        "invoice": "Invoice",
        "payment": "Payment",
        "paymentmethod": "PaymentMethod",
        "account": "Account",
    }
    return known.get(segment, segment.capitalize())


def _as_script(answer: Script | httpx.Response | Exception) -> Script:
    if isinstance(answer, httpx.Response):
        return lambda request: answer
    if isinstance(answer, Exception):

        def raise_it(request: httpx.Request) -> httpx.Response:
            raise answer

        return raise_it
    return answer


class FakeTokens:
    """A TokenSource: hands out ``tokens`` in order, one step per rejection."""

    def __init__(self, *tokens: str) -> None:
        self._tokens = list(tokens or ("access-1", "access-2"))
        self.current = self._tokens.pop(0)
        self.rejected: list[str] = []

    def access_token(self) -> str:
        return self.current

    def refreshed_after_rejection(self, rejected_token: str) -> str:
        self.rejected.append(rejected_token)
        if self._tokens:
            self.current = self._tokens.pop(0)
        return self.current
