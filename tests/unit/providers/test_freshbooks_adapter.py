"""The FreshBooks adapter on FreshBooks' wire shapes (providers.md 3.3, 7.2; freshbooks-sdk 1.3.0):
the envelope, money as decimal strings with their code, invoices created as drafts and marked
sent, line taxes as percentages, discounts, the lookups after an uncertain outcome, and both
error shapes as typed errors. Against the sandbox: tests/integration/test_freshbooks_*."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from booksync.documents import Customer, Invoice, Item, Payment, PaymentMethod
from booksync.errors import ConnectionDown, RateLimited, Rejected, RemoteNotFound, TransientError
from booksync.providers.freshbooks import mapping
from booksync.providers.freshbooks.adapter import FreshBooksProvider
from booksync.providers.freshbooks.client import FreshBooksClient
from booksync.providers.freshbooks.faults import problems
from booksync.providers.http import HttpClient, HttpSettings
from booksync.providers.port import InvoiceRefs, PaymentRefs

BASE = "https://fb.test"
ACCOUNT = "AbC12"
ROOT = f"/accounting/account/{ACCOUNT}/"


class Tokens:
    def __init__(self) -> None:
        self.token = "fb-access-1"
        self.rejections = 0

    def access_token(self) -> str:
        return self.token

    def refreshed_after_rejection(self, rejected_token: str) -> str:
        self.rejections += 1
        self.token = "fb-access-2"
        return self.token


def result(single: str, body: dict[str, Any], status: int = 200) -> httpx.Response:
    return httpx.Response(status, json={"response": {"result": {single: body}}})


def listing(plural: str, rows: list[dict[str, Any]]) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "response": {"result": {plural: rows, "page": 1, "pages": 1, "per_page": 100, "total": len(rows)}}
        },
    )


class Wire:
    """What the adapter sent, and FreshBooks' answers (one handler per test)."""

    def __init__(self, handler: Any) -> None:
        self.seen: list[httpx.Request] = []
        self.handler = handler

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        answer: httpx.Response = self.handler(request)
        return answer

    def bodies(self) -> list[Any]:
        return [json.loads(r.content) if r.content else None for r in self.seen]

    def calls(self) -> list[tuple[str, str]]:
        return [(r.method, r.url.path.removeprefix(ROOT)) for r in self.seen]


def adapter(handler: Any, tokens: Tokens | None = None) -> tuple[FreshBooksProvider, Wire]:
    wire = Wire(handler)
    http = HttpClient(
        provider="freshbooks",
        label="FreshBooks",
        settings=HttpSettings(max_retries=1),
        transport=httpx.MockTransport(wire),
        sleep=lambda _s: None,
    )
    client = FreshBooksClient(account_id=ACCOUNT, tokens=tokens or Tokens(), http=http, api_base_url=BASE)
    return FreshBooksProvider(client), wire


def invoice(**over: Any) -> Invoice:
    data: dict[str, Any] = {
        "id": "inv-1",
        "number": "INV-1",
        "customer_id": "c-1",
        "status": "SENT",
        "issue_date": "2026-03-01",
        "due_date": "2026-03-31",
        "currency": "CAD",
        "lines": [
            {"item_id": "i-1", "quantity": "6", "unit_price": "27.00"},
            {"item_id": "i-2", "quantity": "1.5", "unit_price": "10.00", "taxable": False},
        ],
        "memo": "Thank you",
        **over,
    }
    return Invoice.model_validate(data)


REFS = InvoiceRefs(
    customer_id="501", item_ids={"i-1": "701", "i-2": "702"}, marker="booksync:acme:invoice:inv-1"
)
ITEMS = {"701": {"id": 701, "name": "Consulting"}, "702": {"id": 702, "name": "Travel"}}


def invoice_answer(status: int, **more: Any) -> dict[str, Any]:
    return {
        "id": 9001,
        "invoiceid": 9001,
        "invoice_number": "INV-1",
        "po_number": REFS.marker,
        "status": status,
        "v3_status": {1: "draft", 2: "sent"}[status],
        "amount": {"amount": "179.64", "code": "CAD"},
        "outstanding": {"amount": "179.64", "code": "CAD"},
        "currency_code": "CAD",
        "vis_state": 0,
        **more,
    }


