"""Catalog sync at Intuit's limits, and QuickBooks requests per invoice, on the local stack.

catalog_sync: 3,629 items pushed by the real catalog engine (wiring.sync_catalog) against the
QuickBooks sandbox at 500 ms per request under Intuit's limits (10 in flight, 500 requests and
40 batch requests per minute, 30 items per batch). The sandbox's clock runs ``SCALE`` times
faster (its latency and throttle windows alike) and the engine's limiter shortens its minute by
the same factor, so every ratio holds and times are reported in sandbox seconds. The best the
limits allow is 40 batches x 30 items per minute = 20 items/s; ``ratio_to_limit`` is the
achieved rate over that (goal >= 0.9). DynamoDB (moto server, writes serialised) does not run
faster with the clock: the scale is kept low enough (BOOKSYNC_BENCH_CLOCK_SCALE, default 2)
for the store's real time to fit inside the limits' waits, as it does in AWS (at x4 the local
store, about 17 ms of real time per item, caps the run at ~14.6 items/s: a moto artefact).

requests_per_invoice: provider requests counted from the sandbox's request log while the real
invoice engine (wiring.sync_worker) syncs an invoice: ``first`` (new customer, two new items,
one payment), ``unchanged`` (the same again; goal 0) and ``edited`` (its memo changed).
"""

from __future__ import annotations

import dataclasses
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bench.figure import BenchError, Figure, Goal

ITEMS = 3629
LATENCY_MS = 500
COMPANY = "bench-co"
CLIENT_ID, CLIENT_SECRET = "ABbenchclient01", "bench-secret-0001"
REDIRECT = "https://api.example.com/oauth/quickbooks/callback"
BEST_ITEMS_PER_SECOND = 40 * 30 / 60.0  # Intuit: 40 batch requests/min, 30 items each


def _scale() -> float:
    return float(os.environ.get("BOOKSYNC_BENCH_CLOCK_SCALE", "2"))


@contextmanager
def _aws() -> Iterator[None]:
    from local.runtime.atomic_dynamodb import serialise_dynamodb_writes
    from tests.conftest import moto_server

    serialise_dynamodb_writes()
    server, url = moto_server()
    os.environ.update(
        AWS_ENDPOINT_URL=url,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_REGION="us-east-1",
    )
    try:
        yield
    finally:
        server.stop()


def _environment(qbo_url: str) -> dict[str, str]:
    import boto3
    from booksync.store.models import ALL_MODELS, bind_tables

    suffix = uuid.uuid4().hex[:8]
    names = SimpleNamespace(**{field: f"{field}-{suffix}" for field in ALL_MODELS})
    bind_tables(names)
    for model in ALL_MODELS.values():
        model.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
    sqs = boto3.client("sqs")
    from tests.lambda_env import environment, idempotency_table

    env = environment(
        names,
        queue_url=sqs.create_queue(QueueName=f"inv-{suffix}")["QueueUrl"],
        key_id=boto3.client("kms").create_key()["KeyMetadata"]["KeyId"],
        qbo_url=qbo_url,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        idempotency_table=idempotency_table(),
    )
    env["SYNC_CATALOG_QUEUE_URL"] = sqs.create_queue(QueueName=f"cat-{suffix}")["QueueUrl"]
    os.environ.update(env)
    return env


def _connect(env: dict[str, str], control: Any) -> tuple[Any, str]:
    from booksync.settings import ApiSettings
    from booksync.wiring import api_services

    services = api_services(ApiSettings.from_env(env))
    url = services.integrations.start_connect(company_id=COMPANY, user_id="bench", provider="quickbooks")
    query = parse_qs(urlsplit(control.approve_consent(url)).query)
    realm = query["realmId"][0]
    consent = services.integrations.accept_callback(
        provider="quickbooks", state=query["state"][0], code=query["code"][0], account_id=realm
    )
    services.integrations.confirm_connect(
        company_id=COMPANY, user_id="bench", provider="quickbooks", consent=consent
    )
    return services, realm


def _load_items(count: int) -> None:
    """Rows as DocumentRepository.put writes them, in batch writes (setup, not measured)."""
    from booksync.documents import DocumentKind, Item
    from booksync.store.documents import doc_key
    from booksync.store.models import DocumentModel

    now = time.time()
    with DocumentModel.batch_write() as batch:
        for index in range(count):
            item = Item(id=f"i-{index:05d}", name=f"Part {index:05d}", unit_price=Decimal("12.50"))
            batch.save(
                DocumentModel(
                    COMPANY,
                    doc_key(DocumentKind.ITEM, item.id),
                    kind=DocumentKind.ITEM.value,
                    doc_id=item.id,
                    body=item.model_dump(mode="json"),
                    content_hash=item.content_hash(),
                    updated_at=now,
                )
            )


