"""SQS event source mappings: poll a queue, invoke the function with a batch, delete what succeeded.

As Lambda does: up to BatchSize messages, gathered for up to MaximumBatchingWindowInSeconds, at most
ScalingConfig.MaximumConcurrency batches at once. Success deletes the batch; an error or a timeout
deletes nothing (the messages come back after the visibility timeout, and SQS moves them to the
dead-letter queue after maxReceiveCount receives: moto does that itself, as SQS does). With
ReportBatchItemFailures only the listed messages stay; a malformed list fails the whole batch.
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from local.runtime.functions import FunctionPool, FunctionRunner, InvocationResult
from local.runtime.model import QueueSourceSpec

# Short long-polls keep the pollers responsive to a stop and to the batching window.
LONG_POLL_SECONDS = 1
_RETRY_AFTER_ERROR_SECONDS = 1.0
_SQS_BATCH_LIMIT = 10


def sqs_record(message: Mapping[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One entry of the event's Records, as Lambda builds it from a received message."""
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes") or {}),
        "messageAttributes": {
            name: _message_attribute(value)
            for name, value in (message.get("MessageAttributes") or {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    record |= {"eventSource": "aws:sqs", "eventSourceARN": queue_arn, "awsRegion": region}
    return record


def _message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    attribute: dict[str, Any] = {}
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    attribute |= {"stringListValues": [], "binaryListValues": [], "dataType": value["DataType"]}
    return attribute


class BatchFailure(Exception):
    """The whole batch counts as failed (handler error, or a response Lambda cannot read)."""


def failed_message_ids(
    result: InvocationResult, message_ids: Sequence[str], report_item_failures: bool
) -> set[str]:
    """The ids to leave on the queue, by Lambda's rules for (partial) batch responses."""
    if not result.ok:
        return set(message_ids)
    if not report_item_failures:
        return set()
    try:
        return _reported_failures(result.payload, set(message_ids))
    except BatchFailure:
        return set(message_ids)


def _reported_failures(payload: Any, batch: set[str]) -> set[str]:
    # Success: no response, an empty response, or an empty/null batchItemFailures.
    if payload is None:
        return set()
    if not isinstance(payload, dict):
        raise BatchFailure("the response is not a JSON object")
    items = payload.get("batchItemFailures")
    if not items:
        return set()
    if not isinstance(items, list):
        raise BatchFailure("batchItemFailures is not a list")
    failed: set[str] = set()
    for item in items:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or identifier not in batch:
            raise BatchFailure(f"invalid itemIdentifier {identifier!r}")
        failed.add(identifier)
    return failed


@dataclass
class PollerStats:
    batches: int = 0
    received: int = 0
    deleted: int = 0
    failed: int = 0


class QueuePoller:
    """One SQS event source: as many polling threads as the mapping may run batches at once."""

    def __init__(
        self,
        source: QueueSourceSpec,
        runner: FunctionRunner,
        sqs_client: Callable[[], Any],
        region: str,
        log: Callable[[str], None] = lambda _line: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self._clock = clock  # the batching window's (a test passes one it moves)
        self._runner = runner
        self._sqs_client = sqs_client
        self._region = region
        self._log = log
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._in_flight = 0
        self.stats = PollerStats()

    @property
    def concurrency(self) -> int:
        function_limit = self._runner.spec.concurrency
        wanted = self.source.max_concurrency or function_limit
        return max(1, min(wanted, function_limit))

    @property
    def in_flight(self) -> int:
        """Messages received and not yet settled (deleted or left to come back)."""
        with self._lock:
            return self._in_flight

    def start(self) -> None:
        if not self.source.enabled:
            return
        for index in range(self.concurrency):
            name = f"sqs-{self.source.function}-{self.source.event}-{index}"
            thread = threading.Thread(target=self._loop, args=(self._sqs_client(),), name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def signal_stop(self) -> None:
        self._stopping.set()

    def join(self, timeout: float = 5.0) -> None:
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()

    def _loop(self, sqs: Any) -> None:
        while not self._stopping.is_set():
            try:
                messages = self._collect(sqs)
                if messages:
                    self._process(sqs, messages)
            except Exception as error:  # moto going away at stop, a bad receive...: keep polling
                if not self._stopping.is_set():
                    self._log(f"poller error: {error}")
                    self._stopping.wait(_RETRY_AFTER_ERROR_SECONDS)

    def _receive(self, sqs: Any, count: int, wait: int) -> list[dict[str, Any]]:
        response = sqs.receive_message(
            QueueUrl=self.source.queue_url,
            MaxNumberOfMessages=count,
            WaitTimeSeconds=wait,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages: list[dict[str, Any]] = response.get("Messages", [])
        if messages:
            with self._lock:
                self._in_flight += len(messages)
        return messages

    def _collect(self, sqs: Any) -> list[dict[str, Any]]:
        """A batch: the first receive long-polls, then the batching window fills it up."""
        wanted = self.source.batch_size
        messages = self._receive(sqs, min(_SQS_BATCH_LIMIT, wanted), LONG_POLL_SECONDS)
        if not messages or self.source.batching_window <= 0:
            return messages
        deadline = self._clock() + self.source.batching_window
        while len(messages) < wanted and not self._stopping.is_set():
            remaining = deadline - self._clock()
            if remaining <= 0:
                break
            more = self._receive(
                sqs, min(_SQS_BATCH_LIMIT, wanted - len(messages)), min(LONG_POLL_SECONDS, int(remaining))
            )
            if not more:
                self._stopping.wait(min(0.1, remaining))
            messages.extend(more)
        return messages

    def _process(self, sqs: Any, messages: list[dict[str, Any]]) -> None:
        try:
            records = [sqs_record(m, self.source.queue_arn, self._region) for m in messages]
            result = self._runner.invoke({"Records": records}, f"sqs {self.source.queue}")
            ids = [m["MessageId"] for m in messages]
            failed = failed_message_ids(result, ids, self.source.report_batch_item_failures)
            done = [m for m in messages if m["MessageId"] not in failed]
            self._delete(sqs, done)
            self._account(len(messages), len(done), len(failed))
            if failed:
                cause = "batchItemFailures" if result.ok else (result.error or {}).get("errorType", "error")
                self._log(
                    f"{len(failed)} of {len(messages)} message(s) left on {self.source.queue} ({cause})"
                )
        finally:
            with self._lock:
                self._in_flight -= len(messages)

    def _delete(self, sqs: Any, messages: Sequence[Mapping[str, Any]]) -> None:
        for start in range(0, len(messages), _SQS_BATCH_LIMIT):
            chunk = messages[start : start + _SQS_BATCH_LIMIT]
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)]
            sqs.delete_message_batch(QueueUrl=self.source.queue_url, Entries=entries)

    def _account(self, received: int, deleted: int, failed: int) -> None:
        with self._lock:
            self.stats.batches += 1
            self.stats.received += received
            self.stats.deleted += deleted
            self.stats.failed += failed


# ---------------------------------------------------------------------------------------------
# Queue state and draining


_COUNTS = {
    "ApproximateNumberOfMessages": "visible",
    "ApproximateNumberOfMessagesNotVisible": "inFlight",
    "ApproximateNumberOfMessagesDelayed": "delayed",
}


@dataclass(frozen=True)
class QueueInfo:
    logical_id: str
    url: str
    arn: str


class QueueMonitor:
    """Message counts of the template's queues, and waiting until the event sources are idle."""

    def __init__(
        self,
        queues: Sequence[QueueInfo],
        pollers: Sequence[QueuePoller],
        pool: FunctionPool,
        sqs: Any,
    ) -> None:
        self._queues = list(queues)
        self._pollers = list(pollers)
        self._pool = pool
        self._sqs = sqs
        self._lock = threading.Lock()  # boto3 clients are thread-safe; keep counts consistent anyway
        by_arn = {queue.arn: queue for queue in self._queues}
        self._dead_letter = {queue.logical_id: self._dead_letter_of(queue, by_arn) for queue in self._queues}

    def _dead_letter_of(self, queue: QueueInfo, by_arn: Mapping[str, QueueInfo]) -> QueueInfo | None:
        attributes = self._sqs.get_queue_attributes(QueueUrl=queue.url, AttributeNames=["RedrivePolicy"])
        policy = attributes.get("Attributes", {}).get("RedrivePolicy")
        return by_arn.get(json.loads(policy)["deadLetterTargetArn"]) if policy else None

    def counts(self, queue: QueueInfo) -> dict[str, int]:
        with self._lock:
            response = self._sqs.get_queue_attributes(QueueUrl=queue.url, AttributeNames=list(_COUNTS))
        attributes = response.get("Attributes", {})
        return {label: int(attributes.get(name, 0)) for name, label in _COUNTS.items()}

    def status(self) -> dict[str, Any]:
        """GET /queues: every queue's counts, its dead-letter queue, and its pollers."""
        sources = {poller.source.queue: poller for poller in self._pollers}
        report: dict[str, Any] = {}
        for queue in self._queues:
            entry: dict[str, Any] = {"url": queue.url, "arn": queue.arn, **self.counts(queue)}
            dead_letter = self._dead_letter[queue.logical_id]
            if dead_letter is not None:
                entry["deadLetterQueue"] = {"logicalId": dead_letter.logical_id, **self.counts(dead_letter)}
            poller = sources.get(queue.logical_id)
            if poller is not None:
                entry["eventSource"] = {
                    "function": poller.source.function,
                    "event": poller.source.event,
                    "messagesInInvocation": poller.in_flight,
                    **vars(poller.stats),
                }
            report[queue.logical_id] = entry
        return report

    def pending(self) -> dict[str, Any]:
        """What keeps the stack busy: messages on event-source queues, running invocations."""
        busy: dict[str, Any] = {}
        for poller in self._pollers:
            queue = next(q for q in self._queues if q.logical_id == poller.source.queue)
            counts = {k: v for k, v in self.counts(queue).items() if v}
            if poller.in_flight:
                counts["messagesInInvocation"] = poller.in_flight
            if counts:
                busy[queue.logical_id] = counts
        running = {runner.spec.logical_id: runner.in_flight for runner in self._pool if runner.in_flight}
        if running:
            busy["invocations"] = running
        return busy

    def drain(self, timeout: float, interval: float = 0.05) -> tuple[bool, dict[str, Any]]:
        """Wait until nothing is pending twice in a row (a handler may enqueue as it finishes)."""
        deadline = time.monotonic() + timeout
        quiet = 0
        pending: dict[str, Any] = {}
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                pending = self.pending()
                quiet = 0 if pending else quiet + 1
                if quiet >= 2:
                    return True, {}
            time.sleep(interval)
        return False, pending or self.pending()
