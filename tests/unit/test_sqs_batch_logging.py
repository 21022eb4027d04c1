"""Every queue-consuming function logs each failed message's exception once (booksync/batches.py):
Powertools' batch processor alone keeps it to its debug log."""

from __future__ import annotations

import ast
import io
import json
from pathlib import Path
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError
from booksync.batches import SqsBatch
from booksync.errors import InvalidRequest, TransientError

from local.runtime.template import load_yaml
from tests.lambda_env import Context

ROOT = Path(__file__).resolve().parents[2]


def record(message_id: str, body: str) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "receiptHandle": f"handle-{message_id}",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "2"},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q",
        "awsRegion": "us-east-1",
    }


def handle(record: SQSRecord) -> str:
    body = json.loads(record.body) if record.body.startswith("{") else {}
    if body.get("fail") == "final":
        raise InvalidRequest("the job names no document", fix="Queue it again with one.")
    if body.get("fail") == "retry":
        raise TransientError("the books answered 503", provider="xero")
    if body.get("fail") == "running":
        raise IdempotencyAlreadyInProgressError("Execution already in progress with idempotency key")
    if record.body == "not json":
        raise ValueError("unreadable body")
    return "done"


def test_each_failed_message_is_logged_once_with_its_exception_and_ids() -> None:
    out = io.StringIO()
    processor = SqsBatch(Logger(service="t", stream=out))
    event = {
        "Records": [
            record("m-ok", json.dumps({"company_id": "acme", "run_id": "r-0"})),
            record("m-final", json.dumps({"company_id": "acme", "run_id": "r-1", "fail": "final"})),
            record("m-retry", json.dumps({"company_id": "acme", "run_id": "r-2", "fail": "retry"})),
            record("m-bad", "not json"),
            record("m-running", json.dumps({"run_id": "r-3", "fail": "running"})),
        ]
    }
    answer = process_partial_response(
        event=event, record_handler=handle, processor=processor, context=Context()
    )
    failed = [f["itemIdentifier"] for f in answer["batchItemFailures"]]
    assert failed == ["m-final", "m-retry", "m-bad", "m-running"]

    logged = [json.loads(line) for line in out.getvalue().splitlines()]
    lines = {line["message_id"]: line for line in logged}
    assert sorted(line["message_id"] for line in logged) == ["m-bad", "m-final", "m-retry", "m-running"], (
        "one line per failed message, none for the rest"
    )
    final, retry, bad = lines["m-final"], lines["m-retry"], lines["m-bad"]
    assert final["level"] == "ERROR" and retry["level"] == "WARNING" and bad["level"] == "ERROR"
    assert lines["m-running"]["level"] == "WARNING", "the job runs in another invocation: retried"
    assert (final["company_id"], final["run_id"], final["receive_count"]) == ("acme", "r-1", "2")
    assert "InvalidRequest" in final["exception_name"] and "names no document" in final["exception"]
    assert "Traceback" in final["exception"] and "in handle" in final["exception"]
    assert "503" in retry["exception"] and retry["run_id"] == "r-2"
    assert "unreadable body" in bad["exception"] and "run_id" not in bad and "company_id" not in bad


def sqs_functions() -> dict[str, Path]:
    """Each function template.yaml feeds from a queue, with its handler's file."""
    resources = load_yaml(ROOT / "template.yaml")["Resources"]
    found = {}
    for name, resource in resources.items():
        props = resource.get("Properties", {})
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        if any(e.get("Type") == "SQS" for e in (props.get("Events") or {}).values()):
            module = str(props["Handler"]).rsplit(".", 1)[0]
            found[name] = ROOT / str(props["CodeUri"]) / f"{module.replace('.', '/')}.py"
    return found


def test_every_queue_consumer_processes_its_batches_with_the_logging_processor() -> None:
    functions = sqs_functions()
    assert {"SyncInvoiceFunction", "SyncCatalogFunction", "XeroEventsFunction"} <= set(functions)
    for name, path in functions.items():
        tree = ast.parse(path.read_text())
        made = {
            target.id: node.value.func.id
            for node in ast.walk(tree)
            if isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        used = [
            keyword.value.id
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "process_partial_response"
            for keyword in node.keywords
            if keyword.arg == "processor" and isinstance(keyword.value, ast.Name)
        ]
        assert used, f"{name} ({path.relative_to(ROOT)}): no process_partial_response(processor=...)"
        assert all(made.get(p) == "SqsBatch" for p in used), (
            f"{name} ({path.relative_to(ROOT)}) must process its batches with booksync.batches.SqsBatch"
        )
