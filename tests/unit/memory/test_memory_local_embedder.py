"""The local embedder: deterministic unit vectors from words and spelling fragments, no network."""

from __future__ import annotations

import math
import socket

import pytest
from booksync.memory.local_embedder import HashedNgramEmbedder
from booksync.memory.ports import estimate_tokens


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the local embedder opened a connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    return


def test_vectors_are_unit_length_of_the_declared_dimension_and_deterministic(no_network: None) -> None:
    embedder = HashedNgramEmbedder()
    answer = embedder.embed(["Water heater installation, 50 gal", "Drain cleaning"], "document")
    assert [len(v) for v in answer.vectors] == [embedder.dimension] * 2
    assert all(math.isclose(math.sqrt(sum(x * x for x in v)), 1.0) for v in answer.vectors)
    assert embedder.embed(["Water heater installation, 50 gal"], "query").vectors[0] == answer.vectors[0]


def test_shared_words_and_fragments_bring_texts_close() -> None:
    embedder = HashedNgramEmbedder()
    (doc, other, query, typo) = embedder.embed(
        [
            "Water heater installation: 50 gal gas tank",
            "Lawn mowing: mow, edge and blow",
            "water heater install",
            "watr heatre",
        ],
        "document",
    ).vectors
    assert cosine(query, doc) > 0.5 > cosine(query, other)
    assert cosine(typo, doc) > cosine(typo, other) + 0.1


def test_characters_alone_find_a_word_inside_a_longer_one() -> None:
    with_chars = HashedNgramEmbedder()
    words_only = HashedNgramEmbedder(char_weight=0)
    text, query = "Installation of a furnace", "install"
    assert cosine(*with_chars.embed([text, query], "document").vectors) > 0.1
    assert abs(cosine(*words_only.embed([text, query], "document").vectors)) < 0.1


def test_an_empty_text_is_the_zero_vector() -> None:
    assert HashedNgramEmbedder(dimension=8).embed(["   "], "query").vectors[0] == [0.0] * 8


def test_the_model_name_says_the_design_and_tokens_are_estimated() -> None:
    embedder = HashedNgramEmbedder()
    assert embedder.model == "local-hashed-ngram-w1-p0-c0.3x345"
    assert HashedNgramEmbedder(pair_weight=0.5).model != embedder.model
    texts = ["a" * 10, "b" * 3]
    assert embedder.embed(texts, "document").total_tokens == 3 + 1 == sum(estimate_tokens(t) for t in texts)
    assert (embedder.max_inputs, embedder.max_tokens) == (1000, 1_000_000)
