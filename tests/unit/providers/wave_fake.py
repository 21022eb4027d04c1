"""A small in-memory Wave for unit tests, served through ``httpx.MockTransport``.

It answers the operations booksync sends (``providers/wave/operations.py``) by their
``operationName``, in Wave's shapes: ``{"data": ...}`` at HTTP 200, errors as
``{"errors": [{"message", "extensions": {"code"}}]}`` at HTTP 200, a mutation's refusal as
``{"didSucceed": false, "inputErrors": [...]}``; an invoice is created a draft, approved, marked
sent, and takes payments only once approved. ``lose_answer`` applies the next call of a mutation
then drops its answer (a reset): the write happened, the caller cannot know.
"""

from __future__ import annotations

import itertools
from collections import Counter
from decimal import Decimal
from typing import Any

import httpx
from booksync.providers.http import HttpClient, dumps_json, loads_json
from booksync.providers.wave.client import WaveClient

from tests.unit.providers.qbo_fake import FakeTokens

BUSINESS = "QnVzaW5lc3M6MQ=="
API = "https://gql.wave.test/graphql/public"
Json = dict[str, Any]


def ok(data: Any) -> httpx.Response:
    return httpx.Response(200, content=dumps_json({"data": data}).encode())


def error(code: str, message: str, status: int = 200) -> httpx.Response:
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return httpx.Response(status, content=dumps_json(body).encode())


def _money(value: Decimal) -> Json:
    return {"value": f"{value:.2f}", "currency": {"code": "USD"}}


