"""``OneByOne``: the catalog port (``providers/bulk.py``) over a provider's own adapter, one record
a request, for a provider that declares no batch writes (FreshBooks, Wave).

Sync Now's catalog walk (``sync/catalog.py``) is the same either way: each document is looked up
before it is created, each write goes through the exactly-once protocol (``sync/once.py``) as a
"batch" of one, and after an uncertain outcome the document is looked up again before anything is
re-sent. Every call passes the walk's own limiter (``pacing``, within the invocation's deadline)
and, inside the adapter, the gate shared with every process calling that provider company.

A write's own refusal (a duplicate name, a validation error, a stale version) comes back as its
answer, as a batch answers per write; what stops the request as a whole (a lost answer, 429,
auth) is raised, as a batch request's is.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from booksync.documents import Customer, Item
from booksync.errors import Conflict, Rejected, RemoteNotFound
from booksync.providers.bulk import CatalogAnswer, CatalogWrite, Gate, paced
from booksync.providers.port import AccountingProvider, ItemRefs, Named, RemoteObject

T = TypeVar("T")
# What the provider says of one write alone: its answer, not the request's failure.
ANSWERED = (Rejected, Conflict, RemoteNotFound)


class OneByOne:
    batch_size = 1

    def __init__(
        self,
        adapter: AccountingProvider,
        pacing: Gate,
        *,
        deadline: Callable[[], float | None] = lambda: None,
    ) -> None:
        self._adapter = adapter
        self._pacing = pacing
        self._deadline = deadline

    def find_customers(self, customers: Sequence[Customer]) -> Mapping[str, RemoteObject]:
        return self._each(customers, self._adapter.find_customer)

    def find_items(self, items: Sequence[Item]) -> Mapping[str, RemoteObject]:
        return self._each(items, self._adapter.find_item)

    def distinct(self, document: Named) -> Named:
        return self._adapter.distinct(document)

    def current(self, kind: str, remote_ids: Sequence[str]) -> Mapping[str, RemoteObject]:
        get = self._adapter.get_customer if kind == "customer" else self._adapter.get_item
        found = {
            remote_id: self._paced(functools.partial(get, remote_id)) for remote_id in sorted(set(remote_ids))
        }
        return {remote_id: remote for remote_id, remote in found.items() if remote is not None}

    def write_many(
        self, writes: Sequence[CatalogWrite], *, idempotency_key: str
    ) -> Mapping[str, CatalogAnswer]:
        answers: dict[str, CatalogAnswer] = {}
        for write in writes:  # one: ``batch_size``
            try:
                remote = self._paced(functools.partial(self._write, write, idempotency_key))
            except ANSWERED as refused:
                answers[write.key] = CatalogAnswer(write.key, error=refused)
            else:
                answers[write.key] = CatalogAnswer(write.key, remote=remote)
        return answers

    def _write(self, write: CatalogWrite, idempotency_key: str) -> RemoteObject:
        document, remote = write.document, write.remote
        if isinstance(document, Customer):
            if remote is None:
                return self._adapter.create_customer(document, idempotency_key=idempotency_key)
            return self._adapter.update_customer(remote, document, idempotency_key=idempotency_key)
        refs = write.refs or ItemRefs(income_account_id=None)
        if remote is None:
            return self._adapter.create_item(document, refs, idempotency_key=idempotency_key)
        return self._adapter.update_item(remote, document, refs, idempotency_key=idempotency_key)

    def _each(
        self, documents: Sequence[Named], find: Callable[[Named], RemoteObject | None]
    ) -> Mapping[str, RemoteObject]:
        found = {document.id: self._paced(functools.partial(find, document)) for document in documents}
        return {doc_id: remote for doc_id, remote in found.items() if remote is not None}

    def _paced(self, call: Callable[[], T]) -> T:
        return paced(self._pacing, self._deadline(), call, batch=False, provider=self._adapter.name)