def test_an_invoice_is_created_as_a_draft_and_marked_sent_with_money_as_decimal_strings() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix(ROOT)
        if request.method == "GET" and path == "items/items":
            asked = request.url.params.get_list("search[itemids][]")
            return listing("items", [ITEMS[i] for i in asked])
        if request.method == "POST":
            return result("invoice", invoice_answer(1))
        return result("invoice", invoice_answer(2))

    provider, wire = adapter(answer)
    remote = provider.create_invoice(invoice(tax_rate_percent="8.875"), REFS, idempotency_key="k")
    # The items' names read in one request, then the draft made and marked sent.
    assert wire.calls() == [
        ("GET", "items/items"),
        ("POST", "invoices/invoices"),
        ("PUT", "invoices/invoices/9001"),
    ]
    assert wire.seen[0].url.params.get_list("search[itemids][]") == ["701", "702"]
    sent = wire.bodies()[-2]["invoice"]
    assert wire.bodies()[-1] == {"invoice": {"action_mark_as_sent": True}}
    assert sent["customerid"] == 501 and sent["invoice_number"] == "INV-1"
    assert sent["po_number"] == REFS.marker and sent["notes"] == "Thank you"
    assert sent["create_date"] == "2026-03-01" and sent["due_offset_days"] == 30
    assert sent["currency_code"] == "CAD" and sent["discount_value"] == "0"
    first, second = sent["lines"]
    assert first == {
        "type": 0,
        "name": "Consulting",
        "qty": "6",
        "unit_cost": {"amount": "27.00", "code": "CAD"},
        "taxName1": "Sales tax",
        "taxAmount1": "8.875",
    }
    assert second["qty"] == "1.5" and "taxAmount1" not in second  # an untaxed line bears none
    # FreshBooks' answer read with Decimal: never a float.
    assert remote.total == Decimal("179.64") and isinstance(remote.total, Decimal)
    assert (remote.id, remote.marker) == ("9001", REFS.marker)


def test_an_invoice_freshbooks_already_holds_as_sent_is_not_marked_again() -> None:
    provider, wire = adapter(lambda r: result("invoice", invoice_answer(2)))
    provider._item_names.update({"701": "Consulting", "702": "Travel"})
    provider.update_invoice(
        provider.get_invoice("9001") or pytest.fail("not read"), invoice(), REFS, idempotency_key="k"
    )
    assert [m for m, _ in wire.calls()] == ["GET", "PUT"]
    assert "action_mark_as_sent" not in wire.bodies()[-1]["invoice"]


def test_an_update_marks_a_draft_found_after_a_lost_answer_sent() -> None:
    """The create's answer was lost after FreshBooks made the draft: the engine's lookup finds
    it and brings it up to date, and the update marks it sent."""
    answers = iter([invoice_answer(1), invoice_answer(2)])
    provider, wire = adapter(lambda r: result("invoice", next(answers)))
    provider._item_names.update({"701": "Consulting", "702": "Travel"})
    provider.update_invoice(mapping.to_invoice(invoice_answer(1)), invoice(), REFS, idempotency_key="k")
    assert wire.bodies()[-1] == {"invoice": {"action_mark_as_sent": True}}


def test_a_tax_rate_freshbooks_cannot_say_is_refused_never_rounded() -> None:
    assert mapping.tax_percent(invoice(tax_rate_percent="8.25")) == Decimal("8.25")
    with pytest.raises(Rejected, match=r"at most 3 decimals, and 8.2575% cannot be said that way") as refused:
        mapping.tax_percent(invoice(tax_rate_percent="8.2575"))
    assert "tax_rate_percent with at most 3 decimals" in refused.value.fix


