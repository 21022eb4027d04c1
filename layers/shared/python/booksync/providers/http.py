"""The HTTP client every provider adapter uses (the model is stripe-python's).

What it decides, so that no adapter decides it differently:
- timeouts (connect/read/write/pool), capped by the time the Lambda has left;
- which failures are retried inline: anything certainly not sent (connect errors), reads,
  throttling (a 429 was not processed), and writes only when the caller says they are idempotent;
- backoff: full-jitter exponential, bounded;
- ``Retry-After`` (seconds or HTTP date) is slept inline only when it is short and fits in the
  time left; otherwise ``RateLimited(retry_after=…)`` goes up so the queue delays the message;
  a 429 without one waits ``default_retry_after``, or (None) the jittered backoff;
- what an exhausted failure means: ``TransientError(uncertain=True)`` when a write may have
  happened (read timeout, reset after sending, 5xx), so the engine looks the object up before
  creating it again.

It never puts a header, body or secret in a log line or exception message: logs carry the
method, the URL with sensitive query values masked, status, attempt and timings.

``httpx`` is imported on first use, not at import time: it costs ~0.1 s of cold start, and the
API Lambda imports the providers package for routes that never call out.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from booksync import observability
from booksync.errors import ConfigurationError, RateLimited, TransientError

if TYPE_CHECKING:
    import httpx

    from booksync.providers.port import TokenSource
    from booksync.sync.rate_limits import RequestGate

logger = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
REDACTED = "[redacted]"

# Query parameter and field names whose values are credentials.
_SENSITIVE_NAME = re.compile(
    r"(?i)(token|secret|password|passwd|code|code_verifier|authorization|signature|api[_-]?key|assertion)"
)
# `name=value`, `"name": "value"` and `Bearer value` forms inside free text (provider messages).
_SENSITIVE_PAIR = re.compile(
    r"(?i)(\"?\b(?:access_token|refresh_token|id_token|client_secret|code_verifier|password|token|code)\b\"?"
    r"\s*[:=]\s*\"?)([^\"&\s,;}]+)"
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{12,}")


@dataclass(frozen=True)
class HttpSettings:
    """Timeouts and retry policy. Defaults suit a Lambda with a 30-60 s timeout."""

    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    write_timeout: float = 30.0
    pool_timeout: float = 5.0
    max_retries: int = 2  # retries after the first attempt
    backoff_base: float = 0.5
    backoff_cap: float = 8.0
    # Longest Retry-After slept inline; longer ones become RateLimited for the queue to delay.
    max_retry_wait: float = 10.0
    # Seconds that must remain before the deadline after a wait, for the request that follows.
    time_reserve: float = 5.0
    # Never let a request run into the Lambda's end: an answer lost to a killed process is an
    # unrecorded uncertain write.
    deadline_margin: float = 1.0


# --------------------------------------------------------------------------- redaction


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with the given secret values and anything that looks like a credential masked."""
    for secret in secrets:
        # Very short values would mask ordinary words; real tokens and secrets are long.
        if secret and len(secret) >= 6:
            text = text.replace(secret, REDACTED)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    return _SENSITIVE_PAIR.sub(lambda m: f"{m.group(1)}{REDACTED}", text)


def redact_url(url: str) -> str:
    """The URL with credentials in the query string or userinfo masked."""
    parts = urlsplit(url)
    query = [
        (name, REDACTED if _SENSITIVE_NAME.search(name) else value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
    ]
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, netloc, parts.path, urlencode(query, safe="[]"), ""))


# --------------------------------------------------------------------------- JSON with Decimal


def dumps_json(value: Any) -> str:
    """JSON text with Decimal written as exact numbers (never through float, design rule 4)."""
    return "".join(_encode(value))


def _encode(value: Any) -> Iterable[str]:
    if isinstance(value, Mapping):
        yield "{"
        for index, (key, item) in enumerate(value.items()):
            if not isinstance(key, str):
                raise TypeError(f"JSON object keys must be str, not {type(key).__name__}")
            yield ("," if index else "") + json.dumps(key) + ":"
            yield from _encode(item)
        yield "}"
    elif isinstance(value, list | tuple):
        yield "["
        for index, item in enumerate(value):
            if index:
                yield ","
            yield from _encode(item)
        yield "]"
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot send a non-finite amount: {value}")
        yield format(value, "f")
    elif isinstance(value, float):
        raise TypeError("money and quantities are Decimal; a float reached the wire encoder")
    elif value is None or isinstance(value, str | bool | int):
        yield json.dumps(value)
    else:
        raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def loads_json(text: str | bytes) -> Any:
    """Parse JSON keeping every non-integer number as Decimal."""
    return json.loads(text, parse_float=Decimal)


