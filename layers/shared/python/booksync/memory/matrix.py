"""A company's vectors as one numpy matrix of unit rows, searched by cosine similarity.

Imported only on the memory functions' code paths (it imports numpy).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt


class VectorMatrix:
    """Vectors by key, normalised to length 1 once, so a query is one matrix-vector product."""

    def __init__(self, keys: list[str], rows: npt.NDArray[np.float32]) -> None:
        if rows.size:
            norms = np.linalg.norm(rows, axis=1, keepdims=True)
            rows = (rows / np.where(norms > 0, norms, 1.0)).astype(np.float32)
        self.keys = keys
        self.rows = rows
        self.index = {key: i for i, key in enumerate(keys)}

    @classmethod
    def of(cls, items: Sequence[tuple[str, Sequence[float]]]) -> VectorMatrix:
        if not items:
            return cls([], np.zeros((0, 0), dtype=np.float32))
        return cls([key for key, _ in items], np.asarray([v for _, v in items], dtype=np.float32))

    def __len__(self) -> int:
        return len(self.keys)

    def search(
        self, vector: Sequence[float], top_k: int, keys: set[str] | None = None
    ) -> list[tuple[str, float]]:
        """At most ``top_k`` (key, cosine) pairs, best first (ties by key), among ``keys`` when given."""
        if not self.keys or top_k <= 0:
            return []
        rows, names = self.rows, self.keys
        if keys is not None:
            positions = np.fromiter((self.index[k] for k in keys if k in self.index), dtype=np.intp)
            if positions.size == 0:
                return []
            rows = rows[positions]
            names = [names[i] for i in positions]
        query = np.asarray(vector, dtype=np.float32)
        norm = float(np.linalg.norm(query))
        scores = rows @ (query / norm if norm > 0 else query)
        return best(scores, np.arange(scores.size), names, top_k)


def best(
    scores: npt.NDArray[np.floating], among: npt.NDArray[np.intp], keys: Sequence[str], top_k: int
) -> list[tuple[str, float]]:
    """The ``top_k`` of ``among`` (positions in ``scores`` and ``keys``) by score, best first, ties
    by key: every position tied with the k-th is kept before sorting, so which of equal scores
    make the cut does not depend on numpy's partition order."""
    if among.size > top_k > 0:
        values = scores[among]
        kth = np.partition(values, among.size - top_k)[among.size - top_k]
        among = among[values >= kth]
    ranked = sorted(((keys[i], float(scores[i])) for i in among), key=lambda pair: (-pair[1], pair[0]))
    return ranked[:top_k]
