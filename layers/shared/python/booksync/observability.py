"""What an operator sees besides logs: CloudWatch metrics (Powertools Metrics, embedded metric
format lines on stdout, flushed once per invocation by each thin handler's ``log_metrics``) and
X-Ray subsegments for provider calls (Powertools Tracer).

Metrics (namespace ``POWERTOOLS_METRICS_NAMESPACE``, dimension ``service`` = the function):
- ``DocumentsSynced`` (Count): documents created, updated or linked in the provider by a sync
  run or a catalog step;
- ``SyncFailed`` (Count, dimension ``reason`` = the error code): a document or run that failed,
  was refused, or will be retried;
- ``SyncParked`` (Count): a sync parked until the user reconnects;
- ``ProviderLatency.<provider>`` (Milliseconds): each HTTP attempt to a provider;
- ``ProviderThrottled.<provider>`` (Count): each 429 a provider answered.

The tracer is created on the first provider call, not at import (aws_xray_sdk costs a good part
of a second of cold start), and not at all where tracing is off (``POWERTOOLS_TRACE_DISABLED``,
which the local runtime sets, or outside Lambda): there the call runs as it is.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

F = TypeVar("F", bound=Callable[..., Any])

NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "booksync"
# Every Metrics instance shares one buffer: the handlers' @metrics.log_metrics flushes it.
metrics = Metrics(namespace=NAMESPACE)
# Counts of a run that are documents written or linked in the provider.
SYNCED_COUNTS = ("created", "updated", "linked")


def documents_synced(counts: Mapping[str, int]) -> None:
    synced = sum(int(counts.get(key, 0)) for key in SYNCED_COUNTS)
    if synced:
        metrics.add_metric(name="DocumentsSynced", unit=MetricUnit.Count, value=synced)


def sync_failed(codes: Iterable[str | None]) -> None:
    """One ``SyncFailed`` per failure, with its reason (the error code) as a dimension."""
    for code in codes:
        with single_metric(name="SyncFailed", unit=MetricUnit.Count, value=1, namespace=NAMESPACE) as metric:
            metric.add_dimension(name="reason", value=str(code or "unknown"))


def sync_parked() -> None:
    metrics.add_metric(name="SyncParked", unit=MetricUnit.Count, value=1)


def provider_call(provider: str, milliseconds: float, status: int | None) -> None:
    """One HTTP attempt to a provider: its latency, and whether it was throttled."""
    metrics.add_metric(name=f"ProviderLatency.{provider}", unit=MetricUnit.Milliseconds, value=milliseconds)
    if status == 429:
        metrics.add_metric(name=f"ProviderThrottled.{provider}", unit=MetricUnit.Count, value=1)


# --------------------------------------------------------------------------- tracing


def tracing_enabled() -> bool:
    disabled = os.environ.get("POWERTOOLS_TRACE_DISABLED", "").strip().lower() in ("1", "true", "yes", "on")
    return not disabled and "AWS_LAMBDA_FUNCTION_NAME" in os.environ


@functools.cache
def tracer() -> Tracer:
    from aws_lambda_powertools import Tracer

    return Tracer()


def capture_method(method: F) -> F:
    """``Tracer.capture_method`` applied on the first traced call: an X-Ray subsegment per call,
    the exception recorded, the response never (it may hold tokens)."""
    traced: list[tuple[object, Callable[..., Any]]] = []  # (the tracer, the method it wraps)

    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        if not tracing_enabled():
            return method(*args, **kwargs)
        current = tracer()
        if not traced or traced[0][0] is not current:
            traced[:] = [(current, current.capture_method(capture_response=False)(method))]
        return traced[0][1](*args, **kwargs)

    return call  # type: ignore[return-value]
