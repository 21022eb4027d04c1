"""Starting sandboxes in a test: each sandbox conftest's ``start_sandbox`` fixture yields from
``sandbox_starter`` with how to make one from config overrides; every one is stopped after."""

from __future__ import annotations

from collections.abc import Callable, Iterator
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
