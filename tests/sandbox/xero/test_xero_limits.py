"""Xero's limits with its headers and 429s, Idempotency-Key replay, and faults on demand."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pytest
from xero_helpers import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI

from local.sandboxes.xero.server import XeroSandbox
from local.sandboxes.xero.testing import XeroClient, XeroControl

NEW = {"Contacts": [{"Name": "Grace Hopper"}]}


def test_every_answer_carries_the_remaining_calls(xero: XeroClient, control: XeroControl) -> None:
    control.set_config(day_limit=1000)
    first = xero.request("GET", "/Organisation")
    second = xero.request("GET", "/Contacts")
    assert first.headers["X-MinLimit-Remaining"] == "59" and second.headers["X-MinLimit-Remaining"] == "58"
    assert second.headers["X-DayLimit-Remaining"] == "998"
    assert second.headers["X-AppMinLimit-Remaining"] == "9998"


def test_sixty_a_minute_then_429_until_the_window_moves(xero: XeroClient, control: XeroControl) -> None:
    for _ in range(60):
        assert xero.request("GET", "/Organisation").status_code == 200
    refused = xero.request("GET", "/Organisation")
    assert refused.status_code == 429
    assert refused.headers["X-Rate-Limit-Problem"] == "minute"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["X-MinLimit-Remaining"] == "0"
    control.advance(60)
    assert xero.request("GET", "/Organisation").status_code == 200


def test_the_daily_cap_is_a_setting_and_says_day(xero: XeroClient, control: XeroControl) -> None:
    control.set_config(day_limit=3, access_token_lifetime_s=3 * 86400)
    xero.access_token = control.connect(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI).access_token
    for _ in range(3):
        xero.request("GET", "/Organisation")
    refused = xero.request("GET", "/Organisation")
    assert (refused.status_code, refused.headers["X-Rate-Limit-Problem"]) == (429, "day")
    assert int(refused.headers["Retry-After"]) > 23 * 3600
    control.advance(86400)
    assert xero.request("GET", "/Organisation").status_code == 200


def test_the_app_minute_limit_spans_tenants(
    sandbox: XeroSandbox, control: XeroControl, xero: XeroClient
) -> None:
    control.set_config(app_minute_limit=3)
    other = XeroClient(
        sandbox.url, xero.access_token, next(t for t in _tenants(control) if t != xero.tenant_id)
    )
    xero.request("GET", "/Organisation")
    other.request("GET", "/Organisation")
    xero.request("GET", "/Organisation")
    refused = other.request("GET", "/Organisation")
    other.close()
    assert (refused.status_code, refused.headers["X-Rate-Limit-Problem"]) == (429, "appminute")


def _tenants(control: XeroControl) -> list[str]:
    return [org["tenant_id"] for org in control.organisations()]


def test_no_more_than_five_in_flight_per_tenant(sandbox: XeroSandbox, xero: XeroClient) -> None:
    """Five calls being served hold the tenant's slots; a sixth is 429 concurrent."""
    release = threading.Event()
    original = sandbox.accounting._serve

    def held(*args: Any) -> Any:
        release.wait(5)
        return original(*args)

    sandbox.accounting._serve = held  # type: ignore[method-assign]
    answers: list[int] = []
    threads = [
        threading.Thread(target=lambda: answers.append(xero.request("GET", "/Contacts").status_code))
        for _ in range(5)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 5
    while sandbox.limits.in_flight.get(xero.tenant_id, 0) < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    sixth = xero.request("GET", "/Organisation")
    release.set()
    for thread in threads:
        thread.join()
    assert (sixth.status_code, sixth.headers["X-Rate-Limit-Problem"]) == (429, "concurrent")
    assert answers == [200] * 5


def test_the_same_key_and_body_replays_the_answer_and_creates_once(
    xero: XeroClient, control: XeroControl
) -> None:
    key = {"Idempotency-Key": "contact-grace-1"}
    first = xero.request("PUT", "/Contacts", json=NEW, headers=key)
    again = xero.request("PUT", "/Contacts", json=NEW, headers=key)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert len(control.ledger(xero.tenant_id)["contacts"]) == 1
    replayed = [entry["replayed"] for entry in control.requests(xero.tenant_id) if entry["method"] == "PUT"]
    assert replayed == [False, True]


def test_errors_are_replayed_too_and_another_body_with_the_key_is_400(xero: XeroClient) -> None:
    key = {"Idempotency-Key": "bad-1"}
    bad = {"Contacts": [{"Name": ""}]}
    first = xero.request("PUT", "/Contacts", json=bad, headers=key)
    assert first.status_code == 400
    assert xero.request("PUT", "/Contacts", json=bad, headers=key).json() == first.json()
    other = xero.request("PUT", "/Contacts", json=NEW, headers=key)
    assert other.status_code == 400
    assert "already used with a different request" in other.json()["Message"]


def test_a_key_is_kept_six_minutes(xero: XeroClient, control: XeroControl) -> None:
    key = {"Idempotency-Key": "contact-grace-2"}
    xero.request("PUT", "/Contacts", json=NEW, headers=key)
    control.advance(6 * 60)
    again = xero.request("PUT", "/Contacts", json=NEW, headers=key)
    assert again.status_code == 400  # a new call: the name is taken now
    assert len(control.ledger(xero.tenant_id)["contacts"]) == 1


def test_committed_but_lost_then_the_retry_with_its_key_gets_the_answer(
    xero: XeroClient, control: XeroControl
) -> None:
    control.add_fault("commit_then_reset", operation="create", entity="contacts", times=1)
    key = {"Idempotency-Key": "lost-1"}
    with pytest.raises(httpx.TransportError):
        xero.request("PUT", "/Contacts", json=NEW, headers=key)
    retried = xero.request("PUT", "/Contacts", json=NEW, headers=key)
    assert retried.status_code == 200
    assert [c["Name"] for c in control.ledger(xero.tenant_id)["contacts"]] == ["Grace Hopper"]
    entries = [e for e in control.requests(xero.tenant_id) if e["method"] == "PUT"]
    assert [(e["injected"], e["delivered"], e["committed_status"]) for e in entries] == [
        ("commit_then_reset", False, 200),
        (None, True, None),
    ]


@pytest.mark.parametrize(("action", "status"), [("http_500", 500), ("http_503", 503), ("http_429", 429)])
def test_faults_answer_in_xeros_shape(
    xero: XeroClient, control: XeroControl, action: str, status: int
) -> None:
    control.add_fault(action, path="/api.xro/2.0/Invoices", times=1)
    answer = xero.request("GET", "/Invoices")
    assert answer.status_code == status
    if status == 429:
        assert answer.headers["X-Rate-Limit-Problem"] == "minute" and answer.headers["Retry-After"] == "1"
    assert xero.request("GET", "/Invoices").status_code == 200


def test_a_timeout_fault_holds_the_request(xero: XeroClient, control: XeroControl) -> None:
    control.add_fault("timeout", path="/api.xro/2.0/Contacts", seconds=1.0, times=1)
    xero.http.timeout = httpx.Timeout(0.3)
    with pytest.raises(httpx.ReadTimeout):
        xero.request("GET", "/Contacts")
