"""Refused at the door: what QuickBooks would refuse, or book otherwise than sent, is a 4xx problem
naming the field and saying how to fix it, and nothing is stored (issues 10 and 12)."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from booksync.documents import DocumentKind, InvoiceLine, parse_stored
from booksync.errors import AlreadyExists, ConcurrentChange, FieldProblem, InvalidRequest
from booksync.providers.quickbooks.mapping import NOTE_MEMO_MAX
from booksync.providers.registry import REGISTRY
from booksync.store.documents import BODY_LIMIT, ITEM_LIMIT, DocumentRepository, item_size
from booksync.store.models import ConnectionModel, DocumentModel
from booksync.sync.records import CHECK_ATTEMPTS
from pynamodb.exceptions import TransactWriteError

from tests import builders
from tests.apigw import admin
from tests.fakes.provider import plain_books
from tests.integration.test_api import api, seed
from tests.integration.test_invoice_sync_engine import COMPANY, job
from tests.integration.test_payments_and_refunds import refund, world
from tests.integration.test_refund_limit_concurrency import RivalFirst, service_over

MOTO_ITEM_LIMIT = 405_000  # moto/dynamodb/models/dynamo_type.py, LimitedSizeDict
__all__ = ["api", "world"]  # the fixtures, shared with the API and engine tests


def invoice_row(world: SimpleNamespace, invoice_id: str = "inv-1") -> DocumentModel:
    row: DocumentModel = world.docs.get(COMPANY, DocumentKind.INVOICE, invoice_id)
    return row


def invoice_body(**kw: Any) -> dict[str, Any]:
    return {**builders.invoice().model_dump(mode="json"), **kw}


def refused(api: SimpleNamespace, path: str, body: dict[str, Any], field: str) -> dict[str, Any]:
    status, problem, _ = api.call("PUT", path, body, claims=admin())
    assert status == 422, (status, problem)
    assert field in {e["field"] for e in problem["errors"]}, problem
    assert problem["fix"]
    assert api.call("GET", path, claims=admin())[0] == 404, "nothing stored"
    message: dict[str, Any] = problem
    return message


@pytest.mark.parametrize(
    ("changes", "field", "says"),
    [
        ({"issue_date": "0001-01-01"}, "issue_date", "between 1900-01-01 and 2099-12-31"),
        ({"due_date": "9999-12-31"}, "due_date", "between 1900-01-01 and 2099-12-31"),
        (
            {"lines": [{"item_id": "i-1", "quantity": "1", "unit_price": "-50.00"}]},
            "lines",
            "add up to -50.00",
        ),
        # A fixed discount over the subtotal used to be cut to it silently (total 0.00).
        ({"discount": {"kind": "amount", "value": "500.00"}}, "discount", "at most 380.00"),
    ],
    ids=["year-1", "year-9999", "negative-total", "discount-over-subtotal"],
)
def test_an_invoice_that_would_fail_or_change_at_sync_is_refused(
    api: SimpleNamespace, changes: dict[str, Any], field: str, says: str
) -> None:
    seed(api)
    problem = refused(api, "/invoices/inv-1", invoice_body(**changes), field)
    assert says in problem["detail"]


def test_a_discount_equal_to_the_subtotal_and_a_zero_invoice_are_accepted(api: SimpleNamespace) -> None:
    seed(api)
    body = invoice_body(discount={"kind": "amount", "value": "380.00"})
    assert api.call("PUT", "/invoices/inv-1", body, claims=admin())[0] == 201


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/customers/c-9", {"id": "c-9", "display_name": "\x01\x02\u200b"}, "display_name"),
        ("/items/i-9", {"id": "i-9", "name": "\x07\x7f"}, "name"),
        (
            "/payments/p-9",
            {"id": "p-9", "invoice_id": "inv-1", "amount": "10.00", "date": "9999-12-31"},
            "date",
        ),
    ],
    ids=["customer-control-characters", "item-control-characters", "payment-year-9999"],
)
def test_names_of_control_characters_and_far_dates_are_refused(
    api: SimpleNamespace, path: str, body: dict[str, Any], field: str
) -> None:
    seed(api)
    assert api.call("PUT", "/invoices/inv-1", invoice_body(), claims=admin())[0] == 201
    refused(api, path, body, field)


def test_a_document_stored_before_a_check_existed_is_still_read() -> None:
    """The door's checks never make what booksync already holds unreadable (the sync parses it)."""
    body = invoice_body(issue_date="0001-01-01", discount={"kind": "amount", "value": "500.00"})
    stored = parse_stored(DocumentKind.INVOICE, body)
    assert str(stored.model_dump(mode="json")["issue_date"]) == "0001-01-01"


