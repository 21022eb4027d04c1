"""The bulk catalog port: many customers or items per provider request (QuickBooks Batch API).

Beside ``AccountingProvider`` (one object per call) because only some providers have a batch
API, and because bulk calls are gated by a limiter the caller owns: the provider's throttles are
per company, and a resumable job carries the limiter's window from one invocation to the next.
A provider without a batch API writes its catalog through ``providers/one_by_one.py``: the same
port over its adapter, one record a request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from booksync.documents import Customer, Item
from booksync.errors import ProviderError
from booksync.providers.port import ItemRefs, Named, RemoteObject

T = TypeVar("T")


class OutOfTime(Exception):
    """No provider slot before the caller's deadline: checkpoint and continue in a new invocation."""


class Gate(Protocol):
    """Admits one provider request (see ``booksync.sync.limiter.Limiter``)."""

    def acquire(self, *, batch: bool, deadline: float | None = None) -> bool: ...
    def release(self, *, batch: bool) -> None: ...


def paced(gate: Gate, deadline: float | None, call: Callable[[], T], *, batch: bool, provider: str) -> T:
    """``call`` in one of ``gate``'s slots; ``OutOfTime`` when none comes before ``deadline``."""
    if not gate.acquire(batch=batch, deadline=deadline):
        raise OutOfTime(f"no {provider} request slot before the invocation's deadline")
    try:
        return call()
    finally:
        gate.release(batch=batch)


@dataclass(frozen=True)
class CatalogWrite:
    """Create (``remote`` None) or update one customer or item; ``key`` is the caller's id for it."""

    key: str
    document: Customer | Item
    remote: RemoteObject | None = None
    refs: ItemRefs | None = None


@dataclass(frozen=True)
class CatalogAnswer:
    key: str
    remote: RemoteObject | None = None
    error: ProviderError | None = None


class CatalogProvider(Protocol):
    batch_size: int

    def find_customers(self, customers: Sequence[Customer]) -> Mapping[str, RemoteObject]:
        """Existing customers (inactive included) matching by e-mail, then by cleaned name; by id."""
        ...

    def find_items(self, items: Sequence[Item]) -> Mapping[str, RemoteObject]:
        """Existing items (inactive included) matching by cleaned name; by item id."""
        ...

    def distinct(self, document: Named) -> Named:
        """``document`` under a name unique to it within the provider's limits (its cleaned name
        is held by another record)."""
        ...

    def current(self, kind: str, remote_ids: Sequence[str]) -> Mapping[str, RemoteObject]:
        """The objects as they stand now (``kind`` customer or item), by remote id; absent: gone."""
        ...

    def write_many(
        self, writes: Sequence[CatalogWrite], *, idempotency_key: str
    ) -> Mapping[str, CatalogAnswer]:
        """One batch request (at most ``batch_size`` writes); an answer per write key.

        Raises for the request as a whole (transport, throttling, auth); per-write refusals
        (duplicate name, validation) come back as answers with an ``error``.
        """
        ...
