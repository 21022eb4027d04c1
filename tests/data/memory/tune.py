"""Chooses the local embedder's design on the labelled set's TUNING questions only
(run: python -m tests.data.memory.tune). Prints recall@5 of vector search alone and of the hybrid
search, for each design tried; the held-out questions are never read here.
"""

from __future__ import annotations

import statistics
import time

from booksync.memory.local_embedder import HashedNgramEmbedder
from booksync.memory.search import MemorySearch

from bench.figures.memory_search import (
    COMPANY,
    history,
    indexed_search,
    question_filter,
    questions,
    recall_at_5,
)
from tests.fakes.memory import MemoryRecords, MemoryVectors

DESIGNS = {
    "words": HashedNgramEmbedder(pair_weight=0, char_weight=0),
    "words+pairs": HashedNgramEmbedder(pair_weight=0.5, char_weight=0),
    "chars 3-5": HashedNgramEmbedder(word_weight=0, pair_weight=0, char_weight=1),
    "words+pairs+chars 3-5 (0.3)": HashedNgramEmbedder(pair_weight=0.5, char_weight=0.3),
    "words+chars 3-4 (0.6)": HashedNgramEmbedder(pair_weight=0, char_weight=0.6, char_sizes=(3, 4)),
    "words+chars 3-5 (0.3)": HashedNgramEmbedder(pair_weight=0, char_weight=0.3),
    "words+chars 3-5 (0.6)": HashedNgramEmbedder(pair_weight=0, char_weight=0.6),
    "words+chars 3-5 (1.0)": HashedNgramEmbedder(pair_weight=0, char_weight=1.0),
    "words+chars 3-5 (0.6), dim 256": HashedNgramEmbedder(pair_weight=0, char_weight=0.6, dimension=256),
    "words+chars 3-5 (0.6), dim 1024": HashedNgramEmbedder(pair_weight=0, char_weight=0.6, dimension=1024),
}


def vector_recall(search: MemorySearch) -> float:
    scores = []
    for question in questions("tuning"):
        flt = question_filter(question)
        allowed = None if flt is None else {r.key for r in search.records.all(COMPANY, flt)}
        vector = search.embedder.embed([question["query"]], "query").vectors[0]
        found = {key for key, _ in search.vectors.query(COMPANY, vector, 5, allowed)}
        relevant = set(question["relevant"])
        scores.append(len(found & relevant) / min(5, len(relevant)))
    return statistics.fmean(scores)


def main() -> None:
    documents = history()
    for name, embedder in DESIGNS.items():
        started = time.perf_counter()
        search = indexed_search(embedder, MemoryRecords(), MemoryVectors(), documents)
        hybrid, kinds = recall_at_5(search, questions("tuning"))
        detail = " ".join(f"{k}={v:.2f}" for k, v in kinds.items())
        print(
            f"{name:34} vector {vector_recall(search):.3f}  hybrid {hybrid:.3f}  "
            f"({time.perf_counter() - started:.1f}s)  {detail}"
        )


if __name__ == "__main__":
    main()
