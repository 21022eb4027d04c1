"""Embed the invoices and estimates already stored into their companies' billing memory (issue 18).

    AWS_REGION=us-east-1 python -m scripts.backfill_embeddings --documents-table <DocumentsTable> \\
        --memory-table <MemoryTable> [--company ID] [--dry-run] [--yes] [--embed-while-disabled]

(``make backfill-embeddings BACKFILL_ARGS="..."``.) The embedder is the embed function's: Voyage
when VOYAGE_API_KEY or VOYAGE_API_KEY_PARAM is set (with VOYAGE_MODEL, VOYAGE_OUTPUT_DIMENSION),
else the local one.

Which documents: invoices SENT or PAID, estimates SENT, ACCEPTED or DECLINED (``memory/feed.ISSUED``),
the statuses at which the embed function takes a document in. A draft was never shown to a
customer and a void invoice was never charged, so neither is a price the memory should answer with.

Before anything is sent it prints what it found, what is skipped, the tokens it estimates (labelled
an estimate: ``memory/ports.estimate_tokens``, one token per 4 characters) and what they would cost
at the model's price, and asks for the word ``embed`` to be typed (``--yes`` for scripts; with no
terminal and no ``--yes`` it refuses). It refuses while RAG_BILLING_EMBED_ENABLED is off, unless
``--embed-while-disabled`` (fill the memory ahead of turning the flag on). ``--dry-run`` prints the
estimate and sends nothing.

Records go to the embedder in full batches (as many as one request may carry), each batch through
``MemoryIndexer``: a record already embedded from the same content by the same model is skipped.
After each batch a checkpoint file says how far the run got; a run interrupted (Ctrl-C, an error)
and started again skips what was done without reading it again. The checkpoint is removed when the
run completes. At the end it prints the tokens and cost the embedder reported (Voyage's usage),
beside the estimate.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import IO, Never, Protocol

from booksync.documents import Customer, DocumentKind, Estimate, Invoice, Item, parse_stored
from booksync.errors import BooksyncError
from booksync.memory.choice import memory_vector_store
from booksync.memory.documents import billing_record
from booksync.memory.feed import ISSUED
from booksync.memory.indexer import MemoryIndexer, plan_batches
from booksync.memory.ports import Embedder, embedder_id, estimate_tokens
from booksync.memory.records import BillingRecord, RecordKind
from booksync.memory.voyage import USD_PER_MILLION_TOKENS, VoyageEmbedder, cost_usd
from booksync.store.memory import DynamoRecordStore
from booksync.store.models import DocumentModel, bind_tables
from booksync.wiring import memory_embedder
from pydantic import TypeAdapter, ValidationError

CONFIRM_WORD = "embed"
ESTIMATE_RULE = (
    "an estimate: one token per 4 characters of each record's text, rounded up, as "
    "memory/ports.estimate_tokens counts; the embedder counts the real ones"
)
FLAG = "RAG_BILLING_EMBED_ENABLED"

# Exit statuses: 0 done (or dry run), 1 failed midway (the checkpoint keeps what was done),
# 2 refused before sending anything, 130 interrupted.
FAILED = 1
REFUSED = 2
INTERRUPTED = 130

Position = tuple[str, str]  # (company id, record key): the order records are embedded in


def position(record: BillingRecord) -> Position:
    return (record.company_id, record.key)


@dataclass(frozen=True)
class Pricing:
    """What the configured embedder's tokens cost at its model's list price (memory/voyage.py);
    nothing when it is not ``billed`` (the local embedder runs on this machine)."""

    model: str
    billed: bool

    @classmethod
    def of(cls, embedder: Embedder) -> Pricing:
        return cls(embedder.model, billed=isinstance(embedder, VoyageEmbedder))

    def cost(self, tokens: int) -> Decimal | None:
        return cost_usd(self.model, tokens) if self.billed else None

    @property
    def basis(self) -> str:
        if not self.billed:
            return "the local embedder runs on this machine"
        price = USD_PER_MILLION_TOKENS.get(self.model)
        return (
            f"no price is known for {self.model}"
            if price is None
            else f"{self.model} at ${price} per million tokens"
        )

    def say(self, tokens: int) -> str:
        cost = self.cost(tokens)
        amount = "nothing billed" if not self.billed else "not known" if cost is None else f"${cost:.6f}"
        return f"{amount} ({self.basis})"

    def beside(self, tokens: int, estimated: int) -> str:
        """The cost of ``tokens`` beside that of ``estimated``."""
        real, guessed = self.cost(tokens), self.cost(estimated)
        if real is None or guessed is None:
            return self.say(tokens)
        return f"${real:.6f}, beside ${guessed:.6f} estimated ({self.basis})"


class Checkpoint:
    """How far an interrupted run got, in a JSON file: the position of the last record of the last
    batch stored, under the run's scope (tables, company, embedder), so a checkpoint of another
    scope is never applied. Written whole to a temporary file and renamed (never half written)."""

    def __init__(self, path: Path, scope: dict[str, str]) -> None:
        self.path = path
        self.scope = scope

    def load(self) -> Position | None:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise SystemExit(
                f"The checkpoint {self.path} cannot be read ({exc}). Remove it to start over "
                "(records already embedded are still skipped by their content hash)."
            ) from exc
        if data.get("scope") != self.scope:
            return None
        company_id, key = data["done_through"]
        return (str(company_id), str(key))

    def save(self, done_through: Position) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(self.path.name + ".tmp")
        temporary.write_text(json.dumps({"scope": self.scope, "done_through": list(done_through)}))
        os.replace(temporary, self.path)

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


@dataclass
class Plan:
    """What a run would do: the records found (each kind's count by status), those skipped (done
    by an interrupted run; already embedded from the same content), the ones to embed in order,
    and the estimate."""

    found: Counter[tuple[RecordKind, str]]
    resumed: int
    unchanged: int
    todo: list[BillingRecord]
    batches: list[list[int]]
    estimated_tokens: int

    def lines(self, embedder: Embedder, pricing: Pricing, checkpoint: Checkpoint) -> list[str]:
        total = sum(self.found.values())
        kinds = []
        for kind in RecordKind:
            statuses = {s: n for (k, s), n in sorted(self.found.items()) if k is kind}
            if statuses:
                detail = ", ".join(f"{n:,} {s}" for s, n in statuses.items())
                count = sum(statuses.values())
                kinds.append(f"{count:,} {kind.value}{'' if count == 1 else 's'} ({detail})")
        out = [f"Found {total:,} records to remember" + (f": {'; '.join(kinds)}." if kinds else ".")]
        if self.resumed:
            out.append(f"  skipped, done by the interrupted run ({checkpoint.path}): {self.resumed:,}")
        out.append(f"  skipped, already embedded from the same content by this model: {self.unchanged:,}")
        out.append(
            f"  to embed: {len(self.todo):,} in {len(self.batches):,} request(s) of up to "
            f"{embedder.max_inputs:,} ({embedder.model}, dimension {embedder.dimension})"
        )
        out.append(f"Estimated tokens: {self.estimated_tokens:,} ({ESTIMATE_RULE})")
        out.append(f"Estimated cost: {pricing.say(self.estimated_tokens)}")
        return out


def plan(records: Iterable[BillingRecord], indexer: MemoryIndexer, resume_after: Position | None) -> Plan:
    """Sort the records, leave out what the checkpoint says is done and what is already embedded
    from the same content (one BatchGetItem per 100 records), and estimate the rest."""
    ordered = sorted({position(r): r for r in records}.values(), key=position)
    found = Counter((r.kind, r.status) for r in ordered)
    left = [r for r in ordered if resume_after is None or position(r) > resume_after]
    todo = sorted(indexer.changed(left), key=position)
    texts = [r.text() for r in todo]
    return Plan(
        found=found,
        resumed=len(ordered) - len(left),
        unchanged=len(left) - len(todo),
        todo=todo,
        batches=plan_batches(texts, indexer.embedder.max_inputs, indexer.embedder.max_tokens),
        estimated_tokens=sum(estimate_tokens(t) for t in texts),
    )


class Progress(Protocol):
    def update(self, n: int) -> object: ...

    def close(self) -> None: ...


def bar(total: int, out: IO[str]) -> Progress:
    """tqdm's bar: done of total, records per second and the time left."""
    from tqdm import tqdm

    shown: tqdm[Never] = tqdm(
        total=total, unit="record", desc="embedding", file=out, smoothing=0.1, mininterval=0.5
    )
    return shown


