"""Retrieval quality on the labelled set's tuning questions (tests/data/memory/README.md): the
hybrid search with the local embedder finds at least 90% of what each question should find in its
top 5. The held-out questions are measured by `make bench` only (memory.recall_at_5)."""

from __future__ import annotations

from booksync.memory.local_embedder import HashedNgramEmbedder

from bench.figures.memory_search import GOAL_RECALL, history, indexed_search, part_of, questions, recall_at_5
from tests.fakes.memory import MemoryRecords, MemoryVectors


def test_the_split_holds_out_about_a_third_by_id_hash() -> None:
    asked = questions()
    held = [q for q in asked if part_of(q["id"]) == "holdout"]
    assert 0.25 < len(held) / len(asked) < 0.42
    assert {q["id"] for q in questions("holdout")}.isdisjoint(q["id"] for q in questions("tuning"))


def test_every_question_names_documents_of_the_company_asked() -> None:
    keys = {r.key for r in history() if r.company_id == "co-summit"}
    for question in questions():
        assert question["relevant"] and set(question["relevant"]) <= keys, question["id"]


def test_hybrid_recall_at_5_on_the_tuning_questions_meets_the_goal() -> None:
    search = indexed_search(HashedNgramEmbedder(), MemoryRecords(), MemoryVectors(), history())
    recall, by_kind = recall_at_5(search, questions("tuning"))
    assert recall >= GOAL_RECALL, by_kind
