"""The backfill's batching and speed (scripts/backfill_embeddings.py, ``make backfill-embeddings``).

10,000 documents of one company (the labelled set's generator, as ``memory.search_p50_ms``) go
through the backfill's ``run`` as an operator's ``--yes`` run does: the content hashes read from
MemoryTable (moto server on loopback), the estimate, then full batches to the Voyage sandbox over
HTTP (voyage-4-lite, dimension 1024), vectors and records written to MemoryTable.

``memory.backfill_requests_per_1000_records``: embeddings requests the sandbox served (its ledger)
per 1,000 records; goal 1.1 (full batches: Voyage takes 1,000 inputs a request).
``memory.backfill_records_per_second``: records over the run's wall-clock time, plan included.
"""

from __future__ import annotations

import io
import os
import tempfile
import time
from pathlib import Path

from bench.figure import BenchError, Figure, Goal
from bench.figures.memory_search import _memory_table, scaled_history

RECORDS = 10_000
MODEL = "voyage-4-lite"


def measure() -> list[Figure]:
    from booksync.memory.indexer import MemoryIndexer
    from booksync.memory.voyage import VoyageEmbedder
    from booksync.providers.http import HttpClient
    from booksync.store.memory import DynamoRecordStore, DynamoVectorStore

    from local.sandboxes.voyage.testing import DEFAULT_KEY, VoyageControl, VoyageSandbox
    from scripts import backfill_embeddings as backfill

    documents = scaled_history(RECORDS)
    out = io.StringIO()
    with (
        _memory_table(),
        VoyageSandbox() as sandbox,
        VoyageControl(sandbox.url) as control,
        tempfile.TemporaryDirectory() as scratch,
    ):
        http = HttpClient(provider="voyage", label="Voyage AI", default_retry_after=None)
        embedder = VoyageEmbedder(
            api_key=lambda: DEFAULT_KEY, model=MODEL, base_url=f"{sandbox.url}/v1", http=http
        )
        indexer = MemoryIndexer(embedder, DynamoRecordStore(), DynamoVectorStore())
        started = time.perf_counter()
        code = backfill.run(
            lambda: documents,
            indexer,
            backfill.Pricing.of(embedder),
            backfill.Checkpoint(Path(scratch) / "checkpoint.json", {"bench": "memory_backfill"}),
            backfill.Options(yes=True),
            flag_on=True,
            ask=None,
            out=out,
        )
        elapsed = time.perf_counter() - started
        billed = control.ledger()["totals"]
    if code != 0 or billed["inputs"] != RECORDS:
        raise BenchError(
            f"the backfill answered {code} and sent {billed['inputs']} of {RECORDS} records:\n"
            + out.getvalue()
        )
    requests = int(billed["requests"])
    return [
        Figure(
            "memory.backfill_requests_per_1000_records",
            round(requests * 1000 / RECORDS, 3),
            "requests",
            Goal("<=", 1.1),
            note=f"{requests} embeddings requests for {RECORDS} records of one company (the Voyage "
            f"sandbox's ledger), {MODEL}: full batches of up to 1,000 inputs",
        ),
        Figure(
            "memory.backfill_records_per_second",
            round(RECORDS / elapsed, 1),
            "records/s",
            note=f"{RECORDS} records in {elapsed:.1f} s: content hashes read, estimate, embeddings from the "
            f"Voyage sandbox over loopback HTTP, vectors and records written to MemoryTable on moto "
            f"server; {billed['tokens']} tokens; {os.cpu_count()} cores",
        ),
    ]
