"""The QuickBooks sandbox's scaled clock, plus a jump forward for tests of expiry."""

from __future__ import annotations

from local.sandboxes.quickbooks.clock import SandboxClock


class SquareClock(SandboxClock):
    """Lifetimes (tokens, codes) run ``scale`` times faster than real time, and can jump ahead."""

    def advance(self, seconds: float) -> float:
        """Move sandbox time forward (never back) and answer the new reading."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._offset += seconds
        return self.now()
