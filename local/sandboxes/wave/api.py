"""POST /graphql/public: Wave's one endpoint. A request is parsed, validated and its variables coerced
first (``GRAPHQL_VALIDATION_FAILED``, ``BAD_USER_INPUT``), then authenticated (``UNAUTHENTICATED``),
then run; every answer is HTTP 200 with ``data`` and/or ``errors[{message, extensions{code}}]``, a
mutation answering ``didSucceed`` and ``inputErrors{code message path}``.

A token reaches only the businesses its grant covers (another is ``NOT_FOUND``) and only what its
scopes name (``resource:read|write|*``; a missing scope is ``FORBIDDEN``, assumed); a covered
business that no longer has a paid plan is ``FORBIDDEN`` with ``extensions.reason``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from graphql import (
    ExecutionResult,
    FieldNode,
    GraphQLError,
    GraphQLObjectType,
    OperationDefinitionNode,
    execute,
)

from local.sandboxes.wave import writes
from local.sandboxes.wave.books import NORMAL_BALANCE, SUBTYPES, Business, Businesses, InputErrors, Missing
from local.sandboxes.wave.identity import Grant
from local.sandboxes.wave.schema import Rejected, checked, error_entry, wave_schema
from local.sandboxes.wave.views import (
    COUNTRIES,
    CURRENCIES,
    Views,
    account_subtype,
    account_type,
    bad_input,
    country,
    currency,
    page_of,
    province,
)

log = logging.getLogger("booksync.sandbox.wave")
UNAUTHENTICATED = "UNAUTHENTICATED"
NOT_FOUND = "NOT_FOUND"
FORBIDDEN = "FORBIDDEN"
UNSUPPORTED = "SANDBOX_UNSUPPORTED"
INTERNAL = "INTERNAL_SERVER_ERROR"

# Root mutation field -> (scope, what it writes, output key).
MUTATIONS: dict[str, tuple[str, str, str | None]] = {
    "customerCreate": ("customer:write", "customer", "customer"),
    "customerPatch": ("customer:write", "customer", "customer"),
    "customerDelete": ("customer:write", "customer", None),
    "productCreate": ("product:write", "product", "product"),
    "productPatch": ("product:write", "product", "product"),
    "productArchive": ("product:write", "product", "product"),
    "salesTaxCreate": ("sales_tax:write", "sales_tax", "salesTax"),
    "invoiceCreate": ("invoice:write", "invoice", "invoice"),
    "invoicePatch": ("invoice:write", "invoice", "invoice"),
    "invoiceApprove": ("invoice:write", "invoice", "invoice"),
    "invoiceMarkSent": ("invoice:write", "invoice", "invoice"),
    "invoiceSend": ("invoice:send", "invoice", "invoice"),
    "invoiceDelete": ("invoice:write", "invoice", None),
    "invoicePaymentCreateManual": ("invoice:write", "invoice_payment", "invoicePayment"),
    "invoicePaymentPatch": ("invoice:write", "invoice_payment", "invoicePayment"),
    "invoicePaymentDelete": ("invoice:write", "invoice_payment", None),
    "moneyTransactionCreate": ("transaction:write", "money_transaction", "transaction"),
}


def _error(message: str, code: str, **extra: object) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code, **extra})


class RequestContext:
    """One authenticated request: its grant, the books and the sandbox's calendar."""

    def __init__(self, grant: Grant, books: Businesses, now: Callable[[], datetime]) -> None:
        self.grant = grant
        self.books = books
        self._now = now

    def now(self) -> datetime:
        return self._now()

    def today(self) -> date:
        return self._now().date()

    def require(self, scope: str) -> None:
        resource, _, _operation = scope.partition(":")
        granted = self.grant.scopes
        if scope in granted or f"{resource}:*" in granted:
            return
        raise _error(f"The access token does not grant the {scope} scope.", FORBIDDEN)

    def business(self, business_id: str | None) -> Business:
        business = self.books.get(business_id or "")
        if business is None or not self.grant.covers(business.id):
            raise _error("Business not found.", NOT_FOUND)
        problem = business.eligibility() if self.grant.eligible_only else None
        if problem is not None:
            raise _error(problem[1], FORBIDDEN, reason=problem[0])
        return business


