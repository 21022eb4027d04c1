"""booksync's Voyage adapter (booksync/memory/voyage.py) against the Voyage sandbox with faults on
demand: what reaches Voyage (the sandbox's request log and ledger) when it throttles, fails,
resets, refuses a key or is given more than one request may carry. Waits are recorded, not slept."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from booksync.errors import RateLimited
from booksync.memory.voyage import EmbeddingKeyRefused, EmbeddingRefused, VoyageEmbedder
from booksync.providers.http import HttpClient

from local.sandboxes.voyage.testing import DEFAULT_KEY, VoyageControl, VoyageSandbox


@pytest.fixture
def sandbox() -> Iterator[VoyageSandbox]:
    with VoyageSandbox() as running:
        yield running


@pytest.fixture
def control(sandbox: VoyageSandbox) -> Iterator[VoyageControl]:
    with VoyageControl(sandbox.url) as ctl:
        yield ctl


def embedder(
    sandbox: VoyageSandbox, sleeps: list[float], *, key: str = DEFAULT_KEY, dimension: int = 256
) -> VoyageEmbedder:
    http = HttpClient(
        provider="voyage",
        label="Voyage AI",
        default_retry_after=None,
        trace_header="request-id",
        sleep=sleeps.append,
        rand=lambda: 0.5,
    )
    return VoyageEmbedder(api_key=lambda: key, dimension=dimension, base_url=f"{sandbox.url}/v1", http=http)


def statuses(control: VoyageControl) -> list[int | None]:
    return [entry["status"] for entry in control.requests()]


def test_a_throttled_call_waits_voyages_retry_after_then_is_billed_once(
    sandbox: VoyageSandbox, control: VoyageControl
) -> None:
    control.add_fault("http_429", times=1, retry_after=2)
    sleeps: list[float] = []
    out = embedder(sandbox, sleeps).embed(["Drain cleaning, kitchen line"], "document")
    assert len(out.vectors) == 1 and sleeps == [2.0]
    assert statuses(control) == [429, 200]
    assert control.ledger()["totals"]["requests"] == 1


def test_voyages_minute_limit_without_retry_after_backs_off_then_goes_to_the_queue(
    sandbox: VoyageSandbox, control: VoyageControl
) -> None:
    control.set_config(requests_per_minute=1, send_retry_after=False)
    sleeps: list[float] = []
    voyage = embedder(sandbox, sleeps)
    voyage.embed(["first"], "document")
    with pytest.raises(RateLimited) as caught:
        voyage.embed(["second"], "document")
    assert sleeps == [0.25, 0.5]  # jittered, growing
    assert statuses(control) == [200, 429, 429, 429]
    assert caught.value.retryable  # the message comes back later


@pytest.mark.parametrize("fault", ["http_500", "http_503", "reset"])
def test_a_failed_call_is_sent_again(sandbox: VoyageSandbox, control: VoyageControl, fault: str) -> None:
    control.add_fault(fault, times=1)
    out = embedder(sandbox, []).embed(["Toilet replacement"], "document")
    assert len(out.vectors) == 1
    assert len(control.requests()) == 2 and control.ledger()["totals"]["requests"] == 1


def test_an_answer_lost_after_voyage_billed_is_billed_again_when_sent_again(
    sandbox: VoyageSandbox, control: VoyageControl
) -> None:
    """An embedding changes nothing, so resending is safe; its tokens are billed twice."""
    control.add_fault("commit_then_reset", times=1)
    voyage = embedder(sandbox, [])
    out = voyage.embed(["Sump pump replacement"], "document")
    ledger = control.ledger()
    assert ledger["totals"]["requests"] == 2
    assert ledger["totals"]["tokens"] == 2 * out.total_tokens == 2 * voyage.tokens_used


def test_a_revoked_key_is_refused_once_not_retried(sandbox: VoyageSandbox, control: VoyageControl) -> None:
    key = control.add_key("old")
    control.revoke_key("old")
    sleeps: list[float] = []
    with pytest.raises(EmbeddingKeyRefused) as caught:
        embedder(sandbox, sleeps, key=key).embed(["a"], "query")
    assert statuses(control) == [401] and sleeps == []
    assert "API key is invalid" in caught.value.message


def test_voyages_refusal_is_said_with_its_words(sandbox: VoyageSandbox, control: VoyageControl) -> None:
    with pytest.raises(EmbeddingRefused, match="does not support output_dimension 300") as caught:
        embedder(sandbox, [], dimension=300).embed(["a"], "document")
    assert statuses(control) == [400] and caught.value.status == 400


def test_more_records_than_one_request_carries_are_sent_in_full_batches(
    sandbox: VoyageSandbox, control: VoyageControl
) -> None:
    texts = [f"Invoice INV-{n}: water heater installation, 40 gal gas tank" for n in range(2500)]
    voyage = embedder(sandbox, [])
    out = voyage.embed(texts, "document")
    assert len(out.vectors) == 2500 and voyage.requests_made == 3
    assert [call["inputs"] for call in control.ledger()["calls"]] == [1000, 1000, 500]
    assert out.total_tokens == control.ledger()["totals"]["tokens"]