def test_discounts_are_freshbooks_percentages_exact_or_refused() -> None:
    assert mapping.discount_percent(invoice(discount={"kind": "percent", "value": "12.5"})) == Decimal("12.5")
    # Of 177.00 (162 + 15), 17.70 is 10% and 18.00 is 10.169% (17.99913, 18.00 to the cent).
    assert mapping.discount_percent(invoice(discount={"kind": "amount", "value": "17.70"})) == Decimal(10)
    assert mapping.discount_percent(invoice(discount={"kind": "amount", "value": "18.00"})) == Decimal(
        "10.169"
    )
    # Of 27,015.00 a step of 0.001% is 0.27: no percentage FreshBooks takes gives 0.05.
    big = [
        {"item_id": "i-1", "quantity": "1000", "unit_price": "27.00"},
        {"item_id": "i-2", "unit_price": "15.00"},
    ]
    with pytest.raises(Rejected, match=r"no percentage gives exactly 0\.05 of 27015\.00") as refused:
        mapping.discount_percent(invoice(lines=big, discount={"kind": "amount", "value": "0.05"}))
    assert refused.value.fix == "Give the discount as a percent, then sync the invoice again."


def test_a_payment_pays_one_invoice_with_the_marker_first_in_its_note() -> None:
    payment = Payment(
        id="p-1",
        invoice_id="inv-1",
        amount=Decimal("30.00"),
        date=date(2026, 3, 2),
        method=PaymentMethod.BANK_TRANSFER,
        reference="wire 42",
    )
    refs = PaymentRefs(
        customer_id="501", invoice_id="9001", marker="booksync:acme:payment:p-1", currency="CAD"
    )
    provider, wire = adapter(
        lambda r: result(
            "payment", {"id": 3, "invoiceid": 9001, "amount": {"amount": "30.00", "code": "CAD"}}
        )
    )
    remote = provider.create_payment(payment, refs, idempotency_key="k")
    assert wire.bodies()[-1] == {
        "payment": {
            "invoiceid": 9001,
            "amount": {"amount": "30.00", "code": "CAD"},
            "date": "2026-03-02",
            "type": "Bank Transfer",
            "note": "booksync:acme:payment:p-1 | wire 42",
        }
    }
    assert remote.total == Decimal("30.00")


def test_a_payment_is_found_by_invoice_date_amount_and_marker() -> None:
    refs = PaymentRefs(customer_id="501", invoice_id="9001", marker="m:p-1", currency="CAD")
    payment = Payment(id="p-1", invoice_id="inv-1", amount=Decimal("30.00"), date=date(2026, 3, 2))

    def row(pid: int, **over: Any) -> dict[str, Any]:
        base = {
            "id": pid,
            "invoiceid": 9001,
            "date": "2026-03-02",
            "amount": {"amount": "30.00", "code": "CAD"},
            "note": "m:p-1",
            "vis_state": 0,
        }
        return {**base, **over}

    others = [
        row(1, note="m:p-10"),  # another payment's marker
        row(2, date="2026-03-03"),
        row(3, amount={"amount": "30.01", "code": "CAD"}),
        row(4, vis_state=1),  # deleted in FreshBooks
        row(5, note=""),  # a person's payment of the same amount
    ]
    provider, wire = adapter(lambda r: listing("payments", others))
    assert provider.find_payment(payment, refs) is None
    assert wire.seen[-1].url.params["search[invoiceid]"] == "9001"
    provider, _ = adapter(lambda r: listing("payments", [*others, row(6, note="m:p-1 | cheque 7")]))
    found = provider.find_payment(payment, refs)
    assert found is not None and found.id == "6"


def customer(**over: Any) -> Customer:
    return Customer.model_validate(
        {"id": "c-1", "display_name": "Acme Ltd", "given_name": "Ann", "email": "ann@acme.test", **over}
    )


