"""Intuit's throttles per realm: requests per minute, batches per minute, requests in flight."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from qbo_helpers import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, SandboxFactory, fault_of

from local.sandboxes.quickbooks.config import Limits
from local.sandboxes.quickbooks.control import SandboxControl
from local.sandboxes.quickbooks.server import QuickBooksSandbox
from local.sandboxes.quickbooks.testing import QBOClient, connect


def company(sandbox: QuickBooksSandbox) -> QBOClient:
    return QBOClient(sandbox.url, connect(sandbox.url, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI))


def assert_throttled(answer: httpx.Response) -> None:
    assert answer.status_code == 429
    error = fault_of(answer.json())
    assert error["code"] == "3001"
    assert error["Message"] == "message=ThrottleExceeded; errorCode=003001; statusCode=429"


def test_more_than_ten_in_flight_is_429(start_sandbox: SandboxFactory) -> None:
    sandbox = start_sandbox()
    qbo = company(sandbox)
    clients = [QBOClient(sandbox.url, qbo.connection) for _ in range(14)]
    for client in clients:  # open every connection first, so the 14 calls really overlap
        assert client.read("Account", "1").status_code == 200
    with SandboxControl(sandbox.url) as control:
        # Each answer waits 3 s: the 14 barrier-released calls arrive well within it, however busy
        # the machine (a shorter wait let early answers finish before the last calls arrived).
        control.set_config(latency_ms=3000)
    barrier = threading.Barrier(len(clients))

    def call(client: QBOClient) -> httpx.Response:
        barrier.wait()
        return client.read("Account", "1")

    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        answers = list(pool.map(call, clients))
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses.count(200) == 10
    assert statuses.count(429) == 4
    throttled = next(answer for answer in answers if answer.status_code == 429)
    assert_throttled(throttled)
    assert throttled.headers["Retry-After"] == "1"
    for client in [qbo, *clients]:
        client.close()


def test_requests_per_minute_with_a_compressed_clock(start_sandbox: SandboxFactory) -> None:
    # 60 s of sandbox time pass in 1.5 s; five requests per window.
    sandbox = start_sandbox(clock_scale=40.0, limits=Limits(requests_per_minute=5))
    qbo = company(sandbox)
    assert all(qbo.read("Account", "1").status_code == 200 for _ in range(5))
    throttled = qbo.read("Account", "1")
    assert_throttled(throttled)
    assert int(throttled.headers["Retry-After"]) >= 1
    time.sleep(1.6)
    assert qbo.read("Account", "1").status_code == 200
    qbo.close()


def test_the_window_is_per_realm(start_sandbox: SandboxFactory) -> None:
    sandbox = start_sandbox(limits=Limits(requests_per_minute=2))
    first, second = company(sandbox), company(sandbox)
    assert [first.read("Account", "1").status_code for _ in range(3)] == [200, 200, 429]
    assert second.read("Account", "1").status_code == 200
    first.close()
    second.close()


def test_batches_per_minute(start_sandbox: SandboxFactory) -> None:
    sandbox = start_sandbox(limits=Limits(batch_per_minute=2))
    qbo = company(sandbox)
    item = [{"bId": "1", "Query": "select * from Account maxresults 1"}]
    assert [qbo.batch(item).status_code for _ in range(3)] == [200, 200, 429]
    assert qbo.read("Account", "1").status_code == 200  # other calls are still admitted
    qbo.close()


def test_retry_after_can_be_left_out(start_sandbox: SandboxFactory) -> None:
    sandbox = start_sandbox(send_retry_after=False, limits=Limits(requests_per_minute=1))
    qbo = company(sandbox)
    qbo.read("Account", "1")
    throttled = qbo.read("Account", "1")
    assert_throttled(throttled)
    assert "Retry-After" not in throttled.headers
    qbo.close()


def test_latency_is_added_to_api_calls(start_sandbox: SandboxFactory) -> None:
    sandbox = start_sandbox(latency_ms=150)
    qbo = company(sandbox)
    started = time.monotonic()
    qbo.read("Account", "1")
    assert time.monotonic() - started >= 0.15
    qbo.close()
