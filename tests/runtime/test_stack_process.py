"""`python -m local.stack` as a process: start, serve, stop cleanly on SIGTERM; and templates that the
runtime cannot run fail at start-up, naming what is unsupported."""

from __future__ import annotations

import dataclasses
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

import local.stack as stack_module
from local.runtime.template import TemplateError
from local.stack import DEFAULT_CONFIG, REPO_ROOT, LocalStack
from tests.runtime.conftest import FIXTURES, fixture_options

pytestmark = pytest.mark.xdist_group("stack")


def _refused(url: str) -> bool:
    address = urlsplit(url)
    with socket.socket() as probe:
        return probe.connect_ex((address.hostname or "127.0.0.1", address.port or 80)) != 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "zombie" in status.read_text())


def _read_until_ready(process: subprocess.Popen[str], timeout: float) -> list[str]:
    """The stack's stdout up to its Ready line (read on a thread: readline cannot time out)."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        if line is None:
            break
        seen.append(line)
        if line.startswith("Ready."):
            return seen
    raise AssertionError("the stack did not get ready:\n" + "\n".join(seen))


def _url(lines: list[str], label: str) -> str:
    return next(line.split()[-1] for line in lines if line.strip().startswith(label))


def test_sigterm_stops_everything_and_exits_0(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [
            sys.executable, "-m", "local.stack",
            "--template", str(FIXTURES / "mini.yaml"),
            "--config", "none",
            "--no-sandboxes",
            "--ports", "auto",
            "--state-dir", str(tmp_path),
            "--schedule-scale", "0",
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    try:
        lines = _read_until_ready(process, timeout=60)
        api, control, moto = (
            _url(lines, "API ServerlessHttpApi"),
            _url(lines, "control API"),
            _url(lines, "moto"),
        )
        hello = httpx.get(f"{api}/hello", timeout=15)
        assert (hello.status_code, hello.json()["routeKey"]) == (200, "GET /hello")
        missing = httpx.get(f"{api}/nope", timeout=15)
        assert (missing.status_code, missing.json()) == (404, {"message": "Not Found"})
        (function,) = httpx.get(f"{control}/functions", timeout=15).json()
        pids = function["workerPids"]
        assert pids and all(_alive(pid) for pid in pids)
        state = json.loads((tmp_path / "stack.json").read_text())
        assert state["control_url"] == control
        assert (tmp_path / "logs" / "HelloFunction.log").exists()

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert all(_refused(url) for url in (api, control, moto))
    assert not any(_alive(pid) for pid in pids)
    assert not (tmp_path / "stack.json").exists()


def test_with_block_frees_ports_and_workers(tmp_path: Path) -> None:
    options = fixture_options(tmp_path, template=FIXTURES / "mini.yaml", parameters={})
    with LocalStack(options) as stack:
        assert httpx.get(f"{stack.api_url}/hello", timeout=15).status_code == 200
        urls = [stack.api_url, stack.control_url, stack.moto_url]
        pids = stack.worker_pids()
    assert all(_refused(url) for url in urls)
    assert not any(_alive(pid) for pid in pids)


_FUNCTION = """
  F:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: {code}
      Handler: app.handler
      Runtime: python3.12
"""


@pytest.mark.parametrize(
    ("resources", "message"),
    [
        (
            "  Box:\n    Type: AWS::EC2::Instance\n",
            r"Resources.Box: type AWS::EC2::Instance is not supported",
        ),
        (
            "  Q:\n    Type: AWS::SQS::Queue\n    Properties:\n      Bogus: 1\n",
            r"Resources.Q.Properties.Bogus: not supported by the local runtime for AWS::SQS::Queue",
        ),
        (
            _FUNCTION
            + "      Events:\n        E:\n          Type: Api\n          Properties: {Path: /, Method: get}\n",
            r"Resources.F.Properties.Events.E: event type Api is not supported",
        ),
        (_FUNCTION + "      InlineCode: x\n", r"Resources.F.Properties.InlineCode: not supported"),
        (
            "  Q:\n    Type: AWS::SQS::Queue\n    Properties: {VisibilityTimeout: 2}\n"
            + _FUNCTION
            + "      Timeout: 5\n"
            "      Events:\n        E:\n          Type: SQS\n          Properties: {Queue: !GetAtt Q.Arn}\n",
            r"Resources.F.Properties.Events.E.Properties.Queue: Q's VisibilityTimeout \(2 s\) is less than F's Timeout",
        ),
        (
            _FUNCTION + "      Events:\n        E:\n          Type: SQS\n          Properties:\n"
            "            Queue: arn:aws:sqs:us-east-1:123456789012:elsewhere\n",
            r"Resources.F.Properties.Events.E.Properties.Queue: .*elsewhere is not an AWS::SQS::Queue of this template",
        ),
        (
            _FUNCTION + "      Events:\n        E:\n          Type: Schedule\n          Properties:\n"
            "            Schedule: cron(0 3 * * * *)\n",
            r"Resources.F.Events.E.Properties: cron\(0 3 \* \* \* \*\): exactly one of day-of-month",
        ),
    ],
)
def test_unsupported_templates_fail_at_start_and_leave_nothing_running(
    tmp_path: Path, resources: str, message: str
) -> None:
    template = tmp_path / "template.yaml"
    code = FIXTURES / "functions" / "echo"
    template.write_text("Resources:\n" + resources.replace("{code}", str(code)))
    stack = LocalStack(fixture_options(tmp_path, template=template, parameters={}))
    with pytest.raises(TemplateError, match=message):
        stack.start()
    assert not any(server.port and not _refused(server.url) for server in stack._servers.values())


CONFIG = """
parameters:
  Stage: dev
  Issuer: "{jwt_issuer}"
  Audience: "{jwt_audience}"
  Greeting: "{qbo_client_id}@{api_url}"
  NotInTheTemplate: ignored
