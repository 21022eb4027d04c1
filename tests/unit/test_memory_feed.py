"""The billing memory's feed: which status changes embed a document, and a lost queue write."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from types import SimpleNamespace

import pytest
from booksync.documents import DocumentKind
from booksync.memory.feed import EmbedFeed, EmbedJob, changes_stage
from booksync.settings import ApiSettings, EmbedBillingSettings, SchedulerSettings
from pydantic import ValidationError

INVOICE, ESTIMATE = DocumentKind.INVOICE, DocumentKind.ESTIMATE


@pytest.mark.parametrize(
    ("kind", "before", "after", "embeds"),
    [
        (INVOICE, None, "SENT", True),  # created sent
        (INVOICE, "DRAFT", "SENT", True),  # the transition
        (INVOICE, None, "PAID", True),  # issued and paid at once: still issued once
        (INVOICE, None, "DRAFT", False),
        (INVOICE, "DRAFT", "DRAFT", False),
        (INVOICE, "SENT", "SENT", False),  # every later save of a sent invoice
        (INVOICE, "SENT", "PAID", True),  # paid: never kept as sent (a payment may come first)
        (INVOICE, "PAID", "PAID", False),
        (INVOICE, "SENT", "VOID", True),  # voided once issued: kept as void, never a charge
        (INVOICE, "PAID", "VOID", True),
        (INVOICE, "DRAFT", "VOID", False),  # never issued: never in the memory
        (INVOICE, None, "VOID", False),
        (INVOICE, "VOID", "VOID", False),
        (ESTIMATE, "DRAFT", "SENT", True),
        (ESTIMATE, None, "ACCEPTED", True),
        (ESTIMATE, "SENT", "ACCEPTED", True),
        (ESTIMATE, "SENT", "DECLINED", True),
        (ESTIMATE, "ACCEPTED", "ACCEPTED", False),
        (ESTIMATE, "SENT", "SENT", False),
        (ESTIMATE, "DRAFT", "DRAFT", False),
    ],
)
def test_a_document_embeds_when_its_stage_in_the_memory_changes_only(
    kind: DocumentKind, before: str | None, after: str, embeds: bool
) -> None:
    assert changes_stage(kind, before, after) is embeds


class Queue:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[EmbedJob] = []
        self.fail = fail

    def send(self, jobs: Sequence[EmbedJob]) -> None:
        if self.fail:
            raise RuntimeError("SQS is down")
        self.sent += jobs


def row(embed_since: float | None, updated_at: float = 10.0) -> SimpleNamespace:
    return SimpleNamespace(
        company_id="acme", kind="invoice", doc_id="inv-1", embed_since=embed_since, updated_at=updated_at
    )


def test_only_the_write_that_marked_a_document_queues_it() -> None:
    queue = Queue()
    feed = EmbedFeed(queue)
    assert feed.written(row(10.0), changed=True)  # type: ignore[arg-type]
    assert queue.sent == [EmbedJob(company_id="acme", kind=INVOICE, doc_id="inv-1")]
    # An identical re-send, a later edit beside an older mark (the sweep's), no mark at all.
    assert not feed.written(row(10.0), changed=False)  # type: ignore[arg-type]
    assert not feed.written(row(5.0), changed=True)  # type: ignore[arg-type]
    assert not feed.written(row(None), changed=True)  # type: ignore[arg-type]
    assert len(queue.sent) == 1


def test_a_lost_queue_write_is_logged_never_raised(caplog: pytest.LogCaptureFixture) -> None:
    """The document is saved (the caller's write is done) and keeps its mark for the sweep."""
    with caplog.at_level(logging.ERROR):
        assert EmbedFeed(Queue(fail=True)).written(row(10.0), changed=True) is False  # type: ignore[arg-type]
    assert "the embed sweep queues it" in caplog.text


def test_a_job_names_only_a_kind_that_embeds() -> None:
    with pytest.raises(ValidationError):
        EmbedJob(company_id="acme", kind=DocumentKind.CUSTOMER, doc_id="c-1")
    with pytest.raises(ValidationError):
        EmbedJob(company_id="acme", kind=INVOICE, doc_id="not an id")


BASE = {
    "CONNECTIONS_TABLE": "c",
    "DOCUMENTS_TABLE": "d",
    "SYNC_RUNS_TABLE": "r",
    "NOTIFICATIONS_TABLE": "n",
    "SYNC_INVOICE_QUEUE_URL": "https://sqs.example/sync",
    "TOKEN_KEY_ID": "k",
    "INTENTS_TABLE": "i",
    "OAUTH_STATES_TABLE": "o",
    "PUBLIC_API_BASE_URL": "https://api.example.com",
    "MEMORY_TABLE": "m",
    "EMBED_BILLING_QUEUE_URL": "https://sqs.example/embed",
}


def test_the_flag_is_off_unless_set_and_on_needs_its_queue() -> None:
    from booksync.errors import ConfigurationError

    assert ApiSettings.from_env(BASE).rag_billing_embed_enabled is False
    assert SchedulerSettings.from_env(BASE).rag_billing_embed_enabled is False
    assert EmbedBillingSettings.from_env(BASE).rag_billing_embed_enabled is False
    on = {**BASE, "RAG_BILLING_EMBED_ENABLED": "true"}
    assert ApiSettings.from_env(on).rag_billing_embed_enabled is True
    del on["EMBED_BILLING_QUEUE_URL"]
    with pytest.raises(ConfigurationError, match="EMBED_BILLING_QUEUE_URL"):
        ApiSettings.from_env(on)
    with pytest.raises(ConfigurationError, match="RAG_BILLING_EMBED_ENABLED"):
        ApiSettings.from_env({**BASE, "RAG_BILLING_EMBED_ENABLED": "sometimes"})


def test_off_the_api_gets_no_feed_and_the_scheduler_no_embed_sweep() -> None:
    """The deployed wiring: with the flag off (the default) the document service is given no feed
    (nothing marked, nothing queued) and the sweep has no embed part; on, both."""
    from booksync.memory.feed import EmbedFeed
    from booksync.memory.ingest import EmbedSweep
    from booksync.wiring import _embed_feed, embed_sweep

    assert _embed_feed(ApiSettings.from_env(BASE)) is None
    assert embed_sweep(SchedulerSettings.from_env(BASE)) is None
    on = {**BASE, "RAG_BILLING_EMBED_ENABLED": "true"}
    assert isinstance(_embed_feed(ApiSettings.from_env(on)), EmbedFeed)
    assert isinstance(embed_sweep(SchedulerSettings.from_env(on)), EmbedSweep)
