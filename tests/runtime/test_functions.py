"""Functions in worker subprocesses: context, environment, warm reuse, errors, timeouts, logs, concurrency."""

from __future__ import annotations

import io
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from local.runtime import functions
from local.runtime.functions import FunctionRunner, InvocationJournal
from local.runtime.model import FunctionSpec
from tests.runtime.conftest import FIXTURES

ECHO = FunctionSpec(
    logical_id="Echo",
    name="test-Echo",
    arn="arn:aws:lambda:us-east-1:123456789012:function:test-Echo",
    code_dir=FIXTURES / "functions" / "echo",
    handler="app.handler",
    runtime="python3.12",
    timeout=1.0,
    memory=256,
    concurrency=2,
    environment={"ONLY_ECHO": "1", "AWS_LAMBDA_FUNCTION_NAME": "spoofed"},
    layer_dirs=(FIXTURES / "layer" / "python",),
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A killed child stays a zombie until reaped; the runner reaps it, so a zombie is a bug too.
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "zombie" in status.read_text())


@pytest.fixture
def console() -> io.StringIO:
    return io.StringIO()


@pytest.fixture
def journal() -> InvocationJournal:
    return InvocationJournal()


@pytest.fixture
def runner(tmp_path: Path, console: io.StringIO, journal: InvocationJournal) -> Iterator[FunctionRunner]:
    running = FunctionRunner(
        ECHO,
        aws_environment={"AWS_ENDPOINT_URL": "http://127.0.0.1:1"},
        log_dir=tmp_path,
        journal=journal,
        console=console,
    )
    yield running
    running.stop()


def test_context_and_import_path(runner: FunctionRunner) -> None:
    result = runner.invoke({"action": "context"}, "test")
    assert result.ok, result.error
    context = result.payload
    assert context["aws_request_id"] == result.request_id
    assert context["function_name"] == "test-Echo"
    assert context["function_version"] == "$LATEST"
    assert context["invoked_function_arn"] == ECHO.arn
    assert context["memory_limit_in_mb"] == "256"
    assert context["log_group_name"] == "/aws/lambda/test-Echo"
    assert "[$LATEST]" in context["log_stream_name"]
    assert 0 < context["remaining_ms"] <= 1000
    # Code folder first, then the layer, as /var/task then /opt/python; cwd is the code folder.
    assert context["sys_path"][:2] == [str(ECHO.code_dir), str(FIXTURES / "layer" / "python")]
    assert context["cwd"] == str(ECHO.code_dir)


