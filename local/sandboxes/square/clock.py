"""The QuickBooks sandbox's scaled clock (with its jump forward for tests of expiry)."""

from __future__ import annotations

from local.sandboxes.quickbooks.clock import SandboxClock


class SquareClock(SandboxClock):
    """Lifetimes (tokens, codes) run ``scale`` times faster than real time, and can jump ahead
    (``SandboxClock.advance``)."""
