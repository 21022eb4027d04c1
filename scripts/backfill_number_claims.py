"""Claim the numbers of invoices stored before booksync claimed invoice numbers (run once).

For each company and number (case aside) the invoice stored first holds it: the one first sent
(``sent_at``, kept across edits), then drafts by their last change, then by id. A claim already
held by a live invoice with that number stays; one held by a deleted invoice, or by an invoice
renumbered since, goes to the first. Deleted invoices claim nothing. Every number that more than
one live invoice uses is reported: the others keep it (their edits go through) until renumbered.

    AWS_REGION=us-east-1 python -m scripts.backfill_number_claims --table <DocumentsTable> [--dry-run]

Each claim is written on condition that its row is as read, so the script can run while the API
is taking requests, and again (a second run writes nothing).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import SimpleNamespace

from booksync.store.documents import DELETED, number_claim, number_key
from booksync.store.models import DocumentModel, bind_tables
from pynamodb.exceptions import PutError


@dataclass
class Report:
    claimed: list[tuple[str, str, str]] = field(default_factory=list)  # company, number, invoice
    duplicates: list[tuple[str, str, str, list[str]]] = field(default_factory=list)  # ..., others
    lost: list[tuple[str, str]] = field(default_factory=list)  # changed by a request meanwhile

    def lines(self) -> list[str]:
        out = [f"claimed {number!r} for invoice {inv} (company {c})" for c, number, inv in self.claimed]
        out += [
            f"duplicate: company {c} number {number!r} is held by invoice {holder}; also used by "
            f"{', '.join(others)} (renumber them: PUT /invoices/{{id}} with a free number)"
            for c, number, holder, others in self.duplicates
        ]
        out += [f"skipped {number!r} (company {c}): changed meanwhile, run again" for c, number in self.lost]
        out.append(
            f"{len(self.claimed)} claimed, {len(self.duplicates)} numbers used by more than one invoice"
        )
        return out


def _first_stored(row: DocumentModel) -> tuple[int, float, str]:
    return (0, float(row.sent_at), row.doc_id) if row.sent_at is not None else (1, row.updated_at, row.doc_id)


def backfill(rows: Iterable[DocumentModel], *, now: float, dry_run: bool = False) -> Report:
    """Claim each number for the first invoice stored with it (``rows``: the documents table)."""
    invoices: dict[tuple[str, str], list[DocumentModel]] = defaultdict(list)
    claims: dict[tuple[str, str], DocumentModel] = {}
    for row in rows:
        if row.kind == "claim" and row.doc_key.startswith(number_key("")):
            claims[(row.company_id, row.doc_key)] = row
        elif row.kind == "invoice" and row.status != DELETED:
            invoices[(row.company_id, number_key(str(row.body["number"])))].append(row)
    report = Report()
    for (company_id, key), users in sorted(invoices.items()):
        users.sort(key=_first_stored)
        held = claims.get((company_id, key))
        holder = next((u for u in users if held is not None and u.doc_id == held.doc_id), None)
        if holder is None:
            holder = users[0]
            number = str(holder.body["number"])
            unchanged = (
                DocumentModel.doc_key.does_not_exist()
                if held is None
                else DocumentModel.doc_id == held.doc_id
            )
            if not dry_run:
                try:
                    number_claim(company_id, number, holder.doc_id, now).save(condition=unchanged)
                except PutError as exc:
                    if exc.cause_response_code != "ConditionalCheckFailedException":
                        raise
                    report.lost.append((company_id, number))
                    continue
            report.claimed.append((company_id, number, holder.doc_id))
        others = [u.doc_id for u in users if u is not holder]
        if others:
            report.duplicates.append((company_id, str(holder.body["number"]), holder.doc_id, others))
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", required=True, help="the stack's documents table (DocumentsTable)")
    parser.add_argument("--dry-run", action="store_true", help="report what it would claim; write nothing")
    args = parser.parse_args(argv)
    bind_tables(SimpleNamespace(documents_table=args.table))
    report = backfill(DocumentModel.scan(), now=time.time(), dry_run=args.dry_run)
    sys.stdout.write("\n".join(report.lines()) + "\n")
    return 1 if report.lost else 0


if __name__ == "__main__":
    raise SystemExit(main())