def response_json(response: httpx.Response) -> Any:
    """An answer's JSON (numbers as ``loads_json``), or None when it is empty or not JSON (HTML
    from a gateway, XML from an old tier)."""
    try:
        return loads_json(response.content) if response.content else None
    except ValueError:
        return None


# --------------------------------------------------------------------------- retry helpers


def backoff_delay(attempt: int, settings: HttpSettings, rand: Callable[[], float] = random.random) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2**attempt)] (AWS architecture blog)."""
    ceiling = min(settings.backoff_cap, settings.backoff_base * 2.0 ** min(attempt, 30))
    return rand() * ceiling


def parse_retry_after(value: str | None, *, now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    # Only HTTP dates reach here; email.utils is imported on this rare path only.
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT
        return None
    return max(0.0, when.timestamp() - now())


# One client per provider per process (warm invocations reuse its connections), and the deadline
# the running invocation set: every provider's client gets it, including one made later.
_SHARED: dict[str, HttpClient] = {}
_deadline: Callable[[], float] | None = None


def shared_client(
    *,
    provider: str,
    label: str,
    trace_header: str | None = None,
    default_retry_after: float | None = 60.0,
) -> HttpClient:
    """The process-wide client for ``provider``, with the running invocation's deadline."""
    client = _SHARED.get(provider)
    if client is None:
        client = _SHARED[provider] = HttpClient(
            provider=provider,
            label=label,
            trace_header=trace_header,
            deadline=_deadline,
            default_retry_after=default_retry_after,
        )
    return client


def bind_deadline(deadline: Callable[[], float] | None) -> None:
    """Every provider call and Retry-After wait from now on ends before ``deadline`` (the seconds
    the invocation has left): an answer lost to a Lambda killed at its timeout is an unrecorded,
    uncertain write. Call it at the start of each invocation of every function that calls out."""
    global _deadline  # noqa: PLW0603 - the invocation's deadline is process-wide, as the clients are
    _deadline = deadline
    for client in _SHARED.values():
        client.deadline = deadline


def time_left() -> float | None:
    """Seconds the running invocation has left (None: no deadline bound)."""
    return _deadline() if _deadline is not None else None


def bind_lambda_deadline(context: Any) -> None:
    """``bind_deadline`` with the Lambda context's remaining time."""
    bind_deadline(lambda: context.get_remaining_time_in_millis() / 1000)


# A tighter end than the invocation's for the calls this thread makes inside ``calls_end_within``
# (a write under an intent's lease): each thread (a catalog batch worker) has its own.
_WITHIN: ContextVar[tuple[Callable[[], float], str] | None] = ContextVar(
    "booksync_calls_end_within", default=None
)


@contextmanager
def calls_end_within(seconds_left: Callable[[], float], *, what: str) -> Iterator[None]:
    """Every provider call and wait this thread makes in the block also ends before
    ``seconds_left()`` reaches zero (the earlier of it and the invocation's deadline counts):
    a retry or a Retry-After wait that would run past it is not made, and the call fails
    retryably instead. ``what`` names what ends, for the error (``"this write's claim"``)."""
    outer = _WITHIN.get()
    bound = seconds_left if outer is None else (lambda: min(seconds_left(), outer[0]()))
    token = _WITHIN.set((bound, what))
    try:
        yield
    finally:
        _WITHIN.reset(token)


# Transport failures where the request certainly never reached the server.
_NOT_SENT = ("ConnectError", "ConnectTimeout", "PoolTimeout")


