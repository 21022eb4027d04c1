"""One ``POST /v1/embeddings`` request: its body checked as Voyage checks it, its tokens counted,
and its vectors.

Tokens (the sandbox's rule, stated so tests and the bench can rely on it): a text's tokens are the
matches of ``\\w{1,4}|[^\\w\\s]``, i.e. each run of letters and digits counts one token per four
characters (rounded up) and each other visible character one token; white space is free. That is
about one token per four characters of English prose, as Voyage's tokenizers count roughly; the
real count is Voyage's own tokenizer's, which cannot run offline (providers.md 7.4). The prompt
Voyage prepends for ``input_type`` is not counted (assumed unbilled).

Vectors: a hashed bag of words (each lower-cased word adds +/-1 at two positions its hash under the
model's name picks), scaled to unit length; a text without words gets a unit vector drawn from its
hash. So the same text always gets the same vector, texts sharing words point the same way (search
over the sandbox finds something meaningful), and queries and documents live in one space.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import random
import re
import struct
from dataclasses import dataclass
from typing import Any

from local.sandboxes.voyage import errors
from local.sandboxes.voyage.config import ModelSpec, VoyageConfig

TOKEN = re.compile(r"\w{1,4}|[^\w\s]")
WORD = re.compile(r"\w+")
INPUT_TYPES = ("query", "document")
OUTPUT_DTYPES = ("float", "int8", "uint8", "binary", "ubinary")


def count_tokens(text: str) -> int:
    """The sandbox's token count of one text (the module's rule)."""
    return sum(1 for _ in TOKEN.finditer(text))


def truncated(text: str, limit: int) -> str:
    """``text`` cut after its ``limit``-th token (Voyage's ``truncation``: the end is dropped)."""
    for index, match in enumerate(TOKEN.finditer(text), start=1):
        if index == limit:
            return text[: match.end()]
    return text


@dataclass(frozen=True)
class EmbeddingRequest:
    inputs: list[str]
    model: str
    spec: ModelSpec
    input_type: str | None
    truncation: bool
    dimension: int
    output_dtype: str
    encoding_format: str | None


def parse(body: bytes, config: VoyageConfig) -> EmbeddingRequest:
    """The request, or ``VoyageError``: 400 for what Voyage's docs list (a body that is not JSON,
    an unknown model, a dimension the model does not offer, too many inputs or tokens, an input
    over the context length without truncation), 422 for a body that does not fit the request's
    schema (a missing or mistyped field, a value outside an enumeration: assumed, as FastAPI
    answers, whose ``detail`` Voyage's answers carry)."""
    try:
        raw = json.loads(body.decode("utf-8")) if body else None
    except (ValueError, UnicodeDecodeError):
        raise errors.invalid("The request body is not a valid JSON.") from None
    if not isinstance(raw, dict):
        raise errors.malformed("The request body must be a JSON object with 'input' and 'model'.")
    inputs = _inputs(raw)
    model = _field(raw, "model", str, required=True)
    spec = config.models.get(model)
    if spec is None:
        supported = ", ".join(sorted(config.models))
        raise errors.invalid(f"Model {model} is not supported. Supported embedding models are {supported}.")
    input_type = _field(raw, "input_type", str)
    if input_type is not None and input_type not in INPUT_TYPES:
        raise errors.malformed(f"Field 'input_type' must be null, 'query' or 'document', not {input_type!r}.")
    truncation = _field(raw, "truncation", bool)
    dimension = _field(raw, "output_dimension", int)
    if dimension is not None and dimension not in spec.dimensions:
        offered = ", ".join(map(str, spec.dimensions))
        raise errors.invalid(
            f"Model {model} does not support output_dimension {dimension}; it supports {offered}."
        )
    dtype = _field(raw, "output_dtype", str) or "float"
    if dtype not in OUTPUT_DTYPES:
        raise errors.malformed(
            f"Field 'output_dtype' must be one of {', '.join(OUTPUT_DTYPES)}, not {dtype!r}."
        )
    encoding = _field(raw, "encoding_format", str)
    if encoding not in (None, "base64"):
        raise errors.malformed(f"Field 'encoding_format' must be null or 'base64', not {encoding!r}.")
    if len(inputs) > config.max_inputs:
        raise errors.invalid(
            f"The batch size {len(inputs)} exceeds the limit of {config.max_inputs}. "
            f"Please send at most {config.max_inputs} inputs per request."
        )
    return EmbeddingRequest(
        inputs,
        model,
        spec,
        input_type,
        True if truncation is None else truncation,
        dimension or spec.default_dimension,
        dtype,
        encoding,
    )


def _inputs(raw: dict[str, Any]) -> list[str]:
    value = raw.get("input")
    if value is None:
        raise errors.malformed("Field 'input' is required: a string or a list of strings.")
    inputs = [value] if isinstance(value, str) else value
    if not isinstance(inputs, list) or not all(isinstance(text, str) for text in inputs):
        raise errors.malformed("Field 'input' must be a string or a list of strings.")
    if not inputs:
        raise errors.invalid("Field 'input' must not be an empty list.")
    return inputs


def _field(raw: dict[str, Any], name: str, kind: type, *, required: bool = False) -> Any:
    value = raw.get(name)
    if value is None:
        if required:
            raise errors.malformed(f"Field '{name}' is required.")
        return None
    # JSON true is not an int here, as pydantic's strict fields refuse it.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise errors.malformed(f"Field '{name}' must be {kind.__name__}, not {type(value).__name__}.")
    return value


def tokens_of(request: EmbeddingRequest) -> list[int]:
    """Each input's billed tokens (cut to the context length when truncating); 400 when an
    input is over it without truncation, or all together are over the model's per-request limit."""
    context = request.spec.context_length
    counts = []
    for index, text in enumerate(request.inputs):
        count = count_tokens(text)
        if count > context and not request.truncation:
            raise errors.invalid(
                f"Input {index} has {count} tokens, which exceeds the context length of {context} "
                f"for {request.model}. Set truncation to true or shorten the input."
            )
        counts.append(min(count, context))
    total = sum(counts)
    if total > request.spec.tokens_per_request:
        raise errors.invalid(
            f"The total number of tokens in the batch is {total}, which exceeds the limit of "
            f"{request.spec.tokens_per_request} for {request.model}. Please send fewer inputs per request."
        )
    return counts


def vector(text: str, model: str, dimension: int) -> list[float]:
    """The unit-length vector of ``text`` (the module's rule)."""
    values = [0.0] * dimension
    for word in WORD.findall(text.lower()):
        digest = int.from_bytes(
            hashlib.blake2b(f"{model}\0{word}".encode(), digest_size=8).digest(), "little"
        )
        values[digest % dimension] += 1.0 if digest >> 62 & 1 else -1.0
        values[(digest >> 20) % dimension] += 1.0 if digest >> 63 & 1 else -1.0
    if not any(values):
        seed = hashlib.blake2b(f"{model}\0{text}".encode(), digest_size=8).digest()
        draw = random.Random(seed)
        values = [draw.gauss(0.0, 1.0) for _ in range(dimension)]
    norm = math.sqrt(sum(value * value for value in values))
    return [value / norm for value in values]


def encoded(values: list[float], dtype: str, encoding: str | None) -> list[float] | list[int] | str:
    """A vector as ``output_dtype`` asks (int8/uint8: scaled by 127; binary/ubinary: one sign bit
    per dimension packed into bytes, binary offset by -128, as Voyage documents) and as
    ``encoding_format`` asks (base64 of the little-endian array, as the ``voyageai`` package reads it)."""
    if dtype == "float":
        if encoding == "base64":
            return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()
        return values
    if dtype in ("int8", "uint8"):
        offset = 128 if dtype == "uint8" else 0
        numbers = [max(-128, min(127, round(value * 127))) + offset for value in values]
    else:
        bits = [1 if value > 0 else 0 for value in values]
        packed = [int("".join(map(str, bits[at : at + 8])).ljust(8, "0"), 2) for at in range(0, len(bits), 8)]
        numbers = [byte - 128 for byte in packed] if dtype == "binary" else packed
    if encoding == "base64":
        signed = dtype in ("int8", "binary")
        return base64.b64encode(struct.pack(f"<{len(numbers)}{'b' if signed else 'B'}", *numbers)).decode()
    return numbers
