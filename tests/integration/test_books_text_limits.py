"""Text limits are the accounting provider's, read from its declaration (issue 14): booksync's own
made-up text (a Square payment's reference) fits the books the company has, and with none
connected yet, every accounting system booksync knows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from types import SimpleNamespace

import pytest
from booksync.documents import DocumentKind
from booksync.payments.square import SquarePayments
from booksync.providers.declaration import TextLimit, TextLimits
from booksync.providers.registry import REGISTRY
from booksync.providers.square.models import Payment as SquarePayment
from booksync.store.connections import ConnectionRepository
from booksync.store.models import ConnectionModel
from booksync.store.notifications import NotificationRepository
from booksync.store.square_activity import SquareActivityRepository

from tests import builders
from tests.apigw import admin
from tests.fakes.provider import plain_books
from tests.integration.test_api import api, seed
from tests.integration.test_invoice_sync_engine import COMPANY, world

__all__ = ["api", "world"]  # the fixtures, shared with the API and engine tests

SQUARE_ID = "R2B3Z8WMVt3EAmzYWLZvz7Y69EbZY"  # 29 characters, as Square's ids are


def books_keeping(name: str, reference: int) -> Callable[[], None]:
    """The company's books become ``name``, an in-memory provider whose payments keep at most
    ``reference`` characters of reference (declared in the registry for this test)."""
    declared = plain_books(name=name).declaration()
    limits = TextLimits(
        fields={(DocumentKind.PAYMENT, "reference"): TextLimit(reference, "its payment's reference")}
    )
    return REGISTRY.declare(replace(declared, text_limits=limits))


def square_reference(world: SimpleNamespace) -> str:
    """The reference booksync gives a Square payment of invoice inv-1, recorded now."""
    world.service.put_invoice(COMPANY, builders.invoice())
    payments = SquarePayments(
        activity=SquareActivityRepository(),
        documents=world.docs,
        service=world.service,
        runs=world.runs,
        notifications=NotificationRepository(),
    )
    paid = SquarePayment.from_square(
        {
            "id": SQUARE_ID,
            "status": "COMPLETED",
            "amount_money": {"amount": 10000, "currency": "USD"},
            "reference_id": "inv-1",
            "created_at": "2026-11-23T03:30:00Z",
        }
    )
    payments.payment(COMPANY, paid, merchant_id="M1", timezone=None)
    row = world.docs.get(COMPANY, DocumentKind.PAYMENT, f"square-{SQUARE_ID}")
    assert row is not None, "the Square payment is recorded"
    return str(row.body["reference"])


@pytest.mark.parametrize(("keeps", "reference"), [(12, "sq-" + SQUARE_ID[-9:]), (40, "sq-" + SQUARE_ID)])
def test_a_square_reference_fits_what_the_connected_books_keep(
    world: SimpleNamespace, request: pytest.FixtureRequest, keeps: int, reference: str
) -> None:
    """Not QuickBooks' 21 whatever the books: their own declared limit, and the whole id where
    they keep it whole."""
    request.addfinalizer(books_keeping("memory", keeps))
    ConnectionRepository().get(COMPANY, "quickbooks").delete()  # type: ignore[union-attr]
    ConnectionModel(COMPANY, "memory", connection_id="c2", status="connected", account_id="m1").save()
    assert square_reference(world) == reference


def test_a_square_reference_fits_every_known_books_while_none_is_connected(world: SimpleNamespace) -> None:
    """Recorded before any books are connected, it must fit whichever is connected later."""
    ConnectionRepository().get(COMPANY, "quickbooks").delete()  # type: ignore[union-attr]
    known = [
        limit
        for name in REGISTRY.names("accounting")
        if (limit := REGISTRY.get(name).text_limits.limit(DocumentKind.PAYMENT, "reference")) is not None
    ]
    reference = square_reference(world)
    assert known and len(reference) == min(known) and reference.endswith(SQUARE_ID[-(min(known) - 3) :])


# ------------------------------------------------ text no accounting system is connected to judge


def test_text_a_known_accounting_system_would_refuse_is_accepted_with_a_warning_while_none_is_connected(
    api: SimpleNamespace, request: pytest.FixtureRequest
) -> None:
    """No books yet: which limits apply is not known, so the document is stored (2xx), and the
    answer names each accounting system booksync knows that would refuse it, why, and the fix
    (from every declaration's text_limits). Its push once one is connected names it again
    (test_door: text_too_long, nothing sent)."""
    seed(api)
    body = {**builders.invoice().model_dump(mode="json"), "number": "N" * 40}
    status, accepted, _ = api.call("PUT", "/invoices/inv-1", body, claims=admin())
    assert status == 201
    assert accepted["warnings"] == [
        {
            "field": "number",
            "provider": "quickbooks",
            "message": "QuickBooks would refuse it once connected: number must be at most 21 characters "
            "(got 40; an emoji counts as two): QuickBooks keeps at most that as the invoice's number "
            "(DocNumber), and booksync does not cut it.",
            "fix": "Shorten number to 21 characters or fewer.",
        }
    ]
    fine = {**body, "id": "inv-2", "number": "1002"}
    assert api.call("PUT", "/invoices/inv-2", fine, claims=admin())[1]["warnings"] == []

    # With books connected their limits are the door's: books keeping 40 take it with no warning.
    request.addfinalizer(REGISTRY.declare(plain_books(name="memory").declaration()))
    ConnectionModel("acme", "memory", connection_id="c2", status="connected", account_id="m1").save()
    again = {**body, "memo": "edited"}
    status, accepted, _ = api.call("PUT", "/invoices/inv-1", again, claims=admin())
    assert status == 200 and accepted["warnings"] == []
