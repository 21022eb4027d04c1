"""In-memory stand-ins for the billing memory's ports (``booksync/memory/ports.py``): the indexer's
and search's rules tested without moto. The DynamoDB adapters have their own moto tests
(tests/integration/test_memory_store.py); these keep the same contract, per company."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from booksync.memory.matrix import VectorMatrix
from booksync.memory.ports import Embedded, Embedder, Indexed, InputType
from booksync.memory.records import BillingRecord, RecordFilter, RecordKind, RecordLine


def record_line(
    name: str = "Water heater install", price: str = "1450.00", cost: str | None = "900.00"
) -> RecordLine:
    return RecordLine(
        item_id=f"item-{name.lower().replace(' ', '-')}",
        item_name=name,
        description="50 gallon, gas",
        quantity=Decimal("1"),
        unit_price=Decimal(price),
        unit_cost=None if cost is None else Decimal(cost),
        amount=Decimal(price),
    )


def billing_record(**changes: Any) -> BillingRecord:
    """A sent invoice of company co-1 (INV-2043, a water-heater install), with ``changes``."""
    record = BillingRecord(
        company_id="co-1",
        kind=RecordKind.INVOICE,
        doc_id="inv-1",
        number="INV-2043",
        status="sent",
        customer_id="cust-1",
        customer_name="Maple Street Dental",
        date=date(2026, 3, 4),
        total=Decimal("1450.00"),
        currency="USD",
        lines=(record_line(),),
        memo="Replaced leaking tank",
    )
    return dataclasses.replace(record, **changes)


@dataclass
class MemoryRecords:
    """``RecordStore`` in a dict: company -> key -> (record, indexed)."""

    rows: dict[str, dict[str, tuple[BillingRecord, Indexed]]] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    puts: int = 0

    def get(self, company_id: str, key: str) -> BillingRecord | None:
        row = self.rows.get(company_id, {}).get(key)
        return row[0] if row else None

    def put(self, record: BillingRecord, indexed: Indexed) -> None:
        self.rows.setdefault(record.company_id, {})[record.key] = (record, indexed)
        self.versions[record.company_id] = self.versions.get(record.company_id, 0) + 1
        self.puts += 1

    def put_many(self, items: Sequence[tuple[BillingRecord, Indexed]]) -> None:
        for record, indexed in items:
            self.put(record, indexed)

    def all(self, company_id: str, filter: RecordFilter | None = None) -> list[BillingRecord]:
        records = [record for record, _ in self.rows.get(company_id, {}).values()]
        return [r for r in records if filter is None or filter.matches(r)]

    def indexed(self, company_id: str, keys: Collection[str]) -> dict[str, Indexed]:
        rows = self.rows.get(company_id, {})
        return {key: rows[key][1] for key in keys if key in rows}

    def embedders(self, company_id: str) -> dict[str, str]:
        return {key: indexed.embedder for key, (_, indexed) in self.rows.get(company_id, {}).items()}

    def version(self, company_id: str) -> str:
        return str(self.versions.get(company_id, 0))


@dataclass
class MemoryVectors:
    """``VectorStore`` in a dict, searched with the production ``VectorMatrix`` (rebuilt after a
    change of the company's vectors)."""

    vectors: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    _matrices: dict[str, VectorMatrix] = field(default_factory=dict)
    # As DynamoVectorStore's: vectors of another dimension are left out of the search.
    dimension: int | None = None

    def put(self, company_id: str, items: Sequence[tuple[str, Sequence[float]]]) -> None:
        for key, vector in items:
            self.vectors.setdefault(company_id, {})[key] = list(vector)
        self._matrices.pop(company_id, None)

    def query(
        self, company_id: str, vector: Sequence[float], top_k: int, keys: set[str] | None = None
    ) -> list[tuple[str, float]]:
        if company_id not in self._matrices:
            held = self.vectors.get(company_id, {}).items()
            self._matrices[company_id] = VectorMatrix.of(
                [(k, v) for k, v in held if self.dimension is None or len(v) == self.dimension]
            )
        return self._matrices[company_id].search(vector, top_k, keys)

    def delete(self, company_id: str, keys: Collection[str]) -> None:
        for key in keys:
            self.vectors.get(company_id, {}).pop(key, None)
        self._matrices.pop(company_id, None)


@dataclass
class CountingEmbedder:
    """Wraps an embedder and records every call: the texts of each, and its input type."""

    inner: Embedder
    calls: list[tuple[list[str], InputType]] = field(default_factory=list)

    @property
    def model(self) -> str:
        return self.inner.model

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    @property
    def max_inputs(self) -> int:
        return self.inner.max_inputs

    @property
    def max_tokens(self) -> int:
        return self.inner.max_tokens

    def embed(self, texts: Sequence[str], input_type: InputType) -> Embedded:
        self.calls.append((list(texts), input_type))
        return self.inner.embed(texts, input_type)
