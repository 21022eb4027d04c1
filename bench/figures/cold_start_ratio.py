"""Cold-start cost of each function's module, relative to importing boto3.

For every function in template.yaml: the median whole-process wall time of
`python -c "import <handler module>"` (PYTHONPATH = the function's CodeUri and the shared
layer's python/, an environment that satisfies its settings, no network), divided by the
median of a bare `python -c "import boto3"`. The ratio cancels out the machine's speed;
boto3 is what every Python Lambda pays for anyway.

Both commands run alternately, after warm-up runs, so the OS file cache and CPU frequency
treat them alike. Bytecode caches exist for both (site-packages and the warm-up), so this is
the import work itself, not compilation.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.figure import Figure, Goal
from bench.template import ROOT, FunctionSpec, functions, load, parameter_default

RUNS = 15
WARM_UP = 2
TIMEOUT_SECONDS = 120
SHARED_LAYER_PYTHON = ROOT / "layers" / "shared" / "python"

# The management API (FastAPI) may cost more; everything on a latency budget (queue, schedule,
# webhooks that must answer within the provider's deadline) gets the tighter goal.
API_GOAL = Goal("<=", 2.5)
WORKER_GOAL = Goal("<=", 1.5)

# Plausible local values for the environment template.yaml gives the functions. Literal values
# in the template and parameter defaults are used as they are; these fill in the rest.
PLAUSIBLE: dict[str, str] = {
    "STAGE": "dev",
    "TOKEN_KEY_ID": "5b0e9a8c-3f0d-4c1e-9a57-6f0f3e7d2b41",
    "QBO_CLIENT_ID": "ABq7Lm2ZpR4bench0ClientId9Xy",
    "QBO_CLIENT_SECRET_PARAM": "/booksync/dev/quickbooks/client-secret",
    "PUBLIC_API_BASE_URL": "http://127.0.0.1:3000",
    "APP_RETURN_URL": "http://127.0.0.1:5173/settings/integrations",
    "QBO_WEBHOOK_VERIFIER_PARAM": "/booksync/dev/quickbooks/webhook-verifier-token",
    "SQUARE_APPLICATION_ID": "sandbox-sq0idb-benchApplicationId",
    "SQUARE_APPLICATION_SECRET_PARAM": "/booksync/dev/square/application-secret",
    "SQUARE_WEBHOOK_SIGNATURE_KEY_PARAM": "/booksync/dev/square/webhook-signature-key",
    "SQUARE_WEBHOOK_NOTIFICATION_URL": "https://api.example.com/webhooks/square",
    "XERO_CLIENT_ID": "0A1B2C3D4E5F6A7B8C9D0E1F2A3B4C5D",
    "XERO_CLIENT_SECRET_PARAM": "/booksync/dev/xero/client-secret",
    "XERO_WEBHOOK_KEY_PARAM": "/booksync/dev/xero/webhook-key",
    "FRESHBOOKS_CLIENT_ID": "fbBenchClientId0123456789abcdef",
    "FRESHBOOKS_CLIENT_SECRET_PARAM": "/booksync/dev/freshbooks/client-secret",
}

# Credentials and endpoints that keep the AWS SDKs off the network: nothing listens on the
# discard port, and instance metadata is never asked for credentials.
OFFLINE_AWS: dict[str, str] = {
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
}


def plausible_value(name: str, value: Any, document: dict[str, Any]) -> str:
    if isinstance(value, str | int | float):
        return str(value)
    default = parameter_default(document, value)
    if default is not None:
        return default
    if name in PLAUSIBLE:
        return PLAUSIBLE[name]
    stem = name.lower().removesuffix("_table").removesuffix("_queue_url").replace("_", "-")
    if name.endswith("_TABLE"):
        return f"booksync-bench-{stem}"
    if name.endswith("_QUEUE_URL"):
        return f"http://127.0.0.1:4566/000000000000/booksync-bench-{stem}"
    raise ValueError(f"no plausible local value for {name}; add one to PLAUSIBLE in {Path(__file__).name}")


def unset_by_default(value: Any, document: dict[str, Any]) -> bool:
    """`!If [Has<P>, !Ref <P>, !Ref AWS::NoValue]` with <P> empty by default: a default deployment
    leaves the variable unset."""
    if not (isinstance(value, dict) and set(value) == {"Fn::If"}):
        return False
    _condition, when_set, otherwise = value["Fn::If"]
    return otherwise == {"Ref": "AWS::NoValue"} and parameter_default(document, when_set) is None


def base_environment() -> dict[str, str]:
    keep = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "SYSTEMROOT") if k in os.environ}
    return keep | OFFLINE_AWS


def function_environment(spec: FunctionSpec, document: dict[str, Any]) -> dict[str, str]:
    env = base_environment()
    env |= {
        name: plausible_value(name, value, document)
        for name, value in spec.environment.items()
        if name in PLAUSIBLE or not unset_by_default(value, document)
    }
    env |= {
        "AWS_LAMBDA_FUNCTION_NAME": f"booksync-bench-{spec.short_name}",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "PYTHONPATH": os.pathsep.join([str(spec.code_dir), str(SHARED_LAYER_PYTHON)]),
    }
    return env


def goal_for(spec: FunctionSpec) -> Goal:
    serves_api = any(not path.startswith("/webhooks/") for path in spec.http_paths)
    return API_GOAL if serves_api else WORKER_GOAL


def _timed(code: str, env: dict[str, str], cwd: str) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise RuntimeError(f"`python -c {code!r}` failed: {last}")
    return elapsed


def measure_function(spec: FunctionSpec, document: dict[str, Any]) -> Figure:
    name = f"cold_start_ratio.{spec.short_name}"
    goal = goal_for(spec)
    if spec.handler_path is None:
        relative = spec.code_dir.relative_to(ROOT) / f"{spec.handler_module.replace('.', '/')}.py"
        return Figure(name, None, "x", goal, error=f"missing: {relative} does not exist yet")
    try:
        env = function_environment(spec, document)
    except ValueError as exc:
        return Figure(name, None, "x", goal, error=str(exc))
    baseline_env = base_environment()
    handler_code = f"import {spec.handler_module}"
    # An empty working directory, so `-c`'s sys.path[0] finds nothing of the repository.
    with tempfile.TemporaryDirectory(prefix="booksync-bench-") as cwd:
        try:
            for _ in range(WARM_UP):
                _timed("import boto3", baseline_env, cwd)
                _timed(handler_code, env, cwd)
            baseline: list[float] = []
            handler: list[float] = []
            for _ in range(RUNS):
                baseline.append(_timed("import boto3", baseline_env, cwd))
                handler.append(_timed(handler_code, env, cwd))
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            return Figure(name, None, "x", goal, error=str(exc))
    handler_ms, baseline_ms = statistics.median(handler) * 1000, statistics.median(baseline) * 1000
    return Figure(
        name,
        round(handler_ms / baseline_ms, 3),
        "x",
        goal,
        note=f"median of {RUNS}: import {spec.handler_module} {handler_ms:.0f} ms, "
        f"import boto3 {baseline_ms:.0f} ms",
    )


def measure() -> list[Figure]:
    document = load()
    return [measure_function(spec, document) for spec in functions(document)]
