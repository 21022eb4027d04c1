"""The billing memory's retrieval quality and speed (booksync/memory/search.py).

``memory.recall_at_5`` (held-out questions) and ``memory.recall_at_5_tuning``: over the labelled questions of
tests/data/memory/questions.json (README there), the share of each question's documents found in
the top 5 hits (``|top 5 ∩ relevant| / min(5, |relevant|)``), averaged over questions; the history
indexed with the local embedder (``HashedNgramEmbedder``, the default where no Voyage key is set)
into the DynamoDB stores, on moto server. Held out: the questions whose
``int(sha256(id), 16) % 3 == 0``, never looked at while choosing the embedder's design. Goal 0.9.

``memory.search_p50_ms``: one warm search (the company's records and vectors already cached, the
stamp read on every search as in production) among 10,000 documents of one company, median over
100 questions; goal 100 ms. ``memory.search_cold_load_s``: the first search of that company (every
record and vector read from the table). Both against moto server on loopback.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import statistics
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.figure import BenchError, Figure, Goal

if TYPE_CHECKING:
    from booksync.memory.ports import Embedder, RecordStore, VectorStore
    from booksync.memory.records import BillingRecord, RecordFilter
    from booksync.memory.search import MemorySearch

DATA = Path(__file__).resolve().parents[2] / "tests" / "data" / "memory"
COMPANY = "co-summit"
GOAL_RECALL = 0.9
GOAL_P50_MS = 100.0
SCALE = 10_000
SPEED_QUERIES = 100


def part_of(question_id: str) -> str:
    """The labelled set's split: a third held out by id hash (tests/data/memory/README.md)."""
    return "holdout" if int(hashlib.sha256(question_id.encode()).hexdigest(), 16) % 3 == 0 else "tuning"


def _load(name: str) -> list[dict[str, Any]]:
    path = DATA / name
    if not path.exists():
        raise BenchError(f"missing: {path} (run python {DATA / 'generate.py'})")
    rows: list[dict[str, Any]] = json.loads(path.read_text())
    return rows


def history() -> list[BillingRecord]:
    from booksync.memory.records import BillingRecord

    return [BillingRecord.from_dict(row) for row in _load("history.json")]


def questions(part: str | None = None) -> list[dict[str, Any]]:
    return [q for q in _load("questions.json") if part is None or part_of(q["id"]) == part]


def question_filter(question: dict[str, Any]) -> RecordFilter | None:
    from booksync.memory.records import RecordFilter

    given = question.get("filter") or {}
    if not given:
        return None
    return RecordFilter.of(
        customer_id=given.get("customer_id"),
        kinds=given.get("kinds"),
        statuses=given.get("statuses"),
        date_from=date.fromisoformat(given["date_from"]) if given.get("date_from") else None,
        date_to=date.fromisoformat(given["date_to"]) if given.get("date_to") else None,
        item=given.get("item"),
        min_total=Decimal(given["min_total"]) if given.get("min_total") else None,
        max_total=Decimal(given["max_total"]) if given.get("max_total") else None,
    )


def recall_at_5(search: MemorySearch, asked: list[dict[str, Any]]) -> tuple[float, dict[str, float]]:
    """Mean recall@5 over ``asked``, and the same by question kind."""
    by_kind: dict[str, list[float]] = defaultdict(list)
    for question in asked:
        relevant = set(question["relevant"])
        hits = search.search(COMPANY, question["query"], top_k=5, filter=question_filter(question))
        found = len({hit.record.key for hit in hits} & relevant)
        by_kind[question["kind"]].append(found / min(5, len(relevant)))
    scores = [s for values in by_kind.values() for s in values]
    if not scores:
        raise BenchError("no labelled questions")
    return statistics.fmean(scores), {kind: statistics.fmean(v) for kind, v in sorted(by_kind.items())}


def indexed_search(
    embedder: Embedder, records: RecordStore, vectors: VectorStore, documents: list[BillingRecord]
) -> MemorySearch:
    from booksync.memory.indexer import MemoryIndexer
    from booksync.memory.search import MemorySearch

    MemoryIndexer(embedder, records, vectors).index(documents)
    return MemorySearch(embedder, records, vectors)


@contextmanager
def _memory_table() -> Iterator[None]:
    from booksync.store.models import MemoryRecordModel, bind_tables

    from bench.figures.catalog_sync import _aws

    with _aws():
        bind_tables(type("Names", (), {"memory_table": f"memory-{uuid.uuid4().hex[:8]}"})())
        MemoryRecordModel.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
        yield


def scaled_history(count: int, seed: int = 7) -> list[BillingRecord]:
    """``count`` documents of one company, made by the labelled set's generator."""
    from booksync.memory.records import BillingRecord

    from tests.data.memory.generate import BUSINESSES, History, customers

    rng = random.Random(seed)
    made = History(rng, COMPANY, "scale", customers(rng, "scale", 400, BUSINESSES))
    while len(made.records) < count:
        made.build(jobs=200, estimates=60)
    return [BillingRecord.from_dict(row) for row in made.records[:count]]


def measure() -> list[Figure]:
    from booksync.memory.local_embedder import HashedNgramEmbedder
    from booksync.store.memory import DynamoRecordStore, DynamoVectorStore

    embedder = HashedNgramEmbedder()
    with _memory_table():
        search = indexed_search(embedder, DynamoRecordStore(), DynamoVectorStore(), history())
        tuning, tuning_kinds = recall_at_5(search, questions("tuning"))
        holdout, holdout_kinds = recall_at_5(search, questions("holdout"))

    with _memory_table():
        documents = scaled_history(SCALE)
        search = indexed_search(embedder, DynamoRecordStore(), DynamoVectorStore(), documents)
        DynamoRecordStore.cache.clear()
        DynamoVectorStore.cache.clear()
        asked = [q["query"] for q in questions()][:SPEED_QUERIES]
        started = time.perf_counter()
        search.search(COMPANY, asked[0], top_k=5)
        cold = time.perf_counter() - started
        times = []
        for query in asked:
            started = time.perf_counter()
            search.search(COMPANY, query, top_k=5)
            times.append((time.perf_counter() - started) * 1000)

    def kinds(values: dict[str, float]) -> str:
        return ", ".join(f"{kind} {value:.2f}" for kind, value in values.items())

    where = f"{embedder.model}, dimension {embedder.dimension}; DynamoDB stores on moto server"
    return [
        Figure(
            "memory.recall_at_5_tuning",
            round(tuning, 3),
            "",
            goal=Goal(">=", GOAL_RECALL),
            note=f"{len(questions('tuning'))} questions; {where}; by kind: {kinds(tuning_kinds)}",
        ),
        Figure(
            "memory.recall_at_5",
            round(holdout, 3),
            "",
            goal=Goal(">=", GOAL_RECALL),
            note=f"{len(questions('holdout'))} held-out questions; by kind: {kinds(holdout_kinds)}",
        ),
        Figure(
            "memory.search_p50_ms",
            round(statistics.median(times), 2),
            "ms",
            goal=Goal("<=", GOAL_P50_MS),
            note=f"warm, {SCALE} documents in one company, {len(times)} searches, top 5; "
            f"p90 {sorted(times)[int(len(times) * 0.9)]:.1f} ms; {os.cpu_count()} cores",
        ),
        Figure("memory.search_cold_load_s", round(cold, 2), "s", note=f"first search of {SCALE} documents"),
    ]
