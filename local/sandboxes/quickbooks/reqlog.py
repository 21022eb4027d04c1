"""The request log tests and the demo read: what was asked, of which company, and what came back.

Bodies and headers are never kept, and query parameters that could carry a secret are masked.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from time import monotonic
from typing import Any

from local.sandboxes.quickbooks.faults import CallInfo
from local.sandboxes.quickbooks.wire import Request

_SECRET_PARAMS = {"access_token", "refresh_token", "code", "client_secret", "token", "id_token"}
# A long `make dev` session keeps the most recent entries only.
MAX_ENTRIES = 20_000


@dataclass
class LogEntry:
    seq: int
    time: str
    method: str
    path: str
    query: dict[str, str]
    entity: str | None
    operation: str
    realm: str | None
    batch_items: list[dict[str, str | None]]
    status: int | None = None
    fault_code: str | None = None
    injected: str | None = None  # the fault action that answered (or swallowed the answer)
    delivered: bool = True
    # With a commit_then_* fault: the status of the answer the work produced, which was lost.
    committed_status: int | None = None
    replayed: bool = False  # answered from the requestid store, nothing applied
    intuit_tid: str | None = None
    duration_ms: float | None = None
    started: float = field(default_factory=monotonic, repr=False)

    def public(self) -> dict[str, Any]:
        data = {key: value for key, value in self.__dict__.items() if key != "started"}
        data["requestid"] = self.query.get("requestid")
        data["minorversion"] = self.query.get("minorversion")
        return data


class RequestLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[LogEntry] = []
        self._seq = itertools.count(1)

    def start(self, request: Request, call: CallInfo, now: str) -> LogEntry:
        query = {
            key: ("***" if key in _SECRET_PARAMS else values[0]) for key, values in request.query.items()
        }
        items = [{"entity": entity, "operation": operation} for entity, operation in call.batch_items]
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

    def entries(self, realm: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [entry.public() for entry in self._entries if realm is None or entry.realm == realm]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
