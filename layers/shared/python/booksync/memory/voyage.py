"""``VoyageEmbedder``: the ``Embedder`` port on Voyage AI's embeddings API, over httpx.

No Voyage SDK in the layer: one ``POST {base}/embeddings`` per batch (providers.md 7.4) with
``input``, ``model``, ``input_type`` (``document`` for records, ``query`` for questions),
``output_dimension``, ``truncation`` (Voyage's default, true: an input past the model's context
is cut, never refused) and ``encoding_format`` base64 (float32, as Voyage's own package asks); the
answer's ``data[].embedding`` in ``index`` order and
``usage.total_tokens``, summed over the batches and kept on the embedder (``tokens_used``).

Batches stay inside Voyage's limits: at most 1,000 inputs, and the model's tokens per request
(``TOKENS_PER_REQUEST``) counted with ``token_bound``, a labelled heuristic (Voyage's tokenizer
cannot run offline): one token per UTF-8 byte plus ``SPECIAL_TOKENS`` per input, an upper bound
for tokenizers whose every token spells at least one byte, and batches filled to
``TOKEN_HEADROOM`` of the limit for what a tokenizer's normalisation may add.

Transport is the shared ``HttpClient`` (the stripe-python model): a 429 or a 5xx is retried with
full-jitter backoff, a 429's ``Retry-After`` honoured (slept when short, else ``RateLimited`` for
the queue to delay the message), timeouts and resets retried (an embedding changes nothing, so
every attempt is safe to repeat). What is not retried is said in typed errors:
``EmbeddingKeyRefused`` (401: the key, and where to put a good one), ``EmbeddingRefused`` (400,
422 and other 4xx: Voyage's ``detail`` and what was asked), ``EmbeddingFailed`` (an answer that is
not the one asked for).
"""

from __future__ import annotations

import base64
import json
import logging
import struct
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from booksync.errors import ProviderError, Rejected
from booksync.memory.ports import Embedded, InputType
from booksync.providers.http import HttpClient, redact, response_json, shared_client

if TYPE_CHECKING:
    import httpx

    from booksync.settings import VoyageSettings

logger = logging.getLogger(__name__)

PROVIDER = "voyage"
LABEL = "Voyage AI"
TRACE_HEADER = "request-id"
DEFAULT_BASE_URL = "https://api.voyageai.com/v1"
DEFAULT_MODEL = "voyage-4-lite"
DEFAULT_DIMENSION = 1024
MAX_INPUTS = 1000
# The tokens one request may carry, all inputs together (providers.md 7.4); a model not listed
# gets the smallest, which is always safe.
TOKENS_PER_REQUEST = {
    "voyage-4-lite": 1_000_000,
    "voyage-3.5-lite": 1_000_000,
    "voyage-4": 320_000,
    "voyage-3.5": 320_000,
    "voyage-4-large": 120_000,
}
SMALLEST_TOKEN_LIMIT = 120_000
# US dollars per million tokens (providers.md 7.4).
USD_PER_MILLION_TOKENS = {
    "voyage-4-lite": Decimal("0.02"),
    "voyage-4": Decimal("0.06"),
    "voyage-4-large": Decimal("0.12"),
}
SPECIAL_TOKENS = 4
TOKEN_HEADROOM = Decimal("0.9")
TOKEN_BOUND_RULE = (
    "an upper bound, not Voyage's count: one token per UTF-8 byte plus "
    f"{SPECIAL_TOKENS} per input (Voyage's tokenizer cannot run offline)"
)
KEY_FIX = (
    "Create a key in Voyage AI's dashboard (dash.voyageai.com > API keys) and put it in {source} "
    "(an SSM parameter is read again within 5 minutes; a variable needs a redeploy)."
)


class EmbeddingFailed(ProviderError):
    """Voyage answered, but not with the embeddings asked for."""

    code = "embedding_failed"


class EmbeddingKeyRefused(EmbeddingFailed):
    """Voyage refused the API key (401): nothing is embedded until a good key is set."""

    code = "embedding_key_refused"


class EmbeddingRefused(EmbeddingFailed, Rejected):
    """Voyage refused the request (400, 422, another 4xx): its ``detail`` says what."""

    code = "embedding_refused"


