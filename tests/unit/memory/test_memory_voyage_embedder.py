"""The Voyage adapter of the Embedder port (booksync/memory/voyage.py) against a scripted transport:
what it sends, how it splits batches at Voyage's limits, what it retries (429 with and without
Retry-After, 5xx, resets) and what it refuses in typed errors that say what to fix."""

from __future__ import annotations

import base64
import json
import re
import struct
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest
from booksync.errors import ConfigurationError, RateLimited, TransientError
from booksync.memory.voyage import (
    MAX_INPUTS,
    SPECIAL_TOKENS,
    TOKEN_HEADROOM,
    EmbeddingFailed,
    EmbeddingKeyRefused,
    EmbeddingRefused,
    VoyageEmbedder,
    batches,
    cost_usd,
    token_bound,
    tokens_per_request,
)
from booksync.providers.http import HttpClient, HttpSettings
from booksync.settings import VoyageSettings

BASE = "https://voyage.test/v1"
KEY = "pa-test-key-0123456789"


class Voyage:
    """A transport answering as Voyage does, or from a script of statuses and responses first."""

    def __init__(self, *script: int | httpx.Response | Exception, dimension: int = 4) -> None:
        self.script = list(script)
        self.dimension = dimension
        self.requests: list[httpx.Request] = []

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(request.content) for request in self.requests]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.script:
            answer = self.script.pop(0)
            if isinstance(answer, Exception):
                raise answer
            if isinstance(answer, int):
                return httpx.Response(answer, json={"detail": f"status {answer}"})
            return answer
        body = json.loads(request.content)
        data = [
            {"object": "embedding", "embedding": [float(index + 1)] * self.dimension, "index": index}
            for index, _ in enumerate(body["input"])
        ]
        data.reverse()  # Voyage's answer is keyed by index; its order is not promised
        tokens = sum(len(text.split()) for text in body["input"])
        return httpx.Response(
            200,
            json={"object": "list", "data": data, "model": body["model"], "usage": {"total_tokens": tokens}},
        )


def embedder(
    voyage: Voyage,
    sleeps: list[float] | None = None,
    *,
    model: str = "voyage-4-lite",
    dimension: int = 4,
    rand: Callable[[], float] = lambda: 1.0,
    default_retry_after: float | None = None,
) -> VoyageEmbedder:
    http = HttpClient(
        provider="voyage",
        label="Voyage AI",
        settings=HttpSettings(max_retries=2),
        transport=httpx.MockTransport(voyage),
        sleep=(sleeps if sleeps is not None else []).append,
        rand=rand,
        default_retry_after=default_retry_after,
        trace_header="request-id",
    )
    return VoyageEmbedder(api_key=lambda: KEY, model=model, dimension=dimension, base_url=BASE, http=http)


# ---------------------------------------------------------------------- what is sent and read


def test_records_are_sent_as_documents_with_the_model_dimension_and_key() -> None:
    voyage = Voyage()
    out = embedder(voyage).embed(["water heater install", "drain"], "document")
    (request,) = voyage.requests
    assert request.method == "POST"
    assert str(request.url) == f"{BASE}/embeddings"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["content-type"] == "application/json"
    assert voyage.bodies() == [
        {
            "input": ["water heater install", "drain"],
            "model": "voyage-4-lite",
            "input_type": "document",
            "output_dimension": 4,
            "truncation": True,
            "encoding_format": "base64",
        }
    ]
    assert out.total_tokens == 4


def test_a_question_is_sent_as_a_query() -> None:
    voyage = Voyage()
    embedder(voyage).embed(["what did we charge for a water heater?"], "query")
    assert voyage.bodies()[0]["input_type"] == "query"


def test_vectors_come_back_in_the_order_of_the_texts_whatever_the_answers_order() -> None:
    out = embedder(Voyage()).embed(["a", "b", "c"], "document")
    assert out.vectors == [[1.0] * 4, [2.0] * 4, [3.0] * 4]


def test_base64_answers_are_read_as_little_endian_float32() -> None:
    values = [0.5, -0.25, 0.125, 1.0]
    packed = base64.b64encode(struct.pack("<4f", *values)).decode()
    answer = {"data": [{"embedding": packed, "index": 0}], "usage": {"total_tokens": 2}}
    assert embedder(Voyage(httpx.Response(200, json=answer))).embed(["a"], "document").vectors == [values]


def test_usage_is_summed_over_batches_and_kept_on_the_embedder() -> None:
    voyage = Voyage()
    voyage_embedder = embedder(voyage)
    out = voyage_embedder.embed(["one two"] * (MAX_INPUTS + 1), "document")
    assert out.total_tokens == 2 * (MAX_INPUTS + 1)
    voyage_embedder.embed(["three"], "query")
    assert (voyage_embedder.tokens_used, voyage_embedder.requests_made) == (2 * (MAX_INPUTS + 1) + 1, 3)