def _catalog(env: dict[str, str], services: Any, scale: float, control: Any, realm: str) -> list[Figure]:
    from booksync.settings import CatalogWorkerSettings
    from booksync.sync.catalog_jobs import CatalogJob
    from booksync.wiring import sync_catalog

    _load_items(ITEMS)
    engine, _ = sync_catalog(CatalogWorkerSettings.from_env(env), window_scale=scale)
    queued: list[CatalogJob] = []
    services.catalog._queue = SimpleNamespace(enqueue=queued.append)
    engine.parts = dataclasses.replace(engine.parts, requeue=queued.append)
    run_id = services.catalog.request(COMPANY, "quickbooks", ["items"])
    control.clear_requests()
    wall, steps = run_steps(engine, queued, run_id)
    sandbox_seconds = wall * scale
    log = control.requests(realm)
    throttled = sum(1 for e in log if e["status"] == 429)
    batches = sum(1 for e in log if e["operation"] == "batch")
    note = f"{batches} batch requests, {throttled} answered 429, clock x{scale:g}, {steps} step(s)"
    return rate_figures(
        "catalog_sync",
        sandbox_seconds,
        BEST_ITEMS_PER_SECOND,
        note=note,
        best_note=f"{BEST_ITEMS_PER_SECOND:g} items/s",
    )


def run_steps(engine: Any, queued: list[Any], run_id: str) -> tuple[float, int]:
    """The run's messages delivered until none is left (each step queues the next): the real
    seconds it took and its steps; BenchError unless it created all ``ITEMS``."""
    started = time.perf_counter()
    steps = 0
    report = None
    while queued:
        steps += 1
        report = engine.run(queued.pop(0), lambda: 900.0)
    wall = time.perf_counter() - started
    if report is None or report.status != "succeeded" or report.counts.get("created") != ITEMS:
        status = "unrun" if report is None else f"{report.status} with {dict(report.counts)}"
        raise BenchError(f"catalog run {run_id} ended {status}")
    return wall, steps


def rate_figures(prefix: str, seconds: float, best: float, *, note: str, best_note: str) -> list[Figure]:
    """``ITEMS`` in ``seconds`` (sandbox seconds): its wall time, rate, and ratio to ``best``."""
    rate = ITEMS / seconds
    return [
        Figure(f"{prefix}.wall_time", round(seconds, 1), "s", note=note),
        Figure(f"{prefix}.items_per_second", round(rate, 2), "items/s"),
        Figure(
            f"{prefix}.ratio_to_limit",
            round(rate / best, 3),
            "",
            goal=Goal(">=", 0.9),
            note=f"best the limits allow: {best_note}",
        ),
    ]


# The phases requests_per_invoice counts, with what each is.
INVOICE_PHASES = {
    "first": "new customer, two new items, one payment",
    "unchanged": "the same again",
    "edited": "memo changed after sync",
}


