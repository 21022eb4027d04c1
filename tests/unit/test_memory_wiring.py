"""How the API is given the billing memory (wiring.memory_answers): only with MEMORY_TABLE, built
on the first memory request (a memory setting that cannot work fails those routes alone, saying
which), with the local embedder unless a Voyage key is named, and the language model only with
MEMORY_ANSWERS=llm, whose endpoint is then required by name."""

from __future__ import annotations

import pytest
from booksync.errors import ConfigurationError
from booksync.memory.local_embedder import HashedNgramEmbedder
from booksync.memory.search import MemorySearch
from booksync.settings import ApiSettings
from booksync.wiring import memory_answers

from tests.unit.test_settings import BASE

LLM = {"CLASSIFIER_LLM_URL": "https://llm.internal/v1", "CLASSIFIER_LLM_MODEL": "small"}
# The memory's table, with the feed on (and so its queue).
ON = {
    "MEMORY_TABLE": "m",
    "RAG_BILLING_EMBED_ENABLED": "true",
    "EMBED_BILLING_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/embed",
}


@pytest.fixture(autouse=True)
def no_voyage(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("VOYAGE_API_KEY", "VOYAGE_API_KEY_PARAM", "MEMORY_VECTOR_STORE", "MEMORY_S3VECTORS_BUCKET"):
        monkeypatch.delenv(name, raising=False)


def test_without_memory_table_the_api_has_no_memory() -> None:
    assert memory_answers(ApiSettings.from_env(BASE)) is None


def test_with_the_flag_off_the_api_has_no_memory_and_embeds_no_question() -> None:
    """RAG_BILLING_EMBED_ENABLED off: no embedding call is ever made, a question's included (the
    memory routes answer 404 saying the flag turns them on)."""
    assert memory_answers(ApiSettings.from_env({**BASE, **ON, "RAG_BILLING_EMBED_ENABLED": "false"})) is None


def test_composed_answers_with_the_local_embedder_by_default() -> None:
    build = memory_answers(ApiSettings.from_env({**BASE, **ON}))
    assert build is not None
    memory = build()
    assert build() is memory  # built once per process
    search = memory._search
    assert isinstance(search, MemorySearch) and isinstance(search.embedder, HashedNgramEmbedder)
    assert memory._chat is None


def test_llm_answers_ask_the_deployments_chat_endpoint() -> None:
    settings = ApiSettings.from_env({**BASE, **ON, "MEMORY_ANSWERS": "llm", **LLM})
    build = memory_answers(settings)
    assert build is not None
    chat = build()._chat
    assert chat is not None and chat.model == "small"


@pytest.mark.parametrize("missing", ["CLASSIFIER_LLM_URL", "CLASSIFIER_LLM_MODEL"])
def test_llm_answers_without_an_endpoint_are_refused_naming_it(missing: str) -> None:
    env = {**BASE, **ON, "MEMORY_ANSWERS": "llm", **LLM}
    del env[missing]
    with pytest.raises(ConfigurationError) as caught:
        ApiSettings.from_env(env)
    assert missing in str(caught.value)


def test_a_memory_setting_that_cannot_work_fails_when_the_memory_is_first_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VOYAGE_API_KEY", "changeme")
    build = memory_answers(ApiSettings.from_env({**BASE, **ON}))  # the API starts
    assert build is not None
    with pytest.raises(ConfigurationError) as caught:
        build()
    assert "VOYAGE_API_KEY" in str(caught.value)