def test_a_client_carries_booksyncs_id_and_is_found_by_it_under_its_email_then_its_name() -> None:
    body = mapping.client_body(customer(), "CAD", note=mapping.client_mark(customer()))
    assert body == {
        "organization": "Acme Ltd",
        "note": "booksync:customer:c-1",
        "currency_code": "CAD",
        "fname": "Ann",
        "email": "ann@acme.test",
    }
    ours = {"id": 501, "organization": "Acme Ltd", "note": "booksync:customer:c-1", "email": "ann@acme.test"}
    provider, wire = adapter(lambda r: listing("clients", [ours]))
    found = provider.find_customer(customer())
    assert found is not None and found.id == "501" and len(wire.seen) == 1
    assert wire.seen[0].url.params["search[email]"] == "ann@acme.test"
    # No e-mail match: by name. Another document's client under the name is never taken.
    theirs = {"id": 502, "organization": "Acme Ltd", "note": "booksync:customer:c-9", "email": ""}
    provider, wire = adapter(
        lambda r: listing("clients", [] if "search[email]" in r.url.params else [theirs])
    )
    assert provider.find_customer(customer()) is None
    assert wire.seen[-1].url.params["search[organization_like]"] == "Acme Ltd"


class ClientBook:
    """One FreshBooks client, as FreshBooks keeps it: a PUT changes the fields it sends, the
    others (a person's note among them) stay."""

    def __init__(self, **client: Any) -> None:
        self.client: dict[str, Any] = {"id": 501, "userid": 501, "vis_state": 0, **client}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PUT":
            self.client.update(json.loads(request.content)["client"])
        if request.method == "GET" and "search[email]" in request.url.params:
            return listing("clients", [dict(self.client)])
        return result("client", dict(self.client))


def test_an_update_keeps_the_note_a_person_wrote_beside_booksyncs_mark() -> None:
    book = ClientBook(organization="Acme Ltd", email="ann@acme.test", note="booksync:customer:c-1")
    provider, wire = adapter(book)
    book.client["note"] = "Pays by cheque.\nAsk for Ann.\nbooksync:customer:c-1"  # written in FreshBooks
    current = provider.get_customer("501")
    assert current is not None and current.marker == "booksync:customer:c-1"
    provider.update_customer(current, customer(display_name="Acme Limited"), idempotency_key="k")
    assert book.client["organization"] == "Acme Limited"
    assert book.client["note"] == "Pays by cheque.\nAsk for Ann.\nbooksync:customer:c-1"
    assert "note" not in wire.bodies()[-1]["client"], "the note FreshBooks holds is not written over"
    found = provider.find_customer(customer())
    assert found is not None and found.id == "501", "found again by booksync's mark"


def test_a_client_a_person_made_gets_booksyncs_mark_after_their_note_once() -> None:
    book = ClientBook(organization="Acme Ltd", email="ann@acme.test", note="VIP  \nNet 15\n")
    provider, wire = adapter(book)
    found = provider.find_customer(customer())  # no mark: surely this customer, by its e-mail
    assert found is not None and found.marker is None
    provider.update_customer(found, customer(), idempotency_key="k")
    assert book.client["note"] == "VIP  \nNet 15\nbooksync:customer:c-1"
    assert [m for m, _ in wire.calls()] == ["GET", "GET", "PUT"]  # read just before the write
    again = provider.get_customer("501")
    assert again is not None and again.marker == "booksync:customer:c-1"
    provider.update_customer(again, customer(), idempotency_key="k2")
    assert book.client["note"] == "VIP  \nNet 15\nbooksync:customer:c-1", "never doubled"
    # A mark of booksync's a person moved among their lines is still booksync's; written again
    # (another customer's mark there), it is replaced, never added beside.
    assert mapping.client_marker({"note": "a\n booksync:customer:c-1 \nb"}) == "booksync:customer:c-1"
    assert mapping.client_marker({"note": "see booksync:customer:c-1 for this"}) is None
    assert mapping.marked_note("a\nbooksync:customer:c-9\nb", customer()) == "a\nb\nbooksync:customer:c-1"
    assert mapping.marked_note(None, customer()) == mapping.marked_note(" \n", customer())