def token_bound(text: str) -> int:
    """At least the tokens Voyage counts for ``text`` (``TOKEN_BOUND_RULE``)."""
    return len(text.encode("utf-8")) + SPECIAL_TOKENS


def tokens_per_request(model: str) -> int:
    return TOKENS_PER_REQUEST.get(model, SMALLEST_TOKEN_LIMIT)


def cost_usd(model: str, tokens: int) -> Decimal | None:
    """What ``tokens`` cost at the model's list price, None for a model whose price is not known."""
    price = USD_PER_MILLION_TOKENS.get(model)
    return None if price is None else price * tokens / Decimal(1_000_000)


def batches(texts: Sequence[str], model: str) -> Iterator[range]:
    """Consecutive index ranges of ``texts``, each within 1,000 inputs and the model's tokens per
    request by ``token_bound`` (filled to ``TOKEN_HEADROOM``); an input over the limit alone goes
    alone (Voyage truncates it to the model's context)."""
    budget = int(tokens_per_request(model) * TOKEN_HEADROOM)
    start, spent = 0, 0
    for index, text in enumerate(texts):
        cost = token_bound(text)
        if index > start and (index - start >= MAX_INPUTS or spent + cost > budget):
            yield range(start, index)
            start, spent = index, 0
        spent += cost
    if start < len(texts):
        yield range(start, len(texts))


@dataclass(frozen=True)
class _Ask:
    """What one request asked, for the messages of a refusal."""

    model: str
    dimension: int
    input_type: InputType
    inputs: int
    bound: int

    def __str__(self) -> str:
        return (
            f"{self.inputs} {self.input_type} embedding(s) of dimension {self.dimension} from {self.model}, "
            f"at most {self.bound} tokens"
        )


