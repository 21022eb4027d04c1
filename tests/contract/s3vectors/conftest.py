"""The S3 Vectors stand-in the contract tests talk to with boto3 (started once for the module)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local.sandboxes.s3vectors.server import S3VectorsSandbox


@pytest.fixture(scope="module")
def standin() -> Iterator[S3VectorsSandbox]:
    with S3VectorsSandbox() as sandbox:
        yield sandbox