def test_a_persons_line_that_reads_like_booksyncs_old_mark_is_theirs() -> None:
    """booksync marked clients ``booksync:<id>`` before: a person may write such a line too
    ("booksync:ok"). It is no mark: the client is still found under its name, and the line stays
    in the note beside booksync's mark."""
    book = ClientBook(organization="Acme Ltd", email="ann@acme.test", note="Ask Ann\nbooksync:ok")
    provider, _wire = adapter(book)
    assert mapping.client_marker(book.client) is None
    found = provider.find_customer(customer())  # surely this customer: no mark of booksync's there
    assert found is not None and found.id == "501" and found.marker is None
    provider.update_customer(found, customer(), idempotency_key="k")
    assert book.client["note"] == "Ask Ann\nbooksync:ok\nbooksync:customer:c-1"


def test_a_client_marked_in_the_old_form_is_found_by_it_and_marked_anew_once() -> None:
    """A client booksync marked ``booksync:c-1`` before is still customer c-1's (found by that
    mark, not by its name), and its next update puts the mark in the new form in its place,
    keeping the person's lines."""
    book = ClientBook(organization="Acme Ltd", email="ann@acme.test", note="Gate 4711\nbooksync:c-1")
    provider, _wire = adapter(book)
    found = provider.find_customer(customer(display_name="Renamed Since"))  # by e-mail, not by name
    assert found is not None and found.id == "501"
    provider.update_customer(found, customer(), idempotency_key="k")
    assert book.client["note"] == "Gate 4711\nbooksync:customer:c-1"
    assert mapping.marked_for(book.client, customer()) and not mapping.marked_for(
        book.client, customer(id="c-2")
    )


def test_an_item_is_found_by_its_exact_name_among_live_ones() -> None:
    rows = [
        {"id": 1, "name": "Consulting services", "vis_state": 0},
        {"id": 2, "name": "Consulting", "vis_state": 1},
        {"id": 3, "name": "Consulting", "vis_state": 0, "unit_cost": {"amount": "40.00", "code": "USD"}},
    ]
    provider, _ = adapter(lambda r: listing("items", rows))
    found = provider.find_item(Item(id="i-1", name="Consulting", unit_price=Decimal("40.00")))
    assert found is not None and found.id == "3"
    assert mapping.item_body(Item(id="i-1", name="Consulting", unit_price=Decimal("40.00"))) == {
        "name": "Consulting",
        "unit_cost": {"amount": "40.00"},
    }


LEGACY = {
    "response": {
        "errors": [
            {
                "errno": 1012,
                "field": "userid",
                "message": "Client not found.",
                "object": "client",
                "value": "12345",
            }
        ]
    }
}
NEWER = {
    "code": 3,
    "message": "Invalid discount_value.",
    "details": [
        {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "1003", "domain": "accounting"}
    ],
}


def test_both_error_shapes_are_read() -> None:
    assert problems(LEGACY) == (["Client not found. (userid)"], "1012")
    assert problems(NEWER) == (["Invalid discount_value."], "1003")
    assert problems({"error": "unauthenticated", "error_description": "The token expired."}) == (
        ["The token expired."],
        "unauthenticated",
    )


@pytest.mark.parametrize(
    ("status", "body", "kind", "said"),
    [
        (
            404,
            LEGACY,
            RemoteNotFound,
            "The client no longer exists in FreshBooks: Client not found. (userid) (HTTP 404, error 1012)",
        ),
        (
            422,
            NEWER,
            Rejected,
            "FreshBooks rejected the client: Invalid discount_value. (HTTP 422, error 1003)",
        ),
        (
            403,
            {"error": "forbidden", "error_description": "No access."},
            ConnectionDown,
            "FreshBooks refused booksync's access: No access.",
        ),
        (503, {}, TransientError, "FreshBooks answered HTTP 503; the change may or may not have been made"),
    ],
)
def test_errors_are_typed_with_freshbooks_words(status: int, body: Any, kind: type, said: str) -> None:
    provider, _ = adapter(lambda r: httpx.Response(status, json=body))
    with pytest.raises(kind) as raised:
        provider.create_customer(customer(), idempotency_key="k")
    assert said in str(raised.value)
    if status == 503:  # a write whose answer failed may have been made: the lookup decides
        assert isinstance(raised.value, TransientError) and raised.value.uncertain


