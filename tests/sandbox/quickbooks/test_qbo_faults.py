"""Injected faults as an HTTP client sees them, and what the ledger and log say afterwards."""

from __future__ import annotations

import json

import httpx
import pytest
from qbo_helpers import CLIENT_ID, CLIENT_SECRET, fault_of, raw

from local.sandboxes.quickbooks.control import ControlError, SandboxControl
from local.sandboxes.quickbooks.server import QuickBooksSandbox
from local.sandboxes.quickbooks.testing import Connection, QBOClient, basic_auth

CUSTOMER = {"DisplayName": "Fault Tolerant Inc"}


def customers_in_ledger(control: SandboxControl, realm: str) -> list[str]:
    return [c["DisplayName"] for c in control.ledger(realm)["entities"]["Customer"]]


def test_http_500_is_an_intuit_system_fault(qbo: QBOClient, control: SandboxControl) -> None:
    control.add_fault("http_500", entity="Customer", operation="create", times=1)
    answer = qbo.write("Customer", CUSTOMER)
    assert answer.status_code == 500
    assert answer.json()["Fault"]["type"] == "SystemFault"
    assert fault_of(answer.json())["code"] == "10000"
    assert customers_in_ledger(control, qbo.connection.realm) == []
    assert qbo.write("Customer", CUSTOMER).status_code == 200  # times=1 is spent


def test_http_503_is_an_html_page(qbo: QBOClient, control: SandboxControl) -> None:
    control.add_fault("http_503", operation="read")
    answer = qbo.read("Account", "1")
    assert answer.status_code == 503
    assert answer.headers["Content-Type"].startswith("text/html")
    assert qbo.query("select * from Account").status_code == 200  # only reads match


def test_http_429_carries_its_retry_after(qbo: QBOClient, control: SandboxControl) -> None:
    control.add_fault("http_429", operation="query", times=1, retry_after=120)
    answer = qbo.query("select * from Customer")
    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "120"
    assert fault_of(answer.json())["code"] == "3001"


def test_timeout_is_a_read_timeout(
    sandbox: QuickBooksSandbox, connection: Connection, control: SandboxControl
) -> None:
    control.add_fault("timeout", operation="read", seconds=2.0, times=1)
    qbo = QBOClient(sandbox.url, connection, timeout=0.3)
    with pytest.raises(httpx.ReadTimeout):
        qbo.read("Account", "1")
    entry = control.requests(connection.realm)[-1]
    assert (entry["injected"], entry["delivered"], entry["status"]) == ("timeout", False, None)
    qbo.close()


def test_a_timeout_held_shorter_than_the_client_waits_is_a_closed_connection(
    sandbox: QuickBooksSandbox, connection: Connection, control: SandboxControl
) -> None:
    control.add_fault("timeout", operation="read", seconds=0.1, times=1)
    qbo = QBOClient(sandbox.url, connection, timeout=5)
    with pytest.raises(httpx.RemoteProtocolError):
        qbo.read("Account", "1")
    qbo.close()


def test_reset_is_a_transport_error(qbo: QBOClient, control: SandboxControl) -> None:
    control.add_fault("reset", entity="Customer", times=1)
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError, httpx.ConnectError)):
        qbo.write("Customer", CUSTOMER)
    assert customers_in_ledger(control, qbo.connection.realm) == []


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("commit_then_500", None),
        ("commit_then_reset", httpx.TransportError),
        ("commit_then_timeout", httpx.ReadTimeout),
    ],
)
def test_commit_then_lose_the_answer_leaves_the_object_in_the_ledger(
    sandbox: QuickBooksSandbox,
    connection: Connection,
    control: SandboxControl,
    action: str,
    expected: type[Exception] | None,
) -> None:
    control.add_fault(action, entity="Customer", operation="create", times=1, seconds=1.0)
    qbo = QBOClient(sandbox.url, connection, timeout=0.3)
    if expected is None:
        assert qbo.write("Customer", CUSTOMER).status_code == 500
    else:
        with pytest.raises(expected):
            qbo.write("Customer", CUSTOMER)
    assert customers_in_ledger(control, connection.realm) == [CUSTOMER["DisplayName"]]
    entry = control.requests(connection.realm)[-1]
    assert (entry["injected"], entry["committed_status"], entry["delivered"]) == (action, 200, False)
    qbo.close()


