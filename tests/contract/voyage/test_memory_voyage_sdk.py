"""Voyage's official Python package (``voyageai``) pointed at the Voyage sandbox: its ``embed()``
works there (its default base64 answers included), and its error classes map from the sandbox's
error answers (400 InvalidRequestError, 401 AuthenticationError, 422 MalformedRequestError, 429
RateLimitError, 500 ServerError, 503 ServiceUnavailableError; the package's own
``api_requestor.py`` decides by status and reads ``detail``). booksync's adapter
(booksync/memory/voyage.py) sends the request the package sends, field for field, and reads the
same answers to the same vectors."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import voyageai
import voyageai.error
from booksync.memory.voyage import MAX_INPUTS, TOKENS_PER_REQUEST, USD_PER_MILLION_TOKENS, VoyageEmbedder
from booksync.providers.http import HttpClient
from booksync.settings import VOYAGE_DIMENSIONS

from local.sandboxes.voyage.config import FLEXIBLE_DIMENSIONS, VoyageConfig
from local.sandboxes.voyage.testing import DEFAULT_KEY, MODELS, VoyageControl, VoyageSandbox, count_tokens

pytestmark = pytest.mark.contract

RECORDS = [
    "Invoice INV-2043 to Jane Doe, SENT 2026-03-02: water heater install 1 x 1,450.00; total 1,450.00 USD",
    "Estimate EST-118 to Oak Street Builders, SENT: rough-in plumbing 3 x 2,100.00; total 6,300.00 USD",
]


@pytest.fixture
def sandbox() -> Iterator[VoyageSandbox]:
    with VoyageSandbox() as running:
        yield running


@pytest.fixture
def control(sandbox: VoyageSandbox) -> Iterator[VoyageControl]:
    with VoyageControl(sandbox.url) as ctl:
        yield ctl


def sdk(sandbox: VoyageSandbox, key: str = DEFAULT_KEY, retries: int = 0) -> voyageai.Client:
    # The package's base URL includes /v1 (voyageai.util.get_default_base_url).
    return voyageai.Client(api_key=key, base_url=f"{sandbox.url}/v1", max_retries=retries)


def adapter(sandbox: VoyageSandbox, dimension: int = 512) -> VoyageEmbedder:
    http = HttpClient(provider="voyage", label="Voyage AI", default_retry_after=None)
    return VoyageEmbedder(
        api_key=lambda: DEFAULT_KEY, dimension=dimension, base_url=f"{sandbox.url}/v1", http=http
    )


def test_the_packages_embed_works_against_the_sandbox(sandbox: VoyageSandbox, control: VoyageControl) -> None:
    out = sdk(sandbox).embed(RECORDS, model="voyage-4-lite", input_type="document", output_dimension=512)
    assert [len(vector) for vector in out.embeddings] == [512, 512]
    # float32 through the package's default base64 encoding, still unit length
    assert all(abs(math.sqrt(sum(x * x for x in vector)) - 1) < 1e-5 for vector in out.embeddings)
    assert out.total_tokens == sum(map(count_tokens, RECORDS))
    assert control.ledger()["calls"][0]["total_tokens"] == out.total_tokens


def test_the_packages_quantized_answers_decode(sandbox: VoyageSandbox) -> None:
    out = sdk(sandbox).embed(
        ["copper pipe"], model="voyage-4-lite", output_dtype="int8", output_dimension=256
    )
    assert len(out.embeddings[0]) == 256 and all(-128 <= value <= 127 for value in out.embeddings[0])


def test_booksyncs_adapter_reads_the_same_vectors_the_package_reads(sandbox: VoyageSandbox) -> None:
    ours = adapter(sandbox).embed(RECORDS, "document")
    theirs = sdk(sandbox).embed(RECORDS, model="voyage-4-lite", input_type="document", output_dimension=512)
    assert ours.total_tokens == theirs.total_tokens
    for mine, package in zip(ours.vectors, theirs.embeddings, strict=True):
        assert max(abs(a - b) for a, b in zip(mine, package, strict=True)) < 1e-6  # float32 rounding


def test_booksyncs_request_is_the_packages_field_for_field(
    sandbox: VoyageSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[dict[str, Any]] = []
    real = requests.Session.request

    def recording(self: requests.Session, method: str, url: str, **kwargs: Any) -> requests.Response:
        sent.append({"url": url, "headers": kwargs["headers"], "body": json.loads(kwargs["data"])})
        return real(self, method, url, **kwargs)

    monkeypatch.setattr(requests.Session, "request", recording)
    sdk(sandbox).embed(["a question"], model="voyage-4-lite", input_type="query", output_dimension=512)
    (package,) = sent

    ours: list[Any] = []
    http = HttpClient(provider="voyage", label="Voyage AI")
    real_request = http.request

    def record_ours(method: str, url: str, **kwargs: Any) -> Any:
        ours.append({"url": url, "headers": kwargs["headers"], "body": json.loads(kwargs["content"])})
        return real_request(method, url, **kwargs)

    monkeypatch.setattr(http, "request", record_ours)
    VoyageEmbedder(api_key=lambda: DEFAULT_KEY, dimension=512, base_url=f"{sandbox.url}/v1", http=http).embed(
        ["a question"], "query"
    )
    (mine,) = ours
    assert mine["url"] == package["url"]
    assert mine["headers"]["Authorization"] == package["headers"]["Authorization"]
    assert mine["headers"]["Content-Type"] == package["headers"]["Content-Type"] == "application/json"
    # Every field booksync sends, the package sends with the same value (the answer in base64
    # included); what it adds beyond is the dtype it leaves to Voyage (null: float).
    assert {name: package["body"][name] for name in mine["body"]} == mine["body"]
    assert set(package["body"]) - set(mine["body"]) == {"output_dtype"}


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("http_429", voyageai.error.RateLimitError),
        ("http_401", voyageai.error.AuthenticationError),
        ("http_500", voyageai.error.ServerError),
        ("http_503", voyageai.error.ServiceUnavailableError),
    ],
)
def test_the_packages_error_classes_map_from_the_sandboxs_faults(
    sandbox: VoyageSandbox, control: VoyageControl, fault: str, error: type[Exception]
) -> None:
    control.add_fault(fault, times=1)
    with pytest.raises(error):
        sdk(sandbox).embed(["a"], model="voyage-4-lite")


def test_a_bad_key_is_the_packages_authentication_error_with_voyages_words(sandbox: VoyageSandbox) -> None:
    with pytest.raises(voyageai.error.AuthenticationError) as caught:
        sdk(sandbox, key="pa-not-a-key").embed(["a"], model="voyage-4-lite")
    assert caught.value.http_status == 401
    assert "API key is invalid" in caught.value.user_message
    assert caught.value.request_id  # the sandbox's request-id header, as the package reads it


@pytest.mark.parametrize(
    ("kwargs", "error", "said"),
    [
        ({"texts": ["a"] * 1001}, voyageai.error.InvalidRequestError, "batch size 1001"),
        (
            {"texts": ["a"], "output_dimension": 300},
            voyageai.error.InvalidRequestError,
            "output_dimension 300",
        ),
        ({"texts": ["a"], "input_type": "record"}, voyageai.error.MalformedRequestError, "input_type"),
    ],
)
def test_refused_requests_are_the_packages_invalid_and_malformed_request_errors(
    sandbox: VoyageSandbox, kwargs: dict[str, Any], error: type[voyageai.error.VoyageError], said: str
) -> None:
    with pytest.raises(error) as caught:
        sdk(sandbox).embed(model="voyage-4-lite", **kwargs)
    assert said in str(caught.value.user_message)


def test_the_package_retries_the_sandboxs_429_as_it_would_voyages(
    sandbox: VoyageSandbox, control: VoyageControl
) -> None:
    control.add_fault("http_429", times=1)
    out = sdk(sandbox, retries=2).embed(["a"], model="voyage-4-lite")
    assert len(out.embeddings) == 1
    assert [entry["status"] for entry in control.requests()] == [429, 200]


def test_booksyncs_limits_and_prices_are_the_sandboxs() -> None:
    """One source (providers.md 7.4) written twice, in the adapter and in the sandbox: they agree."""
    assert {model: MODELS[model].tokens_per_request for model in TOKENS_PER_REQUEST} == TOKENS_PER_REQUEST
    assert {
        model: MODELS[model].usd_per_million_tokens for model in USD_PER_MILLION_TOKENS
    } == USD_PER_MILLION_TOKENS
    assert VoyageConfig().max_inputs == MAX_INPUTS
    assert VOYAGE_DIMENSIONS == FLEXIBLE_DIMENSIONS
