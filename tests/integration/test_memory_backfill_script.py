"""``make backfill-embeddings`` (scripts/backfill_embeddings.py) end to end: the documents table and
the memory table on moto, Voyage's sandbox as the embedder. What it embeds (invoices SENT or PAID,
estimates SENT, ACCEPTED or DECLINED; one company or all), the estimate and the confirmation before
any call reaches Voyage, and the real tokens and cost from Voyage's usage at the end."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from booksync.documents import DocumentKind, Estimate
from booksync.memory.records import RecordKind
from booksync.store.documents import DocumentRepository
from booksync.store.memory import DynamoRecordStore, DynamoVectorStore
from booksync.store.models import DocumentModel, MemoryRecordModel

from local.sandboxes.voyage.testing import DEFAULT_KEY, VoyageConfig, VoyageControl, VoyageSandbox
from scripts import backfill_embeddings
from tests import builders
from tests.conftest import only_table


@dataclass
class Stack:
    documents_table: str
    memory_table: str
    voyage: VoyageControl
    checkpoint: Path

    def backfill(self, *flags: str) -> int:
        return backfill_embeddings.main(
            [
                "--documents-table",
                self.documents_table,
                "--memory-table",
                self.memory_table,
                "--checkpoint",
                str(self.checkpoint),
                *flags,
            ]
        )

    def embedded(self, company_id: str) -> set[str]:
        return {r.key for r in DynamoRecordStore().all(company_id)}


def estimate(eid: str, status: str, **kw: Any) -> Estimate:
    return Estimate(
        id=eid,
        customer_id="c-1",
        number=eid.upper(),
        status=status,
        issue_date=date(2026, 10, 5),
        lines=[{"item_id": "i-1", "quantity": "3", "unit_price": "150.00", "unit_cost": "95.00"}],
        **kw,
    )


def put(company_id: str, kind: DocumentKind, doc: Any, status: str | None = None) -> None:
    DocumentRepository().put(company_id, kind, doc, now=1.0, status=status, pending=False)


@pytest.fixture
def stack(moto_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Stack]:
    DynamoRecordStore.cache.clear()
    DynamoVectorStore.cache.clear()
    sandbox = VoyageSandbox(config=VoyageConfig())
    sandbox.start()
    monkeypatch.setenv("VOYAGE_API_KEY", DEFAULT_KEY)
    monkeypatch.setenv("VOYAGE_API_BASE_URL", f"{sandbox.url}/v1")
    monkeypatch.setenv("RAG_BILLING_EMBED_ENABLED", "true")
    monkeypatch.delenv("VOYAGE_API_KEY_PARAM", raising=False)
    with only_table("documents_table"), only_table("memory_table"), VoyageControl(sandbox.url) as control:
        for company_id in ("acme", "globex"):
            put(
                company_id,
                DocumentKind.CUSTOMER,
                builders.customer("c-1", display_name=f"{company_id} client"),
            )
            put(
                company_id,
                DocumentKind.ITEM,
                builders.item("i-1", "Water heater install", "150.00", unit_cost="90.00"),
            )
            put(company_id, DocumentKind.ITEM, builders.item("i-2", "Trip charge", "80.00"))
        for status in ("SENT", "PAID", "DRAFT", "VOID"):
            put(
                "acme", DocumentKind.INVOICE, builders.invoice(f"inv-{status.lower()}", status=status), status
            )
        for status in ("SENT", "ACCEPTED", "DECLINED", "DRAFT"):
            put("acme", DocumentKind.ESTIMATE, estimate(f"est-{status.lower()}", status), status)
        put("globex", DocumentKind.INVOICE, builders.invoice("inv-g", status="SENT"), "SENT")
        yield Stack(
            DocumentModel.Meta.table_name,
            MemoryRecordModel.Meta.table_name,
            control,
            tmp_path / "checkpoint.json",
        )
    sandbox.stop()


ACME = {
    "invoice#inv-sent",
    "invoice#inv-paid",
    "estimate#est-sent",
    "estimate#est-accepted",
    "estimate#est-declined",
}


def test_one_company_is_embedded_and_the_real_usage_is_voyages(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    assert stack.backfill("--company", "acme", "--yes") == 0
    printed = capsys.readouterr().out
    assert stack.embedded("acme") == ACME, "sent or later: no draft, no void invoice"
    assert stack.embedded("globex") == set()
    assert "Found 5 records to remember: 2 invoices (1 paid, 1 sent); 3 estimates" in printed
    ledger = stack.voyage.ledger()
    assert ledger["totals"]["requests"] == 1, "one full batch"
    tokens = ledger["totals"]["tokens"]
    estimated = int(re.search(r"Estimated tokens: ([\d,]+)", printed)[1].replace(",", ""))  # type: ignore[index]
    assert f"Tokens: {tokens:,} used (the embedder's usage), beside {estimated:,} estimated" in printed
    cost, guessed = (Decimal("0.02") * n / Decimal(1_000_000) for n in (tokens, estimated))
    assert (
        f"Cost: ${cost:.6f}, beside ${guessed:.6f} estimated (voyage-4-lite at $0.02 per million tokens)"
        in printed
    )

    record = DynamoRecordStore().get("acme", "estimate#est-accepted")
    assert record is not None and record.kind is RecordKind.ESTIMATE and record.status == "accepted"
    assert record.customer_name == "acme client" and record.lines[0].item_name == "Water heater install"
    assert record.lines[0].unit_cost == Decimal("95.00"), "the estimate's own cost"

    assert stack.backfill("--yes") == 0, "every company; acme's are already embedded"
    printed = capsys.readouterr().out
    assert "skipped, already embedded from the same content by this model: 5" in printed
    assert stack.embedded("globex") == {"invoice#inv-g"}
    assert stack.voyage.ledger()["totals"]["inputs"] == 6, "each record sent once"


def test_nothing_reaches_voyage_on_a_dry_run_without_confirmation_or_with_the_flag_off(
    stack: Stack, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert stack.backfill("--dry-run") == 0
    printed = capsys.readouterr().out
    assert re.search(r"Estimated cost: \$0\.\d{6} \(voyage-4-lite at \$0\.02 per million tokens\)", printed)
    assert "Dry run: nothing was sent." in printed

    assert stack.backfill() == backfill_embeddings.REFUSED  # pytest's stdin is no terminal
    assert "No terminal to confirm at and no --yes" in capsys.readouterr().out

    monkeypatch.setenv("RAG_BILLING_EMBED_ENABLED", "false")
    assert stack.backfill("--yes") == backfill_embeddings.REFUSED
    assert "RAG_BILLING_EMBED_ENABLED is off" in capsys.readouterr().out

    assert stack.voyage.ledger()["totals"]["requests"] == 0
    assert stack.embedded("acme") == set()