class HttpClient:
    """One provider's HTTP client: retries, backoff, Retry-After, classification, clean logs.

    ``deadline`` returns the seconds the caller has left (in Lambda:
    ``lambda: context.get_remaining_time_in_millis() / 1000``); it may be replaced per invocation
    through the attribute of the same name, since clients live across warm invocations.
    ``sleep`` and ``rand`` exist for tests.
    """

    def __init__(
        self,
        *,
        provider: str,
        label: str,
        settings: HttpSettings | None = None,
        transport: httpx.BaseTransport | None = None,
        deadline: Callable[[], float] | None = None,
        default_retry_after: float | None = 60.0,
        trace_header: str | None = None,
        user_agent: str = "booksync/0.1",
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.provider = provider
        self.label = label
        self.settings = settings or HttpSettings()
        self.deadline = deadline
        self.default_retry_after = default_retry_after
        self.trace_header = trace_header
        self._transport = transport
        self._user_agent = user_agent
        self._sleep = sleep
        self._rand = rand
        self._client: httpx.Client | None = None

    def __repr__(self) -> str:
        return f"HttpClient(provider={self.provider!r})"

    # -- lifecycle

    def _http(self) -> httpx.Client:
        # Built on first use: creating the SSL context is not free and many invocations never call out.
        if self._client is None:
            import httpx

            self._client = httpx.Client(
                transport=self._transport,
                headers={"User-Agent": self._user_agent},
                follow_redirects=False,
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- the one entry point

    @observability.capture_method
    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        content: str | bytes | None = None,
        read: bool | None = None,
        idempotent: bool = False,
        final_429: Callable[[httpx.Response], bool] | None = None,
    ) -> httpx.Response:
        """Send with retries; return any response that is not 429 or 5xx for the caller to parse.

        ``read``: the request has no side effect (default: GET/HEAD/OPTIONS). A POST query is a
        read. ``idempotent``: a write that is safe to repeat inline (the caller vouches for it).
        ``final_429``: a 429 it says no wait here can cure (a provider's daily cap) is answered
        to the caller, unretried.
        """
        method = method.upper()
        is_read = method in SAFE_METHODS if read is None else read
        call = _Call(method=method, url=url, params=params, headers=headers, content=content)
        repeatable = is_read or idempotent
        attempt = 0
        while True:
            outcome = self._attempt(call, attempt, is_read=is_read)
            response = outcome.response
            if response is not None and (
                not _retryable_status(response.status_code)
                or (final_429 is not None and response.status_code == 429 and final_429(response))
            ):
                return response
            wait = self._next_wait(outcome, attempt, repeatable=repeatable, is_read=is_read)
            logger.info(
                "retrying provider request",
                extra={
                    "provider": self.provider,
                    "method": method,
                    "url": redact_url(url),
                    "attempt": attempt + 1,
                    "wait_s": round(wait, 3),
                    "reason": outcome.reason,
                },
            )
            self._sleep(wait)
            attempt += 1

    # -- one attempt

    def _attempt(self, call: _Call, attempt: int, *, is_read: bool) -> _Outcome:
        import httpx

        timeout = self._timeout(call, is_read=is_read)
        started = time.monotonic()
        try:
            response = self._http().request(
                call.method,
                call.url,
                params=call.params,
                headers=call.headers,
                content=call.content,
                timeout=timeout,
            )
        except httpx.TransportError as exc:
            observability.provider_call(self.provider, (time.monotonic() - started) * 1000, None)
            return self._transport_failure(call, exc, attempt, started)
        observability.provider_call(self.provider, (time.monotonic() - started) * 1000, response.status_code)
        self._log_response(call, response, attempt, started)
        return _Outcome(response=response, reason=f"HTTP {response.status_code}")

    def _timeout(self, call: _Call, *, is_read: bool) -> httpx.Timeout:
        import httpx

        s = self.settings
        connect, read, write, pool = s.connect_timeout, s.read_timeout, s.write_timeout, s.pool_timeout
        left = self._time_left()
        if left is not None:
            budget = left[0] - s.deadline_margin
            if budget < 0.5:
                # Nothing has been sent: safe to redo on the next delivery.
                raise TransientError(
                    f"{self.label} was not called: {left[1]} is out of time",
                    provider=self.provider,
                    uncertain=False,
                    fix="Nothing to do: booksync tries again automatically.",
                )
            connect, read, write, pool = (min(x, budget) for x in (connect, read, write, pool))
        return httpx.Timeout(connect=connect, read=read, write=write, pool=pool)

    def _transport_failure(
        self, call: _Call, exc: httpx.TransportError, attempt: int, started: float
    ) -> _Outcome:
        import httpx

        kind = type(exc).__name__
        logger.debug(
            "provider request failed",
            extra={
                "provider": self.provider,
                "method": call.method,
                "url": redact_url(call.url),
                "attempt": attempt,
                "error": kind,
                "elapsed_ms": round((time.monotonic() - started) * 1000),
            },
        )
        if isinstance(exc, httpx.UnsupportedProtocol | httpx.LocalProtocolError | httpx.ProxyError):
            raise ConfigurationError(
                f"cannot call {self.label}: {kind}; check the {self.label} base URL settings"
            ) from None
        return _Outcome(response=None, reason=kind, not_sent=kind in _NOT_SENT, error=exc)

    def _log_response(self, call: _Call, response: httpx.Response, attempt: int, started: float) -> None:
        extra: dict[str, object] = {
            "provider": self.provider,
            "method": call.method,
            "url": redact_url(str(response.request.url)),
            "status": response.status_code,
            "attempt": attempt,
            "elapsed_ms": round((time.monotonic() - started) * 1000),
        }
        if self.trace_header and self.trace_header in response.headers:
            extra["trace_id"] = response.headers[self.trace_header]
        logger.debug("provider request", extra=extra)

    # -- what next

    def _next_wait(self, outcome: _Outcome, attempt: int, *, repeatable: bool, is_read: bool) -> float:
        """Seconds to wait before the next attempt, or raise the typed error that ends the call."""
        response = outcome.response
        if response is not None and response.status_code == 429:
            return self._throttled_wait(response, attempt)
        # A connect failure never reached the server: repeating it is safe even for a write.
        if not (repeatable or outcome.not_sent):
            raise self._transient(outcome, uncertain=not is_read, response=response) from outcome.error
        hinted = parse_retry_after(response.headers.get("Retry-After")) if response is not None else None
        wait = hinted if hinted is not None else backoff_delay(attempt, self.settings, self._rand)
        if attempt >= self.settings.max_retries or not self._fits(wait):
            uncertain = not (is_read or outcome.not_sent)
            raise self._transient(outcome, uncertain=uncertain, response=response) from outcome.error
        return wait

    def _throttled_wait(self, response: httpx.Response, attempt: int) -> float:
        hinted = parse_retry_after(response.headers.get("Retry-After"))
        if hinted is not None:
            wait = hinted
        elif self.default_retry_after is not None:
            wait = self.default_retry_after
        else:  # a provider whose 429 says nothing of when: the same jittered backoff as a 5xx
            wait = backoff_delay(attempt, self.settings, self._rand)
        if attempt >= self.settings.max_retries or not self._fits(wait):
            raise RateLimited(
                f"{self.label} is limiting requests; try again in {wait:.0f} s{self._trace(response)}",
                provider=self.provider,
                retry_after=wait,
                status=429,
                fix=f"Nothing to do: booksync tries again automatically once {self.label} allows it.",
            )
        return wait

    def _fits(self, wait: float) -> bool:
        if wait > self.settings.max_retry_wait:
            return False
        left = self._time_left()
        return left is None or left[0] - wait >= self.settings.time_reserve

    def _time_left(self) -> tuple[float, str] | None:
        """Seconds left before the earliest end that binds this call, and what ends there."""
        ends = [(self.deadline(), "the function")] if self.deadline is not None else []
        within = _WITHIN.get()
        if within is not None:
            ends.append((within[0](), within[1]))
        return min(ends, key=lambda end: end[0]) if ends else None

    def _transient(
        self, outcome: _Outcome, *, uncertain: bool, response: httpx.Response | None
    ) -> TransientError:
        if response is not None:
            what = f"{self.label} answered HTTP {response.status_code}{self._trace(response)}"
        elif outcome.not_sent:
            what = f"could not reach {self.label} ({outcome.reason})"
        else:
            what = f"the connection to {self.label} failed ({outcome.reason})"
        if uncertain:
            what += "; the change may or may not have been made"
        return TransientError(
            what,
            provider=self.provider,
            uncertain=uncertain,
            status=None if response is None else response.status_code,
            fix="Nothing to do: booksync checks and tries again automatically.",
        )

    def _trace(self, response: httpx.Response) -> str:
        if self.trace_header and self.trace_header in response.headers:
            return f" ({self.trace_header} {response.headers[self.trace_header]})"
        return ""


def _retryable_status(status: int) -> bool:
    return status == 429 or status >= 500


@dataclass(frozen=True)
class _Call:
    method: str
    url: str
    params: Mapping[str, str] | None
    headers: Mapping[str, str] | None
    content: str | bytes | None

    def __repr__(self) -> str:  # headers and content may hold credentials
        return f"_Call({self.method} {redact_url(self.url)})"


@dataclass(frozen=True)
class _Outcome:
    response: httpx.Response | None
    reason: str
    not_sent: bool = False
    error: Exception | None = None


def bearer_request(
    http: HttpClient,
    tokens: TokenSource,
    gate: RequestGate | None,
    method: str,
    url: str,
    *,
    params: Mapping[str, str] | None,
    headers: Mapping[str, str],
    content: bytes | None,
    write: bool,
    final_429: Callable[[httpx.Response], bool] | None = None,
) -> tuple[httpx.Response, str]:
    """One request to a provider company with its access token, holding a slot of the company's
    gate (``sync/rate_limits.py``) while out. A refused token (401: expired early, or refreshed by
    another worker) gets one fresh token and one retry: nothing was applied on a 401, so a write
    is safe to resend. The answer, and the token last sent (kept out of messages)."""

    def send(token: str) -> httpx.Response:
        with gate.slot(batch=False) if gate is not None else nullcontext():
            return http.request(
                method,
                url,
                params=params,
                headers={**headers, "Authorization": f"Bearer {token}"},
                content=content,
                read=not write,
                final_429=final_429,
            )

    token = tokens.access_token()
    response = send(token)
    if response.status_code == 401:
        token = tokens.refreshed_after_rejection(token)
        response = send(token)
    return response, token
