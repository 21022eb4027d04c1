"""The Wave sandbox the contract tests talk to over HTTP (started once for the module)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local.sandboxes.wave.server import WaveSandbox


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    with WaveSandbox() as sandbox:
        yield sandbox.url
