"""The Voyage sandbox (local/sandboxes/voyage/) answers as Voyage's embeddings API does: its
request and answer shapes, unit vectors of the asked dimension, the token rule, the limits (1,000
inputs, tokens per request, requests and tokens per minute), its error answers with ``detail``,
faults on demand, and the ledger of billed calls."""

from __future__ import annotations

import base64
import math
import struct
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from local.sandboxes.kit.client import ControlError
from local.sandboxes.voyage.config import FLEXIBLE_DIMENSIONS, ModelSpec
from local.sandboxes.voyage.testing import (
    DEFAULT_KEY,
    MODELS,
    VoyageClient,
    VoyageConfig,
    VoyageControl,
    VoyageSandbox,
    count_tokens,
)
from tests.sandbox.starting import sandbox_starter

# A small model so limits are reached with small requests.
TINY = ModelSpec(
    tokens_per_request=50,
    context_length=10,
    dimensions=FLEXIBLE_DIMENSIONS,
    default_dimension=256,
    tokens_per_minute=60,
    usd_per_million_tokens=Decimal("0.02"),
)


@pytest.fixture
def start() -> Iterator[Callable[..., VoyageSandbox]]:
    yield from sandbox_starter(lambda **overrides: VoyageSandbox(config=VoyageConfig(**overrides)))


@pytest.fixture
def sandbox(start: Callable[..., VoyageSandbox]) -> VoyageSandbox:
    return start(models={**MODELS, "tiny": TINY})


@pytest.fixture
def voyage(sandbox: VoyageSandbox) -> Iterator[VoyageClient]:
    client = VoyageClient(sandbox.url)
    yield client
    client.close()


@pytest.fixture
def control(sandbox: VoyageSandbox) -> Iterator[VoyageControl]:
    with VoyageControl(sandbox.url) as ctl:
        yield ctl


def norm(vector: list[float]) -> float:
    return math.sqrt(sum(value * value for value in vector))


def detail(answer: Any) -> str:
    body = answer.json()
    assert set(body) == {"detail"}, body
    return str(body["detail"])


# ---------------------------------------------------------------------- shapes and vectors


def test_an_answer_has_voyages_shape_with_unit_vectors_of_the_asked_dimension(voyage: VoyageClient) -> None:
    answer = voyage.embed(
        ["Water heater install", "Drain cleaning"], input_type="document", output_dimension=512
    )
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"object", "data", "model", "usage"}
    assert body["object"] == "list" and body["model"] == "voyage-4-lite"
    assert [row["index"] for row in body["data"]] == [0, 1]
    assert all(row["object"] == "embedding" for row in body["data"])
    assert all(len(row["embedding"]) == 512 for row in body["data"])
    assert all(abs(norm(row["embedding"]) - 1) < 1e-9 for row in body["data"])
    assert answer.headers["request-id"]


def test_the_default_dimension_is_the_models(voyage: VoyageClient) -> None:
    assert len(voyage.embed("a pipe").json()["data"][0]["embedding"]) == 1024