# ---------------------------------------------------------------------- text QuickBooks would cut

EMOJI = "\U0001f600"  # two UTF-16 code units, as QuickBooks counts
PAYMENT = {"id": "p-9", "invoice_id": "inv-1", "amount": "10.00", "date": "2026-12-01"}
REFUND = {"id": "r-9", "payment_id": "p-1", "amount": "10.00", "date": "2026-12-01"}


def with_invoice_and_payment(api: SimpleNamespace, *, books: str | None = "quickbooks") -> None:
    """A company whose books are with ``books`` (None: none connected yet)."""
    if books is not None:
        ConnectionModel("acme", books, connection_id="c1", status="connected", account_id="r1").save()
    seed(api)
    assert api.call("PUT", "/invoices/inv-1", invoice_body(), claims=admin())[0] == 201
    payment = builders.payment("p-1", "100.00").model_dump(mode="json")
    assert api.call("PUT", "/payments/p-1", payment, claims=admin())[0] == 201


@pytest.mark.parametrize(
    ("path", "body", "field", "limit", "got"),
    [
        ("/invoices/inv-9", invoice_body(id="inv-9", number="INV-9", memo="x" * 1001), "memo", 1000, 1001),
        ("/invoices/inv-9", invoice_body(id="inv-9", number="INV-9", memo=EMOJI * 501), "memo", 1000, 1002),
        (
            "/payments/p-9",
            {**PAYMENT, "memo": "x" * (NOTE_MEMO_MAX + 1)},
            "memo",
            NOTE_MEMO_MAX,
            NOTE_MEMO_MAX + 1,
        ),
        ("/refunds/r-9", {**REFUND, "reason": EMOJI * 2001}, "reason", 4000, 4002),
        ("/invoices/inv-9", invoice_body(id="inv-9", number="N" * 22), "number", 21, 22),
        ("/payments/p-9", {**PAYMENT, "reference": "R" * 22}, "reference", 21, 22),
        ("/refunds/r-9", {**REFUND, "reference": "R" * 22}, "reference", 21, 22),
    ],
    ids=[
        "invoice-memo",
        "invoice-memo-emoji",
        "payment-memo",
        "refund-reason-emoji",
        "invoice-number",
        "payment-reference",
        "refund-reference",
    ],
)
def test_text_quickbooks_would_cut_is_refused_with_its_limit(
    api: SimpleNamespace, path: str, body: dict[str, Any], field: str, limit: int, got: int
) -> None:
    with_invoice_and_payment(api)
    problem = refused(api, path, body, field)
    [error] = [e for e in problem["errors"] if e["field"] == field]
    assert error["message"].startswith(f"must be at most {limit} characters (got {got}")
    assert "QuickBooks" in error["message"] and "booksync does not cut it" in error["message"]
    assert error["fix"] == f"Shorten {field} to {limit} characters or fewer."


LONG_TEXT = {
    "/invoices/inv-9": invoice_body(id="inv-9", number="N" * 22, memo="x" * 1001),
    "/payments/p-9": {**PAYMENT, "reference": "R" * 22, "memo": "x" * (NOTE_MEMO_MAX + 1)},
    "/refunds/r-9": {**REFUND, "reference": "R" * 22, "reason": EMOJI * 2001},
}


def test_text_longer_than_quickbooks_keeps_is_accepted_for_books_that_keep_it(
    api: SimpleNamespace, request: pytest.FixtureRequest
) -> None:
    """QuickBooks' limits are QuickBooks': a company on a provider that declares none of them
    (the in-memory Plain Books, as "memory") keeps the 22-character number whole."""
    request.addfinalizer(REGISTRY.declare(plain_books(name="memory").declaration()))
    with_invoice_and_payment(api, books="memory")
    for path, body in LONG_TEXT.items():
        status, answer, _ = api.call("PUT", path, body, claims=admin())
        assert status == 201, (path, answer)
    status, answer, _ = api.call("GET", "/invoices/inv-9", claims=admin())
    assert answer["document"]["number"] == "N" * 22


