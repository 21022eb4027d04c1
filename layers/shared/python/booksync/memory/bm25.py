"""Okapi BM25 over a company's record texts: the keyword half of the memory's hybrid search.

Terms are ``words``: lower-case runs of letters and digits (a decimal point kept inside a number,
so 1450.00 is one term), English stop words dropped, a plural "s" folded.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy is imported when an index is built (the memory functions' paths only)
    import numpy as np
    import numpy.typing as npt

_WORD = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")

STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "how",
        "i",
        "in",
        "is",
        "it",
        "its",
        "me",
        "much",
        "my",
        "of",
        "on",
        "or",
        "our",
        "that",
        "the",
        "their",
        "them",
        "they",
        "this",
        "to",
        "us",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "you",
        "your",
    ]
)


def fold(word: str) -> str:
    """A word's plural ``s`` folded (``installs`` -> ``install``, ``glasses`` kept as ``glass``),
    leaving short words and ``ss`` endings alone."""
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss") and not word[-2].isdigit():
        return word[:-1]
    return word


def words(text: str) -> list[str]:
    """The terms of ``text`` as BM25 and the local embedder see them."""
    return [fold(w) for w in _WORD.findall(text.lower()) if w not in STOP_WORDS]


class BM25:
    """An index of (key, text) documents; ``search`` scores them for a query.

    Each term's postings are kept as numpy arrays of document positions and their BM25 weights
    (idf, saturated term frequency and length normalisation folded in at build time, since none
    depends on the query), so a query is one vector addition per term.
    """

    def __init__(self, documents: Iterable[tuple[str, str]], k1: float = 1.2, b: float = 0.75) -> None:
        import numpy as np

        self.keys: list[str] = []
        lengths: list[int] = []
        postings: dict[str, tuple[list[int], list[int]]] = {}
        for doc, (key, text) in enumerate(documents):
            terms = Counter(words(text))
            self.keys.append(key)
            lengths.append(sum(terms.values()))
            for term, count in terms.items():
                docs, counts = postings.setdefault(term, ([], []))
                docs.append(doc)
                counts.append(count)
        self.index = {key: i for i, key in enumerate(self.keys)}
        n = len(self.keys)
        length = np.asarray(lengths, dtype=np.float64)
        norm = k1 * (1 - b + b * length / (length.mean() if n else 1.0))
        self.postings: dict[str, tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]]] = {}
        for term, (docs, counts) in postings.items():
            ids = np.asarray(docs, dtype=np.intp)
            tf = np.asarray(counts, dtype=np.float64)
            idf = math.log(1 + (n - len(docs) + 0.5) / (len(docs) + 0.5))
            self.postings[term] = (ids, idf * tf * (k1 + 1) / (tf + norm[ids]))

    def idf(self, term: str) -> float:
        df = len(self.postings[term][0]) if term in self.postings else 0
        n = len(self.keys)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def search(self, query: str, top_k: int, keys: set[str] | None = None) -> list[tuple[str, float]]:
        """At most ``top_k`` (key, score) pairs with a score above 0, best first (ties by key),
        among ``keys`` when given."""
        import numpy as np

        from booksync.memory.matrix import best

        scores = np.zeros(len(self.keys), dtype=np.float64)
        for term in set(words(query)):
            if term in self.postings:
                ids, weights = self.postings[term]
                scores[ids] += weights
        if keys is not None:
            allowed = np.zeros(len(self.keys), dtype=bool)
            allowed[[self.index[k] for k in keys if k in self.index]] = True
            scores[~allowed] = 0.0
        return best(scores, np.flatnonzero(scores > 0), self.keys, top_k)


def matched_terms(query: str, text: str) -> Sequence[str]:
    """The query's terms that ``text`` has."""
    have = set(words(text))
    return [term for term in dict.fromkeys(words(query)) if term in have]