class FakeWave:
    def __init__(self) -> None:
        self.ids = itertools.count(1)
        self.customers: dict[str, Json] = {}
        self.products: dict[str, Json] = {}
        self.invoices: dict[str, Json] = {}
        self.payments: dict[str, Json] = {}
        self.sales_taxes: list[Json] = []
        self.accounts: list[Json] = [
            {"id": "acc-sales", "name": "Sales", "type": {"value": "INCOME"}, "subtype": {"value": "INCOME"}},
            {
                "id": "acc-bank",
                "name": "Checking",
                "type": {"value": "ASSET"},
                "subtype": {"value": "CASH_AND_BANK"},
            },
        ]
        self.calls: Counter[str] = Counter()
        self.sent: list[tuple[str, Json]] = []
        self.lost: set[str] = set()
        self.queued: list[httpx.Response] = []
        self.page_size: int | None = None
        # Wave answering a create as a draft whatever its status (then booksync approves it).
        self.creates_drafts = False
        # Whether Wave's invoiceNumber filter is exact is not documented: it may match a part.
        self.number_filter_matches_part = False
        # Every approved, unpaid invoice past its due date (Wave reads it OVERDUE, sent or not).
        self.overdue = False

    def lose_answer(self, operation: str) -> None:
        self.lost.add(operation)

    def client(self, tokens: FakeTokens | None = None) -> WaveClient:
        http = HttpClient(
            provider="wave", label="Wave", transport=httpx.MockTransport(self.handle), sleep=lambda _s: None
        )
        return WaveClient(business_id=BUSINESS, tokens=tokens or FakeTokens(), http=http, api_url=API)

    # ------------------------------------------------------------------ transport

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = loads_json(request.content)
        name, variables = body["operationName"], body["variables"]
        self.calls[name] += 1
        self.sent.append((name, variables))
        if self.queued:
            return self.queued.pop(0)
        answer = getattr(self, f"_{name}")(variables)
        if name in self.lost:
            self.lost.discard(name)
            raise httpx.ReadError("connection reset", request=request)
        return answer

    def _page(self, rows: list[Json], variables: Json, field: str) -> httpx.Response:
        size = self.page_size or variables["pageSize"]
        page = variables["page"]
        chunk = rows[(page - 1) * size : page * size]
        pages = max(1, -(-len(rows) // size))
        connection = {
            "pageInfo": {"currentPage": page, "totalPages": pages, "totalCount": len(rows)},
            "edges": [{"node": row} for row in chunk],
        }
        return ok({"business": {"id": BUSINESS, field: connection}})

    def _one(self, field: str, row: Json | None) -> httpx.Response:
        return ok({"business": {"id": BUSINESS, field: row}})

    def _payload(
        self, field: str, key: str, row: Json | None, errors: list[Json] | None = None
    ) -> httpx.Response:
        if errors:
            return ok({field: {"didSucceed": False, "inputErrors": errors, key: None}})
        return ok({field: {"didSucceed": True, "inputErrors": [], key: row}})

    # ------------------------------------------------------------------ reads

    def _WaveBusiness(self, _v: Json) -> httpx.Response:
        return ok(
            {"business": {"id": BUSINESS, "name": "Acme", "isArchived": False, "currency": {"code": "USD"}}}
        )

    def _WaveAccounts(self, v: Json) -> httpx.Response:
        return self._page(self.accounts, v, "accounts")

    def _WaveSalesTaxes(self, v: Json) -> httpx.Response:
        return self._page(self.sales_taxes, v, "salesTaxes")

    def _WaveCustomers(self, v: Json) -> httpx.Response:
        return self._page(sorted(self.customers.values(), key=lambda c: c["name"]), v, "customers")

    def _WaveCustomer(self, v: Json) -> httpx.Response:
        return self._one("customer", self.customers.get(v["id"]))

    def _WaveProducts(self, v: Json) -> httpx.Response:
        return self._page(sorted(self.products.values(), key=lambda p: p["name"]), v, "products")

    def _WaveProduct(self, v: Json) -> httpx.Response:
        return self._one("product", self.products.get(v["id"]))

    def _WaveInvoices(self, v: Json) -> httpx.Response:
        wanted = str(v.get("invoiceNumber"))
        rows = [
            i
            for i in self.invoices.values()
            if i["invoiceNumber"] == wanted
            or (self.number_filter_matches_part and wanted in i["invoiceNumber"])
        ]
        return self._page([self._invoice(i) for i in rows], v, "invoices")

    def _WaveInvoice(self, v: Json) -> httpx.Response:
        found = self.invoices.get(v["id"])
        row = None if found is None else {**self._invoice(found), "payments": self._payments_of(found["id"])}
        return self._one("invoice", row)

    def _payments_of(self, invoice_id: str) -> list[Json]:
        return [p for p in self.payments.values() if p["invoice"]["id"] == invoice_id]

    def _invoice(self, stored: Json) -> Json:
        total = stored["_total"]
        paid = sum((Decimal(p["amount"]) for p in self._payments_of(stored["id"])), Decimal(0))
        status = stored["status"]
        if status not in ("DRAFT", "SAVED") and paid:
            status = "PAID" if paid >= total else "PARTIAL"
        elif status != "DRAFT" and self.overdue:
            status = "OVERDUE"
        customer = self.customers[stored["customerId"]]
        return {
            "id": stored["id"],
            "status": status,
            "invoiceNumber": stored["invoiceNumber"],
            "poNumber": stored.get("poNumber"),
            "memo": stored.get("memo"),
            "lastSentAt": stored.get("lastSentAt"),
            "currency": {"code": stored.get("currency", "USD")},
            "customer": {"id": customer["id"], "displayId": customer.get("displayId")},
            "total": _money(total),
            "amountDue": _money(total - paid),
            "amountPaid": _money(paid),
        }

    # ------------------------------------------------------------------ writes

    def _WaveCustomerCreate(self, v: Json) -> httpx.Response:
        fields = dict(v["input"])
        fields.pop("businessId")
        row = {"id": f"cus-{next(self.ids)}", **fields}
        self.customers[row["id"]] = row
        return self._payload("customerCreate", "customer", row)

    def _WaveCustomerPatch(self, v: Json) -> httpx.Response:
        row = self.customers[v["input"]["id"]]
        row.update(v["input"])
        return self._payload("customerPatch", "customer", row)

    def _WaveProductCreate(self, v: Json) -> httpx.Response:
        fields = dict(v["input"])
        fields.pop("businessId")
        row = {"id": f"pro-{next(self.ids)}", "isArchived": False, **fields}
        self.products[row["id"]] = row
        return self._payload("productCreate", "product", row)

    def _WaveProductPatch(self, v: Json) -> httpx.Response:
        row = self.products[v["input"]["id"]]
        row.update(v["input"])
        return self._payload("productPatch", "product", row)

    def _total(self, fields: Json) -> Decimal:
        total = sum(
            (
                Decimal(item["quantity"]) * Decimal(item["unitPrice"])
                + sum((Decimal(t["amount"]) for t in item.get("taxes", [])), Decimal(0))
                for item in fields["items"]
            ),
            Decimal(0),
        )
        return total - sum((Decimal(d["amount"]) for d in fields.get("discounts", [])), Decimal(0))

    def _WaveInvoiceCreate(self, v: Json) -> httpx.Response:
        fields = dict(v["input"])
        row = {"id": f"inv-{next(self.ids)}", **fields, "_total": self._total(fields)}
        row["status"] = "DRAFT" if self.creates_drafts else fields.get("status", "DRAFT")
        self.invoices[row["id"]] = row
        return self._payload("invoiceCreate", "invoice", self._invoice(row))

    def _WaveInvoicePatch(self, v: Json) -> httpx.Response:
        row = self.invoices[v["input"]["id"]]
        assert "status" not in v["input"], "a patch leaves the invoice's status as it is"
        if self._payments_of(row["id"]):
            errors = [
                {
                    "path": ["input", "items"],
                    "message": "Invoice with payments cannot be edited",
                    "code": "INVALID",
                }
            ]
            return self._payload("invoicePatch", "invoice", None, errors)
        row.update(v["input"])
        row["_total"] = self._total(row)
        return self._payload("invoicePatch", "invoice", self._invoice(row))

    def _WaveInvoiceApprove(self, v: Json) -> httpx.Response:
        row = self.invoices[v["input"]["invoiceId"]]
        row["status"] = "SAVED"
        return self._payload("invoiceApprove", "invoice", self._invoice(row))

    def _WaveInvoiceMarkSent(self, v: Json) -> httpx.Response:
        row = self.invoices[v["input"]["invoiceId"]]
        if row["status"] == "DRAFT":
            errors = [
                {"path": ["input", "invoiceId"], "message": "Invoice must be approved", "code": "INVALID"}
            ]
            return self._payload("invoiceMarkSent", "invoice", None, errors)
        row["status"] = "SENT"
        row["lastSentAt"] = "2026-03-01T12:00:00Z"
        return self._payload("invoiceMarkSent", "invoice", self._invoice(row))

    def _WaveInvoiceDelete(self, v: Json) -> httpx.Response:
        self.invoices.pop(v["input"]["invoiceId"])
        return ok({"invoiceDelete": {"didSucceed": True, "inputErrors": []}})

    def _WaveInvoicePaymentCreate(self, v: Json) -> httpx.Response:
        fields = dict(v["input"])
        invoice = self.invoices[fields["invoiceId"]]
        if invoice["status"] == "DRAFT":
            errors = [
                {"path": ["input", "invoiceId"], "message": "Invoice must be approved", "code": "INVALID"}
            ]
            return self._payload("invoicePaymentCreateManual", "invoicePayment", None, errors)
        row = {
            "id": f"pay-{next(self.ids)}",
            "amount": fields["amount"],
            "paymentDate": fields["paymentDate"],
            "paymentMethod": fields["paymentMethod"],
            "memo": fields.get("memo"),
            "account": {"id": fields["paymentAccountId"]},
            "invoice": {"id": invoice["id"]},
        }
        self.payments[row["id"]] = row
        return self._payload("invoicePaymentCreateManual", "invoicePayment", row)
