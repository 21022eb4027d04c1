"""Runs a function as Lambda does: execution environments (worker subprocesses) spawned on demand,
kept warm and reused, at most the function's concurrency at once, each killed if it overruns the
function's Timeout. The handler's stdout/stderr are its log stream; invocations travel on a
separate socket so that logs and results never mix.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Literal, TextIO

from local.runtime.model import FunctionSpec

WORKER_SCRIPT = Path(__file__).with_name("worker.py")
# The worker reads the function's role from this file and removes the variable before the handler.
IAM_ROLE_VARIABLE = "_BOOKSYNC_IAM_ROLE"
# Modules a layer the function does not carry ships (FunctionSpec.absent_modules): the worker
# refuses to import them, as Lambda would not find them.
ABSENT_MODULES_VARIABLE = "_BOOKSYNC_ABSENT_MODULES"
# Lambda gives the init phase (imports, module-level setup) 10 seconds.
INIT_TIMEOUT_SECONDS = 10.0
_KILL_WAIT_SECONDS = 5.0

Outcome = Literal["success", "error", "timeout"]


@dataclass(frozen=True)
class InvocationResult:
    request_id: str
    function: str
    trigger: str
    outcome: Outcome
    payload: Any  # the handler's return value, decoded from JSON (None on error)
    error: dict[str, Any] | None  # Lambda's error shape: errorMessage, errorType, stackTrace
    cold: bool
    started_at: datetime
    duration_ms: float
    init_ms: float | None

    @property
    def ok(self) -> bool:
        return self.error is None

    def record(self) -> dict[str, Any]:
        """The entry GET /invocations shows."""
        return {
            "requestId": self.request_id,
            "function": self.function,
            "trigger": self.trigger,
            "startedAt": self.started_at.isoformat(),
            "durationMs": round(self.duration_ms, 2),
            "initMs": None if self.init_ms is None else round(self.init_ms, 2),
            "outcome": self.outcome,
            "start": "cold" if self.cold else "warm",
            "errorType": None if self.error is None else self.error.get("errorType"),
            "errorMessage": None if self.error is None else self.error.get("errorMessage"),
        }


class InvocationJournal:
    """The recent invocations of every function, newest last."""

    def __init__(self, size: int = 2000) -> None:
        self._entries: collections.deque[InvocationResult] = collections.deque(maxlen=size)
        self._lock = threading.Lock()

    def add(self, result: InvocationResult) -> None:
        with self._lock:
            self._entries.append(result)

    def entries(self, function: str | None = None, limit: int | None = None) -> list[InvocationResult]:
        with self._lock:
            found = [entry for entry in self._entries if function is None or entry.function == function]
        return found[-limit:] if limit else found


class LogSink:
    """A function's log stream: .local/logs/<Function>.log, and the console with the function's name."""

    _console_lock = threading.Lock()

    def __init__(self, function: str, path: Path, console: TextIO | None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._prefix = f"[{function}] "
        self._file = path.open("a", encoding="utf-8", buffering=1)
        self._console = console
        self._lock = threading.Lock()

    def write(self, line: str) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.write(line + "\n")
        if self._console is not None:
            with self._console_lock:
                self._console.write(self._prefix + line + "\n")
                self._console.flush()

    def close(self) -> None:
        with self._lock:
            self._file.close()


class _WorkerGone(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("errorMessage"))
        self.error = error


class _Worker:
    """One execution environment: a Python subprocess running local/runtime/worker.py."""

    def __init__(self, spec: FunctionSpec, environment: Mapping[str, str], sink: LogSink) -> None:
        parent, child = socket.socketpair()
        self.process = subprocess.Popen(
            [sys.executable, "-P", str(WORKER_SCRIPT), str(child.fileno())],
            cwd=spec.code_dir,
            env=dict(environment),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            pass_fds=(child.fileno(),),
            # Its own session: a Ctrl-C in the terminal reaches the stack, which stops workers in order.
            start_new_session=True,
        )
        child.close()
        self.connection = Connection(parent.detach())
        self._reader = threading.Thread(
            target=self._pump, args=(sink,), name=f"log-{spec.logical_id}", daemon=True
        )
        self._reader.start()
        self.invocations = 0

    def _pump(self, sink: LogSink) -> None:
        assert self.process.stdout is not None
        for raw in iter(self.process.stdout.readline, b""):
            sink.write(raw.decode("utf-8", errors="replace").rstrip("\r\n"))

    def wait_ready(self, timeout: float) -> None:
        """Block until the handler is imported; raise _WorkerGone with Lambda's init error otherwise."""
        if not self.connection.poll(timeout):
            self.kill()
            raise _WorkerGone(
                {
                    "errorType": "Runtime.InitTimeout",
                    "errorMessage": f"Init timed out after {timeout:.2f} seconds",
                }
            )
        message = self._receive()
        if message["type"] != "ready":
            self.kill()
            raise _WorkerGone(message["error"])

    def run(self, message: Mapping[str, Any], timeout: float) -> dict[str, Any]:
        self.invocations += 1
        self.connection.send_bytes(json.dumps(message).encode())
        if not self.connection.poll(timeout):
            raise TimeoutError
        return self._receive()

    def _receive(self) -> dict[str, Any]:
        try:
            return dict(json.loads(self.connection.recv_bytes()))
        except (EOFError, OSError):
            raise _WorkerGone(self._exit_error()) from None

    def _exit_error(self) -> dict[str, Any]:
        try:
            code = self.process.wait(timeout=_KILL_WAIT_SECONDS)
        except subprocess.TimeoutExpired:
            self.kill()
            code = self.process.returncode
        status = f"signal: {-code}" if code is not None and code < 0 else f"exit status {code}"
        return {"errorType": "Runtime.ExitError", "errorMessage": f"Runtime exited with error: {status}"}

    def max_memory_mb(self) -> int | None:
        """Peak resident memory (VmHWM), for the REPORT line; None where /proc is not there."""
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024
        return None

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=_KILL_WAIT_SECONDS)
        self.connection.close()
        self._reader.join(timeout=1)


