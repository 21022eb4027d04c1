"""How the billing memory's warm search grows with a company's size, past the 10,000 documents
``memory.search_p50_ms`` is measured at over DynamoDB (bench/figures/memory_search.py).

``memory.search_p50_ms_in_process_<n>``: one warm search among ``n`` documents of one company, the
stores in the process (tests/fakes/memory.py: the same ``VectorMatrix``, BM25 and fusion as over
DynamoDB, without the stamp reads, which cost the same at any size), median of 100 questions. The
difference with ``memory.search_p50_ms`` at 10,000 is what the stamp reads add. Loading 25,000 or
50,000 documents through moto server would take most of an hour (see ``memory.search_cold_load_s``),
hence in the process.
"""

from __future__ import annotations

import statistics
import time

from bench.figure import Figure

SIZES = (10_000, 25_000, 50_000)
QUERIES = 100


def _p90(times: list[float]) -> float:
    return sorted(times)[int(len(times) * 0.9)]


def measure() -> list[Figure]:
    from booksync.memory.local_embedder import HashedNgramEmbedder

    from bench.figures.memory_search import COMPANY, indexed_search, questions, scaled_history
    from tests.fakes.memory import MemoryRecords, MemoryVectors

    asked = [q["query"] for q in questions()][:QUERIES]
    figures = []
    for size in SIZES:
        search = indexed_search(HashedNgramEmbedder(), MemoryRecords(), MemoryVectors(), scaled_history(size))
        search.search(COMPANY, asked[0], top_k=5)  # builds the company's view: the warm state
        times: list[float] = []
        for query in asked:
            started = time.perf_counter()
            search.search(COMPANY, query, top_k=5)
            times.append((time.perf_counter() - started) * 1000)
        figures.append(
            Figure(
                f"memory.search_p50_ms_in_process_{size}",
                round(statistics.median(times), 2),
                "ms",
                note=f"warm, {size} documents, stores in the process; p90 {_p90(times):.1f} ms",
            )
        )
    return figures
