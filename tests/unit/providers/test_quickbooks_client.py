"""The low-level QuickBooks client: request shapes, auth refresh, fault mapping, batch."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from booksync.errors import (
    Conflict,
    ConnectionDown,
    DuplicateName,
    NeedsReconnection,
    ProviderError,
    RateLimited,
    Rejected,
    RemoteNotFound,
    TransientError,
)
from booksync.providers.http import HttpClient
from booksync.providers.quickbooks.client import (
    BatchOp,
    QuickBooksClient,
    quote,
    request_id,
    select,
)

from tests.unit.providers.qbo_fake import REALM, FakeIntuit, FakeTokens, auth_fault, fault, respond

# ---------------------------------------------------------------------- request shapes


def test_every_call_carries_minorversion_and_only_writes_carry_requestid(
    client: QuickBooksClient, intuit: FakeIntuit
) -> None:
    created = client.create("Customer", {"DisplayName": "Ann"}, idempotency_key="cust-1-create-v1")
    client.read("Customer", created["Id"])
    client.query("select * from Customer")
    client.update(
        "Customer", {"Id": created["Id"], "SyncToken": "0", "GivenName": "A"}, idempotency_key="cust-1-v2"
    )
    create, read, query, update = intuit.requests
    for request in intuit.requests:
        assert request.url.params["minorversion"] == "75"
        assert request.headers["Accept"] == "application/json"
        assert request.headers["Authorization"] == "Bearer access-1"
    assert create.url.params["requestid"] == "cust-1-create-v1"
    assert update.url.params["requestid"] == "cust-1-v2"
    assert "requestid" not in read.url.params
    assert "requestid" not in query.url.params
    assert create.url.path == f"/v3/company/{REALM}/customer"
    assert read.method == "GET" and read.url.path == f"/v3/company/{REALM}/customer/{created['Id']}"


def test_minor_version_is_a_setting(intuit: FakeIntuit, http: HttpClient, tokens: FakeTokens) -> None:
    client = QuickBooksClient(
        realm_id=REALM, tokens=tokens, http=http, api_base_url="https://qbo.test/", minor_version=80
    )
    client.query("select * from Item")
    assert intuit.last().url.params["minorversion"] == "80"
    assert intuit.last().url.path == f"/v3/company/{REALM}/query"


def test_query_is_posted_as_application_text(client: QuickBooksClient, intuit: FakeIntuit) -> None:
    client.query("select * from Customer where DisplayName = 'O\\'Brien'")
    request = intuit.last()
    assert request.method == "POST"
    assert request.headers["Content-Type"] == "application/text"
    assert request.content.decode() == "select * from Customer where DisplayName = 'O\\'Brien'"


def test_sparse_update_body(client: QuickBooksClient, intuit: FakeIntuit) -> None:
    intuit.add("Customer", DisplayName="Ann")
    client.update("Customer", {"Id": "101", "SyncToken": "0", "GivenName": "Ann"}, idempotency_key="k")
    body = json.loads(intuit.last().content)
    assert body == {"Id": "101", "SyncToken": "0", "GivenName": "Ann", "sparse": True}


def test_update_needs_id_and_sync_token(client: QuickBooksClient) -> None:
    with pytest.raises(ValueError):
        client.update("Customer", {"Id": "1"}, idempotency_key="k")


def test_void_is_an_operation(client: QuickBooksClient, intuit: FakeIntuit) -> None:
    intuit.add("Invoice", DocNumber="1001", Line=[])
    voided = client.operation(
        "Invoice", {"Id": "101", "SyncToken": "0"}, operation="void", idempotency_key="v"
    )
    assert intuit.last().url.params["operation"] == "void"
    assert intuit.last().url.params["requestid"] == "v"
    assert voided["SyncToken"] == "1"


def test_pagination_uses_startposition_and_maxresults(client: QuickBooksClient, intuit: FakeIntuit) -> None:
    for n in range(5):
        intuit.add("Account", Name=f"A{n}", Classification="Revenue", AccountType="Income")
    rows = client.select_all("Account", page_size=2)
    assert [r["Name"] for r in rows] == ["A0", "A1", "A2", "A3", "A4"]
    statements = [r.content.decode() for r in intuit.requests]
    assert statements == [
        "select * from Account STARTPOSITION 1 MAXRESULTS 2",
        "select * from Account STARTPOSITION 3 MAXRESULTS 2",
        "select * from Account STARTPOSITION 5 MAXRESULTS 2",
    ]


def test_quoting() -> None:
    assert quote("O'Brien") == "'O\\'Brien'"
    assert quote("back\\slash\\") == "'back\\\\slash\\\\'"
    assert quote("it's \\' tricky") == "'it\\'s \\\\\\' tricky'"
    assert (
        select("Item", "Name = 'x'") == "select * from Item where Name = 'x' STARTPOSITION 1 MAXRESULTS 1000"
    )
    with pytest.raises(ValueError):
        select("Item; drop", None)


def test_request_id_fits_intuit_limits() -> None:
    assert request_id("short-key") == "short-key"
    long_key = "company-123#invoice#inv-0001#create#" + "x" * 40
    rid = request_id(long_key)
    assert len(rid) <= 50 and rid == request_id(long_key) and rid != request_id(long_key + "y")
    assert len(request_id("a" * 40, 36)) <= 36
    assert request_id("has spaces/and#hash") != "has spaces/and#hash"


def test_realm_id_is_checked(tokens: FakeTokens) -> None:
    from booksync.errors import ConfigurationError

    with pytest.raises(ConfigurationError):
        QuickBooksClient(realm_id="../../x", tokens=tokens)


# ---------------------------------------------------------------------- auth


def test_401_refreshes_once_and_retries(
    client: QuickBooksClient, intuit: FakeIntuit, tokens: FakeTokens
) -> None:
    intuit.valid_tokens = {"access-2"}
    client.create("Customer", {"DisplayName": "Ann"}, idempotency_key="k1")
    assert tokens.rejected == ["access-1"]
    first, second = intuit.requests
    assert first.headers["Authorization"] == "Bearer access-1"
    assert second.headers["Authorization"] == "Bearer access-2"
    # The retry of a write carries the same requestid: Intuit never applied the first one.
    assert first.url.params["requestid"] == second.url.params["requestid"] == "k1"


def test_second_401_is_connection_down(
    client: QuickBooksClient, intuit: FakeIntuit, tokens: FakeTokens
) -> None:
    intuit.valid_tokens = set()
    with pytest.raises(ConnectionDown) as caught:
        client.query("select * from Customer")
    assert len(intuit.requests) == 2
    assert tokens.rejected == ["access-1"]
    assert caught.value.status == 401
    assert caught.value.provider == "quickbooks"
    assert caught.value.provider_code == "3200"
    assert "Reconnect" in caught.value.fix


def test_auth_fault_inside_http_200_also_triggers_refresh(
    client: QuickBooksClient, intuit: FakeIntuit
) -> None:
    intuit.then(respond(200, auth_fault()))
    client.query("select * from Customer")
    assert len(intuit.requests) == 2


def test_refresh_that_finds_the_grant_gone_raises_needs_reconnection(
    client: QuickBooksClient, intuit: FakeIntuit
) -> None:
    class Gone(FakeTokens):
        def refreshed_after_rejection(self, rejected_token: str) -> str:
            raise NeedsReconnection("grant gone", provider="quickbooks")

    client._tokens = Gone("access-9")
    with pytest.raises(NeedsReconnection):
        client.query("select * from Customer")
    assert len(intuit.requests) == 1


def test_token_never_in_error_or_logs(
    client: QuickBooksClient, intuit: FakeIntuit, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "access-1"
    intuit.valid_tokens = set()
    intuit.then(
        respond(401, auth_fault(detail=f"Token expired: {secret}")),
        respond(401, auth_fault(detail=f"Token expired: {secret} access-2")),
    )
    with pytest.raises(ConnectionDown) as caught:
        client.query("select * from Customer")
    blob = "\n".join(
        [str(caught.value), repr(caught.value), caught.value.detail or "", caught.value.fix]
        + [r.getMessage() for r in caplog.records]
        + [str(v) for r in caplog.records for v in r.__dict__.values()]
    )
    assert "access-2" not in blob  # the token in use when the error was raised
    assert "Bearer" not in blob


# ---------------------------------------------------------------------- faults


FAULT_CASES = [
    (6240, DuplicateName, "already uses this name"),
    (5010, Conflict, ""),
    (610, RemoteNotFound, "deleted or merged"),
    (2020, Rejected, "needs a value for DisplayName"),
    (2040, Rejected, "characters in DisplayName"),
    (2050, Rejected, "fewer characters in DisplayName"),
    (2500, Rejected, "a linked record was deleted or made inactive in QuickBooks"),
    (6000, Rejected, "business rule"),
    (6070, Rejected, "quantity x price"),
    (6140, Rejected, "already uses this number"),
    (6190, Rejected, "not active"),
    (6210, Rejected, "closed"),
    (6540, Rejected, "deposit"),
    (4001, Rejected, "QuickBooks' message"),
    (120, ConnectionDown, "Reconnect"),
    (10000, TransientError, "automatically"),
]


@pytest.mark.parametrize(("code", "error_class", "fix"), FAULT_CASES)
def test_fault_codes_map_to_typed_errors(
    client: QuickBooksClient, intuit: FakeIntuit, code: int, error_class: type[ProviderError], fix: str
) -> None:
    intuit.then(respond(400, fault(code, f"Message {code}", f"Detail {code}", element="DisplayName")))
    with pytest.raises(error_class) as caught:
        client.create("Customer", {"DisplayName": "Ann"}, idempotency_key="k")
    error = caught.value
    assert type(error) is error_class
    assert error.provider == "quickbooks"
    assert error.provider_code == str(code)
    assert error.status == 400
    assert error.detail == f"Detail {code}"
    assert f"Message {code}" in error.message and f"code {code}" in error.message
    assert "DisplayName" in error.message
    assert fix.lower() in error.fix.lower()
    assert "tid-1" in error.message  # intuit_tid, for Intuit support
    assert len(intuit.requests) == 1


def test_fault_inside_http_200_is_an_error(client: QuickBooksClient, intuit: FakeIntuit) -> None:
    intuit.then(
        respond(200, fault(6000, "A business validation error has occurred", "Business Validation Error: x"))
    )
    with pytest.raises(Rejected) as caught:
        client.create("Invoice", {"Line": []}, idempotency_key="k")
    assert caught.value.status == 200
    assert caught.value.provider_code == "6000"


def test_2500_fix_says_linked_record(client: QuickBooksClient, intuit: FakeIntuit) -> None:
    intuit.then(
        respond(
            400, fault(2500, "Invalid Reference Id", "Invalid Reference Id : Customer ref 9", "CustomerRef")
        )
    )
    with pytest.raises(Rejected) as caught:
        client.create("Invoice", {"Line": []}, idempotency_key="k")
    assert "a linked record was deleted or made inactive in quickbooks" in caught.value.fix.lower()


def test_throttle_fault_is_rate_limited_for_60s(
    client: QuickBooksClient, intuit: FakeIntuit, sleeps: list[float]
) -> None:
    body = fault(
        3001,
        "message=ThrottleExceeded; errorCode=003001; statusCode=429",
        "The request limit was reached.",
        kind="SERVICE",
    )
    intuit.then(respond(429, body))
    with pytest.raises(RateLimited) as caught:
        client.create("Customer", {"DisplayName": "Ann"}, idempotency_key="k")
    assert caught.value.retry_after == 60.0
    assert sleeps == []
    assert len(intuit.requests) == 1


def test_throttle_fault_in_a_400_is_still_rate_limited(client: QuickBooksClient, intuit: FakeIntuit) -> None:
    intuit.then(
        respond(
            400,
            {
                "Fault": {
                    "Error": [{"Message": "message=ThrottleExceeded; errorCode=003001; statusCode=429"}],
                    "type": "SERVICE",
                }
            },
        )
    )
    with pytest.raises(RateLimited) as caught:
        client.query("select * from Customer")
    assert caught.value.provider_code == "3001"


def test_429_with_short_retry_after_is_retried_inline(
    client: QuickBooksClient, intuit: FakeIntuit, sleeps: list[float]
) -> None:
    intuit.then(respond(429, fault(3001, "ThrottleExceeded", kind="SERVICE"), headers={"Retry-After": "2"}))
    client.create("Customer", {"DisplayName": "Ann"}, idempotency_key="k")
    assert sleeps == [2.0]
    assert len(intuit.requests) == 2


def test_5xx_on_a_write_is_uncertain_and_not_retried(client: QuickBooksClient, intuit: FakeIntuit) -> None:
    intuit.then(respond(503, fault(10000, "Service unavailable")))
    with pytest.raises(TransientError) as caught:
        client.create("Customer", {"DisplayName": "Ann"}, idempotency_key="k")
    assert caught.value.uncertain is True
    assert len(intuit.requests) == 1


def test_5xx_on_a_query_is_retried(client: QuickBooksClient, intuit: FakeIntuit) -> None:
    intuit.then(respond(500, {}), respond(502, {}))
    client.query("select * from Customer")
    assert len(intuit.requests) == 3


def test_read_timeout_on_a_write_is_uncertain(client: QuickBooksClient, intuit: FakeIntuit) -> None:
    intuit.then(httpx.ReadTimeout("timed out"))
    with pytest.raises(TransientError) as caught:
        client.create("Customer", {"DisplayName": "Ann"}, idempotency_key="k")
    assert caught.value.uncertain is True
    assert len(intuit.requests) == 1


def test_non_json_4xx_is_still_typed(client: QuickBooksClient, intuit: FakeIntuit) -> None:
    intuit.then(httpx.Response(403, text="<html>Forbidden</html>"))
    with pytest.raises(ConnectionDown):
        client.query("select * from Customer")


def test_answer_without_the_entity_is_an_uncertain_write(
    client: QuickBooksClient, intuit: FakeIntuit
) -> None:
    intuit.then(respond(200, {"time": "t"}))
    with pytest.raises(TransientError) as caught:
        client.create("Customer", {"DisplayName": "Ann"}, idempotency_key="k")
    assert caught.value.uncertain is True


def test_read_of_missing_object_is_remote_not_found(client: QuickBooksClient) -> None:
    with pytest.raises(RemoteNotFound):
        client.read("Customer", "999")


# ---------------------------------------------------------------------- batch


def test_batch_matches_answers_on_bid(client: QuickBooksClient, intuit: FakeIntuit) -> None:
    intuit.add("Customer", DisplayName="Taken")
    ops = [
        BatchOp.of("1", "create", "Customer", {"DisplayName": "New One"}),
        BatchOp.of("2", "create", "Customer", {"DisplayName": "Taken"}),
        BatchOp.select("3", "select * from Customer where DisplayName = 'Taken'"),
    ]
    results = client.batch(ops, idempotency_key="batch-key-1")
    assert results["1"].entity is not None and results["1"].entity["DisplayName"] == "New One"
    assert isinstance(results["2"].error, DuplicateName)
    assert results["3"].query is not None and results["3"].query["Customer"][0]["DisplayName"] == "Taken"
    request = intuit.last()
    assert request.url.path.endswith("/batch")
    assert request.url.params["requestid"] == "batch-key-1"
    assert [item["bId"] for item in json.loads(request.content)["BatchItemRequest"]] == ["1", "2", "3"]


def test_batch_limits(client: QuickBooksClient) -> None:
    too_many = [BatchOp.select(str(n), "select * from Item") for n in range(31)]
    with pytest.raises(ValueError):
        client.batch(too_many)
    with pytest.raises(ValueError):
        client.batch([BatchOp.select("1", "x"), BatchOp.select("1", "y")])
    with pytest.raises(ValueError):
        client.batch([BatchOp.select("12345678901", "x")])
    with pytest.raises(ValueError):
        client.batch([BatchOp.of("1", "create", "Customer", {})])  # writes need an idempotency key


def test_batch_query_only_is_a_read(client: QuickBooksClient, intuit: FakeIntuit) -> None:
    client.batch([BatchOp.select("1", "select * from Item")])
    assert "requestid" not in intuit.last().url.params


def test_batch_request_id_is_at_most_36(client: QuickBooksClient, intuit: FakeIntuit) -> None:
    client.batch([BatchOp.of("1", "create", "Customer", {"DisplayName": "X"})], idempotency_key="k" * 45)
    assert len(intuit.last().url.params["requestid"]) <= 36


def test_batch_item_without_answer_is_uncertain(client: QuickBooksClient, intuit: FakeIntuit) -> None:
    intuit.then(respond(200, {"BatchItemResponse": [], "time": "t"}))
    results = client.batch([BatchOp.of("1", "create", "Customer", {"DisplayName": "X"})], idempotency_key="k")
    error = results["1"].error
    assert isinstance(error, TransientError) and error.uncertain is True


def test_batch_item_answered_without_its_entity_is_uncertain(
    client: QuickBooksClient, intuit: FakeIntuit
) -> None:
    intuit.then(respond(200, {"BatchItemResponse": [{"bId": "1"}], "time": "t"}))
    results = client.batch([BatchOp.of("1", "create", "Customer", {"DisplayName": "X"})], idempotency_key="k")
    error = results["1"].error
    assert isinstance(error, TransientError) and error.uncertain is True
