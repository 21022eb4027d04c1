"""One Lambda execution environment: imports the handler once, then runs invocations until told to stop.

Started by ``local.runtime.functions`` as ``python worker.py FD``. Invocations arrive as JSON over
the inherited socket FD (a multiprocessing Connection), never over stdin/stdout: those belong to
the handler and its logs, exactly as in Lambda. Only the standard library is imported here, so the
function sees the import path Lambda gives it (code folder, then layers) and nothing of the runtime.
"""

from __future__ import annotations

import decimal
import importlib
import importlib.util
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

Handler = Callable[[Any, Any], Any]


class LambdaContext:
    """The context object of the Python runtime (awslambdaric), same attributes and types."""

    def __init__(self, request_id: str, deadline_ms: int, invoked_function_arn: str) -> None:
        self.aws_request_id = request_id
        self.invoked_function_arn = invoked_function_arn
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        # A string, as in Lambda's Python runtime.
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(self._deadline_ms - int(time.time() * 1000), 0)

    def log(self, message: str) -> None:
        sys.stdout.write(message)
        sys.stdout.flush()

    def __repr__(self) -> str:
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},function_name={self.function_name},"
            f"function_version={self.function_version},invoked_function_arn={self.invoked_function_arn}])"
        )


def _error(
    message: str, error_type: str, request_id: str = "", stack: list[str] | None = None
) -> dict[str, Any]:
    return {
        "errorMessage": message,
        "errorType": error_type,
        "requestId": request_id,
        "stackTrace": stack or [],
    }


def _handler_frames(error: BaseException) -> list[str]:
    """The traceback from the handler down: Lambda's trace does not show the runtime that called it."""
    frames = traceback.extract_tb(error.__traceback__)
    return traceback.format_list([frame for frame in frames if frame.filename != __file__])


def _exception_error(error: BaseException, request_id: str = "") -> dict[str, Any]:
    return _error(str(error), type(error).__name__, request_id, _handler_frames(error))


def _log_exception(error: BaseException) -> None:
    """What the Python runtime writes to the log for an unhandled exception."""
    trace = "".join(_handler_frames(error))
    sys.stderr.write(f"[ERROR] {type(error).__name__}: {error}\nTraceback (most recent call last):\n{trace}")
    sys.stderr.flush()


def load_handler(spec: str) -> Handler:
    """Import ``module.function`` (folders allowed: ``pkg/mod.fn``) as the Python runtime does."""
    module_name, _, function_name = spec.rpartition(".")
    if not module_name:
        raise _InitError(
            _error(f"Bad handler '{spec}': not enough values to unpack", "Runtime.MalformedHandlerName")
        )
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as error:
        raise _InitError(
            _error(f"Unable to import module '{module_name}': {error}", "Runtime.ImportModuleError")
        ) from error
    except Exception as error:
        _log_exception(error)
        raise _InitError(_exception_error(error)) from error
    handler = getattr(module, function_name, None)
    if handler is None:
        raise _InitError(
            _error(f"Handler '{function_name}' missing on module '{module_name}'", "Runtime.HandlerNotFound")
        )
    return handler  # type: ignore[no-any-return]


class _InitError(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error["errorMessage"])
        self.error = error


class _LambdaEncoder(json.JSONEncoder):
    """Lambda's Python runtime serialises Decimal as a JSON number."""

    def default(self, o: Any) -> Any:
        if isinstance(o, decimal.Decimal):
            return int(o) if o == o.to_integral_value() else float(o)
        return super().default(o)


def invoke(handler: Handler, message: dict[str, Any]) -> dict[str, Any]:
    request_id = message["requestId"]
    os.environ["_X_AMZN_TRACE_ID"] = message["traceId"]
    context = LambdaContext(request_id, message["deadlineMs"], message["invokedFunctionArn"])
    try:
        result = handler(json.loads(message["event"]), context)
    except Exception as error:
        _log_exception(error)
        return {"type": "error", "error": _exception_error(error, request_id)}
    try:
        payload = json.dumps(result, cls=_LambdaEncoder, ensure_ascii=False)
    except (TypeError, ValueError) as error:
        return {
            "type": "error",
            "error": _error(f"Unable to marshal response: {error}", "Runtime.MarshalError", request_id),
        }
    return {"type": "result", "payload": payload}


def serve(connection: Connection, handler_spec: str) -> int:
    try:
        handler = load_handler(handler_spec)
    except _InitError as error:
        connection.send_bytes(json.dumps({"type": "init_error", "error": error.error}).encode())
        return 1
    connection.send_bytes(json.dumps({"type": "ready"}).encode())
    while True:
        try:
            message = json.loads(connection.recv_bytes())
        except EOFError:  # the runtime went away: so does the environment
            return 0
        # Flush what the handler printed before answering, so its logs precede the result.
        reply = invoke(handler, message)
        sys.stdout.flush()
        sys.stderr.flush()
        connection.send_bytes(json.dumps(reply).encode())


def enforce_iam(role_file: str) -> None:
    """Load local/runtime/iam.py by path (the runtime is not on the function's import path) and
    make every botocore client of this process ask the function's role before each call."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "iam.py")
    spec = importlib.util.spec_from_file_location("_booksync_local_iam", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    module.install(role_file)


class AbsentModules:
    """A meta path finder refusing the modules of a layer the function does not carry: locally
    every package is in .venv, on Lambda such an import fails (ModuleNotFoundError, as there)."""

    def __init__(self, names: set[str]) -> None:
        self.names = names

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        if fullname.split(".", 1)[0] in self.names:
            raise ModuleNotFoundError(
                f"No module named {fullname!r}: a layer of template.yaml ships it and "
                f"{os.environ.get('AWS_LAMBDA_FUNCTION_NAME')} does not carry that layer "
                "(add it to the function's Layers)",
                name=fullname,
            )


def main() -> int:
    # Started with `python -P`: sys.path begins with PYTHONPATH (code folder, then layers), as in Lambda.
    connection = Connection(int(sys.argv[1]))
    role_file = os.environ.pop("_BOOKSYNC_IAM_ROLE", None)
    if role_file:
        enforce_iam(role_file)
    absent = os.environ.pop("_BOOKSYNC_ABSENT_MODULES", "")
    if absent:
        sys.meta_path.insert(0, AbsentModules(set(absent.split(","))))
    return serve(connection, os.environ["_HANDLER"])


if __name__ == "__main__":
    sys.exit(main())