@dataclass
class Usage:
    """What a run did, as the embedder reported it."""

    embedded: int = 0
    skipped: int = 0  # embedded meanwhile (by the embed function), found so at the batch's turn
    requests: int = 0
    tokens: int = 0


def embed(
    work: Plan, indexer: MemoryIndexer, checkpoint: Checkpoint, progress: Progress, usage: Usage
) -> None:
    """Each planned batch through the indexer (which skips a record embedded meanwhile), the
    checkpoint moved after each batch is stored; ``usage`` counts as it goes."""
    try:
        for batch in work.batches:
            records = [work.todo[i] for i in batch]
            report = indexer.index(records)
            usage.embedded += report.embedded
            usage.skipped += report.skipped
            usage.requests += report.requests
            usage.tokens += report.total_tokens
            checkpoint.save(position(records[-1]))
            progress.update(len(records))
    finally:
        progress.close()


def usage_lines(work: Plan, usage: Usage, pricing: Pricing) -> list[str]:
    estimated = work.estimated_tokens
    off = f" ({(usage.tokens - estimated) / estimated:+.1%})" if estimated else ""
    lines = [
        f"Embedded {usage.embedded:,} records in {usage.requests:,} request(s)"
        + (f"; {usage.skipped:,} were embedded meanwhile and skipped" if usage.skipped else "")
        + ".",
        f"Tokens: {usage.tokens:,} used (the embedder's usage), beside {estimated:,} estimated{off}.",
        f"Cost: {pricing.beside(usage.tokens, estimated)}.",
    ]
    return lines