def requests_per_invoice(
    env: dict[str, str],
    services: Any,
    provider: str,
    requests: Callable[[], list[dict[str, Any]]],
    clear: Callable[[], None],
    goals: dict[str, Goal],
    prefix: str = "",
) -> list[Figure]:
    """The provider requests (``requests()``: the sandbox's log of the provider's API since
    ``clear()``) the real invoice engine makes for an invoice with a new customer, two new items
    and a payment (``first``); for the same again (``unchanged``); after a memo edit (``edited``).
    A phase that does not end with the invoice and its payment synced is not counted: its figure
    is missing, with the reason."""
    from booksync.documents import Customer, DocumentKind, Invoice, Item, Payment
    from booksync.settings import SyncWorkerSettings
    from booksync.store.documents import DocumentRepository
    from booksync.sync.jobs import SyncJob
    from booksync.wiring import sync_worker

    worker, _ = sync_worker(SyncWorkerSettings.from_env(env))
    docs = services.documents
    docs.put_customer(COMPANY, Customer(id="c-inv", display_name="Invoice Bench", email="inv@example.com"))
    for item_id in ("x-1", "x-2"):
        docs.put_item(COMPANY, Item(id=item_id, name=f"Bench {item_id}", unit_price=Decimal("40.00")))
    invoice = Invoice.model_validate(
        {
            "id": "inv-b",
            "number": "B-1",
            "customer_id": "c-inv",
            "status": "SENT",
            "issue_date": "2026-03-01",
            "lines": [{"item_id": i, "quantity": "1", "unit_price": "40.00"} for i in ("x-1", "x-2")],
        }
    )
    docs.put_invoice(COMPANY, invoice)
    docs.put_payment(
        COMPANY, Payment(id="p-b", invoice_id="inv-b", amount=Decimal("30.00"), date=date(2026, 3, 2))
    )

    def count(phase: str) -> Figure:
        clear()
        job = SyncJob(company_id=COMPANY, invoice_id="inv-b", provider=provider, trigger="manual")
        worker.handle(job.model_dump_json(), "bench")
        name, goal, note = f"{prefix}requests_per_invoice.{phase}", goals.get(phase), INVOICE_PHASES[phase]
        rows = DocumentRepository().get_many(COMPANY, DocumentKind.INVOICE, ["inv-b"])
        rows |= DocumentRepository().get_many(COMPANY, DocumentKind.PAYMENT, ["p-b"])
        for doc_id, row in rows.items():
            link = row.link(provider)
            if link is None or link.outcome != "synced" or link.pushed_hash != row.content_hash:
                outcome = f"{link.outcome}: {link.error_message}" if link else "never sent"
                error = f"not measured: {doc_id} did not sync ({outcome}) after {len(requests())} requests"
                return Figure(name, None, "requests", goal=goal, note=note, error=error)
        return Figure(name, len(requests()), "requests", goal=goal, note=note)

    figures = [count("first"), count("unchanged")]
    docs.put_invoice(COMPANY, invoice.model_copy(update={"memo": "Edited after sync"}))
    return [*figures, count("edited")]


def sandbox_requests_per_invoice(provider: str, goals: dict[str, Goal]) -> list[Figure]:
    """``requests_per_invoice`` for a provider of the reliability suite's books (its sandbox:
    tests/reliability/soak_books.py), connected through booksync's own consent, counting only its
    API's requests (``api_path``), each figure named ``<provider>.requests_per_invoice.<phase>``."""
    import re

    from booksync.settings import ApiSettings
    from booksync.wiring import api_services

    from tests.reliability.soak_books import soak_books

    saved = dict(os.environ)
    try:
        with _aws(), soak_books(provider) as books:
            env = {**_environment(books.url), **books.environment()}
            os.environ.update(env)
            services = api_services(ApiSettings.from_env(env))
            account = books.connect(services, COMPANY)
            books.prepare(services, COMPANY, account)
            return requests_per_invoice(
                env,
                services,
                provider,
                lambda: [e for e in books.requests(account) if re.search(books.api_path, e["path"])],
                books.control.clear_requests,
                goals=goals,
                prefix=f"{provider}.",
            )
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _requests_per_invoice(env: dict[str, str], services: Any, control: Any, realm: str) -> list[Figure]:
    return requests_per_invoice(
        env,
        services,
        "quickbooks",
        lambda: [e for e in control.requests(realm) if e["path"].startswith("/v3/")],
        control.clear_requests,
        goals={"unchanged": Goal("<=", 0)},
    )


def measure() -> list[Figure]:
    from local.sandboxes.quickbooks.config import ClientApp, SandboxConfig
    from local.sandboxes.quickbooks.control import SandboxControl
    from local.sandboxes.quickbooks.server import QuickBooksSandbox

    scale = _scale()
    config = SandboxConfig(
        clients={CLIENT_ID: ClientApp(secret=CLIENT_SECRET, redirect_uris=[REDIRECT])},
        clock_scale=scale,
        latency_ms=LATENCY_MS,
        access_token_lifetime_s=10**7,  # the run spans hours of sandbox time
    )
    saved = dict(os.environ)
    try:
        with _aws(), QuickBooksSandbox(config=config) as sandbox, SandboxControl(sandbox.url) as control:
            env = _environment(sandbox.url)
            services, realm = _connect(env, control)
            figures = _catalog(env, services, scale, control, realm)
            return figures + _requests_per_invoice(env, services, control, realm)
    finally:
        os.environ.clear()
        os.environ.update(saved)
