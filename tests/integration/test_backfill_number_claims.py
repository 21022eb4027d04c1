"""The one-off backfill claims the numbers of invoices stored before numbers were claimed: the
first stored wins, and every number more than one invoice uses is reported."""

from __future__ import annotations

from types import SimpleNamespace

from booksync.documents import DocumentKind
from booksync.store.documents import number_claim
from booksync.store.models import DocumentModel

from scripts.backfill_number_claims import backfill
from tests import builders
from tests.integration.test_invoice_sync_engine import COMPANY
from tests.integration.test_payments_and_refunds import world

__all__ = ["world"]


def stored(world: SimpleNamespace, invoice_id: str, number: str, *, at: float, status: str = "SENT") -> None:
    """An invoice as booksync stored it before invoice numbers were claimed (no claim row)."""
    doc = builders.invoice(invoice_id, status=status, number=number)
    world.docs.put(
        COMPANY, DocumentKind.INVOICE, doc, now=at, status=status, pending=False, sent=status != "DRAFT"
    )


def test_the_first_stored_invoice_claims_its_number_and_the_others_are_reported(
    world: SimpleNamespace,
) -> None:
    stored(world, "inv-b", "N-1", at=20.0)
    stored(world, "inv-a", "n-1", at=10.0)  # sent first: it holds N-1
    stored(world, "inv-c", "N-1", at=5.0, status="DRAFT")  # a draft counts after the sent ones
    stored(world, "inv-d", "N-2", at=30.0)
    stored(world, "inv-e", "N-3", at=1.0)
    world.service.delete_invoice(COMPANY, "inv-e")  # deleted: claims nothing
    stored(world, "inv-f", "N-4", at=40.0)
    number_claim(COMPANY, "N-4", "inv-gone", 1.0).save()  # held by an invoice renumbered since
    report = backfill(DocumentModel.scan(), now=50.0)
    assert world.docs.number_owner(COMPANY, "N-1") == "inv-a"
    assert world.docs.number_owner(COMPANY, "N-2") == "inv-d"
    assert world.docs.number_owner(COMPANY, "N-3") is None
    assert world.docs.number_owner(COMPANY, "N-4") == "inv-f"
    assert sorted(inv for _c, _n, inv in report.claimed) == ["inv-a", "inv-d", "inv-f"]
    assert report.duplicates == [(COMPANY, "n-1", "inv-a", ["inv-b", "inv-c"])]
    assert "also used by inv-b, inv-c (renumber them" in "\n".join(report.lines())
    again = backfill(DocumentModel.scan(), now=60.0)
    assert again.claimed == [] and again.duplicates == report.duplicates, "a second run writes nothing"


def test_a_dry_run_reports_without_claiming(world: SimpleNamespace) -> None:
    stored(world, "inv-a", "N-1", at=10.0)
    report = backfill(DocumentModel.scan(), now=50.0, dry_run=True)
    assert report.claimed == [(COMPANY, "N-1", "inv-a")]
    assert world.docs.number_owner(COMPANY, "N-1") is None