@dataclass
class _Counters:
    invocations: int = 0
    cold_starts: int = 0
    errors: int = 0
    timeouts: int = 0
    in_flight: int = 0


class FunctionRunner:
    """All the execution environments of one function."""

    def __init__(
        self,
        spec: FunctionSpec,
        *,
        aws_environment: Mapping[str, str],
        log_dir: Path,
        journal: InvocationJournal,
        console: TextIO | None = None,
        role_file: Path | None = None,
    ) -> None:
        self.spec = spec
        # The function's IAM role (local/runtime/roles.py); None runs it with no IAM checks.
        self._role_file = role_file
        self._aws_environment = dict(aws_environment)
        self._sink = LogSink(spec.logical_id, log_dir / f"{spec.logical_id}.log", console)
        self._journal = journal
        self._slots = threading.BoundedSemaphore(max(spec.concurrency, 1))
        self._idle: list[_Worker] = []
        self._workers: set[_Worker] = set()
        self._lock = threading.Lock()
        self._counters = _Counters()
        self._stopped = False

    # -- invoking

    def invoke(self, event: Any, trigger: str) -> InvocationResult:
        """Run the handler on the event, waiting for a free environment if all are busy."""
        request_id = str(uuid.uuid4())
        self._count(in_flight=1)
        try:
            with self._slots:
                return self._invoke(request_id, json.dumps(event), trigger)
        finally:
            self._count(in_flight=-1)

    def _invoke(self, request_id: str, event: str, trigger: str) -> InvocationResult:
        started_at = datetime.now(UTC)
        clock = time.monotonic()
        try:
            worker, init_ms = self._take_worker()
        except _WorkerGone as gone:
            init_error = {
                **gone.error,
                "requestId": request_id,
                "stackTrace": gone.error.get("stackTrace", []),
            }
            return self._finish(
                request_id, trigger, "error", None, init_error, started_at, clock, init_ms=None, cold=True
            )
        self._sink.write(f"START RequestId: {request_id} Version: $LATEST")
        outcome, payload, error = self._run(worker, request_id, event)
        result = self._finish(
            request_id,
            trigger,
            outcome,
            payload,
            error,
            started_at,
            clock,
            init_ms=init_ms,
            cold=init_ms is not None,
        )
        self._report(worker, result)
        self._release(worker)
        return result

    def _run(
        self, worker: _Worker, request_id: str, event: str
    ) -> tuple[Outcome, Any, dict[str, Any] | None]:
        deadline = time.time() + self.spec.timeout
        message = {
            "requestId": request_id,
            "event": event,
            "deadlineMs": int(deadline * 1000),
            "invokedFunctionArn": self.spec.arn,
            "traceId": _trace_id(),
        }
        try:
            reply = worker.run(message, self.spec.timeout)
        except TimeoutError:
            worker.kill()
            text = f"Task timed out after {self.spec.timeout:.2f} seconds"
            self._sink.write(f"{datetime.now(UTC).isoformat()} {request_id} {text}")
            return (
                "timeout",
                None,
                _lambda_error(request_id, "Sandbox.Timedout", f"RequestId: {request_id} Error: {text}"),
            )
        except _WorkerGone as gone:
            message_text = f"RequestId: {request_id} Error: {gone.error['errorMessage']}"
            return "error", None, _lambda_error(request_id, gone.error["errorType"], message_text)
        if reply["type"] == "result":
            return "success", json.loads(reply["payload"]), None
        return "error", None, reply["error"]

    def _finish(
        self,
        request_id: str,
        trigger: str,
        outcome: Outcome,
        payload: Any,
        error: dict[str, Any] | None,
        started_at: datetime,
        clock: float,
        *,
        init_ms: float | None,
        cold: bool,
    ) -> InvocationResult:
        result = InvocationResult(
            request_id=request_id,
            function=self.spec.logical_id,
            trigger=trigger,
            outcome=outcome,
            payload=payload,
            error=error,
            cold=cold,
            started_at=started_at,
            duration_ms=(time.monotonic() - clock) * 1000 - (init_ms or 0),
            init_ms=init_ms,
        )
        self._count(
            invocations=1,
            cold_starts=int(cold),
            errors=int(outcome == "error"),
            timeouts=int(outcome == "timeout"),
        )
        self._journal.add(result)
        return result

    def _report(self, worker: _Worker, result: InvocationResult) -> None:
        self._sink.write(f"END RequestId: {result.request_id}")
        memory = worker.max_memory_mb()
        parts = [
            f"REPORT RequestId: {result.request_id}",
            f"Duration: {result.duration_ms:.2f} ms",
            f"Billed Duration: {int(result.duration_ms) + 1} ms",
            f"Memory Size: {self.spec.memory} MB",
        ]
        if memory is not None:
            parts.append(f"Max Memory Used: {memory} MB")
        if result.init_ms is not None:
            parts.append(f"Init Duration: {result.init_ms:.2f} ms")
        if result.outcome == "timeout":
            parts.append("Status: timeout")
        self._sink.write("\t".join(parts))

    # -- environments

    def _take_worker(self) -> tuple[_Worker, float | None]:
        """A warm environment if one is idle (init None), else a new one and its init time."""
        with self._lock:
            if self._stopped:
                raise _stopping()
            while self._idle:
                worker = self._idle.pop()
                if worker.alive:
                    return worker, None
                self._workers.discard(worker)
        started = time.monotonic()
        worker = _Worker(self.spec, self._environment(), self._sink)
        with self._lock:
            stopped = self._stopped
            if not stopped:
                self._workers.add(worker)
        if stopped:  # stopped while it started: stop() did not see it, so it must not run
            worker.kill()
            raise _stopping()
        try:
            worker.wait_ready(INIT_TIMEOUT_SECONDS)
        except _WorkerGone:
            with self._lock:
                self._workers.discard(worker)
            raise
        return worker, (time.monotonic() - started) * 1000

    def _release(self, worker: _Worker) -> None:
        with self._lock:
            if worker.alive and not self._stopped:
                self._idle.append(worker)
                return
            self._workers.discard(worker)
        worker.kill()

    def _environment(self) -> dict[str, str]:
        """The template's variables, then what Lambda itself sets (reserved: it wins)."""
        spec = self.spec
        stream = f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
        reserved = {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "PYTHONPATH": os.pathsep.join(str(p) for p in (spec.code_dir, *spec.layer_dirs)),
            "PYTHONUNBUFFERED": "1",
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "LAMBDA_TASK_ROOT": str(spec.code_dir),
            "LAMBDA_RUNTIME_DIR": str(WORKER_SCRIPT.parent),
            "_HANDLER": spec.handler,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(int(spec.timeout)),
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": stream,
            **self._aws_environment,
        }
        if self._role_file is not None:
            reserved[IAM_ROLE_VARIABLE] = str(self._role_file)
        if spec.absent_modules:
            reserved[ABSENT_MODULES_VARIABLE] = ",".join(spec.absent_modules)
        # No X-Ray daemon runs locally; a template may still turn tracing on explicitly.
        defaults = {"POWERTOOLS_TRACE_DISABLED": "true"}
        return {**defaults, **spec.environment, **reserved}

    # -- state

    def _count(self, **deltas: int) -> None:
        with self._lock:
            for name, delta in deltas.items():
                setattr(self._counters, name, getattr(self._counters, name) + delta)

    @property
    def in_flight(self) -> int:
        with self._lock:
            return self._counters.in_flight

    def stats(self) -> dict[str, Any]:
        with self._lock:
            counters = self._counters
            return {
                "environments": len(self._workers),
                "workerPids": sorted(worker.process.pid for worker in self._workers),
                "idle": len(self._idle),
                "inFlight": counters.in_flight,
                "invocations": counters.invocations,
                "coldStarts": counters.cold_starts,
                "errors": counters.errors,
                "timeouts": counters.timeouts,
            }

    def worker_pids(self) -> list[int]:
        with self._lock:
            return [worker.process.pid for worker in self._workers]

    def stop(self) -> None:
        """Kill every environment (an invocation still running ends with Runtime.ExitError)."""
        with self._lock:
            self._stopped = True
            workers = list(self._workers)
            self._workers.clear()
            self._idle.clear()
        for worker in workers:
            worker.kill()
        self._sink.close()


