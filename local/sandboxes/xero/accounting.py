"""The Accounting API (``/api.xro/2.0/...``) calls booksync makes, in Xero's shapes.

A call needs a bearer token with the entity's scope and an ``xero-tenant-id`` the token is
connected to (403 ``AuthenticationUnsuccessful`` otherwise); it is admitted by the limits, then
answered from the Idempotency-Key store when it repeats a keyed write. Writes take Xero's arrays
(``{"Contacts": [...]}``): with ``summarizeErrors=false`` each element answers for itself (200,
``ValidationErrors`` on the failed ones, the others saved); otherwise (Xero's default) one
invalid element fails the request with a 400 ``ValidationException`` listing the elements, and
none is saved.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from local.sandboxes.kit.wire import Request, Response, json_response
from local.sandboxes.xero import errors, where
from local.sandboxes.xero.books import Invalid, Organisation, Organisations, Record
from local.sandboxes.xero.errors import XeroError
from local.sandboxes.xero.identity import Grant, XeroIdentity
from local.sandboxes.xero.limits import Idempotency, Limits
from local.sandboxes.xero.spec import SpecCheck

PREFIX = "/api.xro/2.0"
# The ids a 400's Element carries (spec ``Element``).
ELEMENT_IDS = frozenset({"ContactID", "InvoiceID", "ItemID", "CreditNoteID"})


@dataclass(frozen=True)
class Entity:
    """A kind of object: its collection, its JSON key and id, and the scopes that reach it."""

    plural: str  # the JSON key and the path: Contacts
    id_key: str  # ContactID
    number_key: str | None  # a second key a GET by id also accepts (ContactNumber, Code, InvoiceNumber)
    collection: str  # the Organisation's attribute
    scope: str  # the granular scope that writes it (its .read variant reads it)
    broad: str  # the broad scope older apps hold
    error_flag: str | None  # the element's error boolean (HasErrors, HasValidationErrors)

    @property
    def name(self) -> str:
        return self.plural.lower()

    def records(self, org: Organisation) -> dict[str, Record]:
        records: dict[str, Record] = getattr(org, self.collection)
        return records


CONTACTS = Entity(
    "Contacts",
    "ContactID",
    "ContactNumber",
    "contacts",
    "accounting.contacts",
    "accounting.contacts",
    "HasValidationErrors",
)
ITEMS = Entity("Items", "ItemID", "Code", "items", "accounting.invoices", "accounting.settings", None)
INVOICES = Entity(
    "Invoices",
    "InvoiceID",
    "InvoiceNumber",
    "invoices",
    "accounting.invoices",
    "accounting.transactions",
    "HasErrors",
)
PAYMENTS = Entity(
    "Payments",
    "PaymentID",
    None,
    "payments",
    "accounting.payments",
    "accounting.transactions",
    "HasValidationErrors",
)
CREDIT_NOTES = Entity(
    "CreditNotes",
    "CreditNoteID",
    "CreditNoteNumber",
    "credit_notes",
    "accounting.invoices",
    "accounting.transactions",
    "HasErrors",
)
ACCOUNTS = Entity(
    "Accounts", "AccountID", "Code", "accounts", "accounting.settings", "accounting.settings", None
)
ENTITIES = (CONTACTS, ITEMS, INVOICES, PAYMENTS, CREDIT_NOTES, ACCOUNTS)
# The query parameter listing ids, and the field it matches, per collection.
ID_LISTS = {
    "Contacts": (("IDs", "ContactID"),),
    "Invoices": (
        ("IDs", "InvoiceID"),
        ("InvoiceNumbers", "InvoiceNumber"),
        ("ContactIDs", "Contact.ContactID"),
        ("Statuses", "Status"),
    ),
    "CreditNotes": (("IDs", "CreditNoteID"),),
}
ORDERABLE = re.compile(r"^\s*([A-Za-z][\w.]*)(?:\s+(ASC|DESC))?\s*$", re.IGNORECASE)


Handler = Callable[[Request, Organisation, dict[str, str]], Response]


def _utc(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            raise errors.validation(
                f"If-Modified-Since {value!r} is not a date (use 2026-12-06T10:00:00)"
            ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Accounting:
    def __init__(
        self,
        organisations: Organisations,
        identity: XeroIdentity,
        limits: Limits,
        idempotency: Idempotency,
        page_size: Callable[[], int],
        spec_check: Callable[[], SpecCheck | None] = lambda: None,
    ) -> None:
        self.organisations = organisations
        self.identity = identity
        self.limits = limits
        self.idempotency = idempotency
        self.page_size = page_size
        self.spec_check = spec_check

    # ------------------------------------------------------------ routes

    def routes(self) -> list[tuple[str, str, Entity | None, str, Handler]]:
        """(method, path under /api.xro/2.0, entity, operation, handler)."""
        found: list[tuple[str, str, Entity | None, str, Handler]] = [
            ("GET", "/Organisation", ACCOUNTS, "read", self.organisation),
        ]
        for entity in ENTITIES:
            ident = f"/{entity.plural}/(?P<ident>[^/]+)"
            found += [
                ("GET", f"/{entity.plural}", entity, "query", self._lister(entity)),
                ("GET", ident, entity, "read", self._getter(entity)),
            ]
            if entity is ACCOUNTS:
                continue
            found += [
                ("PUT", f"/{entity.plural}", entity, "create", self._writer(entity, create_only=True)),
                ("POST", f"/{entity.plural}", entity, "update", self._writer(entity, create_only=False)),
            ]
            if entity is PAYMENTS:
                found.append(("POST", ident, entity, "delete", self.delete_payment))
            else:
                found.append(("POST", ident, entity, "update", self._writer(entity, create_only=False)))
        found.append(("DELETE", "/Items/(?P<ident>[^/]+)", ITEMS, "delete", self.delete_item))
        found.append(
            ("PUT", "/CreditNotes/(?P<ident>[^/]+)/Allocations", CREDIT_NOTES, "create", self.allocate)
        )
        return found

    # ------------------------------------------------------------ the call around every handler

    def tenant_of(self, request: Request) -> str | None:
        return request.header("xero-tenant-id")

    def call(
        self, request: Request, entity: Entity | None, handler: Handler, params: dict[str, str]
    ) -> Response:
        try:
            grant = self.identity.grant_of(request.header("authorization"))
            self._check_scope(grant, entity, request.method)
            tenant = (self.tenant_of(request) or "").lower()
            org = self.organisations.get(tenant)
            if org is None or tenant not in grant.tenant_ids():
                raise errors.forbidden()
            with self.limits.admit(tenant, grant.client_id):
                response = self._keyed(
                    request, grant, tenant, lambda: self._serve(handler, request, org, params)
                )
        except XeroError as error:
            response = error.response()
            tenant = (self.tenant_of(request) or "").lower()
            grant = None
        if response.status != 401 and tenant and grant is not None:
            response.headers.update(self.limits.headers(tenant, grant.client_id))
        check = self.spec_check()
        if check is not None:
            check.exchange(
                request.method, request.path[len(PREFIX) :], request.body, response.status, response.body
            )
        return response

    @staticmethod
    def _serve(handler: Handler, request: Request, org: Organisation, params: dict[str, str]) -> Response:
        try:
            with org.lock:
                return handler(request, org, params)
        except XeroError as error:
            return error.response()
        except Invalid as invalid:
            return errors.validation(invalid.messages[0]).response()

    def _keyed(self, request: Request, grant: Grant, tenant: str, serve: Callable[[], Response]) -> Response:
        key = request.header("idempotency-key")
        if key is None or request.method not in {"POST", "PUT", "PATCH"}:
            return serve()
        target = (
            request.path + "?" + "&".join(f"{k}={v}" for k, vs in sorted(request.query.items()) for v in vs)
        )
        kept, first = self.idempotency.claim(
            grant.client_id, key, self.idempotency.fingerprint(request.method, target, tenant, request.body)
        )
        if first:
            try:
                response = serve()
            except BaseException:
                self.idempotency.forget(grant.client_id, key, kept)
                raise
            self.idempotency.keep(kept, response)
            return Response(response.status, response.body, dict(response.headers), response.fault_code)
        kept.done.wait(timeout=60)
        if kept.response is None:
            raise errors.bad_request(f"The request with Idempotency-Key {key} is still being processed.")
        original = kept.response
        return Response(
            original.status, original.body, dict(original.headers), original.fault_code, replayed=True
        )

    @staticmethod
    def _check_scope(grant: Grant, entity: Entity | None, method: str) -> None:
        if entity is None:
            return
        held = set(grant.scopes)
        wanted = {entity.scope, entity.broad}
        if method == "GET":
            wanted |= {f"{entity.scope}.read", f"{entity.broad}.read"}
        if not held & wanted:
            raise errors.unauthorized("AuthorizationUnsuccessful")

    # ------------------------------------------------------------ reads

    def organisation(self, request: Request, org: Organisation, params: dict[str, str]) -> Response:
        return json_response(200, {"Organisations": [org.public()]})

    def _lister(self, entity: Entity) -> Handler:
        def serve(request: Request, org: Organisation, params: dict[str, str]) -> Response:
            records = list(entity.records(org).values())
            since = request.header("if-modified-since")
            if since is not None:
                moment = _utc(since)
                records = [
                    r for r in records if r.updated.replace(microsecond=0) >= moment.replace(microsecond=0)
                ]
            bodies = [r.body for r in records]
            if entity is CONTACTS and request.param("includeArchived") != "true":
                bodies = [b for b in bodies if b["ContactStatus"] == "ACTIVE"]
            for param, path in ID_LISTS.get(entity.plural, ()):
                listed = request.param(param)
                if listed:
                    wanted = {v.strip().lower() for v in listed.split(",") if v.strip()}
                    bodies = [b for b in bodies if str(where.value_at(b, path)).lower() in wanted]
            clause = request.param("where")
            if clause:
                try:
                    bodies = [b for b in bodies if where.parse(clause)(b)]
                except where.BadWhere as bad:
                    raise errors.validation(str(bad)) from None
            search = request.param("searchTerm")
            if search and entity is CONTACTS:
                needle = search.lower()
                bodies = [
                    b
                    for b in bodies
                    if any(
                        needle in str(b.get(k, "")).lower()
                        for k in ("Name", "FirstName", "LastName", "EmailAddress", "ContactNumber")
                    )
                ]
            bodies = self._ordered(bodies, request.param("order"))
            answer: dict[str, Any] = {}
            page = request.param("page")
            if page is not None:
                bodies, answer["pagination"] = self._page(bodies, page, request.param("pageSize"))
            answer[entity.plural] = bodies
            return json_response(200, answer)

        return serve

    @staticmethod
    def _ordered(bodies: list[dict[str, Any]], order: str | None) -> list[dict[str, Any]]:
        if not order:
            return bodies
        found = ORDERABLE.match(order)
        if found is None:
            raise errors.validation(f"The order {order!r} is not understood (e.g. order=Name ASC)")
        path, direction = found.group(1), (found.group(2) or "ASC").upper()
        return sorted(bodies, key=lambda b: str(where.value_at(b, path) or ""), reverse=direction == "DESC")

    def _page(
        self, bodies: list[dict[str, Any]], page: str, size: str | None
    ) -> tuple[list[dict[str, Any]], dict[str, int]]:
        try:
            number = int(page)
            per = int(size) if size is not None else self.page_size()
        except ValueError:
            raise errors.validation("page and pageSize must be whole numbers") from None
        if number < 1 or not 1 <= per <= 1000:
            raise errors.validation("page must be 1 or more and pageSize between 1 and 1000")
        count = len(bodies)
        pages = (count + per - 1) // per
        chunk = bodies[(number - 1) * per : number * per]
        return chunk, {"page": number, "pageSize": per, "pageCount": pages, "itemCount": count}

    def _getter(self, entity: Entity) -> Handler:
        def serve(request: Request, org: Organisation, params: dict[str, str]) -> Response:
            ident = params["ident"]
            records = entity.records(org)
            record = records.get(ident.lower()) or records.get(ident)
            if record is None and entity.number_key is not None:
                record = org.find(records, entity.number_key, ident)
            if record is None:
                raise errors.not_found(f"{entity.plural[:-1]} {ident}")
            return json_response(200, {entity.plural: [record.body]})

        return serve

    # ------------------------------------------------------------ writes

    def _elements(self, request: Request, entity: Entity) -> list[dict[str, Any]]:
        try:
            body = request.json()
        except ValueError:
            raise errors.bad_request("The request body is not valid JSON.") from None
        if isinstance(body, dict) and entity.plural in body:
            elements = body[entity.plural]
        elif isinstance(body, dict):
            elements = [body]
        else:
            elements = body
        if not isinstance(elements, list) or not all(isinstance(e, dict) for e in elements):
            raise errors.bad_request(
                f'The body must be {{"{entity.plural}": [ ... ]}} with one object per element.'
            )
        return elements

    def _save(
        self, org: Organisation, entity: Entity, element: dict[str, Any], ident: str | None, *, match: bool
    ) -> dict[str, Any]:
        """PUT creates (``match`` False); POST also updates the element its number or code names."""
        if entity is CONTACTS:
            return org.save_contact(element, ident, match=match)
        if entity is ITEMS:
            return org.save_item(element, ident, match=match)
        if entity is INVOICES:
            return org.save_invoice(element, ident, match=match)
        if entity is CREDIT_NOTES:
            return org.save_credit_note({**element, **({"CreditNoteID": ident} if ident else {})})
        return org.add_payment(element)

    def _writer(self, entity: Entity, *, create_only: bool) -> Handler:
        def serve(request: Request, org: Organisation, params: dict[str, str]) -> Response:
            elements = self._elements(request, entity)
            ident = params.get("ident")
            summarize = request.param("summarizeErrors") != "false"
            snapshot = (
                copy.deepcopy(org.__dict__ | {"lock": None}) if summarize and len(elements) > 1 else None
            )
            answers, failed = [], False
            for element in elements:
                try:
                    if create_only and element.get(entity.id_key):
                        raise Invalid(f"{entity.id_key} cannot be set when creating (use POST to update)")
                    saved = dict(self._save(org, entity, element, ident, match=not create_only))
                    if not summarize:
                        saved["StatusAttributeString"] = "OK"
                    answers.append(saved)
                except Invalid as invalid:
                    failed = True
                    answers.append(self._failed(entity, element, invalid))
            if failed and summarize:
                if snapshot is not None:
                    org.__dict__.update({k: v for k, v in snapshot.items() if k != "lock"})
                return errors.validation(
                    "A validation exception occurred", self._elements_of(entity, elements, answers)
                ).response()
            return json_response(200, {entity.plural: answers})

        return serve

    @staticmethod
    def _elements_of(
        entity: Entity, elements: list[dict[str, Any]], answers: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """A summarized 400's ``Elements`` (spec ``Element``): each element's validation errors,
        with the id it was sent with (nothing was saved)."""
        return [
            {
                "ValidationErrors": answer.get("ValidationErrors", [])
                if answer.get("StatusAttributeString") == "ERROR"
                else [],
                **(
                    {entity.id_key: element[entity.id_key]}
                    if entity.id_key in ELEMENT_IDS and element.get(entity.id_key)
                    else {}
                ),
            }
            for element, answer in zip(elements, answers, strict=True)
        ]

    @staticmethod
    def _failed(entity: Entity, element: dict[str, Any], invalid: Invalid) -> dict[str, Any]:
        echoed = {
            **element,
            "StatusAttributeString": "ERROR",
            "ValidationErrors": [{"Message": message} for message in invalid.messages],
        }
        if entity.error_flag is not None:
            echoed[entity.error_flag] = True
        return echoed

    def delete_payment(self, request: Request, org: Organisation, params: dict[str, str]) -> Response:
        elements = self._elements(request, PAYMENTS)
        if len(elements) != 1 or elements[0].get("Status") != "DELETED":
            raise errors.validation(
                'A payment is deleted with {"Status": "DELETED"}; it cannot be edited otherwise'
            )
        return json_response(200, {"Payments": [org.delete_payment(params["ident"])]})

    def delete_item(self, request: Request, org: Organisation, params: dict[str, str]) -> Response:
        record = org.items.get(params["ident"])
        if record is None:
            raise errors.not_found(f"Item {params['ident']}")
        code = record.body["Code"]
        if any(
            line.get("ItemCode") == code for inv in org.invoices.values() for line in inv.body["LineItems"]
        ):
            raise errors.validation(f"Item '{code}' cannot be deleted: it is used on a transaction")
        del org.items[params["ident"]]
        return Response(204)

    def allocate(self, request: Request, org: Organisation, params: dict[str, str]) -> Response:
        try:
            body = request.json()
        except ValueError:
            raise errors.bad_request("The request body is not valid JSON.") from None
        elements = body.get("Allocations") if isinstance(body, dict) else None
        if not isinstance(elements, list) or len(elements) != 1 or not isinstance(elements[0], dict):
            raise errors.bad_request('The body must be {"Allocations": [ {...} ]} with one allocation.')
        return json_response(200, {"Allocations": [org.allocate(params["ident"], elements[0])]})