@dataclass
class Options:
    dry_run: bool = False
    yes: bool = False
    embed_while_disabled: bool = False


def run(
    records: Callable[[], Iterable[BillingRecord]],
    indexer: MemoryIndexer,
    pricing: Pricing,
    checkpoint: Checkpoint,
    options: Options,
    *,
    flag_on: bool,
    ask: Callable[[str], str] | None,
    out: IO[str],
    progress: Callable[[int, IO[str]], Progress] = bar,
) -> int:
    """The backfill, start to end: refuse while the flag is off, plan, print the estimate, ask,
    embed, report. ``ask`` prompts at a terminal (None: there is none). Answers the exit status."""

    def say(*lines: str) -> None:
        out.write("".join(f"{line}\n" for line in lines))
        out.flush()

    if not flag_on and not options.dry_run and not options.embed_while_disabled:
        say(
            f"{FLAG} is off: the billing memory is not being kept, so nothing is embedded.",
            f"Turn it on first (the template parameter, or {FLAG}=true here), or run with "
            "--embed-while-disabled to fill the memory ahead of it; --dry-run shows the estimate.",
        )
        return REFUSED
    work = plan(records(), indexer, checkpoint.load())
    say(*work.lines(indexer.embedder, pricing, checkpoint))
    if options.dry_run:
        say("Dry run: nothing was sent.")
        return 0
    if not work.todo:
        checkpoint.clear()
        say("Nothing to embed.")
        return 0
    if not options.yes:
        if ask is None:
            say(
                "No terminal to confirm at and no --yes: nothing was sent.",
                "Run with --yes to embed without asking, or at a terminal to be asked.",
            )
            return REFUSED
        answer = ask(
            f'Type "{CONFIRM_WORD}" to embed {len(work.todo):,} records '
            f"(estimated {pricing.say(work.estimated_tokens)}); anything else stops: "
        )
        if answer.strip().lower() != CONFIRM_WORD:
            say("Not confirmed: nothing was sent.")
            return REFUSED
    usage = Usage()

    def stopped(why: str, code: int) -> int:
        say(
            why,
            f"{usage.embedded:,} of {len(work.todo):,} records were embedded and are kept; run the same "
            f"command again to go on from the checkpoint ({checkpoint.path}).",
            f"Tokens used so far: {usage.tokens:,} (the embedder's usage), {pricing.say(usage.tokens)}.",
        )
        return code

    try:
        embed(work, indexer, checkpoint, progress(len(work.todo), out), usage)
    except KeyboardInterrupt:
        return stopped("Interrupted.", INTERRUPTED)
    except BooksyncError as exc:
        return stopped(f"Stopped: {exc.message} {exc.fix}".strip(), FAILED)
    checkpoint.clear()
    say(*usage_lines(work, usage, pricing))
    return 0


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--documents-table", required=True, help="the stack's DocumentsTable")
    parser.add_argument("--memory-table", required=True, help="the stack's MemoryTable")
    parser.add_argument("--company", help="one company's id (default: every company)")
    parser.add_argument("--dry-run", action="store_true", help="print the estimate; send nothing")
    parser.add_argument("--yes", action="store_true", help="embed without asking (for scripts)")
    parser.add_argument(
        "--embed-while-disabled",
        action="store_true",
        help=f"embed even though {FLAG} is off (fill the memory before turning it on)",
    )
    parser.add_argument(
        "--checkpoint",
        type=Path,
        help="where the run keeps how far it got "
        "(default: .local/backfill-embeddings/<memory table>-<company or all>.json)",
    )
    return parser.parse_args(argv)