def test_text_too_long_for_the_books_connected_later_is_refused_before_its_push(
    world: SimpleNamespace,
) -> None:
    """Accepted while no books were connected; once they are QuickBooks, the push says what is
    too long for QuickBooks and how to fix it, and sends nothing."""
    books = ConnectionModel.get(COMPANY, "quickbooks")
    books.delete()
    world.service.put_invoice(COMPANY, builders.invoice(number="N" * 22))
    books.save()

    report = world.engine().run(job())

    assert report.outcome == "failed"
    assert report.error == (
        "Invoice inv-1: number must be at most 21 characters (got 22; an emoji counts as two): "
        "QuickBooks keeps at most that as the invoice's number (DocNumber), and booksync does not cut it."
    )
    assert world.provider.writes["create_invoice"] == 0
    link = invoice_row(world).link("quickbooks")
    assert (link.outcome, link.error_code) == ("failed", "text_too_long")
    assert link.error_fix == "Shorten number to 21 characters or fewer. Then sync it again."


def test_text_at_quickbooks_limits_is_accepted(api: SimpleNamespace) -> None:
    with_invoice_and_payment(api)
    invoice = invoice_body(id="inv-9", number="INV-9", memo=EMOJI * 500)
    assert api.call("PUT", "/invoices/inv-9", invoice, claims=admin())[0] == 201
    payment = {**PAYMENT, "memo": "x" * NOTE_MEMO_MAX}
    assert api.call("PUT", "/payments/p-9", payment, claims=admin())[0] == 201
    refund = {**REFUND, "reason": EMOJI * 2000}
    assert api.call("PUT", "/refunds/r-9", refund, claims=admin())[0] == 201


def test_a_memo_stored_before_the_limits_is_still_read() -> None:
    stored = parse_stored(DocumentKind.INVOICE, invoice_body(memo="x" * 4000))
    assert len(stored.model_dump()["memo"]) == 4000


# ---------------------------------------------------------------------- payments within the open balance


def test_a_payment_over_the_open_balance_is_refused_with_the_balance(world: SimpleNamespace) -> None:
    world.service.put_invoice(COMPANY, builders.invoice())  # total 380.00
    world.service.put_payment(COMPANY, builders.payment("p-1", "300.00"))
    world.service.put_refund(COMPANY, refund("r-1", "50.00", payment_id="p-1"))  # reopens nothing
    with pytest.raises(FieldProblem) as over:
        world.service.put_payment(COMPANY, builders.payment("p-2", "100.00"))
    assert over.value.field == "amount"
    assert (
        "more than its open balance 80.00 (total 380.00, 300.00 paid by other payments" in over.value.message
    )
    assert "at most 80.00" in over.value.fix
    assert world.docs.get(COMPANY, DocumentKind.PAYMENT, "p-2") is None, "nothing stored"
    assert invoice_row(world).payment_ids == {"p-1"}
    world.service.put_payment(COMPANY, builders.payment("p-2", "80.00"))  # the balance, exactly
    with pytest.raises(FieldProblem) as full:
        world.service.put_payment(COMPANY, builders.payment("p-3", "0.01"))
    assert "fully paid" in full.value.fix
    # Editing a payment replaces what it applied: p-1 may grow into what p-2 leaves open.
    world.service.put_payment(COMPANY, builders.payment("p-2", "30.00"))
    world.service.put_payment(COMPANY, builders.payment("p-1", "350.00"))
    assert dict(invoice_row(world).payment_amounts.as_dict()) == {"p-1": "350.00", "p-2": "30.00"}


def test_a_split_payment_is_checked_against_each_invoice(world: SimpleNamespace) -> None:
    for invoice_id in ("inv-1", "inv-2"):
        world.service.put_invoice(COMPANY, builders.invoice(invoice_id))
    split = builders.payment(
        "p-9",
        "480.00",
        invoice_id=None,
        applications=[
            {"invoice_id": "inv-1", "amount": "80.00"},
            {"invoice_id": "inv-2", "amount": "400.00"},
        ],
    )
    with pytest.raises(FieldProblem) as over:
        world.service.put_payment(COMPANY, split)
    assert over.value.field == "applications[1].amount" and "invoice 'inv-2'" in over.value.message


