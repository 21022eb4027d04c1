"""Starting sandboxes in a test: each sandbox conftest's ``start_sandbox`` fixture yields from
``sandbox_starter`` with how to make one from config overrides; every one is stopped after.
``standalone`` runs a sandbox's entry point (``python -m local.sandboxes.<name>``) in a process."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from local.sandboxes.kit.serving import LoopbackSandbox

SandboxT = TypeVar("SandboxT", bound=LoopbackSandbox)


def sandbox_starter(make: Callable[..., SandboxT]) -> Iterator[Callable[..., SandboxT]]:
    started: list[SandboxT] = []

    def start(**overrides: Any) -> SandboxT:
        sandbox = make(**overrides)
        sandbox.start()
        started.append(sandbox)
        return sandbox

    yield start
    for sandbox in started:
        sandbox.stop()


REPO_ROOT = Path(__file__).resolve().parents[2]
# A standalone OAuth sandbox's app, from its flags.
APP_FLAGS = (
    "--client-id",
    "cli-app",
    "--client-secret",
    "cli-secret",
    "--redirect-uri",
    "http://127.0.0.1:3000/cb",
)


@contextmanager
def standalone(module: str, name: str, *flags: str) -> Iterator[str]:
    """``python -m <module> --port 0 <flags>`` in a process, stopped after: the URL its banner
    (``<name> on <url> (Ctrl-C to stop)``) names once bound. Port 0: the system picks a free port
    as the sandbox binds and the sandbox prints it (no free-then-rebind race)."""
    command = [sys.executable, "-m", module, "--port", "0", *flags]
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert process.stdout is not None
        watchdog = threading.Timer(30, process.kill)  # a hang guard only: the banner comes once bound
        watchdog.start()
        banner = process.stdout.readline()
        watchdog.cancel()
        pattern = rf"{re.escape(name)} on (http://127\.0\.0\.1:(\d+)) \(Ctrl-C to stop\)\n"
        match = re.fullmatch(pattern, banner)
        assert match, f"no address announced: {banner!r}"
        assert int(match.group(2)) != 0
        yield match.group(1)
    finally:
        process.terminate()
        process.wait(timeout=5)
