"""The metrics an operator reads (booksync/observability.py), as the real handler emits them:
CloudWatch embedded metric format lines on stdout, captured the way Powertools' own docs test
them (capsys, one JSON object per line)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from booksync.observability import metrics

from tests.integration.test_sync_invoice_handler import one_event, sandbox, seed_invoice, stack
from tests.lambda_env import Context

__all__ = ["sandbox", "stack"]  # fixtures


@pytest.fixture(autouse=True)
def fresh_metrics() -> Iterator[None]:
    metrics.clear_metrics()  # what the fixtures' own provider calls left in the buffer
    yield
    metrics.clear_metrics()


def emitted(out: str) -> list[dict[str, Any]]:
    """Each EMF record printed: {metric name: value(s), dimensions..., "_aws": ...}."""
    records = []
    for line in out.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            records.append(json.loads(line))
    return records


def values(records: list[dict[str, Any]], name: str) -> list[float]:
    found: list[float] = []
    for record in records:
        names = {m["Name"] for d in record["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
        if name in names:
            value = record[name]
            found += value if isinstance(value, list) else [value]
    return found


def test_a_synced_invoice_emits_documents_synced_and_provider_latency(
    stack: SimpleNamespace, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_invoice(stack)  # a customer, two items, the invoice, two payments
    event = one_event(stack)
    capsys.readouterr()

    assert stack.fns.sync_invoice.handler(event, Context()) == {"batchItemFailures": []}

    records = emitted(capsys.readouterr().out)
    (flushed,) = [r for r in records if "DocumentsSynced" in r]  # one flush per invocation
    directives = flushed["_aws"]["CloudWatchMetrics"][0]
    assert directives["Namespace"] == "booksync"
    assert sum(values(records, "DocumentsSynced")) == 6
    latencies = values(records, "ProviderLatency.quickbooks")
    assert latencies and all(ms > 0 for ms in latencies)
    units = {m["Name"]: m["Unit"] for m in directives["Metrics"]}
    assert units["ProviderLatency.quickbooks"] == "Milliseconds"
    assert not values(records, "SyncFailed") and not values(records, "ProviderThrottled.quickbooks")


def test_a_parked_job_emits_sync_parked_not_a_failure(
    stack: SimpleNamespace, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_invoice(stack, payments=())
    stack.control.revoke_grant(stack.realm)
    stack.control.expire_tokens(stack.realm)
    event = one_event(stack)
    capsys.readouterr()

    stack.fns.sync_invoice.handler(event, Context())

    records = emitted(capsys.readouterr().out)
    assert values(records, "SyncParked") == [1]
    assert not values(records, "SyncFailed")


def test_a_429_emits_provider_throttled_and_a_failure_by_reason(
    stack: SimpleNamespace, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_invoice(stack, payments=())
    stack.control.add_fault("http_429", times=20)  # every attempt: the job goes back to the queue
    event = one_event(stack)
    capsys.readouterr()

    result = stack.fns.sync_invoice.handler(event, Context())

    assert result["batchItemFailures"]
    records = emitted(capsys.readouterr().out)
    assert values(records, "ProviderThrottled.quickbooks")
    failed = [r for r in records if "SyncFailed" in r]
    assert [(r["reason"], r["SyncFailed"]) for r in failed] == [("rate_limited", [1.0])]
    assert "reason" in failed[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0]
