"""Vectors for the vector-store tests: reproducible unit vectors, one per seed."""

from __future__ import annotations

import math
import random


def unit_vector(seed: int, dim: int) -> list[float]:
    """A unit vector of ``dim`` floats, the same for the same seed."""
    rng = random.Random(seed)
    values = [rng.uniform(-1, 1) for _ in range(dim)]
    norm = math.sqrt(sum(v * v for v in values))
    return [v / norm for v in values]