# ------------------------------------------------------------------ root fields


def _ctx(info: Any) -> RequestContext:
    context: RequestContext = info.context
    return context


def _user(_root: Any, info: Any) -> dict[str, Any]:
    ctx = _ctx(info)
    ctx.require("user:read")
    user = ctx.grant.user
    return {
        "id": user.id,
        "firstName": user.first_name,
        "lastName": user.last_name,
        "defaultEmail": user.email,
        "createdAt": user.created,
        "modifiedAt": user.created,
        "businesses": lambda _info, page=1, pageSize=10: _businesses(None, info, page, pageSize),
    }


def _visible(ctx: RequestContext) -> list[Business]:
    return [b for b in ctx.books.all() if ctx.grant.covers(b.id)]


def _businesses(
    _root: Any,
    info: Any,
    page: int = 1,
    pageSize: int = 10,
    isArchived: bool | None = None,
) -> dict[str, Any]:
    ctx = _ctx(info)
    ctx.require("business:read")
    chosen = [b for b in _visible(ctx) if isArchived is None or b.archived == isArchived]
    return page_of(sorted(chosen, key=lambda b: b.name), page, pageSize, lambda b: Views(b, ctx).business())


def _business(_root: Any, info: Any, id: str | None = None) -> dict[str, Any]:
    ctx = _ctx(info)
    ctx.require("business:read")
    return Views(ctx.business(id), ctx).business()


def _currency(_root: Any, _info: Any, code: str) -> dict[str, Any]:
    return currency(code)


def _country(_root: Any, _info: Any, code: str) -> dict[str, Any]:
    return country(code)


def _province(_root: Any, _info: Any, code: str) -> dict[str, Any] | None:
    return province(code) if "-" in code else None


def _application(_root: Any, info: Any) -> dict[str, Any]:
    """The app the token was issued to (a full access token's is the developer portal's)."""
    client_id = _ctx(info).grant.client_id
    return {"id": client_id, "name": client_id, "description": None, "clientId": client_id}


QUERIES: dict[str, Callable[..., Any]] = {
    "user": _user,
    "businesses": _businesses,
    "business": _business,
    "currencies": lambda *_: [currency(code) for code in CURRENCIES],
    "currency": _currency,
    "countries": lambda *_: [country(code) for code in COUNTRIES],
    "country": _country,
    "province": _province,
    "accountTypes": lambda *_: [account_type(kind) for kind in NORMAL_BALANCE],
    "accountSubtypes": lambda *_: [account_subtype(value) for value in SUBTYPES],
    "oAuthApplication": _application,
}


# ------------------------------------------------------------------ mutations


def _target(ctx: RequestContext, data: dict[str, Any]) -> Business:
    """The business a mutation writes: its businessId, else the owner of the id it names."""
    if data.get("businessId"):
        return ctx.business(data["businessId"])
    for key in ("id", "invoiceId"):
        if data.get(key):
            owner = ctx.books.owning(data[key])
            if owner is None or not ctx.grant.covers(owner.id):
                raise _error(f"{data[key]} not found.", NOT_FOUND)
            return ctx.business(owner.id)
    raise bad_input("The input names no business")


def _write(name: str, business: Business, data: dict[str, Any], ctx: RequestContext) -> tuple[Any, Views]:
    """Apply one mutation; answers the record's view (None for a delete)."""
    now, views = ctx.now(), Views(business, ctx)
    match name:
        case "customerCreate":
            return views.customer(writes.customer_create(business, data, now)), views
        case "customerPatch":
            return views.customer(writes.customer_patch(business, data, now)), views
        case "customerDelete":
            writes.customer_delete(business, data)
        case "productCreate":
            return views.product(writes.product_create(business, data, now)), views
        case "productPatch":
            return views.product(writes.product_patch(business, data, now)), views
        case "productArchive":
            return views.product(writes.product_archive(business, data, now)), views
        case "salesTaxCreate":
            return views.sales_tax(writes.sales_tax_create(business, data, now)), views
        case "invoiceCreate":
            return views.invoice(writes.invoice_create(business, data, now, ctx.today())), views
        case "invoicePatch":
            return views.invoice(writes.invoice_patch(business, data, now)), views
        case "invoiceApprove":
            return views.invoice(writes.invoice_approve(business, data, now)), views
        case "invoiceMarkSent":
            return views.invoice(writes.invoice_mark_sent(business, data, now)), views
        case "invoiceSend":
            return views.invoice(writes.invoice_mark_sent(business, data, now, via="WAVE")), views
        case "invoiceDelete":
            writes.invoice_delete(business, data)
        case "invoicePaymentCreateManual":
            return views.payment(writes.payment_create(business, data, now)), views
        case "invoicePaymentPatch":
            return views.payment(writes.payment_patch(business, data, now)), views
        case "invoicePaymentDelete":
            writes.payment_delete(business, data, now)
        case "moneyTransactionCreate":
            transaction = writes.money_transaction_create(business, data, now)
            return {"id": transaction.id}, views
        case _:
            raise AssertionError(name)
    return None, views


