"""Shared fixtures: a moto server on loopback (the local AWS) and fresh tables per test."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import pytest

# Fixtures shared by test directories apart from one another.
from tests.s3vectors_standin import standin

# Skips that hide: a skip whose reason is not on tests/skips_allowed.txt fails the run (the hook
# registers the guard; the name is what makes pytest call it).
from tests.skip_guard import pytest_configure

__all__ = ["pytest_configure", "standin"]


@pytest.fixture(autouse=True)
def no_deadline_left_bound() -> Iterator[None]:
    """A handler binds its invocation's deadline on the process-wide provider clients, as in Lambda;
    a test that ends must not leave a later one (same process) the remains of its context's time."""
    yield
    from booksync.providers.http import bind_deadline

    bind_deadline(None)


def moto_server() -> tuple[Any, str]:
    """moto in server mode on a port the system chose as it bound (no free-then-rebind race)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


@contextmanager
def closed_port() -> Iterator[int]:
    """A loopback port bound but not listening while the block runs: a connection is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    from local.runtime.atomic_dynamodb import serialise_dynamodb_writes

    serialise_dynamodb_writes()  # conditional writes are atomic in DynamoDB, not in moto
    server, url = moto_server()
    previous = {
        k: os.environ.get(k)
        for k in (
            "AWS_ENDPOINT_URL",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_DEFAULT_REGION",
            "AWS_REGION",
        )
    }
    os.environ.update(
        AWS_ENDPOINT_URL=url,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_REGION="us-east-1",
    )
    yield url
    server.stop()
    for key, value in previous.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@contextmanager
def fresh_tables() -> Iterator[SimpleNamespace]:
    """Fresh booksync tables (from the pynamodb models, indexes included), bound while the block
    runs; their names, for a caller that binds them again later (``bind_tables(names)``)."""
    from booksync.store.models import ALL_MODELS, bind_tables

    suffix = uuid.uuid4().hex[:8]
    names = SimpleNamespace(**{field: f"{field}-{suffix}" for field in ALL_MODELS})
    bind_tables(names)
    for model in ALL_MODELS.values():
        model.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
    try:
        yield names
    finally:
        bind_tables(names)
        for model in ALL_MODELS.values():
            model.delete_table()


@pytest.fixture
def tables(moto_url: str) -> Iterator[SimpleNamespace]:
    """Fresh booksync tables bound for this test."""
    with fresh_tables() as names:
        yield names


@contextmanager
def only_table(field: str) -> Iterator[None]:
    """One fresh booksync table, ``ALL_MODELS[field]``'s, bound while the block runs: for tests that
    use no other (creating every table costs seconds per test on a busy machine)."""
    from booksync.store.models import ALL_MODELS, bind_tables

    bind_tables(SimpleNamespace(**{field: f"{field}-{uuid.uuid4().hex[:8]}"}))
    ALL_MODELS[field].create_table(billing_mode="PAY_PER_REQUEST", wait=True)
    try:
        yield
    finally:
        ALL_MODELS[field].delete_table()


@pytest.fixture
def kms_key(moto_url: str) -> str:
    import boto3

    return str(boto3.client("kms").create_key(Description="booksync test tokens")["KeyMetadata"]["KeyId"])


@pytest.fixture
def sqs_queue(moto_url: str) -> str:
    import boto3

    return str(boto3.client("sqs").create_queue(QueueName=f"sync-{uuid.uuid4().hex[:8]}")["QueueUrl"])