def _stopping() -> _WorkerGone:
    return _WorkerGone({"errorType": "Runtime.Stopped", "errorMessage": "the local stack is stopping"})


def _lambda_error(request_id: str, error_type: str, message: str) -> dict[str, Any]:
    return {"errorMessage": message, "errorType": error_type, "requestId": request_id, "stackTrace": []}


def _trace_id() -> str:
    """An X-Ray trace header as Lambda sets it in _X_AMZN_TRACE_ID."""
    return f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Parent={uuid.uuid4().hex[:16]};Sampled=0"


@dataclass
class FunctionPool:
    """Every function of the stack, and a thread pool for callers that must not block (the gateway)."""

    runners: dict[str, FunctionRunner]
    _executor: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(64, "invoke"))

    def __getitem__(self, logical_id: str) -> FunctionRunner:
        return self.runners[logical_id]

    def __contains__(self, logical_id: object) -> bool:
        return logical_id in self.runners

    def __iter__(self) -> Iterator[FunctionRunner]:
        return iter(self.runners.values())

    def submit(self, logical_id: str, event: Any, trigger: str) -> Future[InvocationResult]:
        return self._executor.submit(self.runners[logical_id].invoke, event, trigger)

    @property
    def in_flight(self) -> int:
        return sum(runner.in_flight for runner in self.runners.values())

    def stop(self) -> None:
        for runner in self.runners.values():
            runner.stop()
        self._executor.shutdown(wait=False, cancel_futures=True)
