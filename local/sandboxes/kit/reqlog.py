"""The request log tests and the demo read: what was asked, of which account, and what came back.

Bodies are never kept, headers only those a sandbox names, and query parameters that could carry
a secret are masked. Each sandbox names the fields as its provider would (``LogShape``: QuickBooks
logs a ``realm`` and ``intuit_tid``, Square a ``merchant_id`` and ``square_version``).
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from time import monotonic
from typing import Any

from local.sandboxes.kit.faults import CallInfo
from local.sandboxes.kit.wire import Request

_SECRET_PARAMS = {"access_token", "refresh_token", "code", "client_secret", "token", "id_token"}
# A long `make dev` session keeps the most recent entries only.
MAX_ENTRIES = 20_000


@dataclass(frozen=True)
class LogShape:
    """The names of an entry's provider-flavoured fields."""

    account_key: str  # the account a call concerns (CallInfo.realm): "realm", "merchant_id"
    trace_header: str  # the header each answer carries a trace id in, also the entry's key
    fault_key: str = "fault_code"  # the provider's error code of the answer
    query_fields: tuple[str, ...] = ()  # query parameters shown as fields of their own
    header_fields: tuple[tuple[str, str], ...] = ()  # (key, header) shown as fields of their own


@dataclass
class LogEntry:
    seq: int
    time: str
    method: str
    path: str
    query: dict[str, str]
    entity: str | None
    operation: str
    account: str | None
    batch_items: list[dict[str, str | None]]
    headers: dict[str, str | None]
    status: int | None = None
    fault_code: str | None = None
    injected: str | None = None  # the fault action that answered (or swallowed the answer)
    delivered: bool = True
    # With a commit_then_* fault: the status of the answer the work produced, which was lost.
    committed_status: int | None = None
    replayed: bool = False  # answered from an idempotency store, nothing applied
    trace_id: str | None = None
    duration_ms: float | None = None
    started: float = field(default_factory=monotonic, repr=False)

    def public(self, shape: LogShape) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time": self.time,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "entity": self.entity,
            "operation": self.operation,
            shape.account_key: self.account,
            "batch_items": self.batch_items,
            "status": self.status,
            shape.fault_key: self.fault_code,
            "injected": self.injected,
            "delivered": self.delivered,
            "committed_status": self.committed_status,
            "replayed": self.replayed,
            shape.trace_header: self.trace_id,
            "duration_ms": self.duration_ms,
            **{name: self.query.get(name) for name in shape.query_fields},
            **self.headers,
        }


class RequestLog:
    def __init__(self, shape: LogShape) -> None:
        self.shape = shape
        self._lock = threading.Lock()
        self._entries: list[LogEntry] = []
        self._seq = itertools.count(1)

    def start(self, request: Request, call: CallInfo, now: str) -> LogEntry:
        query = {
            key: ("***" if key in _SECRET_PARAMS else values[0]) for key, values in request.query.items()
        }
        items = [{"entity": entity, "operation": operation} for entity, operation in call.batch_items]
        headers = {key: request.header(header) for key, header in self.shape.header_fields}
        entry = LogEntry(
            next(self._seq),
            now,
            request.method,
            request.path,
            query,
            call.entity,
            call.operation,
            call.realm,
            items,
            headers,
        )
        with self._lock:
            self._entries.append(entry)
            if len(self._entries) > MAX_ENTRIES:
                del self._entries[: len(self._entries) - MAX_ENTRIES]
        return entry

    def finish(self, entry: LogEntry, status: int | None, fault_code: str | None) -> None:
        entry.status = status
        entry.fault_code = fault_code
        entry.duration_ms = round((monotonic() - entry.started) * 1000, 2)

    def entries(self, account: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [
                entry.public(self.shape)
                for entry in self._entries
                if account is None or entry.account == account
            ]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
