"""BM25 and the terms it (and the local embedder) sees."""

from __future__ import annotations

from booksync.memory.bm25 import BM25, fold, matched_terms, words


def test_words_lower_fold_plurals_drop_stop_words_and_keep_decimals() -> None:
    assert words("What did we charge for Water Heaters? $1,450.00 INV-2043") == [
        "charge",
        "water",
        "heater",
        "1",
        "450.00",
        "inv",
        "2043",
    ]
    assert fold("glass") == "glass" and fold("bus") == "bus" and fold("installs") == "install"


DOCS = [
    ("a", "water heater installation 50 gal"),
    ("b", "drain cleaning kitchen sink"),
    ("c", "water softener service water water"),
    ("d", "furnace tune-up heater check"),
]


def test_rare_terms_weigh_more_and_only_matching_documents_are_returned() -> None:
    index = BM25(DOCS)
    ranked = index.search("water heater", top_k=10)
    assert next(key for key, _ in ranked) == "a"  # both terms
    assert {key for key, _ in ranked} == {"a", "c", "d"}
    assert all(score > 0 for _, score in ranked)
    assert index.idf("drain") > index.idf("water")
    assert index.search("plumbing", top_k=10) == []


def test_search_keeps_to_the_keys_given_and_to_top_k() -> None:
    index = BM25(DOCS)
    assert [key for key, _ in index.search("water heater", top_k=10, keys={"c", "b"})] == ["c"]
    assert len(index.search("water heater", top_k=1)) == 1


def test_term_frequency_saturates_and_long_documents_are_normalised() -> None:
    index = BM25([("short", "pump"), ("long", "pump " + "filler " * 50), ("many", "pump pump pump pump")])
    scores = dict(index.search("pump", top_k=3))
    assert scores["many"] > scores["short"] > scores["long"]
    assert scores["many"] < 4 * scores["short"]


def test_matched_terms_are_the_querys_terms_the_text_has() -> None:
    assert matched_terms("water heater install", "Water heaters: 50 gal") == ["water", "heater"]


def test_an_empty_index_finds_nothing() -> None:
    assert BM25([]).search("anything", top_k=5) == []


def test_top_k_keeps_the_best_and_breaks_ties_by_key() -> None:
    index = BM25(DOCS)
    assert [key for key, _ in index.search("water heater", top_k=2)] == ["a", "c"]
    same = BM25([(key, "sump pump") for key in ("d", "c", "b", "a", "e")])
    assert [key for key, _ in same.search("pump", top_k=2)] == ["a", "b"]
