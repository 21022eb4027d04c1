"""``QuickBooksCatalog``: the bulk catalog port over QuickBooks' query and Batch API.

- Lookups are plain queries with ``IN`` lists (40 values each), inactive rows included
  (``Active IN (true,false)``: inactive customers and items still hold their names), except a
  customer's by e-mail, active only as in the adapter (``INACTIVE_BY_EMAIL``). They are
  ordinary requests, so the 40-batch-requests-per-minute budget goes to writes only.
- Writes go 30 to a Batch API request (Intuit's recommended maximum), creates and sparse
  updates alike; each item's fault comes back on its own answer.
- Every HTTP request passes the caller's gate first (a limiter per realm), so the realm never
  has to answer 429; one that still comes (another process used the realm) is honoured by the
  HTTP client's Retry-After handling.
- Names the query lexer may refuse (non-ASCII) are looked up one at a time by the single-object
  adapter, which knows how to fall back to LIKE.
- A name links only when it is exactly what QuickBooks stores, and a customer only when the rest
  of the record agrees (``mapping.surely_ours``), as in the single-object adapter.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from booksync.documents import Customer, Item
from booksync.errors import Rejected
from booksync.providers.bulk import CatalogAnswer, CatalogWrite, Gate, paced
from booksync.providers.port import ItemRefs, Named, RemoteObject
from booksync.providers.quickbooks import mapping
from booksync.providers.quickbooks.adapter import ANY_ACTIVE, INACTIVE_BY_EMAIL, QuickBooksProvider
from booksync.providers.quickbooks.client import MAX_BATCH_ITEMS, BatchOp, QuickBooksClient, quote
from booksync.providers.text import name_key

Json = dict[str, Any]
T = TypeVar("T")
IN_LIST_SIZE = 40


def _chunks(values: Sequence[T], size: int) -> list[Sequence[T]]:
    return [values[start : start + size] for start in range(0, len(values), size)]


class QuickBooksCatalog:
    batch_size = MAX_BATCH_ITEMS

    def __init__(
        self, client: QuickBooksClient, gate: Gate, *, deadline: Callable[[], float | None] = lambda: None
    ) -> None:
        self._client = client
        self._gate = gate
        self._deadline = deadline
        self._single = QuickBooksProvider(client)

    # ------------------------------------------------------------------ lookups

    def find_customers(self, customers: Sequence[Customer]) -> Mapping[str, RemoteObject]:
        """As the adapter's ``find_customer``, with the lookups done as IN lists: candidates by
        exact DisplayName and by e-mail, taken only when the rest of the record agrees."""
        names = {c.id: mapping.customer_name(c) for c in customers}
        plain = [c for c in customers if names[c.id].isascii()]
        by_name: dict[str, list[Json]] = {}
        for row in self._rows("Customer", "DisplayName", sorted({names[c.id] for c in plain})):
            by_name.setdefault(name_key(str(row.get("DisplayName"))), []).append(row)
        emails = sorted({c.email for c in plain if c.email and c.email.isascii()})
        email_rows = self._rows("Customer", "PrimaryEmailAddr", emails, include_inactive=INACTIVE_BY_EMAIL)
        found: dict[str, RemoteObject] = {}
        for customer in plain:
            candidates = by_name.get(name_key(names[customer.id]), []) + [
                row for row in email_rows if customer.email and mapping.same_email(row, customer.email)
            ]
            remote = mapping.surely_ours(customer, candidates)
            if remote is not None:
                found[customer.id] = remote
        for customer in customers:
            if customer not in plain:  # the query lexer may refuse it: the adapter's fallback
                remote = self._gated(lambda c=customer: self._single.find_customer(c), batch=False)  # type: ignore[misc]
                if remote is not None:
                    found[customer.id] = remote
        return found

    def find_items(self, items: Sequence[Item]) -> Mapping[str, RemoteObject]:
        """By exactly the Name QuickBooks stores (``names.same_name``)."""
        names = {i.id: mapping.item_name(i) for i in items}
        plain = [i for i in items if names[i.id].isascii()]
        rows = self._rows("Item", "Name", sorted({names[i.id] for i in plain}))
        by_name = {name_key(str(row.get("Name"))): row for row in rows}
        found = {
            i.id: mapping.to_remote(by_name[name_key(names[i.id])], "Name")
            for i in plain
            if name_key(names[i.id]) in by_name
        }
        for item in items:
            if item not in plain:
                remote = self._gated(lambda i=item: self._single.find_item(i), batch=False)  # type: ignore[misc]
                if remote is not None:
                    found[item.id] = remote
        return found

    def distinct(self, document: Named) -> Named:
        return self._single.distinct(document)

    def _rows(
        self, entity: str, field: str, values: Sequence[str], *, include_inactive: bool = True
    ) -> list[Json]:
        rows: list[Json] = []
        for chunk in _chunks(values, IN_LIST_SIZE):
            where = (
                f"{field} IN ({','.join(quote(v) for v in chunk)})" + f" and {ANY_ACTIVE}" * include_inactive
            )
            rows.extend(self._gated(lambda w=where: self._client.select_all(entity, w), batch=False))  # type: ignore[misc]
        return rows

    def current(self, kind: str, remote_ids: Sequence[str]) -> Mapping[str, RemoteObject]:
        entity, name_key = ("Customer", "DisplayName") if kind == "customer" else ("Item", "Name")
        rows = self._rows(entity, "Id", sorted(set(remote_ids)))
        return {str(row["Id"]): mapping.to_remote(row, name_key) for row in rows}

    # ------------------------------------------------------------------ writes

    def write_many(
        self, writes: Sequence[CatalogWrite], *, idempotency_key: str
    ) -> Mapping[str, CatalogAnswer]:
        answers: dict[str, CatalogAnswer] = {}
        ops: list[BatchOp] = []
        sent: dict[str, tuple[str, str]] = {}  # bId -> (write key, name field)
        for index, write in enumerate(writes, 1):
            try:
                entity, name_key, body = _body(write)
            except Rejected as exc:  # refused before it is sent: an empty name, no income account
                answers[write.key] = CatalogAnswer(write.key, error=exc)
                continue
            if write.remote is not None:
                body = {**body, "Id": write.remote.id, "SyncToken": write.remote.version, "sparse": True}
            operation = "update" if write.remote is not None else "create"
            ops.append(BatchOp.of(str(index), operation, entity, body))
            sent[str(index)] = (write.key, name_key)
        if not ops:
            return answers
        results = self._gated(lambda: self._client.batch(ops, idempotency_key=idempotency_key), batch=True)
        for bid, (key, name_key) in sent.items():
            result = results[bid]
            if result.entity is not None:
                answers[key] = CatalogAnswer(key, remote=mapping.to_remote(result.entity, name_key))
            else:
                answers[key] = CatalogAnswer(key, error=result.error)
        return answers

    def _gated(self, call: Callable[[], T], *, batch: bool) -> T:
        return paced(self._gate, self._deadline(), call, batch=batch, provider="QuickBooks")


def _body(write: CatalogWrite) -> tuple[str, str, Json]:
    document = write.document
    if isinstance(document, Customer):
        return "Customer", "DisplayName", mapping.customer_body(document)
    refs = write.refs or ItemRefs(income_account_id=None)
    return "Item", "Name", mapping.item_body(document, refs)
