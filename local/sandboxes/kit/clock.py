"""The scaled clock every sandbox measures lifetimes (tokens, codes) and throttle windows on."""

from __future__ import annotations

import time


class SandboxClock:
    """Monotonic seconds that run ``scale`` times faster than real time.

    Every lifetime (tokens, codes) and every throttle window is measured on this clock, so a
    bench can compress an hour into seconds while every ratio between them stays the same.
    """

    def __init__(self, scale: float) -> None:
        self._scale = scale
        self._origin = time.monotonic()
        self._offset = 0.0

    @property
    def scale(self) -> float:
        return self._scale

    def now(self) -> float:
        return self._offset + (time.monotonic() - self._origin) * self._scale

    def advance(self, seconds: float) -> float:
        """Move sandbox time forward (never back) and answer the new reading: a test makes a
        lifetime run out without waiting for it, whatever the machine's load."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._offset += seconds
        return self.now()

    def to_real_seconds(self, sandbox_seconds: float) -> float:
        return sandbox_seconds / self._scale
