"""A local embedder: hashed words, word pairs and character n-grams, unit-normalised.

It needs no network, no model file and no download: a text's vector is the sum of its features,
each hashed (CRC-32) to one of ``dimension`` slots with a hashed sign, weighted by kind and by
``1 + log(count)``, then scaled to length 1. Cosine similarity between two vectors is therefore a
weighted overlap of their words, adjacent word pairs and spelling fragments: "heater" finds
"heaters", "install" finds "installation", a misspelt "furnance" still finds "furnace".

What it does not know (README, "Billing memory"): meaning. Synonyms and paraphrases with no word
or fragment in common ("AC" and "air conditioner", "hot water tank" and "water heater") are not
close; questions must share words with the documents. Voyage (``voyage.py``) is the embedder for
that. The defaults were chosen by recall@5 on the labelled set's tuning questions
(tests/data/memory/README.md).
"""

from __future__ import annotations

import itertools
import math
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from booksync.memory.bm25 import words
from booksync.memory.ports import Embedded, InputType, estimate_tokens


@dataclass(frozen=True)
class HashedNgramEmbedder:
    """``Embedder`` computed locally from hashed features (see the module's docstring)."""

    dimension: int = 512
    word_weight: float = 1.0
    pair_weight: float = 0.0
    char_weight: float = 0.3
    char_sizes: tuple[int, ...] = (3, 4, 5)
    max_inputs: int = 1000
    max_tokens: int = 1_000_000

    @property
    def model(self) -> str:
        chars = "".join(str(n) for n in self.char_sizes)
        return f"local-hashed-ngram-w{self.word_weight:g}-p{self.pair_weight:g}-c{self.char_weight:g}x{chars}"

    def features(self, text: str) -> Counter[str]:
        """The text's features, counted: ``w:<word>``, ``p:<word> <word>``, ``c:<fragment>``."""
        terms = words(text)
        features: Counter[str] = Counter()
        if self.word_weight:
            features.update(f"w:{t}" for t in terms)
        if self.pair_weight:
            features.update(f"p:{a} {b}" for a, b in itertools.pairwise(terms))
        if self.char_weight:
            for term in terms:
                padded = f"<{term}>"
                for n in self.char_sizes:
                    features.update(f"c:{padded[i : i + n]}" for i in range(len(padded) - n + 1))
        return features

    def vector(self, text: str) -> list[float]:
        weights = {"w": self.word_weight, "p": self.pair_weight, "c": self.char_weight}
        vector = [0.0] * self.dimension
        for feature, count in self.features(text).items():
            code = zlib.crc32(feature.encode())
            sign = 1.0 if code & 0x80000000 else -1.0
            vector[code % self.dimension] += sign * weights[feature[0]] * (1.0 + math.log(count))
        norm = math.sqrt(sum(x * x for x in vector))
        return [x / norm for x in vector] if norm else vector

    def embed(self, texts: Sequence[str], input_type: InputType) -> Embedded:
        """Documents and queries are embedded alike (``input_type`` changes nothing here); the
        tokens reported are ``estimate_tokens``' count, since nothing is billed."""
        return Embedded(
            vectors=[self.vector(text) for text in texts],
            total_tokens=sum(estimate_tokens(text) for text in texts),
        )