def test_a_429_waits_out_retry_after_and_one_not_cured_is_rate_limited() -> None:
    answers = iter(
        [httpx.Response(429, headers={"Retry-After": "3"}), result("item", {"id": 7, "name": "A"})]
    )
    provider, wire = adapter(lambda r: next(answers))
    assert provider.get_item("7") is not None and len(wire.seen) == 2
    provider, _ = adapter(lambda r: httpx.Response(429, headers={"Retry-After": "9"}, json=NEWER))
    with pytest.raises(RateLimited) as limited:
        provider.get_item("7")
    assert limited.value.retry_after == 9


def test_a_refused_token_is_refreshed_once_then_the_connection_is_down() -> None:
    tokens = Tokens()
    answers = iter(
        [httpx.Response(401, json={"error": "unauthenticated"}), result("item", {"id": 7, "name": "A"})]
    )
    provider, wire = adapter(lambda r: next(answers), tokens)
    assert provider.get_item("7") is not None and tokens.rejections == 1
    assert wire.seen[-1].headers["Authorization"] == "Bearer fb-access-2"
    provider, _ = adapter(lambda r: httpx.Response(401, json={"error": "unauthenticated"}), Tokens())
    with pytest.raises(ConnectionDown):
        provider.get_item("7")


def test_an_invoice_deleted_in_freshbooks_is_deleted_once() -> None:
    gone = invoice_answer(2, vis_state=1)
    provider, wire = adapter(lambda r: result("invoice", gone))
    provider.delete_invoice(mapping.to_invoice(gone), idempotency_key="k")
    assert [m for m, _ in wire.calls()] == ["GET"]
    provider, wire = adapter(
        lambda r: result("invoice", invoice_answer(2)) if r.method == "GET" else httpx.Response(200, json={})
    )
    provider.delete_invoice(mapping.to_invoice(invoice_answer(2)), idempotency_key="k")
    assert wire.calls() == [("GET", "invoices/invoices/9001"), ("DELETE", "invoices/invoices/9001")]


def test_an_invoice_is_found_by_its_number_and_booksyncs_marker_only() -> None:
    """After an uncertain create: a FreshBooks invoice under the number that is not booksync's
    (no marker, or another document's) is never taken; a deleted one of booksync's neither."""
    others = [
        invoice_answer(2, id=1, po_number=""),
        invoice_answer(2, id=2, po_number="booksync:acme:invoice:inv-10"),
        invoice_answer(2, id=3, vis_state=1),
        invoice_answer(2, id=4, invoice_number="INV-10"),
    ]
    provider, wire = adapter(lambda r: listing("invoices", others))
    assert provider.find_invoice(invoice(), REFS.marker) is None
    assert wire.seen[-1].url.params["search[invoice_number]"] == "INV-1"
    provider, _ = adapter(lambda r: listing("invoices", [*others, invoice_answer(2, id=5)]))
    found = provider.find_invoice(invoice(), REFS.marker)
    assert found is not None and found.id == "5"


def test_two_long_names_that_share_their_start_keep_names_of_their_own() -> None:
    """FreshBooks keeps two items under one name, and its invoice lines name their item: a name
    longer than it keeps is shortened with the document's own tag, never cut to another's."""
    start = "Replacement cartridge, ceramic disc, 35 mm, " * 6
    blue = Item(id="i-blue", name=start + "blue", unit_price=Decimal("1.00"))
    red = Item(id="i-red", name=start + "red", unit_price=Decimal("1.00"))
    names = {mapping.item_name(blue), mapping.item_name(red)}
    assert len(names) == 2 and all(len(n) <= mapping.ITEM_NAME_MAX for n in names)
    assert mapping.item_name(blue) == mapping.item_name(blue), "the same each time"
    assert mapping.item_name(Item(id="i-1", name="Consulting", unit_price=Decimal("1.00"))) == "Consulting"