class VoyageEmbedder:
    """Embeds texts with one Voyage model at one output dimension.

    ``max_inputs`` and ``max_tokens`` are Voyage's limits of one request; ``embed`` splits what it
    is given further wherever ``token_bound`` says a batch could pass them."""

    max_inputs = MAX_INPUTS

    def __init__(
        self,
        *,
        api_key: Callable[[], str],
        model: str = DEFAULT_MODEL,
        dimension: int = DEFAULT_DIMENSION,
        base_url: str = DEFAULT_BASE_URL,
        key_source: str = "the variable VOYAGE_API_KEY",
        http: HttpClient | None = None,
    ) -> None:
        self.model = model
        self.dimension = dimension
        self._api_key = api_key
        self._url = f"{base_url.rstrip('/')}/embeddings"
        self._key_source = key_source
        self._http = http or shared_client(
            provider=PROVIDER, label=LABEL, trace_header=TRACE_HEADER, default_retry_after=None
        )
        # Voyage's usage, as it answered it, over this embedder's life.
        self.tokens_used = 0
        self.requests_made = 0

    @classmethod
    def from_settings(cls, settings: VoyageSettings, http: HttpClient | None = None) -> VoyageEmbedder:
        return cls(
            api_key=settings.api_key,
            model=settings.model,
            dimension=settings.output_dimension,
            base_url=settings.api_base_url,
            key_source=settings.key_source,
            http=http,
        )

    @property
    def max_tokens(self) -> int:
        return tokens_per_request(self.model)

    def __repr__(self) -> str:
        return f"VoyageEmbedder(model={self.model!r}, dimension={self.dimension})"

    def embed(self, texts: Sequence[str], input_type: InputType) -> Embedded:
        """One vector per text, in order, and the tokens Voyage counted for them all."""
        vectors: list[list[float]] = []
        tokens = 0
        requests = 0
        for span in batches(texts, self.model):
            batch = [texts[index] for index in span]
            found, used = self._request(batch, input_type)
            vectors.extend(found)
            tokens += used
            requests += 1
        self.tokens_used += tokens
        self.requests_made += requests
        if requests:
            logger.info(
                "voyage embeddings",
                extra={
                    "model": self.model,
                    "input_type": input_type,
                    "inputs": len(texts),
                    "requests": requests,
                    "total_tokens": tokens,
                },
            )
        return Embedded(vectors=vectors, total_tokens=tokens)

    def _request(self, batch: list[str], input_type: InputType) -> tuple[list[list[float]], int]:
        ask = _Ask(self.model, self.dimension, input_type, len(batch), sum(map(token_bound, batch)))
        body = {
            "input": batch,
            "model": self.model,
            "input_type": input_type,
            "output_dimension": self.dimension,
            "truncation": True,
            # float32 little-endian in base64, as Voyage's own package asks: a quarter of the
            # bytes of JSON numbers, and decoded without parsing a number per dimension.
            "encoding_format": "base64",
        }
        key = self._api_key()
        response = self._http.request(
            "POST",
            self._url,
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
            content=json.dumps(body).encode("utf-8"),
            read=True,  # an embedding changes nothing: every failure is safe to repeat
        )
        if response.status_code != 200:
            raise self._refusal(response, ask, key)
        try:  # vectors are not money: plain floats (response_json's Decimals would cost seconds)
            answer = json.loads(response.content)
        except ValueError:
            answer = None
        return self._vectors(answer, ask)

    def _refusal(self, response: httpx.Response, ask: _Ask, key: str) -> EmbeddingFailed:
        status = response.status_code
        # Voyage's words pass through redact as every adapter's do: a body echoing the key (or
        # any credential) never reaches an error, a log line or an API answer.
        detail = redact(_detail(response), (key,))
        trace = response.headers.get(TRACE_HEADER)
        where = f" ({TRACE_HEADER} {trace})" if trace else ""
        if status == 401:
            return EmbeddingKeyRefused(
                f"{LABEL} refused the API key from {self._key_source} (HTTP 401: {detail}){where}",
                provider=PROVIDER,
                status=status,
                detail=detail,
                fix=KEY_FIX.format(source=self._key_source),
            )
        return EmbeddingRefused(
            f"{LABEL} refused {ask} (HTTP {status}: {detail}){where}",
            provider=PROVIDER,
            status=status,
            detail=detail,
            fix=(
                "Check VOYAGE_MODEL and VOYAGE_OUTPUT_DIMENSION against Voyage's models "
                "(docs.voyageai.com/docs/embeddings); when Voyage names an input, that record's text "
                "is what it refused."
            ),
        )

    def _vectors(self, answer: Any, ask: _Ask) -> tuple[list[list[float]], int]:
        try:
            rows = sorted(answer["data"], key=lambda row: int(row["index"]))
            vectors = [_floats(row["embedding"]) for row in rows]
            tokens = int(answer["usage"]["total_tokens"])
        except (KeyError, TypeError, ValueError) as exc:  # binascii.Error is a ValueError
            raise self._odd(
                f"an answer without data[].embedding or usage.total_tokens ({exc!r})", ask
            ) from None
        if len(vectors) != ask.inputs or [int(row["index"]) for row in rows] != list(range(ask.inputs)):
            raise self._odd(f"{len(vectors)} embedding(s) for {ask.inputs} input(s)", ask)
        wrong = next((len(vector) for vector in vectors if len(vector) != self.dimension), None)
        if wrong is not None:
            raise self._odd(f"an embedding of dimension {wrong}", ask)
        return vectors, tokens

    def _odd(self, what: str, ask: _Ask) -> EmbeddingFailed:
        return EmbeddingFailed(
            f"{LABEL} answered {what} when asked for {ask}",
            provider=PROVIDER,
            fix="Nothing is stored from this answer; the records are embedded again on the next try.",
        )


def _floats(embedding: Any) -> list[float]:
    """An answer's embedding: base64 of little-endian float32 (asked for), or JSON numbers."""
    if isinstance(embedding, str):
        raw = base64.b64decode(embedding, validate=True)
        if len(raw) % 4:
            raise ValueError(f"a base64 embedding of {len(raw)} bytes is not float32")
        return list(struct.unpack(f"<{len(raw) // 4}f", raw))
    return [float(value) for value in embedding]


def _detail(response: httpx.Response) -> str:
    """Voyage's ``detail`` (a string, or FastAPI's list of problems), else the start of the body."""
    body = response_json(response)
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, list):
        return "; ".join(
            f"{'.'.join(map(str, item.get('loc', ())))}: {item.get('msg', item)}"
            if isinstance(item, dict)
            else str(item)
            for item in detail
        )
    if detail is not None:
        return str(detail)
    return response.text[:200] or "no detail"
