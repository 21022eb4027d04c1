"""The shared HTTP client: retries, backoff, Retry-After, deadlines, classification, redaction."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from booksync.errors import ConfigurationError, RateLimited, TransientError
from booksync.providers.http import (
    HttpClient,
    HttpSettings,
    backoff_delay,
    calls_end_within,
    dumps_json,
    loads_json,
    parse_retry_after,
    redact,
    redact_url,
)
from hypothesis import given
from hypothesis import strategies as st

from tests.threads import run_threads

URL = "https://api.test/v1/thing"
SECRET = "Bearer eyJhbGciOiJIUzI1NiJ9.super-secret-token-value"


class Scripted:
    """A transport answering from a list: a status code, a Response, or an exception to raise."""

    def __init__(self, *answers: int | httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, int):
            return httpx.Response(answer, json={"ok": answer < 400})
        return answer


def make(
    script: Scripted,
    sleeps: list[float],
    *,
    deadline: Callable[[], float] | None = None,
    settings: HttpSettings | None = None,
    rand: Callable[[], float] = lambda: 1.0,
) -> HttpClient:
    return HttpClient(
        provider="acme",
        label="Acme",
        settings=settings or HttpSettings(),
        transport=httpx.MockTransport(script),
        deadline=deadline,
        sleep=sleeps.append,
        rand=rand,
    )


def get(client: HttpClient, **kw: Any) -> httpx.Response:
    return client.request("GET", URL, headers={"Authorization": SECRET}, **kw)


def post(client: HttpClient, **kw: Any) -> httpx.Response:
    return client.request("POST", URL, headers={"Authorization": SECRET}, content=b'{"token":"abc"}', **kw)


# ---------------------------------------------------------------------- reads


def test_read_retried_on_5xx_with_jittered_backoff() -> None:
    script, sleeps = Scripted(503, 502, 200), list[float]()
    response = get(make(script, sleeps))
    assert response.status_code == 200
    assert len(script.requests) == 3
    assert sleeps == [0.5, 1.0]  # rand()=1: the ceilings base*2**attempt


def test_read_gives_up_after_max_retries_as_certain_transient() -> None:
    script, sleeps = Scripted(500, 500, 500), list[float]()
    with pytest.raises(TransientError) as caught:
        get(make(script, sleeps))
    assert caught.value.uncertain is False
    assert caught.value.status == 500
    assert len(script.requests) == 3


def test_read_timeout_on_a_read_is_retried() -> None:
    script, sleeps = Scripted(httpx.ReadTimeout("timed out"), 200), list[float]()
    assert get(make(script, sleeps)).status_code == 200
    assert len(script.requests) == 2


def test_4xx_is_returned_for_the_adapter_to_parse() -> None:
    script, sleeps = Scripted(400), list[float]()
    assert get(make(script, sleeps)).status_code == 400
    assert sleeps == []


# ---------------------------------------------------------------------- writes


def test_write_5xx_is_uncertain_and_not_retried() -> None:
    script, sleeps = Scripted(500), list[float]()
    with pytest.raises(TransientError) as caught:
        post(make(script, sleeps))
    assert caught.value.uncertain is True
    assert len(script.requests) == 1
    assert sleeps == []


@pytest.mark.parametrize(
    "error",
    [httpx.ReadTimeout("timed out"), httpx.ReadError("reset"), httpx.RemoteProtocolError("closed")],
)
def test_write_timeout_or_reset_after_sending_is_uncertain_and_not_retried(error: Exception) -> None:
    script, sleeps = Scripted(error), list[float]()
    with pytest.raises(TransientError) as caught:
        post(make(script, sleeps))
    assert caught.value.uncertain is True
    assert "may or may not" in caught.value.message
    assert len(script.requests) == 1


def test_connect_error_on_write_is_certain_not_sent_and_retried() -> None:
    script, sleeps = Scripted(httpx.ConnectError("refused"), 201), list[float]()
    assert post(make(script, sleeps)).status_code == 201
    assert len(script.requests) == 2


def test_connect_errors_exhausted_are_certain() -> None:
    script, sleeps = Scripted(*(httpx.ConnectTimeout("slow") for _ in range(3))), list[float]()
    with pytest.raises(TransientError) as caught:
        post(make(script, sleeps))
    assert caught.value.uncertain is False
    assert len(script.requests) == 3


def test_idempotent_write_is_retried_but_stays_uncertain_when_exhausted() -> None:
    script, sleeps = Scripted(503, 503, 503), list[float]()
    with pytest.raises(TransientError) as caught:
        post(make(script, sleeps), idempotent=True)
    assert caught.value.uncertain is True
    assert len(script.requests) == 3


def test_post_marked_as_read_is_retried_and_certain() -> None:
    script, sleeps = Scripted(503, 200), list[float]()
    assert post(make(script, sleeps), read=True).status_code == 200
    assert len(script.requests) == 2 and sleeps == [0.5]
    # Exhausted, it is a certain failure: a read changed nothing (a write's would be uncertain).
    script, sleeps = Scripted(503, 503, 503), list[float]()
    with pytest.raises(TransientError) as caught:
        post(make(script, sleeps), read=True)
    assert caught.value.uncertain is False
    assert len(script.requests) == 3


def test_bad_url_is_a_configuration_error() -> None:
    client = HttpClient(provider="acme", label="Acme")
    with pytest.raises(ConfigurationError):
        client.request("GET", "ftp://api.test/x")


# ---------------------------------------------------------------------- Retry-After


def throttled(retry_after: str | None) -> httpx.Response:
    headers = {} if retry_after is None else {"Retry-After": retry_after}
    return httpx.Response(429, headers=headers, json={"error": "slow down"})


def test_retry_after_seconds_within_budget_is_slept_then_retried_even_for_a_write() -> None:
    script, sleeps = Scripted(throttled("3"), 200), list[float]()
    assert post(make(script, sleeps)).status_code == 200
    assert sleeps == [3.0]


def test_retry_after_http_date_is_honoured() -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=4), usegmt=True)
    script, sleeps = Scripted(throttled(when), 200), list[float]()
    assert get(make(script, sleeps)).status_code == 200
    assert 2.0 <= sleeps[0] <= 4.0


def test_retry_after_beyond_max_wait_raises_rate_limited_without_sleeping() -> None:
    script, sleeps = Scripted(throttled("45")), list[float]()
    with pytest.raises(RateLimited) as caught:
        get(make(script, sleeps))
    assert caught.value.retry_after == 45.0
    assert caught.value.status == 429
    assert sleeps == []


def test_retry_after_that_does_not_fit_the_remaining_time_raises_rate_limited() -> None:
    script, sleeps = Scripted(throttled("3")), list[float]()
    with pytest.raises(RateLimited) as caught:
        get(make(script, sleeps, deadline=lambda: 7.0))  # 7 - 3 < 5 s reserve
    assert caught.value.retry_after == 3.0
    assert sleeps == []


def test_429_without_retry_after_uses_the_provider_default() -> None:
    script, sleeps = Scripted(throttled(None)), list[float]()
    with pytest.raises(RateLimited) as caught:
        get(make(script, sleeps))
    assert caught.value.retry_after == 60.0


def test_429_without_retry_after_backs_off_with_jitter_when_the_provider_has_no_default() -> None:
    script, sleeps = Scripted(throttled(None), throttled(None), 200), list[float]()
    client = make(script, sleeps, rand=lambda: 0.5)
    client.default_retry_after = None  # Voyage AI: its 429s may not say when
    assert get(client).status_code == 200
    assert sleeps == [0.25, 0.5]


def test_throttling_every_time_ends_in_rate_limited() -> None:
    script, sleeps = Scripted(throttled("1"), throttled("1"), throttled("1")), list[float]()
    with pytest.raises(RateLimited):
        get(make(script, sleeps))
    assert sleeps == [1.0, 1.0]


def test_5xx_retry_after_is_preferred_over_backoff() -> None:
    script, sleeps = Scripted(httpx.Response(503, headers={"Retry-After": "2"}), 200), list[float]()
    assert get(make(script, sleeps)).status_code == 200
    assert sleeps == [2.0]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("5", 5.0), ("0", 0.0), ("1.5", 1.5), ("-3", 0.0), ("soon", None), ("", None), (None, None)],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_parse_retry_after_http_date() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=lambda: 1445412470.0) == 10.0


# ---------------------------------------------------------------------- deadline


def test_timeouts_are_capped_by_the_remaining_time() -> None:
    script, sleeps = Scripted(200), list[float]()
    get(make(script, sleeps, deadline=lambda: 4.0))
    timeout = script.requests[0].extensions["timeout"]
    assert timeout["read"] == pytest.approx(3.0)  # 4 s left minus the 1 s margin
    assert timeout["connect"] == pytest.approx(3.0)


def test_no_call_is_made_when_out_of_time() -> None:
    script, sleeps = Scripted(200), list[float]()
    with pytest.raises(TransientError) as caught:
        post(make(script, sleeps, deadline=lambda: 1.2))
    assert caught.value.uncertain is False
    assert script.requests == []


def test_backoff_that_would_pass_the_deadline_ends_the_call() -> None:
    script, sleeps = Scripted(503), list[float]()
    with pytest.raises(TransientError):
        get(make(script, sleeps, deadline=lambda: 5.2))
    assert sleeps == []


def test_calls_inside_a_tighter_end_end_before_it_in_this_thread_only() -> None:
    """A write under an intent's lease: its calls end before the lease does, though the function
    has minutes left; the same client's calls in another thread (a catalog batch worker) are not
    bound by it, and an end inside another keeps the earlier of the two."""
    script, sleeps = Scripted(200, 200, 200, 200), list[float]()
    client = make(script, sleeps, deadline=lambda: 300.0)
    with calls_end_within(lambda: 4.0, what="this write's claim"):
        get(client)
        with calls_end_within(lambda: 9.0, what="a later end"):
            get(client)
        run_threads(lambda: get(client))
    get(client)
    reads = [request.extensions["timeout"]["read"] for request in script.requests]
    assert reads == [pytest.approx(3.0), pytest.approx(3.0), 30.0, 30.0]  # 1 s margin before the end


def test_no_call_is_made_when_a_tighter_end_is_out_of_time_and_the_error_names_it() -> None:
    script, sleeps = Scripted(200), list[float]()
    with calls_end_within(lambda: 1.2, what="this write's claim"), pytest.raises(TransientError) as caught:
        post(make(script, sleeps, deadline=lambda: 300.0))
    assert (caught.value.uncertain, caught.value.retryable, script.requests) == (False, True, [])
    assert str(caught.value).startswith("Acme was not called: this write's claim is out of time")


def test_a_retry_wait_that_would_pass_a_tighter_end_ends_the_call() -> None:
    script, sleeps = Scripted(503), list[float]()
    with calls_end_within(lambda: 5.2, what="this write's claim"), pytest.raises(TransientError):
        get(make(script, sleeps, deadline=lambda: 300.0))
    assert (sleeps, len(script.requests)) == ([], 1)


@given(
    attempt=st.integers(min_value=0, max_value=60),
    fraction=st.floats(min_value=0.0, max_value=1.0, allow_nan=False),
    base=st.floats(min_value=0.01, max_value=5.0),
    cap=st.floats(min_value=0.1, max_value=60.0),
)
def test_backoff_is_full_jitter_and_bounded(attempt: int, fraction: float, base: float, cap: float) -> None:
    settings = HttpSettings(backoff_base=base, backoff_cap=cap)
    delay = backoff_delay(attempt, settings, lambda: fraction)
    assert 0.0 <= delay <= min(cap, base * 2**attempt)


def test_backoff_is_actually_random() -> None:
    delays = {backoff_delay(3, HttpSettings()) for _ in range(20)}
    assert len(delays) > 1


# ---------------------------------------------------------------------- secrets


def test_no_secret_in_logs_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="booksync")
    script, sleeps = Scripted(httpx.ReadTimeout("timed out"), 503, 503, 503), list[float]()
    client = make(script, sleeps)
    with pytest.raises(TransientError) as caught:
        client.request(
            "GET", URL + "?code=abc123456&refresh_token=r-very-secret", headers={"Authorization": SECRET}
        )
    texts = [str(caught.value), repr(caught.value), caught.value.fix]
    for record in caplog.records:
        texts.append(record.getMessage())
        texts.extend(str(value) for value in record.__dict__.values())
    blob = "\n".join(texts)
    assert "super-secret-token-value" not in blob
    assert "r-very-secret" not in blob
    assert "abc123456" not in blob
    assert any(r.__dict__.get("status") == 503 for r in caplog.records)
    assert repr(client) == "HttpClient(provider='acme')"


def test_redact_masks_known_secrets_and_credential_shapes() -> None:
    text = 'refresh_token=RT-123456789 {"access_token": "eyJabc.def"} Authorization: Bearer abcdefghijklmnop secretvalue!'
    cleaned = redact(text, ["secretvalue!", None, ""])
    assert "RT-123456789" not in cleaned
    assert "eyJabc.def" not in cleaned
    assert "abcdefghijklmnop" not in cleaned
    assert "secretvalue!" not in cleaned
    assert redact("errorCode=003200; statusCode=401") == "errorCode=003200; statusCode=401"


def test_redact_url() -> None:
    url = "https://user:pw@api.test/cb?code=abc&state=s1&realmId=123&client_secret=x"
    cleaned = redact_url(url)
    assert "pw" not in cleaned
    assert "code=%5Bredacted%5D" in cleaned or "code=[redacted]" in cleaned
    assert "state=s1" in cleaned
    assert "realmId=123" in cleaned
    assert "client_secret=x" not in cleaned


# ---------------------------------------------------------------------- JSON with Decimal


def test_dumps_json_writes_decimals_exactly() -> None:
    body = {"Amount": Decimal("150.10"), "Qty": Decimal("1E+1"), "n": 1, "ok": True, "x": None, "s": "é'"}
    assert dumps_json(body) == '{"Amount":150.10,"Qty":10,"n":1,"ok":true,"x":null,"s":"\\u00e9\'"}'
    assert loads_json(dumps_json(body))["Amount"] == Decimal("150.10")


def test_dumps_json_refuses_floats_and_non_finite() -> None:
    with pytest.raises(TypeError):
        dumps_json({"Amount": 1.1})
    with pytest.raises(ValueError):
        dumps_json([Decimal("NaN")])


@given(st.decimals(allow_nan=False, allow_infinity=False, places=4, min_value=-(10**9), max_value=10**9))
def test_decimal_round_trip(value: Decimal) -> None:
    assert loads_json(dumps_json({"v": value}))["v"] == value
