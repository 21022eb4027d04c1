"""Production adapters of the webhook receivers: the verifier secret (SSM) and the queue (SQS).

``SsmVerifierToken`` serves Intuit's verifier token and Square's signature key alike; the
variable names it puts in its reasons are parameters (QuickBooks' by default)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from booksync.queues import SqsQueue
from booksync.settings import placeholder_reason

# The token changes only when someone rotates it in the Intuit portal: keep it for the life of
# the container, so a warm invocation makes no SSM call. A signature that does not match may
# mean a rotation, so it may re-read the token, but not more often than this.
TOKEN_MAX_AGE_SECONDS = 86_400
REFRESH_AT_MOST_EVERY_SECONDS = 300
# A parameter that could not be read is tried again after this long, not on every request.
FAILURE_RETRY_SECONDS = 30


class SsmVerifierToken:
    """The verifier token from SSM (Powertools parameters, cached) or, locally, from a variable."""

    def __init__(
        self,
        *,
        parameter_name: str | None,
        local_value: str | None,
        fetch: Callable[[str, bool], str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        value_setting: str = "QBO_WEBHOOK_VERIFIER_TOKEN",
        param_setting: str = "QBO_WEBHOOK_VERIFIER_PARAM",
    ) -> None:
        self._value_setting = value_setting
        self._param_setting = param_setting
        self._name = parameter_name or None
        self._local = local_value
        self._fetch = fetch or _powertools_fetch
        self._clock = clock
        self._value: str | None = None
        self._reason: str | None = None
        self._read_at: float | None = None

    def current(self) -> tuple[str | None, str | None]:
        if self._local is not None or self._name is None:
            reason = placeholder_reason(self._local)
            return (None, f"{self._value_setting} {reason}") if reason else (self._local, None)
        if self._read_at is None or (
            self._value is None and self._clock() - self._read_at >= FAILURE_RETRY_SECONDS
        ):
            self._read(force=False)
        return self._value, self._reason

    def refreshed(self) -> str | None:
        if self._name is None or self._local is not None:
            return None
        if self._read_at is not None and self._clock() - self._read_at < REFRESH_AT_MOST_EVERY_SECONDS:
            return None
        self._read(force=True)
        return self._value

    def _read(self, *, force: bool) -> None:
        assert self._name is not None
        self._read_at = self._clock()
        try:
            value: str | None = self._fetch(self._name, force)
        except Exception as exc:  # the parameter store's own errors name no setting
            self._value = None
            self._reason = (
                f"in SSM parameter {self._name} ({self._param_setting}) could not be read "
                f"({type(exc).__name__})"
            )
            return
        reason = placeholder_reason(value)
        self._value = None if reason else value
        where = f"in SSM parameter {self._name} ({self._param_setting})"
        self._reason = f"{where} {reason}" if reason else None


def _powertools_fetch(name: str, force: bool) -> str:
    from aws_lambda_powertools.utilities.parameters import get_parameter

    return str(get_parameter(name, decrypt=True, max_age=TOKEN_MAX_AGE_SECONDS, force_fetch=force))


class SqsInbox(SqsQueue):
    """Puts webhook deliveries on the provider's events queue."""

    def send(self, messages: Sequence[str]) -> None:
        # One message is the rule (one round trip before the answer); several only for a
        # delivery too big for one message.
        for message in messages:
            self.sqs.send_message(QueueUrl=self._url, MessageBody=message)