ssm_parameters:
  - name: /fixture/client-secret
    value: "{qbo_client_secret}"
quickbooks:
  client_id: fixture-client
"""


def test_stack_config_fills_parameters_and_seeds_ssm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A sandbox module that cannot be imported is reported, not fatal.
    quickbooks = dataclasses.replace(stack_module.SANDBOXES[0], module="local.sandboxes.not_written_yet")
    monkeypatch.setattr(stack_module, "SANDBOXES", (quickbooks, *stack_module.SANDBOXES[1:]))
    config = tmp_path / "stack.yaml"
    config.write_text(CONFIG)
    with LocalStack(fixture_options(tmp_path, config=config, parameters={}, sandboxes=True)) as stack:
        ssm = stack.boto3_client("ssm")
        secret = ssm.get_parameter(Name="/fixture/client-secret", WithDecryption=True)["Parameter"]
        assert (secret["Type"], secret["Value"]) == (
            "SecureString",
            stack.sandboxes["quickbooks"].client_secret,
        )
        greeting = ssm.get_parameter(Name="/booksync-local/greeting")["Parameter"]["Value"]
        assert greeting == f"fixture-client@{stack.api_url}"
        assert any("NotInTheTemplate" in warning for warning in stack.warnings)
        assert any("QuickBooks sandbox NOT running" in warning for warning in stack.warnings)
        assert "not running" in stack.banner()
        # mint_token defaults to the authorizer's issuer and audience (here the local ones).
        token = stack.mint_token("acme")
        response = httpx.get(
            f"{stack.api_url}/private", headers={"authorization": f"Bearer {token}"}, timeout=15
        )
        assert response.status_code == 200


def test_a_new_providers_sandbox_is_a_row_in_the_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A row in SANDBOXES is all the stack needs: it starts the row's module on the row's port
    setting, registers its app (the secret new and written to SSM through the row's placeholders),
    lists it in the banner and urls(), and stops it (here FreshBooks' row played by the QuickBooks module)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("BOOKSYNC_FRESHBOOKS_PORT", str(port))
    freshbooks = stack_module.SandboxRow(
        "freshbooks",
        "FreshBooks sandbox",
        "local.sandboxes.quickbooks.server",
        key="freshbooks",
        default_port=0,
        client_id="booksync-local-freshbooks",
        redirect_path="/oauth/freshbooks/callback",
    )
    monkeypatch.setattr(stack_module, "SANDBOXES", (*stack_module.SANDBOXES, freshbooks))
    config = tmp_path / "stack.yaml"
    config.write_text(
        "ssm_parameters:\n  - name: /fixture/freshbooks-secret\n    value: '{freshbooks_client_secret}'\n"
        "freshbooks:\n  client_id: fixture-freshbooks\n"
    )
    with LocalStack(
        fixture_options(tmp_path, config=config, ports={"moto": 0, "api": 0, "control": 0}, sandboxes=True)
    ) as stack:
        run = stack.sandboxes["freshbooks"]
        assert run.url == f"http://127.0.0.1:{port}" and run.sandbox is not None
        assert (
            run.client_id == "fixture-freshbooks"
            and run.redirect_uri == f"{stack.api_url}/oauth/freshbooks/callback"
        )
        assert stack.urls()["freshbooks_url"] == run.url
        assert f"FreshBooks sandbox{'':<12} {run.url}" in stack.banner()
        secret = stack.boto3_client("ssm").get_parameter(
            Name="/fixture/freshbooks-secret", WithDecryption=True
        )
        assert secret["Parameter"]["Value"] == run.client_secret
        assert run.sandbox.config.clients["fixture-freshbooks"].redirect_uris == [run.redirect_uri]
        assert httpx.get(f"{run.url}/_sandbox/config", timeout=5).json()["clients"] == ["fixture-freshbooks"]
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{run.url}/_sandbox/config", timeout=5)


def test_unknown_placeholder_fails(tmp_path: Path) -> None:
    config = tmp_path / "stack.yaml"
    config.write_text("parameters:\n  Greeting: '{nope}'\n")
    stack = LocalStack(fixture_options(tmp_path, config=config))
    with pytest.raises(TemplateError, match=r"unknown placeholder \{nope\}"):
        stack.start()


def test_the_repositorys_stack_config_is_usable(tmp_path: Path) -> None:
    with LocalStack(fixture_options(tmp_path, config=DEFAULT_CONFIG, sandboxes=False)) as stack:
        secret = stack.boto3_client("ssm").get_parameter(
            Name="/booksync/local/quickbooks/client-secret", WithDecryption=True
        )["Parameter"]["Value"]
        assert secret == stack.sandboxes["quickbooks"].client_secret
