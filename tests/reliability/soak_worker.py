"""One Lambda instance of SyncInvoiceFunction in a process of its own, for the soak, killed for real.

The soak starts this module as a child process (``python -m tests.reliability.soak_worker``) with
the function's environment, and hands it SQS batches one at a time on standard input (one JSON
line each); the answer is one JSON line on the protocol pipe. At each kill point the process may
die with SIGKILL: nothing after that point runs, no ``except``, no ``finally``, no release of an
intent, no Powertools clean-up. Its intent leases and Powertools in-progress records stay until
they run out, as a Lambda killed by its timeout or by the host leaves them.

Kill points:
- ``after claim``: the intent is claimed and nothing was sent yet;
- ``after provider create``: the provider created the object and answered; nothing is recorded;
- ``before document link``: the intent is complete but the document's link is not stored.

Time is compressed by ``scale`` so the soak finishes: the Lambda's timeout, the intent lease, the
HTTP client's waits and the busy-retry delay are all divided by it (the queue's visibility timeout
is divided by it in the soak). Ratios between them are the production ones, including the part
of the lease a write leaves unused (``ExactlyOnce.LEASE_MARGIN``, a fraction of the lease): a
write's calls end before its scaled lease does.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import random
import signal
import sys
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[2]
HANDLER = ROOT / "functions" / "sync_invoice" / "handler.py"
KILL_POINTS = ("after claim", "after provider create", "before document link")
LEASE_SECONDS = 120.0  # ExactlyOnce's lease in production
BUSY_RETRY_SECONDS = 5.0  # WriteInProgress's Retry-After in production


class Killer:
    def __init__(self, seed: int, channel: IO[str]) -> None:
        self._rand = random.Random(seed)
        self._channel = channel
        self.probabilities = dict.fromkeys(KILL_POINTS, 0.0)  # the soak sets them for each batch

    def maybe(self, point: str) -> None:
        if self._rand.random() < self.probabilities[point]:
            self._channel.write(json.dumps({"killed": point}) + "\n")
            self._channel.flush()
            os.kill(os.getpid(), signal.SIGKILL)


def install(killer: Killer, scale: float, provider: str) -> None:
    """The kill points and the compressed clock, before the handler module is imported."""
    from booksync import errors, wiring
    from booksync.providers import http as provider_http
    from booksync.providers.http import HttpClient, HttpSettings
    from booksync.store.documents import DocumentRepository
    from booksync.store.intents import Claim, IntentRepository
    from booksync.store.models import DocumentModel, LinkMap
    from booksync.sync import once, rate_limits

    # The soak's sandbox does not throttle (conftest: the provider's limits are not what it is
    # about), so neither does the limiter the workers share (sync/rate_limits.py).
    declared = rate_limits.declared_limits(provider)
    assert declared is not None, f"{provider} declares no limits"
    unthrottled = replace(
        declared,
        max_concurrent=1_000,
        requests_per_minute=1_000_000,
        batches_per_minute=1_000,
        requests_per_day=None,
    )
    rate_limits.declared_limits = lambda _provider: unthrottled

    def compressed(settings: HttpSettings) -> HttpSettings:
        return replace(
            settings,
            read_timeout=1.0,
            backoff_base=0.02,
            backoff_cap=0.1,
            max_retry_wait=settings.max_retry_wait / scale,
            time_reserve=settings.time_reserve / scale,
            deadline_margin=settings.deadline_margin / scale,
        )

    class Compressed(dict[str, HttpClient]):
        """The process-wide provider clients (providers/http.py): the provider API's, whenever its
        adapter makes it, waits on the compressed clock (OAuth's clients are not shared)."""

        def __setitem__(self, name: str, client: HttpClient) -> None:
            if name == provider:
                client.settings = compressed(client.settings)
            super().__setitem__(name, client)

    assert not provider_http._SHARED, "the soak's clock is set before any provider client exists"
    provider_http._SHARED = Compressed()

    kwdefaults = once.ExactlyOnce.__init__.__kwdefaults__
    assert kwdefaults is not None and kwdefaults["lease_seconds"] == LEASE_SECONDS
    kwdefaults["lease_seconds"] = LEASE_SECONDS / scale
    assert 0 < once.ExactlyOnce.LEASE_MARGIN < 1  # a fraction of the lease: scaled with it
    assert errors.WriteInProgress.RECENT_HOLD_SECONDS == BUSY_RETRY_SECONDS
    errors.WriteInProgress.RECENT_HOLD_SECONDS = BUSY_RETRY_SECONDS / scale

    real_claim = IntentRepository.claim

    def claim(self: IntentRepository, intent_key: str, **kwargs: Any) -> Claim:
        result = real_claim(self, intent_key, **kwargs)
        if result.done_remote_id is None:
            killer.maybe("after claim")
        return result

    IntentRepository.claim = claim  # type: ignore[method-assign]

    real_provider = wiring.accounting_provider

    class KillAfterCreate:
        def __init__(self, inner: Any) -> None:
            self._inner = inner

        def __getattr__(self, name: str) -> Any:
            attr = getattr(self._inner, name)
            if not name.startswith("create_"):
                return attr

            def create(*args: Any, **kwargs: Any) -> Any:
                remote = attr(*args, **kwargs)
                killer.maybe("after provider create")
                return remote

            return create

    wiring.accounting_provider = lambda *a, **kw: KillAfterCreate(real_provider(*a, **kw))  # type: ignore[assignment]

    real_save_link = DocumentRepository.save_link

    def save_link(self: DocumentRepository, row: DocumentModel, provider_name: str, link: LinkMap) -> None:
        if link.remote_id:  # the intent is complete; the document's link is the local write
            killer.maybe("before document link")
        real_save_link(self, row, provider_name, link)

    DocumentRepository.save_link = save_link  # type: ignore[method-assign]


def classify(exc: BaseException) -> tuple[str, bool, str]:
    """The failure's name, whether a retry can fix it (a DLQ-worthy failure otherwise), its message."""
    from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError
    from booksync.errors import ProviderError

    name = type(exc).__name__
    if isinstance(exc, ProviderError):
        return f"{name}({'retryable' if exc.retryable else 'final'})", exc.retryable, str(exc)[:90]
    return name, isinstance(exc, IdempotencyAlreadyInProgressError), str(exc)[:90]


def main() -> None:
    config = json.loads(sys.argv[1])
    # Standard output is the protocol; everything the function prints goes to standard error.
    channel = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    logging.getLogger("booksync").setLevel(logging.WARNING)
    killer = Killer(config["seed"], channel)
    install(killer, config["scale"], config["provider"])

    from tests.lambda_env import Context

    spec = importlib.util.spec_from_file_location("soak_sync_invoice", HANDLER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    channel.write(json.dumps({"ready": os.getpid()}) + "\n")
    channel.flush()
    for line in sys.stdin:
        batch = json.loads(line)
        killer.probabilities = batch["kill_probabilities"]
        result = module.handler({"Records": batch["records"]}, Context(seconds=batch["seconds"]))
        failures = [classify(exc) for _type, exc, _tb in module.processor.exceptions]
        channel.write(json.dumps({"result": result, "failures": failures}) + "\n")
        channel.flush()


if __name__ == "__main__":
    main()