def test_nothing_to_embed_sends_nothing() -> None:
    voyage = Voyage()
    out = embedder(voyage).embed([], "document")
    assert (out.vectors, out.total_tokens, voyage.requests) == ([], 0, [])


# ---------------------------------------------------------------------- batches at Voyage's limits


def test_batches_split_at_1000_inputs() -> None:
    voyage = Voyage()
    out = embedder(voyage).embed([f"record {n}" for n in range(2 * MAX_INPUTS + 1)], "document")
    assert [len(body["input"]) for body in voyage.bodies()] == [MAX_INPUTS, MAX_INPUTS, 1]
    assert len(out.vectors) == 2 * MAX_INPUTS + 1
    assert out.vectors[MAX_INPUTS] == [1.0] * 4  # the second batch's first, in its place


def test_batches_split_at_the_models_tokens_per_request() -> None:
    # voyage-4-large carries 120,000 tokens a request; by the bound a 9,996-byte text is 10,000.
    text = "x" * (10_000 - SPECIAL_TOKENS)
    budget = int(tokens_per_request("voyage-4-large") * TOKEN_HEADROOM)
    per_batch = budget // token_bound(text)
    voyage = Voyage()
    embedder(voyage, model="voyage-4-large").embed([text] * 25, "document")
    sizes = [len(body["input"]) for body in voyage.bodies()]
    assert sizes == [per_batch, per_batch, 25 - 2 * per_batch]
    assert all(size * token_bound(text) <= tokens_per_request("voyage-4-large") for size in sizes)


def test_the_lite_models_million_tokens_fit_a_thousand_records_in_one_request() -> None:
    record = "Invoice INV-2043 to Jane Doe: water heater install 1 x 1,450.00; total 1,450.00 USD. " * 6
    assert [len(span) for span in batches([record] * MAX_INPUTS, "voyage-4-lite")] == [MAX_INPUTS]


def test_an_input_over_the_limit_goes_alone() -> None:
    big = "y" * 200_000
    assert [list(span) for span in batches(["a", big, "b"], "voyage-4-large")] == [[0], [1], [2]]


def test_a_model_not_listed_gets_the_smallest_limit() -> None:
    assert tokens_per_request("voyage-9-experimental") == 120_000


def test_the_token_bound_is_the_utf8_bytes_plus_the_special_tokens() -> None:
    assert token_bound("café") == 5 + SPECIAL_TOKENS


def test_cost_is_exact_at_the_list_price() -> None:
    assert cost_usd("voyage-4-lite", 1_000_000) == Decimal("0.02")
    assert cost_usd("voyage-4-lite", 150) == Decimal("0.000003")
    assert cost_usd("voyage-9-experimental", 10) is None


# ---------------------------------------------------------------------- retries


def throttled(retry_after: str | None) -> httpx.Response:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return httpx.Response(429, headers=headers, json={"detail": "You have exceeded your rate limit."})


def test_a_429s_retry_after_is_honoured() -> None:
    sleeps: list[float] = []
    voyage = Voyage(throttled("3"))
    out = embedder(voyage, sleeps).embed(["a"], "document")
    assert sleeps == [3.0]
    assert len(voyage.requests) == 2 and len(out.vectors) == 1


def test_a_429_without_retry_after_backs_off_with_jitter() -> None:
    sleeps: list[float] = []
    voyage = Voyage(throttled(None), throttled(None))
    embedder(voyage, sleeps, rand=lambda: 0.5).embed(["a"], "document")
    assert sleeps == [0.25, 0.5]  # half of base * 2**attempt (full jitter drawn at 0.5)


def test_a_long_retry_after_goes_to_the_queue_as_rate_limited() -> None:
    sleeps: list[float] = []
    with pytest.raises(RateLimited) as caught:
        embedder(Voyage(throttled("30")), sleeps).embed(["a"], "document")
    assert caught.value.retry_after == 30.0 and caught.value.retryable
    assert sleeps == []


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_5xx_is_retried(status: int) -> None:
    voyage = Voyage(status)
    assert len(embedder(voyage).embed(["a"], "document").vectors) == 1
    assert len(voyage.requests) == 2


def test_a_reset_is_retried_since_an_embedding_changes_nothing() -> None:
    voyage = Voyage(httpx.RemoteProtocolError("reset"))
    embedder(voyage).embed(["a"], "document")
    assert len(voyage.requests) == 2


def test_5xx_every_time_ends_in_a_certain_transient_error() -> None:
    with pytest.raises(TransientError) as caught:
        embedder(Voyage(503, 503, 503)).embed(["a"], "document")
    assert caught.value.retryable and not caught.value.uncertain


# ---------------------------------------------------------------------- refusals


