"""The S3 Vectors stand-in (local/sandboxes/s3vectors/) as a pytest fixture, started once per test
module: the contract tests (tests/contract/s3vectors), the stand-in's own tests
(tests/sandbox/s3vectors) and the memory's S3 Vectors store (tests/integration) share it
(tests/conftest.py registers it; the stand-in is imported only when a test asks for it)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from local.sandboxes.s3vectors.server import S3VectorsSandbox


@pytest.fixture(scope="module")
def standin() -> Iterator[S3VectorsSandbox]:
    from local.sandboxes.s3vectors.server import S3VectorsSandbox

    with S3VectorsSandbox() as sandbox:
        yield sandbox