def test_an_invoice_cannot_drop_below_what_its_payments_apply(world: SimpleNamespace) -> None:
    world.service.put_invoice(COMPANY, builders.invoice())
    world.service.put_payment(COMPANY, builders.payment("p-1", "300.00"))
    cheaper = builders.invoice(lines=[{"item_id": "i-1", "quantity": "1", "unit_price": "150.00"}])
    with pytest.raises(FieldProblem) as lowered:
        world.service.put_invoice(COMPANY, cheaper)
    assert lowered.value.field == "lines" and "less than the 300.00" in lowered.value.message
    assert invoice_row(world).body["lines"][0]["quantity"] == "2"


def test_two_payments_checked_at_the_same_time_never_exceed_the_invoice(world: SimpleNamespace) -> None:
    world.service.put_invoice(COMPANY, builders.invoice())  # total 380.00
    racing = service_over(
        RivalFirst(
            "put",
            DocumentKind.PAYMENT,
            lambda _n: world.service.put_payment(COMPANY, builders.payment("p-2", "300.00")),
        ),
        world,
    )
    # p-1 read "nothing paid" and checked 300.00 against 380.00; p-2 landed before its write.
    with pytest.raises(FieldProblem) as refused:
        racing.put_payment(COMPANY, builders.payment("p-1", "300.00"))
    assert "open balance 80.00" in refused.value.message
    assert world.docs.get(COMPANY, DocumentKind.PAYMENT, "p-1") is None
    assert invoice_row(world).payment_ids == {"p-2"}


# ---------------------------------------------------------------------- sized at the door