def _mutation(name: str) -> Callable[..., dict[str, Any]]:
    scope, _entity, out = MUTATIONS[name]

    def resolve(_root: Any, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        ctx = _ctx(info)
        ctx.require(scope)
        business = _target(ctx, input)
        with business.lock:
            try:
                record, _views = _write(name, business, input, ctx)
            except InputErrors as refused:
                return {"didSucceed": False, "inputErrors": refused.errors, **({out: None} if out else {})}
            except Missing as missing:
                raise _error(str(missing), NOT_FOUND) from None
            business.modified = ctx.now()
        return {"didSucceed": True, "inputErrors": [], **({out: record} if out else {})}

    return resolve


def _unsupported(name: str) -> Callable[..., Any]:
    def resolve(*_: Any, **__: Any) -> Any:
        raise _error(f"{name} is in Wave's schema but the sandbox does not model it.", UNSUPPORTED)

    return resolve


def _wire_resolvers() -> None:
    schema = wave_schema()
    query, mutation = schema.query_type, schema.mutation_type
    assert isinstance(query, GraphQLObjectType)
    assert isinstance(mutation, GraphQLObjectType)
    for name, field in query.fields.items():
        field.resolve = QUERIES.get(name) or _unsupported(name)
    for name, field in mutation.fields.items():
        field.resolve = _mutation(name) if name in MUTATIONS else _unsupported(name)


_wire_resolvers()


# ------------------------------------------------------------------ a request


def run(
    body: dict[str, Any], grant_of: Callable[[], Grant | None], books: Businesses, now: Callable[[], datetime]
) -> dict[str, Any]:
    """The answer's JSON to one GraphQL request (HTTP 200 whatever it says)."""
    try:
        document, operation, _variables = checked(
            body.get("query"), body.get("variables"), body.get("operationName")
        )
    except Rejected as rejected:
        return rejected.payload()
    grant = grant_of()
    if grant is None and not _introspection_only(operation):
        return {
            "errors": [
                error_entry(GraphQLError("You must be logged in to perform this action."), UNAUTHENTICATED)
            ]
        }
    context = RequestContext(grant, books, now) if grant is not None else None
    result = execute(  # the raw variables: execute coerces them again, as checked() just did
        wave_schema(),
        document,
        context_value=context,
        variable_values=body.get("variables") or {},
        operation_name=operation.name.value if operation.name else None,
    )
    assert isinstance(result, ExecutionResult)
    answer: dict[str, Any] = {"data": result.data}
    if result.errors:
        answer["errors"] = [_entry(error) for error in result.errors]
    return answer


def _introspection_only(operation: OperationDefinitionNode) -> bool:
    """Wave answers introspection without a token (wave-mcp-server's CI loads the schema so)."""
    fields = operation.selection_set.selections
    return all(isinstance(f, FieldNode) and f.name.value.startswith("__") for f in fields)


def _entry(error: GraphQLError) -> dict[str, Any]:
    extensions = dict(error.extensions or {})
    code = str(extensions.pop("code", INTERNAL))
    if error.original_error is not None and not isinstance(error.original_error, GraphQLError):
        log.error("sandbox error in a resolver", exc_info=error.original_error)
        return error_entry(GraphQLError("Internal server error", path=error.path), INTERNAL)
    return error_entry(error, code, **extensions)
