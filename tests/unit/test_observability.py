"""Provider calls are traced with Powertools Tracer (an X-Ray subsegment per HTTP request, the
response never recorded), and only where tracing is on: the local runtime and the tests never
create a tracer, so aws_xray_sdk costs nothing there."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from booksync import observability
from booksync.providers.http import HttpClient


class RecordingTracer:
    """Stands for Powertools' Tracer: records what capture_method wraps and how."""

    def __init__(self) -> None:
        self.wrapped: list[tuple[str, dict[str, Any]]] = []
        self.calls: list[str] = []

    def capture_method(self, **options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def decorate(method: Callable[..., Any]) -> Callable[..., Any]:
            self.wrapped.append((method.__qualname__, options))

            def call(*args: Any, **kwargs: Any) -> Any:
                self.calls.append(method.__qualname__)
                return method(*args, **kwargs)

            return call

        return decorate


@pytest.fixture
def recording(monkeypatch: pytest.MonkeyPatch) -> RecordingTracer:
    tracer = RecordingTracer()
    monkeypatch.setattr(observability, "tracer", lambda: tracer)
    return tracer


def client() -> HttpClient:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"ok": True}))
    return HttpClient(provider="quickbooks", label="QuickBooks", transport=transport)


def test_in_lambda_each_provider_request_is_a_subsegment_without_its_response(
    recording: RecordingTracer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "booksync-dev-sync-invoice")
    monkeypatch.delenv("POWERTOOLS_TRACE_DISABLED", raising=False)
    http = client()
    for _ in range(2):
        assert http.request("GET", "https://quickbooks.example/v3/company/1/query").status_code == 200
    assert recording.wrapped == [("HttpClient.request", {"capture_response": False})]  # wrapped once
    assert recording.calls == ["HttpClient.request", "HttpClient.request"]


@pytest.mark.parametrize(
    "env",
    [{"AWS_LAMBDA_FUNCTION_NAME": "booksync-local-api", "POWERTOOLS_TRACE_DISABLED": "true"}, {}],
    ids=["local runtime", "outside Lambda"],
)
def test_where_tracing_is_off_no_tracer_is_created(
    recording: RecordingTracer, monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    for name in ("AWS_LAMBDA_FUNCTION_NAME", "POWERTOOLS_TRACE_DISABLED"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert client().request("GET", "https://quickbooks.example/v3/company/1/query").status_code == 200
    assert recording.wrapped == [] and recording.calls == []