def sized_invoice(stored_bytes: int, char: str = "x") -> dict[str, Any]:
    """An invoice body whose line descriptions make it take ``stored_bytes`` stored (within a
    character's escape)."""
    body = invoice_body()
    base = len(json.dumps(body))
    width = len(json.dumps(char)) - 2  # "é" is stored as \\u00e9
    line = {"item_id": "i-1", "quantity": "1", "unit_price": "1.00", "description": ""}
    per_line = len(json.dumps(InvoiceLine.model_validate(line).model_dump(mode="json"))) + 2
    room = stored_bytes - base
    lines = []
    while room > per_line:
        chars = min(4000, (room - per_line) // width)
        lines.append({**line, "description": char * chars})
        room -= per_line + chars * width
    return {**body, "lines": body["lines"] + lines}


def test_a_document_too_large_to_keep_is_refused_naming_the_field(api: SimpleNamespace) -> None:
    seed(api)
    over = sized_invoice(BODY_LIMIT + 2_000, char="é")  # text outside ASCII counts 6 bytes a character
    problem = refused(api, "/invoices/inv-1", over, "lines")
    assert "more than the 262,144 booksync keeps" in problem["detail"]
    assert "split the work over several invoices" in problem["fix"]
    near = sized_invoice(BODY_LIMIT - 2_000)
    assert api.call("PUT", "/invoices/inv-1", near, claims=admin())[0] == 201
    # And it can be edited: the row takes the new body in place of the old (the local moto sizes
    # an update as DynamoDB does: local/runtime/atomic_dynamodb.py).
    assert api.call("PUT", "/invoices/inv-1", {**near, "memo": "Edited"}, claims=admin())[0] == 200


def test_a_payment_is_stored_with_its_invoice_or_not_at_all(world: SimpleNamespace) -> None:
    """One transaction: an invoice row that cannot take the payment (here one stored before the
    door sized documents, at the item limit) leaves no payment behind that would never sync."""
    huge = builders.invoice().model_validate(sized_invoice(ITEM_LIMIT - 10_000), context={"stored": True})
    DocumentRepository().put(
        COMPANY, DocumentKind.INVOICE, huge, now=time.time(), status="SENT", pending=True
    )
    # Filled to 20 bytes under moto's limit (405,000 bytes; DynamoDB's is 400 KB): no map in it,
    # so moto counts it as item_size does.
    pad = MOTO_ITEM_LIMIT - 20 - item_size(invoice_row(world)) - len("filler")
    boto3.client("dynamodb").update_item(
        TableName=DocumentModel.Meta.table_name,
        Key={"company_id": {"S": COMPANY}, "doc_key": {"S": "invoice#inv-1"}},
        UpdateExpression="SET filler = :filler",
        ExpressionAttributeValues={":filler": {"S": "x" * pad}},
    )
    with pytest.raises(TransactWriteError) as refused:
        world.service.put_payment(COMPANY, builders.payment("p-1", "100.00"))
    assert "exceeded the maximum allowed size" in str(refused.value.cause)
    assert world.docs.get(COMPANY, DocumentKind.PAYMENT, "p-1") is None, "no payment without its invoice"
    assert invoice_row(world).payment_ids is None


# ---------------------------------------------------------------------- one invoice per number


def test_a_second_invoice_with_a_number_in_use_is_409_naming_the_other(api: SimpleNamespace) -> None:
    seed(api)
    assert api.call("PUT", "/invoices/inv-1", invoice_body(number="A-100"), claims=admin())[0] == 201
    second = {**invoice_body(number="a-100 "), "id": "inv-2"}
    status, problem, _ = api.call("PUT", "/invoices/inv-2", second, claims=admin())
    assert status == 409 and [e["field"] for e in problem["errors"]] == ["number"]
    assert "already used by invoice 'inv-1'" in problem["detail"] and "PUT /invoices/inv-1" in problem["fix"]
    assert api.call("GET", "/invoices/inv-2", claims=admin())[0] == 404, "nothing stored"
    # Renumbering the first frees its number; deleting an invoice frees its number too.
    assert api.call("PUT", "/invoices/inv-1", invoice_body(number="A-101"), claims=admin())[0] == 200
    assert api.call("PUT", "/invoices/inv-2", second, claims=admin())[0] == 201
    assert api.call("DELETE", "/invoices/inv-2", claims=admin())[0] == 200
    third = {**invoice_body(number="A-100"), "id": "inv-3"}
    assert api.call("PUT", "/invoices/inv-3", third, claims=admin())[0] == 201


def test_two_invoices_created_at_once_with_one_number_are_not_both_stored(world: SimpleNamespace) -> None:
    racing = service_over(
        RivalFirst(
            "put",
            DocumentKind.INVOICE,
            lambda _n: world.service.put_invoice(COMPANY, builders.invoice("inv-2", number="INV-1")),
        ),
        world,
    )
    # inv-1 found INV-1 free; inv-2 took it before inv-1 was written.
    with pytest.raises(AlreadyExists) as taken:
        racing.put_invoice(COMPANY, builders.invoice("inv-1", number="INV-1"))
    assert "already used by invoice 'inv-2'" in taken.value.message
    assert world.docs.get(COMPANY, DocumentKind.INVOICE, "inv-1") is None


def legacy_invoice(world: SimpleNamespace, invoice_id: str, number: str) -> None:
    """An invoice as booksync stored it before invoice numbers were claimed (no claim row)."""
    doc = builders.invoice(invoice_id, number=number)
    world.docs.put(COMPANY, DocumentKind.INVOICE, doc, now=1.0, status="SENT", pending=False, sent=True)


def test_an_invoice_from_before_sharing_a_number_can_still_be_edited_renumbered_and_deleted(
    world: SimpleNamespace,
) -> None:
    world.service.put_invoice(COMPANY, builders.invoice("inv-1", number="N-1"))
    legacy_invoice(world, "inv-2", "N-1")
    legacy_invoice(world, "inv-3", "N-1")
    # Its edits keep the number it was accepted with (the claim stays the first invoice's).
    assert world.service.put_invoice(COMPANY, builders.invoice("inv-2", number="n-1", memo="late")).changed
    assert world.docs.number_owner(COMPANY, "N-1") == "inv-1"
    # Another invoice's number is still refused; a free one is claimed, N-1 stays the first's.
    with pytest.raises(AlreadyExists, match="already used by invoice 'inv-1'"):
        world.service.put_invoice(COMPANY, builders.invoice("inv-5", number="N-1 "))
    world.service.put_invoice(COMPANY, builders.invoice("inv-4", number="N-4"))
    with pytest.raises(AlreadyExists, match="already used by invoice 'inv-4'"):
        world.service.put_invoice(COMPANY, builders.invoice("inv-2", number="N-4"))
    assert world.service.put_invoice(COMPANY, builders.invoice("inv-2", number="N-2")).changed
    assert world.docs.number_owner(COMPANY, "N-2") == "inv-2"
    assert world.docs.number_owner(COMPANY, "N-1") == "inv-1"
    # Deleted, it leaves the first invoice's claim alone.
    assert world.service.delete_invoice(COMPANY, "inv-3").changed
    assert invoice_row(world, "inv-3").status == "DELETED"
    assert world.docs.number_owner(COMPANY, "N-1") == "inv-1"


def test_an_invoice_from_before_claims_its_number_when_no_other_holds_it(world: SimpleNamespace) -> None:
    legacy_invoice(world, "inv-1", "N-1")
    assert world.docs.number_owner(COMPANY, "N-1") is None
    assert world.service.put_invoice(COMPANY, builders.invoice("inv-1", number="N-1", memo="edit")).changed
    assert world.docs.number_owner(COMPANY, "N-1") == "inv-1"


def deleting_after(world: SimpleNamespace, rival: Any) -> Any:
    """A service whose deletions let ``rival`` run between their check and their write."""
    return service_over(RivalFirst("delete", DocumentKind.INVOICE, rival), world)


def test_a_payment_recorded_while_its_invoice_is_deleted_keeps_the_invoice(world: SimpleNamespace) -> None:
    world.service.put_invoice(COMPANY, builders.invoice())
    racing = deleting_after(world, lambda _n: world.service.put_payment(COMPANY, builders.payment()))
    # The deletion found no payment; the payment was recorded (201) before the deletion was written.
    with pytest.raises(InvalidRequest, match="has payments recorded against it"):
        racing.delete_invoice(COMPANY, "inv-1")
    assert invoice_row(world).status == "SENT" and invoice_row(world).payment_ids == {"p-1"}
    assert world.docs.number_owner(COMPANY, "INV-1") == "inv-1"


def test_an_invoice_renumbered_while_it_is_deleted_gives_up_its_new_number(world: SimpleNamespace) -> None:
    world.service.put_invoice(COMPANY, builders.invoice())
    racing = deleting_after(
        world, lambda _n: world.service.put_invoice(COMPANY, builders.invoice(number="INV-9"))
    )
    assert racing.delete_invoice(COMPANY, "inv-1").changed
    assert invoice_row(world).status == "DELETED" and invoice_row(world).body["number"] == "INV-9"
    assert world.docs.number_owner(COMPANY, "INV-9") is None, "no number held by a deleted invoice"
    assert world.docs.number_owner(COMPANY, "INV-1") is None
    assert world.service.put_invoice(COMPANY, builders.invoice("inv-2", number="INV-9")).created


def test_a_deletion_that_keeps_losing_to_edits_is_a_conflict_with_nothing_deleted(
    world: SimpleNamespace,
) -> None:
    world.service.put_invoice(COMPANY, builders.invoice())
    racing = service_over(
        RivalFirst(
            "delete",
            DocumentKind.INVOICE,
            lambda n: world.service.put_invoice(COMPANY, builders.invoice(memo=f"edit {n}")),
            times=CHECK_ATTEMPTS,
        ),
        world,
    )
    with pytest.raises(ConcurrentChange, match="Invoice inv-1 or its payments changed"):
        racing.delete_invoice(COMPANY, "inv-1")
    assert invoice_row(world).status == "SENT" and invoice_row(world).body["memo"] == f"edit {CHECK_ATTEMPTS}"


# ---------------------------------------------------------------------- a payment in the books stays as booked


def test_a_synced_payment_sent_again_with_another_amount_is_refused(world: SimpleNamespace) -> None:
    world.service.put_invoice(COMPANY, builders.invoice())
    world.service.put_payment(COMPANY, builders.payment("p-1", "100.00"))
    world.service.put_refund(COMPANY, refund("r-1", "10.00"))
    world.engine().run(job())
    with pytest.raises(FieldProblem) as changed:
        world.service.put_payment(COMPANY, builders.payment("p-1", "120.00"))
    assert changed.value.field == "amount"
    assert "in QuickBooks already as recorded (amount 100.00)" in changed.value.message
    assert "record a refund of the difference" in changed.value.fix
    with pytest.raises(FieldProblem, match="memo None"):
        world.service.put_payment(COMPANY, builders.payment("p-1", "100.00", memo="late note"))
    with pytest.raises(
        FieldProblem, match=r"refund r-1 is in QuickBooks already as recorded \(amount 10.00\)"
    ):
        world.service.put_refund(COMPANY, refund("r-1", "15.00"))
    assert not world.service.put_payment(COMPANY, builders.payment("p-1", "100.00")).changed
    assert world.docs.get(COMPANY, DocumentKind.PAYMENT, "p-1").body["amount"] == "100.00"
    # Before it reaches the books, a payment may still change.
    world.service.put_payment(COMPANY, builders.payment("p-2", "50.00"))
    assert world.service.put_payment(COMPANY, builders.payment("p-2", "60.00")).changed
