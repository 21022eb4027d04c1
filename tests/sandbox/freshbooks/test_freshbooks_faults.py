"""Faults on demand through the kit, answered in FreshBooks' shapes: committed-but-lost answers
(the record is in the books, the client saw nothing), injected 429 with Retry-After, 5xx, 401,
aimed at one business by its account_id."""

from __future__ import annotations

import httpx
import pytest
from freshbooks_helpers import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI

from local.sandboxes.freshbooks.testing import FreshBooksClient, FreshBooksControl


def test_a_committed_create_whose_answer_is_lost_is_in_the_books(
    fb: FreshBooksClient, control: FreshBooksControl
) -> None:
    control.add_fault("commit_then_reset", entity="client", operation="create", times=1)
    with pytest.raises(httpx.TransportError):
        fb.request("POST", "users/clients", json={"client": {"organization": "Lost Answer"}})
    assert [c["organization"] for c in control.ledger(fb.account_id)["clients"]] == ["Lost Answer"]
    (entry,) = [r for r in control.requests(fb.account_id) if r["operation"] == "create"]
    assert (entry["injected"], entry["committed_status"], entry["delivered"]) == (
        "commit_then_reset",
        200,
        False,
    )
    # No idempotency key: the same create again is a second client (what booksync's look-ups prevent).
    fb.result("POST", "users/clients", json={"client": {"organization": "Lost Answer"}})
    assert len(control.ledger(fb.account_id)["clients"]) == 2


def test_an_injected_429_carries_retry_after_in_freshbooks_shape(
    fb: FreshBooksClient, control: FreshBooksControl
) -> None:
    control.add_fault("http_429", entity="invoice", operation="create", times=1, retry_after=9)
    answer = fb.request("POST", "invoices/invoices", json={"invoice": {"customerid": 1}})
    assert (answer.status_code, answer.headers["retry-after"]) == (429, "9")
    assert answer.json()["response"]["errors"][0]["errno"] == 429
    assert control.ledger(fb.account_id)["invoices"] == []


@pytest.mark.parametrize(("action", "status"), [("http_500", 500), ("http_503", 503)])
def test_server_errors_in_freshbooks_shape(
    fb: FreshBooksClient, control: FreshBooksControl, action: str, status: int
) -> None:
    control.add_fault(action, entity="item", times=1)
    answer = fb.request("GET", "items/items")
    assert answer.status_code == status
    assert answer.json()["response"]["errors"][0]["errno"] == status
    assert fb.request("GET", "items/items").status_code == 200


def test_an_injected_401_reads_as_unauthenticated(fb: FreshBooksClient, control: FreshBooksControl) -> None:
    control.add_fault("http_401", path=r"^/accounting/", times=1)
    answer = fb.request("GET", "users/clients")
    assert (answer.status_code, answer.json()["error"]) == (401, "unauthenticated")


def test_a_rule_aimed_at_one_business_spares_the_others(
    fb: FreshBooksClient, control: FreshBooksControl, sandbox: object
) -> None:
    other = control.add_business("Second Shop")
    control.add_fault("http_503", realm=other["account_id"])
    assert fb.request("GET", "users/clients").status_code == 200
    tokens = control.connect(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)
    second = FreshBooksClient(control.base_url, tokens.access_token, other["account_id"])
    assert second.request("GET", "users/clients").status_code == 503
    second.close()
