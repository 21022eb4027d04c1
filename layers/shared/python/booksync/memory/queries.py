"""What the billing memory is asked, as the API and the tools take it: a search with its filters.

These pydantic models are the one definition of each request: FastAPI validates the routes'
bodies against them (``booksync/api/memory.py``), the OpenAPI document describes them, and the
assistant's tool definitions are generated from them (``memory/tools.py``).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

from booksync.documents import DocId, Money
from booksync.memory.prices import CurrencyCode
from booksync.memory.records import RecordFilter, RecordKind
from booksync.memory.search import MAX_TOP_K

Question = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
TopK = Annotated[
    int, Field(ge=1, le=MAX_TOP_K, description=f"How many records to return, at most {MAX_TOP_K}")
]
Status = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=40)]


class MemoryFilters(BaseModel):
    """Which records may be found; each filter given narrows, none given is every record."""

    model_config = ConfigDict(extra="forbid")
    customer_id: DocId | None = Field(default=None, description="Only this customer's records")
    kinds: list[RecordKind] | None = Field(
        default=None, min_length=1, description="Only these kinds of document"
    )
    statuses: list[Status] | None = Field(
        default=None,
        min_length=1,
        description="Only records in these statuses (sent, paid, accepted, declined, recorded)",
    )
    date_from: date | None = Field(default=None, description="Dated on or after this day, YYYY-MM-DD")
    date_to: date | None = Field(default=None, description="Dated on or before this day, YYYY-MM-DD")
    item: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = (
        Field(default=None, description="Only records with a line of this item (its id, or its name)")
    )
    currency: CurrencyCode | None = Field(
        default=None,
        description='Only records in this ISO 4217 currency, e.g. "USD" (needed by min_total, max_total)',
    )
    min_total: Money | None = Field(
        default=None, description="Total at least this much, in currency (send currency too)"
    )
    max_total: Money | None = Field(
        default=None, description="Total at most this much, in currency (send currency too)"
    )

    @model_validator(mode="after")
    def _ranges_run_forward(self) -> Self:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise PydanticCustomError(
                "date_range",
                "date_from ({date_from}) is after date_to ({date_to})",
                {
                    "date_from": self.date_from.isoformat(),
                    "date_to": self.date_to.isoformat(),
                    "fix": "Send date_from on or before date_to, or leave one of them out.",
                },
            )
        if self.min_total is not None and self.max_total is not None and self.min_total > self.max_total:
            raise PydanticCustomError(
                "amount_range",
                "min_total ({min_total}) is more than max_total ({max_total})",
                {
                    "min_total": str(self.min_total),
                    "max_total": str(self.max_total),
                    "fix": "Send min_total at most max_total, or leave one of them out.",
                },
            )
        bounds = [name for name in ("min_total", "max_total") if getattr(self, name) is not None]
        if bounds and self.currency is None:
            raise PydanticCustomError(
                "amount_currency",
                "{bounds} given without currency: totals of two currencies are not compared",
                {
                    "bounds": " and ".join(bounds),
                    "fix": f'Send currency (e.g. "USD") with {" and ".join(bounds)}: only totals in '
                    "that currency are compared.",
                },
            )
        return self

    def record_filter(self) -> RecordFilter:
        return RecordFilter.of(
            customer_id=self.customer_id,
            kinds=self.kinds,
            statuses=self.statuses,
            date_from=self.date_from,
            date_to=self.date_to,
            item=self.item,
            currency=self.currency,
            min_total=self.min_total,
            max_total=self.max_total,
        )


class SearchRequest(BaseModel):
    """POST /memory/search, and the parameters of the ``search_billing_memory`` tool."""

    model_config = ConfigDict(extra="forbid")
    query: Question = Field(description='What to look for, in words, e.g. "water heater install in Austin"')
    top_k: TopK = 5
    filters: MemoryFilters = Field(default_factory=MemoryFilters)


class SearchHit(BaseModel):
    """One record found: what it is, and how it matched."""

    key: str = Field(description="<kind>#<doc_id>: how answers cite it")
    doc_id: str
    kind: RecordKind
    number: str | None
    status: str
    customer_id: str | None
    customer_name: str | None
    date: date
    total: Decimal
    currency: str
    score: float = Field(description="Reciprocal-rank fusion of the vector and keyword ranks")
    matched: Literal["vector", "keyword", "both"] = Field(
        description="Found by meaning (vector), by its words or number (keyword), or both"
    )
    vector_score: float | None = Field(description="Cosine similarity to the query, when found by meaning")
    keyword_score: float | None = Field(description="BM25 score, when found by its words")
    snippet: str


class SearchResults(BaseModel):
    query: str
    hits: list[SearchHit]