def test_rules_match_on_realm_method_and_path(qbo: QBOClient, control: SandboxControl) -> None:
    control.add_fault("http_500", realm="some-other-realm")
    control.add_fault("http_500", method="GET", path=r"/item/")
    assert qbo.write("Customer", CUSTOMER).status_code == 200
    assert qbo.read("Account", "1").status_code == 200
    assert qbo.read("Item", "1").status_code == 500


def test_probability_with_a_seed_is_repeatable(qbo: QBOClient, control: SandboxControl) -> None:
    def run() -> list[int]:
        control.clear_faults()
        control.add_fault("http_500", operation="read", probability=0.5, seed=7)
        return [qbo.read("Account", "1").status_code for _ in range(20)]

    first, second = run(), run()
    assert first == second
    assert 0 < first.count(500) < 20


def test_a_rule_naming_an_entity_hits_a_batch_that_writes_it(qbo: QBOClient, control: SandboxControl) -> None:
    control.add_fault("http_500", entity="Customer", operation="create", times=1)
    items = [{"bId": "1", "operation": "create", "Customer": CUSTOMER}]
    assert qbo.batch(items).status_code == 500
    control.add_fault("http_503", operation="batch", times=1)
    assert qbo.batch([{"bId": "1", "Query": "select * from Item"}]).status_code == 503


def test_token_endpoint_faults_lose_a_rotation(
    sandbox: QuickBooksSandbox, connection: Connection, control: SandboxControl
) -> None:
    control.add_fault("commit_then_reset", operation="token", times=1)
    data = {"grant_type": "refresh_token", "refresh_token": connection.refresh_token}
    headers = {"Authorization": basic_auth(CLIENT_ID, CLIENT_SECRET)}
    with pytest.raises(httpx.TransportError):
        raw.post(f"{sandbox.url}/oauth2/v1/tokens/bearer", data=data, headers=headers)
    again = raw.post(f"{sandbox.url}/oauth2/v1/tokens/bearer", data=data, headers=headers)
    assert again.json()["error"] == "invalid_grant"  # the rotation happened; its answer was lost
    assert control.token_calls(connection.realm)["refresh_token"] == 2


def test_bad_rules_are_refused(control: SandboxControl) -> None:
    with pytest.raises(ControlError):
        control.add_fault("explode")
    with pytest.raises(ControlError):
        control.add_fault("http_500", operation="merge")
    with pytest.raises(ControlError):
        control.add_fault("http_500", probability=2)


def test_rules_are_listed_and_cleared(control: SandboxControl) -> None:
    rule = control.add_fault("reset", entity="Invoice", times=2)
    assert control.faults() == [rule]
    control.clear_faults()
    assert control.faults() == []


def test_the_log_never_holds_tokens_or_secrets(
    sandbox: QuickBooksSandbox, connection: Connection, qbo: QBOClient, control: SandboxControl
) -> None:
    qbo.write("Customer", CUSTOMER, requestid="r-1")
    raw.post(
        f"{sandbox.url}/oauth2/v1/tokens/bearer",
        data={"grant_type": "refresh_token", "refresh_token": connection.refresh_token},
        headers={"Authorization": basic_auth(CLIENT_ID, CLIENT_SECRET)},
    )
    raw.get(f"{sandbox.url}/v3/company/{connection.realm}/account/1", params={"access_token": "leak-me"})
    dumped = json.dumps(control.requests())
    for secret in (connection.access_token, connection.refresh_token, CLIENT_SECRET, "leak-me"):
        assert secret not in dumped
    entry = next(e for e in control.requests() if e["requestid"] == "r-1")
    assert entry["status"] == 200
    assert entry["operation"] == "create"
    assert entry["entity"] == "Customer"
    assert entry["minorversion"] == "75"
    assert entry["duration_ms"] is not None
    assert entry["intuit_tid"]