def test_environment_is_the_functions_own(
    tmp_path: Path, runner: FunctionRunner, monkeypatch: pytest.MonkeyPatch, journal: InvocationJournal
) -> None:
    monkeypatch.setenv("LEAKED_FROM_THE_STACK", "x")
    other = FunctionRunner(
        replace(ECHO, logical_id="Other", name="test-Other", environment={"ONLY_OTHER": "1"}),
        aws_environment={"AWS_ENDPOINT_URL": "http://127.0.0.1:1"},
        log_dir=tmp_path,
        journal=journal,
    )
    try:
        mine = runner.invoke({"action": "env"}, "test").payload
        theirs = other.invoke({"action": "env"}, "test").payload
    finally:
        other.stop()
    assert mine["ONLY_ECHO"] == "1"
    assert "ONLY_OTHER" not in mine
    assert theirs["ONLY_OTHER"] == "1"
    assert "ONLY_ECHO" not in theirs
    assert "LEAKED_FROM_THE_STACK" not in mine
    # Lambda's reserved variables win over the template's.
    assert mine["AWS_LAMBDA_FUNCTION_NAME"] == "test-Echo"
    assert mine["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert mine["AWS_LAMBDA_FUNCTION_TIMEOUT"] == "1"
    assert mine["AWS_ENDPOINT_URL"] == "http://127.0.0.1:1"
    assert mine["_HANDLER"] == "app.handler"
    assert mine["_X_AMZN_TRACE_ID"].startswith("Root=1-")


def test_a_layer_the_function_does_not_carry_cannot_be_imported(
    tmp_path: Path, runner: FunctionRunner, journal: InvocationJournal
) -> None:
    """Locally every package is in .venv; a module of a layer the function does not carry
    (FunctionSpec.absent_modules, e.g. numpy outside MemoryLayer) fails to import as on Lambda."""
    without = FunctionRunner(
        replace(ECHO, logical_id="Without", name="test-Without", absent_modules=("numpy",)),
        aws_environment={"AWS_ENDPOINT_URL": "http://127.0.0.1:1"},
        log_dir=tmp_path,
        journal=journal,
    )
    try:
        refused = without.invoke({"action": "import", "module": "numpy.linalg"}, "test").payload
        other = without.invoke({"action": "import", "module": "json"}, "test").payload
        env = without.invoke({"action": "env"}, "test").payload
    finally:
        without.stop()
    assert refused["imported"] is False
    assert "test-Without does not carry that layer" in refused["error"]
    assert other == {"imported": True}
    assert "_BOOKSYNC_ABSENT_MODULES" not in env  # the worker's own, gone before the handler
    assert runner.invoke({"action": "import", "module": "numpy"}, "test").payload == {"imported": True}


def test_warm_reuse_and_cold_start(runner: FunctionRunner) -> None:
    first = runner.invoke({"action": "pid"}, "test")
    second = runner.invoke({"action": "pid"}, "test")
    assert first.cold and first.init_ms is not None
    assert not second.cold and second.init_ms is None
    assert first.payload["pid"] == second.payload["pid"] == first.payload["cold_pid"]


def test_handler_exception_has_lambdas_error_shape_and_keeps_the_environment(runner: FunctionRunner) -> None:
    pid = runner.invoke({"action": "pid"}, "test").payload["pid"]
    result = runner.invoke({"action": "raise"}, "test")
    assert result.outcome == "error"
    assert result.error is not None
    assert result.error["errorType"] == "ValueError"
    assert result.error["errorMessage"] == "raised on request"
    assert result.error["requestId"] == result.request_id
    trace = result.error["stackTrace"]
    assert trace and all(isinstance(line, str) for line in trace)
    assert "app.py" in trace[-1] and "worker.py" not in "".join(trace)
    assert runner.invoke({"action": "pid"}, "test").payload["pid"] == pid


def test_timeout_kills_and_replaces_the_environment(runner: FunctionRunner, tmp_path: Path) -> None:
    pid = runner.invoke({"action": "pid"}, "test").payload["pid"]
    # Killed at its 1 s Timeout, not after the 60 s it asked to sleep: a bound half way between
    # leaves a busy machine 29 s of slack.
    started = time.monotonic()
    result = runner.invoke({"action": "sleep", "seconds": 60}, "test")
    assert time.monotonic() - started < 30
    assert result.outcome == "timeout"
    assert result.error is not None
    assert result.error["errorType"] == "Sandbox.Timedout"
    assert (
        result.error["errorMessage"]
        == f"RequestId: {result.request_id} Error: Task timed out after 1.00 seconds"
    )
    assert not _alive(pid)
    after = runner.invoke({"action": "pid"}, "test")
    assert after.cold
    assert after.payload["pid"] != pid
    assert "Task timed out after 1.00 seconds" in (tmp_path / "Echo.log").read_text()


def test_crash_is_an_exit_error(runner: FunctionRunner) -> None:
    result = runner.invoke({"action": "exit"}, "test")
    assert result.error is not None
    assert result.error["errorType"] == "Runtime.ExitError"
    assert result.error["errorMessage"].endswith("Runtime exited with error: exit status 7")
    assert runner.invoke({"action": "pid"}, "test").cold


def test_unserializable_result_is_a_marshal_error(runner: FunctionRunner) -> None:
    result = runner.invoke({"action": "unserializable"}, "test")
    assert result.error is not None
    assert result.error["errorType"] == "Runtime.MarshalError"
    assert "not JSON serializable" in result.error["errorMessage"]


def test_decimal_results_are_numbers(runner: FunctionRunner) -> None:
    assert runner.invoke({"action": "decimal"}, "test").payload == {"amount": 12.5, "count": 3}


@pytest.mark.parametrize(
    ("handler", "error_type", "message"),
    [
        ("missing.handler", "Runtime.ImportModuleError", "Unable to import module 'missing'"),
        ("app.nope", "Runtime.HandlerNotFound", "Handler 'nope' missing on module 'app'"),
        ("nodot", "Runtime.MalformedHandlerName", "Bad handler 'nodot'"),
    ],
)
def test_init_errors(
    tmp_path: Path, journal: InvocationJournal, handler: str, error_type: str, message: str
) -> None:
    broken = FunctionRunner(
        replace(ECHO, handler=handler), aws_environment={}, log_dir=tmp_path, journal=journal
    )
    try:
        result = broken.invoke({}, "test")
    finally:
        broken.stop()
    assert result.error is not None
    assert result.error["errorType"] == error_type
    assert message in result.error["errorMessage"]
    assert broken.stats()["environments"] == 0


def test_logs_go_to_the_file_and_the_prefixed_console(
    runner: FunctionRunner, console: io.StringIO, tmp_path: Path
) -> None:
    result = runner.invoke({"action": "log"}, "test")
    runner.invoke({"action": "pid"}, "test")  # the log pump is asynchronous: let it catch up
    deadline = time.monotonic() + 5
    while "to stderr" not in console.getvalue() and time.monotonic() < deadline:
        time.sleep(0.02)
    logged = (tmp_path / "Echo.log").read_text()
    for line in (
        "to stdout",
        "to stderr",
        f"START RequestId: {result.request_id}",
        f"END RequestId: {result.request_id}",
    ):
        assert line in logged
        assert f"[Echo] {line}" in console.getvalue()
    assert f"REPORT RequestId: {result.request_id}\tDuration:" in logged
    # The result travelled on its own channel: nothing of it leaked into the log.
    assert '"logged"' not in logged


def test_concurrency_is_bounded(runner: FunctionRunner, journal: InvocationJournal) -> None:
    results = []

    def call() -> None:
        results.append(runner.invoke({"action": "sleep", "seconds": 0.4}, "test"))

    threads = [threading.Thread(target=call) for _ in range(3)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    assert all(result.ok for result in results)
    assert len({result.payload["pid"] for result in results}) == 2  # two environments, one reused
    assert elapsed >= 0.8  # the third call waited for a free environment
    assert runner.stats()["environments"] == 2
    assert len(journal.entries("Echo")) == 3


def test_stop_kills_every_environment(runner: FunctionRunner) -> None:
    runner.invoke({"action": "pid"}, "test")
    pids = runner.worker_pids()
    assert pids
    runner.stop()
    assert not any(_alive(pid) for pid in pids)
    assert runner.invoke({"action": "pid"}, "test").error is not None


def test_an_environment_started_while_the_runner_stops_is_killed_not_run(
    runner: FunctionRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """stop() kills the environments it sees; one whose start it raced must not outlive it and run
    the invocation (CI: a stopped stack's catalog step ran in such a worker, beside the next stack)."""
    made: list[functions._Worker] = []
    real = functions._Worker

    def starting(*args: object, **kwargs: object) -> functions._Worker:
        runner.stop()  # the stack stops while this environment starts
        made.append(real(*args, **kwargs))  # type: ignore[arg-type]
        return made[-1]

    monkeypatch.setattr(functions, "_Worker", starting)
    result = runner.invoke({"action": "pid"}, "test")
    assert result.error is not None and result.error["errorType"] == "Runtime.Stopped", result
    assert made and not _alive(made[0].process.pid)
