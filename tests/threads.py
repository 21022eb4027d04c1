"""Threads in tests: an error in any thread fails the test, and so does a thread that never ends.

``threading.Thread`` hands an uncaught exception to ``threading.excepthook``, which pytest only
turns into a warning; a test whose threads all died could then pass on what the main thread did
alone. Start test threads through ``running`` or ``run_threads`` instead: each target's exception
is kept and raised in the test once every thread is joined. (pytest's own hook is also made an
error in pyproject.toml, for threads started by the code under test.)
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

# A guard against a deadlocked test, not a time bound on the work (the bench measures speed).
JOIN_SECONDS = 120.0


class ThreadFailed(AssertionError):
    """A test thread raised: the first error is the cause; every error is counted in the message."""


@contextmanager
def running(*targets: Callable[[], object], join_seconds: float = JOIN_SECONDS) -> Iterator[None]:
    """Start one thread per target; on leaving, join them all and raise what any of them raised."""
    errors: list[BaseException] = []
    lock = threading.Lock()

    def guarded(target: Callable[[], object]) -> Callable[[], None]:
        def run() -> None:
            try:
                target()
            except BaseException as exc:
                with lock:
                    errors.append(exc)

        return run

    threads = [
        threading.Thread(target=guarded(t), daemon=True, name=f"test-{n}") for n, t in enumerate(targets)
    ]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        for thread in threads:
            thread.join(timeout=join_seconds)
    stuck = [t.name for t in threads if t.is_alive()]
    if errors:
        kinds = sorted({type(e).__name__ for e in errors})
        raise ThreadFailed(
            f"{len(errors)} of {len(threads)} test threads raised ({', '.join(kinds)}): {errors[0]!r}"
        ) from errors[0]
    if stuck:
        raise ThreadFailed(f"{len(stuck)} test threads did not finish within {join_seconds:.0f} s: {stuck}")


def run_threads(*targets: Callable[[], object], join_seconds: float = JOIN_SECONDS) -> None:
    """Run the targets in threads at once and wait for them all (errors re-raised, see ``running``)."""
    with running(*targets, join_seconds=join_seconds):
        pass
