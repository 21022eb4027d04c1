"""Batch requests and requestid replays, including a lost answer retried with the same requestid."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from qbo_helpers import (
    CLIENT_ID,
    CLIENT_SECRET,
    REDIRECT_URI,
    SandboxFactory,
    account_id,
    fault_of,
    new_customer,
)

from local.sandboxes.quickbooks.control import SandboxControl
from local.sandboxes.quickbooks.server import QuickBooksSandbox
from local.sandboxes.quickbooks.testing import QBOClient, connect


def item_body(qbo: QBOClient, name: str) -> dict[str, object]:
    return {"Name": name, "Type": "Service", "IncomeAccountRef": {"value": account_id(qbo, "Services")}}


def test_batch_items_are_answered_by_bid_each_on_its_own(qbo: QBOClient, control: SandboxControl) -> None:
    existing = new_customer(qbo, "Taken Name")
    items: list[dict[str, Any]] = [
        {"bId": "1", "operation": "create", "Item": item_body(qbo, "Batch item")},
        {"bId": "2", "operation": "create", "Customer": {"DisplayName": "Taken Name"}},
        {"bId": "3", "Query": "select * from Customer where DisplayName = 'Taken Name'"},
        {"bId": "4", "operation": "update", "Customer": {**existing, "sparse": True, "Notes": "via batch"}},
        {"bId": "5", "operation": "create", "Customer": {"DisplayName": "Fresh"}},
    ]
    answer = qbo.batch(items)
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"BatchItemResponse", "time"}
    by_bid = {entry["bId"]: entry for entry in body["BatchItemResponse"]}
    assert by_bid["1"]["Item"]["Name"] == "Batch item"
    assert fault_of(by_bid["2"])["code"] == "6240"
    assert by_bid["3"]["QueryResponse"]["Customer"][0]["Id"] == existing["Id"]
    assert by_bid["4"]["Customer"]["Notes"] == "via batch"
    assert by_bid["5"]["Customer"]["DisplayName"] == "Fresh"
    creates = control.ledger(qbo.connection.realm)["creates"]
    assert (creates["Item"], creates["Customer"]) == (1, 2)


def test_more_than_30_items_is_1040_and_nothing_happens(qbo: QBOClient, control: SandboxControl) -> None:
    items = [{"bId": str(i), "operation": "create", "Customer": {"DisplayName": f"C{i}"}} for i in range(31)]
    answer = qbo.batch(items)
    assert answer.status_code == 400
    assert fault_of(answer.json())["code"] == "1040"
    assert control.ledger(qbo.connection.realm)["creates"]["Customer"] == 0
    assert qbo.batch(items[:30]).status_code == 200


def test_batch_item_without_operation_or_entity_is_a_fault_for_that_item(qbo: QBOClient) -> None:
    items = [
        {"bId": "a", "Customer": {"DisplayName": "No op"}},
        {"bId": "b", "operation": "create", "Gadget": {}},
        {"bId": "c", "operation": "create", "Customer": {"DisplayName": "Fine"}},
    ]
    by_bid = {entry["bId"]: entry for entry in qbo.batch(items).json()["BatchItemResponse"]}
    assert fault_of(by_bid["a"])["code"] == "2020"
    assert fault_of(by_bid["b"])["code"] == "2010"
    assert "Customer" in by_bid["c"]


def test_same_requestid_returns_the_first_answer_without_a_second_write(
    qbo: QBOClient, control: SandboxControl
) -> None:
    first = qbo.write("Customer", {"DisplayName": "Once"}, requestid="req-1")
    again = qbo.write("Customer", {"DisplayName": "Once"}, requestid="req-1")
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert control.ledger(qbo.connection.realm)["creates"]["Customer"] == 1
    log = [e for e in control.requests(qbo.connection.realm) if e["requestid"] == "req-1"]
    assert [e["replayed"] for e in log] == [False, True]


def test_requestid_is_per_company(
    sandbox: QuickBooksSandbox, qbo: QBOClient, control: SandboxControl
) -> None:
    other = QBOClient(sandbox.url, connect(sandbox.url, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI))
    qbo.write("Customer", {"DisplayName": "Same name"}, requestid="shared")
    assert other.write("Customer", {"DisplayName": "Same name"}, requestid="shared").status_code == 200
    assert control.ledger(other.connection.realm)["creates"]["Customer"] == 1
    other.close()


def test_a_rejected_write_is_not_remembered(qbo: QBOClient, control: SandboxControl) -> None:
    assert qbo.write("Customer", {"DisplayName": "Bad:Name"}, requestid="req-2").status_code == 400
    assert qbo.write("Customer", {"DisplayName": "Good Name"}, requestid="req-2").status_code == 200


def test_lost_answer_then_retry_with_the_same_requestid_gets_the_original(
    qbo: QBOClient, control: SandboxControl
) -> None:
    control.add_fault("commit_then_reset", entity="Customer", operation="create", times=1)
    with pytest.raises(httpx.TransportError):
        qbo.write("Customer", {"DisplayName": "Lost answer"}, requestid="req-3")
    retry = qbo.write("Customer", {"DisplayName": "Lost answer"}, requestid="req-3")
    assert retry.status_code == 200
    assert control.ledger(qbo.connection.realm)["creates"]["Customer"] == 1


def test_without_requestid_honoured_a_retry_duplicates_or_collides(start_sandbox: SandboxFactory) -> None:
    sandbox = start_sandbox(honor_request_id=False)
    qbo = QBOClient(sandbox.url, connect(sandbox.url, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI))
    account = account_id(qbo, "Services")
    line = {
        "Amount": "10.00",
        "DetailType": "DepositLineDetail",
        "DepositLineDetail": {"AccountRef": {"value": account}},
    }
    body = {"DepositToAccountRef": {"value": account_id(qbo, "Checking")}, "Line": [line]}
    assert qbo.write("Deposit", body, requestid="dep-1").status_code == 200
    assert qbo.write("Deposit", body, requestid="dep-1").status_code == 200
    with SandboxControl(sandbox.url) as control:
        assert control.ledger(qbo.connection.realm)["creates"]["Deposit"] == 2
    qbo.close()


def test_batch_requestid_replays_the_whole_batch(qbo: QBOClient, control: SandboxControl) -> None:
    items = [{"bId": "1", "operation": "create", "Customer": {"DisplayName": "Batched once"}}]
    first = qbo.batch(items, requestid="batch-1")
    again = qbo.batch(items, requestid="batch-1")
    assert first.json() == again.json()
    assert control.ledger(qbo.connection.realm)["creates"]["Customer"] == 1