def default_checkpoint(memory_table: str, company: str | None) -> Path:
    return Path(".local") / "backfill-embeddings" / f"{memory_table}-{company or 'all'}.json"


def scope(args: argparse.Namespace, embedder: Embedder) -> dict[str, str]:
    """What a checkpoint holds for: these tables, this company (or all), this embedder."""
    return {
        "documents_table": args.documents_table,
        "memory_table": args.memory_table,
        "company": args.company or "*",
        "embedder": embedder_id(embedder),
    }


def stored_records(company: str | None) -> list[BillingRecord]:
    """The invoices and estimates of ``company`` (None: every company) at an embedded status, as
    records: one Query of the company's partition (a Scan of the table for every company) reads
    them with the customers and items they name."""
    kinds = [DocumentKind.CUSTOMER, DocumentKind.ITEM, *ISSUED]
    wanted = DocumentModel.kind.is_in(*(kind.value for kind in kinds))
    rows = (
        DocumentModel.query(company, filter_condition=wanted)
        if company
        else DocumentModel.scan(filter_condition=wanted)
    )
    by_company: dict[str, list[DocumentModel]] = defaultdict(list)
    for row in rows:
        by_company[row.company_id].append(row)
    records: list[BillingRecord] = []
    for company_id, company_rows in by_company.items():
        parsed = {
            (row.kind, row.doc_id): parse_stored(DocumentKind(row.kind), row.body) for row in company_rows
        }
        customers = {
            i: d for (k, i), d in parsed.items() if k == DocumentKind.CUSTOMER and isinstance(d, Customer)
        }
        items = {i: d for (k, i), d in parsed.items() if k == DocumentKind.ITEM and isinstance(d, Item)}
        for row in company_rows:
            doc = parsed[(row.kind, row.doc_id)]
            if isinstance(doc, Invoice | Estimate) and row.status in ISSUED[DocumentKind(row.kind)]:
                customer = customers.get(doc.customer_id)
                records.append(billing_record(company_id, doc, str(row.status), customer, items))
    return records


def embed_enabled() -> bool:
    """RAG_BILLING_EMBED_ENABLED as the functions read it (unset: off)."""
    value = os.environ.get(FLAG, "false")
    try:
        return TypeAdapter(bool).validate_python(value)
    except ValidationError as exc:
        raise SystemExit(f"{FLAG}={value!r} is not a yes or a no: set it to true or false.") from exc


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    bind_tables(SimpleNamespace(documents_table=args.documents_table, memory_table=args.memory_table))
    try:
        embedder = memory_embedder()  # the embed function's: Voyage when a key is named
        vectors = memory_vector_store(embedder.dimension)
    except BooksyncError as exc:  # a setting refused by name
        sys.stdout.write(f"{exc.message}\n{exc.fix}\nNothing was sent.\n")
        return REFUSED
    indexer = MemoryIndexer(embedder, DynamoRecordStore(), vectors)
    checkpoint = Checkpoint(
        args.checkpoint or default_checkpoint(args.memory_table, args.company), scope(args, embedder)
    )
    return run(
        lambda: stored_records(args.company),
        indexer,
        Pricing.of(embedder),
        checkpoint,
        Options(dry_run=args.dry_run, yes=args.yes, embed_while_disabled=args.embed_while_disabled),
        flag_on=embed_enabled(),
        ask=input if sys.stdin.isatty() else None,
        out=sys.stdout,
    )


if __name__ == "__main__":
    raise SystemExit(main())