def test_a_401_is_not_retried_and_says_where_the_key_goes() -> None:
    sleeps: list[float] = []
    voyage = Voyage(
        httpx.Response(401, json={"detail": "Provided API key is invalid."}, headers={"request-id": "r-1"})
    )
    with pytest.raises(EmbeddingKeyRefused) as caught:
        embedder(voyage, sleeps).embed(["a"], "document")
    assert len(voyage.requests) == 1 and sleeps == []
    error = caught.value
    assert not error.retryable and error.status == 401
    assert "Provided API key is invalid." in error.message and "request-id r-1" in error.message
    assert "VOYAGE_API_KEY" in error.fix and "dash.voyageai.com" in error.fix
    assert KEY not in error.message + error.fix


@pytest.mark.parametrize("status", [401, 400, 422])
def test_a_body_echoing_the_key_never_reaches_the_error(status: int) -> None:
    """Voyage's words pass through redact, as every adapter's do: a refusal quoting the key (in a
    sentence, not as a Bearer header) says the rest with the key masked."""
    said = f"API key {KEY} is not valid for this organisation."
    voyage = Voyage(httpx.Response(status, json={"detail": said}))
    with pytest.raises(EmbeddingFailed) as caught:
        embedder(voyage).embed(["a"], "document")
    error = caught.value
    assert KEY not in error.message + error.fix + str(error.detail) + str(error)
    assert "is not valid for this organisation" in error.message and "[redacted]" in error.message


def test_a_401_from_ssm_names_the_parameter_to_fix() -> None:
    settings = VoyageSettings.from_env({"VOYAGE_API_KEY_PARAM": "/booksync/voyage-key"})
    voyage = Voyage(401)
    http = HttpClient(provider="voyage", label="Voyage AI", transport=httpx.MockTransport(voyage))
    refused = VoyageEmbedder(api_key=lambda: KEY, base_url=BASE, key_source=settings.key_source, http=http)
    with pytest.raises(EmbeddingKeyRefused) as caught:
        refused.embed(["a"], "query")
    assert "/booksync/voyage-key" in caught.value.fix


def test_a_422_says_what_was_refused_and_what_was_asked() -> None:
    detail = "Field 'input_type' must be null, 'query' or 'document'."
    voyage = Voyage(httpx.Response(422, json={"detail": detail}))
    with pytest.raises(EmbeddingRefused) as caught:
        embedder(voyage).embed(["a", "b"], "document")
    error = caught.value
    assert len(voyage.requests) == 1 and not error.retryable and error.status == 422
    assert detail in error.message
    assert "2 document embedding(s) of dimension 4 from voyage-4-lite" in error.message
    assert error.detail == detail and "VOYAGE_MODEL" in error.fix


def test_fastapis_list_of_problems_is_said_field_by_field() -> None:
    detail = [{"loc": ["body", "input"], "msg": "field required", "type": "value_error.missing"}]
    with pytest.raises(EmbeddingRefused, match=r"body\.input: field required"):
        embedder(Voyage(httpx.Response(422, json={"detail": detail}))).embed(["a"], "document")


def test_a_400_keeps_voyages_detail() -> None:
    detail = "Model voyage-4-lite does not support output_dimension 300; it supports 256, 512, 1024, 2048."
    with pytest.raises(EmbeddingRefused, match="does not support output_dimension 300"):
        embedder(Voyage(httpx.Response(400, json={"detail": detail}))).embed(["a"], "query")


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        (
            {"data": [{"embedding": [1.0] * 4, "index": 0}], "usage": {"total_tokens": 1}},
            "1 embedding(s) for 2",
        ),
        (
            {"data": [{"embedding": [1.0] * 3, "index": i} for i in range(2)], "usage": {"total_tokens": 1}},
            "dimension 3",
        ),
        ({"data": [{"embedding": [1.0] * 4, "index": i} for i in range(2)]}, "usage.total_tokens"),
        (
            {
                "data": [{"embedding": "not base64!", "index": i} for i in range(2)],
                "usage": {"total_tokens": 1},
            },
            "data[].embedding",
        ),
        (
            {
                "data": [{"embedding": "AAAA AA==", "index": i} for i in range(2)],
                "usage": {"total_tokens": 1},
            },
            "data[].embedding",
        ),
    ],
)
def test_an_answer_that_is_not_the_one_asked_for_is_refused(answer: dict[str, Any], said: str) -> None:
    with pytest.raises(EmbeddingFailed, match=re.escape(said)):
        embedder(Voyage(httpx.Response(200, json=answer))).embed(["a", "b"], "document")


def test_a_placeholder_key_is_refused_by_name_before_anything_is_sent() -> None:
    voyage = Voyage()
    settings = VoyageSettings.model_construct(api_key_value="changeme", api_key_param=None)
    http = HttpClient(provider="voyage", label="Voyage AI", transport=httpx.MockTransport(voyage))
    with pytest.raises(ConfigurationError, match="VOYAGE_API_KEY holds a placeholder"):
        VoyageEmbedder.from_settings(settings, http=http).embed(["a"], "document")
    assert voyage.requests == []