def test_vectors_are_deterministic_and_texts_sharing_words_point_the_same_way(
    voyage: VoyageClient, start: Callable[..., VoyageSandbox]
) -> None:
    texts = ["water heater install", "water heater repair", "roof shingles"]
    first = [row["embedding"] for row in voyage.embed(texts, input_type="document").json()["data"]]
    other = VoyageClient(start().url)
    again = [row["embedding"] for row in other.embed(texts, input_type="query").json()["data"]]
    other.close()
    assert again == first  # same text, same vector: across calls, sandboxes and input types

    def cosine(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert cosine(first[0], first[1]) > 0.5 > abs(cosine(first[0], first[2]))


def test_a_text_without_words_still_gets_a_unit_vector(voyage: VoyageClient) -> None:
    (row,) = voyage.embed("$ - .", output_dimension=256).json()["data"]
    assert abs(norm(row["embedding"]) - 1) < 1e-9


def test_base64_and_quantized_encodings_read_as_voyage_documents(voyage: VoyageClient) -> None:
    plain = voyage.embed("copper pipe", output_dimension=256).json()["data"][0]["embedding"]
    packed = voyage.embed("copper pipe", output_dimension=256, encoding_format="base64").json()
    floats = struct.unpack("<256f", base64.b64decode(packed["data"][0]["embedding"]))
    assert max(abs(a - b) for a, b in zip(plain, floats, strict=True)) < 1e-6
    int8 = voyage.embed("copper pipe", output_dimension=256, output_dtype="int8").json()["data"][0][
        "embedding"
    ]
    assert all(-128 <= value <= 127 for value in int8) and len(int8) == 256
    ubinary = voyage.embed("copper pipe", output_dimension=256, output_dtype="ubinary").json()["data"][0][
        "embedding"
    ]
    assert len(ubinary) == 32 and all(0 <= value <= 255 for value in ubinary)


# ---------------------------------------------------------------------- tokens


def test_usage_counts_tokens_by_the_stated_rule(voyage: VoyageClient) -> None:
    # Water(2) heater(2) install(2) ,(1) $(1) 1(1) ,(1) 450(1) .(1) 00(1)
    assert count_tokens("Water heater install, $1,450.00") == 13
    answer = voyage.embed(["Water heater install, $1,450.00", "  drain  "], input_type="document")
    assert answer.json()["usage"] == {"total_tokens": 13 + 2}


def test_truncation_bills_the_context_length_and_without_it_the_input_is_refused(
    voyage: VoyageClient,
) -> None:
    long = " ".join(["pipe"] * 25)  # 25 tokens, over tiny's context of 10
    assert voyage.embed(long, model="tiny").json()["usage"] == {"total_tokens": 10}
    refused = voyage.embed(long, model="tiny", truncation=False)
    assert refused.status_code == 400
    assert "Input 0 has 25 tokens, which exceeds the context length of 10" in detail(refused)


# ---------------------------------------------------------------------- limits


def test_1000_inputs_are_served_and_1001_refused(voyage: VoyageClient) -> None:
    assert voyage.embed(["a"] * 1000, output_dimension=256).status_code == 200
    refused = voyage.embed(["a"] * 1001, output_dimension=256)
    assert refused.status_code == 400
    assert "batch size 1001 exceeds the limit of 1000" in detail(refused)


def test_the_models_tokens_per_request_are_a_limit(voyage: VoyageClient) -> None:
    assert voyage.embed(["one two six ten red"] * 10, model="tiny").status_code == 200  # 50 tokens
    refused = voyage.embed(["one two six ten red"] * 10 + ["six"], model="tiny")
    assert refused.status_code == 400
    assert "total number of tokens in the batch is 51, which exceeds the limit of 50 for tiny" in detail(
        refused
    )


def test_requests_per_minute_answer_429_with_retry_after_until_the_minute_passes(
    voyage: VoyageClient, control: VoyageControl
) -> None:
    control.set_config(requests_per_minute=2)
    assert voyage.embed("a").status_code == 200
    control.advance(20)
    assert voyage.embed("a").status_code == 200
    refused = voyage.embed("a")
    assert refused.status_code == 429
    assert "requests per minute" in detail(refused)
    # The first call leaves the rolling minute 40 s from now (less the real seconds the calls
    # took, a few at most on a busy machine): Retry-After says when a call is let in again.
    assert 35 <= int(refused.headers["Retry-After"]) <= 40
    control.advance(40)
    assert voyage.embed("a").status_code == 200


def test_the_config_offers_only_the_settings_the_sandbox_acts_on(control: VoyageControl) -> None:
    with pytest.raises(ControlError) as refused:
        control.set_config(retry_after_s=5)  # Retry-After comes from the rolling minute
    assert refused.value.status == 400
    assert "settable: max_inputs, requests_per_minute, send_retry_after" in refused.value.body
    assert {"max_inputs", "requests_per_minute", "send_retry_after"} <= set(control.config())
    assert not {"retry_after_s", "latency_s"} & set(control.config())


def test_a_429_may_come_without_retry_after(voyage: VoyageClient, control: VoyageControl) -> None:
    control.set_config(requests_per_minute=1, send_retry_after=False)
    voyage.embed("a")
    refused = voyage.embed("a")
    assert refused.status_code == 429 and "Retry-After" not in refused.headers


def test_tokens_per_minute_are_a_limit_per_model(voyage: VoyageClient, control: VoyageControl) -> None:
    batch = ["one two six ten red"] * 8  # 40 tokens; tiny allows 60 a minute
    assert voyage.embed(batch, model="tiny").status_code == 200
    refused = voyage.embed(batch, model="tiny")
    assert refused.status_code == 429 and "tokens per minute for tiny" in detail(refused)
    assert voyage.embed(batch).status_code == 200  # another model's budget
    control.advance(60)
    assert voyage.embed(batch, model="tiny").status_code == 200


# ---------------------------------------------------------------------- error answers


@pytest.mark.parametrize("key", [None, "pa-not-a-key"])
def test_a_missing_or_unknown_key_is_401(sandbox: VoyageSandbox, key: str | None) -> None:
    client = VoyageClient(sandbox.url, api_key=key)
    refused = client.embed("a")
    client.close()
    assert refused.status_code == 401 and "API key is invalid" in detail(refused)


def test_a_revoked_key_is_refused_and_a_new_one_works(sandbox: VoyageSandbox, control: VoyageControl) -> None:
    key = control.add_key("backfill")
    client = VoyageClient(sandbox.url, api_key=key)
    assert client.embed("a").status_code == 200
    control.revoke_key("backfill")
    assert client.embed("a").status_code == 401
    client.close()
    assert control.keys() == ["default"]


@pytest.mark.parametrize(
    ("body", "status", "said"),
    [
        ({"model": "voyage-4-lite"}, 422, "Field 'input' is required"),
        ({"input": [1, 2], "model": "voyage-4-lite"}, 422, "string or a list of strings"),
        ({"input": "a"}, 422, "Field 'model' is required"),
        ({"input": "a", "model": "voyage-4-lite", "input_type": "record"}, 422, "'input_type' must be null"),
        (
            {"input": "a", "model": "voyage-4-lite", "output_dimension": "512"},
            422,
            "'output_dimension' must be int",
        ),
        ({"input": "a", "model": "voyage-4-lite", "truncation": "yes"}, 422, "'truncation' must be bool"),
        (
            {"input": "a", "model": "voyage-4-lite", "output_dtype": "float16"},
            422,
            "'output_dtype' must be one of",
        ),
        ({"input": [], "model": "voyage-4-lite"}, 400, "must not be an empty list"),
        ({"input": "a", "model": "voyage-9"}, 400, "Model voyage-9 is not supported"),
        (
            {"input": "a", "model": "voyage-4-lite", "output_dimension": 300},
            400,
            "does not support output_dimension 300",
        ),
        ([1], 422, "must be a JSON object"),
    ],
)
def test_a_refused_body_answers_its_status_and_detail(
    voyage: VoyageClient, control: VoyageControl, body: Any, status: int, said: str
) -> None:
    answer = voyage.post(body)
    assert answer.status_code == status
    assert said in detail(answer)
    assert control.ledger()["totals"]["requests"] == 0  # refusals are not billed


def test_a_body_that_is_not_json_is_400(sandbox: VoyageSandbox) -> None:
    client = VoyageClient(sandbox.url)
    answer = client.http.post(
        "/v1/embeddings", content=b"{nope", headers={"authorization": f"Bearer {DEFAULT_KEY}"}
    )
    client.close()
    assert answer.status_code == 400 and detail(answer) == "The request body is not a valid JSON."


# ---------------------------------------------------------------------- faults on demand


@pytest.mark.parametrize(
    ("action", "status", "said"),
    [
        ("http_429", 429, "rate limit"),
        ("http_401", 401, "API key is invalid"),
        ("http_500", 500, "unexpected error"),
        ("http_503", 503, "overloaded"),
    ],
)
def test_faults_answer_in_voyages_shape(
    voyage: VoyageClient, control: VoyageControl, action: str, status: int, said: str
) -> None:
    control.add_fault(action, times=1, retry_after=7)
    answer = voyage.embed("a")
    assert answer.status_code == status and said in detail(answer)
    if status == 429:
        assert answer.headers["Retry-After"] == "7"
    assert voyage.embed("a").status_code == 200  # spent after one


def test_a_fault_may_aim_at_questions_only(voyage: VoyageClient, control: VoyageControl) -> None:
    control.add_fault("http_503", entity="query")
    assert voyage.embed("a", input_type="document").status_code == 200
    assert voyage.embed("a", input_type="query").status_code == 503


def test_commit_then_reset_bills_a_call_whose_answer_was_lost(
    voyage: VoyageClient, control: VoyageControl
) -> None:
    control.add_fault("commit_then_reset", times=1)
    with pytest.raises(httpx.TransportError):  # the connection is reset
        voyage.embed("a lost answer")
    assert control.ledger()["totals"]["requests"] == 1


# ---------------------------------------------------------------------- ledger and log


def test_the_ledger_bills_tokens_at_the_models_price_by_key_and_model(
    sandbox: VoyageSandbox, voyage: VoyageClient, control: VoyageControl
) -> None:
    voyage.embed(["Water heater install, $1,450.00"] * 3, input_type="document", output_dimension=256)
    other = VoyageClient(sandbox.url, api_key=control.add_key("bench"))
    other.embed("drain", model="voyage-4", input_type="query")
    other.close()
    voyage.embed("a", output_dimension=300)  # refused: not billed
    ledger = control.ledger()
    assert ledger["totals"] == {"requests": 2, "inputs": 4, "tokens": 41, "usd": "0.00000090"}
    assert ledger["by_model"]["voyage-4-lite"]["usd"] == "0.00000078"  # 39 tokens at $0.02/M
    assert ledger["by_model"]["voyage-4"]["usd"] == "0.00000012"  # "drai", "n": 2 tokens at $0.06/M
    first = ledger["calls"][0]
    assert first == {
        "seq": 1,
        "key": "default",
        "model": "voyage-4-lite",
        "input_type": "document",
        "inputs": 3,
        "output_dimension": 256,
        "output_dtype": "float",
        "total_tokens": 39,
        "usd": "0.00000078",
    }
    assert control.ledger("bench")["totals"]["tokens"] == 2
    control.clear_ledger()
    assert control.ledger()["totals"]["requests"] == 0


def test_the_request_log_names_the_key_input_type_status_and_error(
    voyage: VoyageClient, control: VoyageControl
) -> None:
    voyage.embed("a", input_type="query")
    voyage.embed("a", model="voyage-9")
    entries = control.requests("default")
    assert [(e["path"], e["key"], e["entity"], e["status"], e["error"]) for e in entries] == [
        ("/v1/embeddings", "default", "query", 200, None),
        ("/v1/embeddings", "default", "none", 400, "invalid_request"),
    ]


def test_reset_clears_the_ledger_log_faults_and_minute_windows(
    voyage: VoyageClient, control: VoyageControl
) -> None:
    control.set_config(requests_per_minute=1)
    voyage.embed("a")
    control.add_fault("http_500")
    control.reset()
    assert control.ledger()["totals"]["requests"] == 0 and control.requests() == [] and control.faults() == []
    assert voyage.embed("a").status_code == 200
