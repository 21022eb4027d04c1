"""The local runtime enforces each function's IAM role as the template declares it.

StrictWorkerFunction (tests/runtime/fixtures/template.yaml) may write its attempts and look its
queue up, but its role has no sqs:ChangeMessageVisibility: a "delay" job is refused that call with
AWS's AccessDenied, inside the function's own worker process, exactly as in AWS.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.runtime.iam import Request, RoleFile
from local.runtime.model import QueueSourceSpec
from local.runtime.roles import check_event_sources
from local.runtime.template import TemplateError
from local.stack import LocalStack
from tests.runtime.conftest import fixture_options

pytestmark = pytest.mark.xdist_group("stack")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with LocalStack(fixture_options(tmp_path_factory.mktemp("iam"))) as running:
        yield running


def _send(stack: LocalStack, queue: str, fail: str) -> str:
    job_id = f"{fail}-{uuid.uuid4().hex[:8]}"
    stack.boto3_client("sqs").send_message(
        QueueUrl=stack.queue_url(queue), MessageBody=json.dumps({"id": job_id, "fail": fail})
    )
    return job_id


def _role(stack: LocalStack, function: str) -> RoleFile:
    return RoleFile.from_json(json.loads(stack.role_files[function].read_text()))


def test_a_call_the_role_does_not_allow_gets_access_denied_in_the_worker(stack: LocalStack) -> None:
    job = _send(stack, "StrictQueue", "delay")
    stack.drain(timeout=30)
    errors = [i.error for i in stack.invocations("StrictWorkerFunction") if i.error is not None]
    assert errors, "the refused call should have failed the invocation"
    message = errors[0]["errorMessage"]
    assert errors[0]["errorType"] == "ClientError"
    assert "(AccessDenied) when calling the ChangeMessageVisibility operation" in message
    assert "is not authorized to perform: sqs:ChangeMessageVisibility" in message
    assert "assumed-role/" in message
    # What the role allows went through: the attempt was recorded before the refused call.
    items = stack.boto3_client("dynamodb").query(
        TableName=stack.physical_name("AttemptsTable"),
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": job}},
    )["Items"]
    assert items


def test_the_same_call_passes_where_the_template_allows_it(stack: LocalStack) -> None:
    _send(stack, "JobsQueue", "delay")
    stack.drain(timeout=30)
    assert all(i.error is None for i in stack.invocations("WorkerFunction"))


def test_roles_are_sams_expansion_resolved_to_the_local_resources(stack: LocalStack) -> None:
    role = _role(stack, "WorkerFunction")
    queue_arn = stack.attributes["JobsQueue"].atts["Arn"]
    # SQSPollerPolicy, as policy_templates.json defines it, on the local queue's ARN.
    poller = next(p for p in role.policies if "sqs:ChangeMessageVisibilityBatch" in json.dumps(p.document))
    assert poller.document["Statement"][0]["Resource"] == queue_arn
    assert role.decide(Request("sqs:ChangeMessageVisibility", queue_arn)).allowed
    strict = _role(stack, "StrictWorkerFunction")
    assert not strict.decide(Request("sqs:ChangeMessageVisibility", queue_arn)).allowed
    # What SAM adds for an SQS event: Lambda's poller may receive and delete.
    assert strict.decide(Request("sqs:ReceiveMessage", stack.attributes["StrictQueue"].atts["Arn"])).allowed
    # The key policy names EchoFunction's role: it may use the key, the worker may not.
    key_arn = stack.attributes["TokenKey"].atts["Arn"]
    assert _role(stack, "EchoFunction").decide(Request("kms:Decrypt", key_arn)).allowed
    assert not role.decide(Request("kms:Decrypt", key_arn)).allowed


def test_lambda_refuses_an_event_source_its_role_cannot_poll(stack: LocalStack, tmp_path: Path) -> None:
    role = _role(stack, "StrictWorkerFunction")
    declared_only = RoleFile(
        role.function,
        role.role_arn,
        role.place,
        tuple(p for p in role.policies if p.declared),
        role.key_policies,
        None,
    )
    source = QueueSourceSpec(
        "StrictWorkerFunction",
        "Strict",
        "StrictQueue",
        "arn:aws:sqs:us-east-1:123456789012:q",
        "u",
        1,
        0,
        None,
        True,
        True,
    )
    with pytest.raises(TemplateError, match="does not allow sqs:ReceiveMessage"):
        check_event_sources({"StrictWorkerFunction": declared_only}, [source])


def test_a_stack_keeps_its_own_roles_while_another_shares_its_state_dir(stack: LocalStack) -> None:
    """A worker reads its role as it starts. Another stack started on the same state directory (the
    next test module's, or one `make dev` left running) resolves the same functions' roles to its
    own resources: this stack's roles stay its own (CI: a catalog step of one stack was refused
    kms:Decrypt on that stack's token key, its role file rewritten with another stack's key)."""
    mine = {name: path.read_text() for name, path in stack.role_files.items()}
    key = str(stack.attributes["TokenKey"].ref)
    assert mine and all(key in text for text in mine.values())  # its KMS key, in each role's place
    with LocalStack(fixture_options(stack.state_dir)) as other:
        assert str(other.attributes["TokenKey"].ref) != key
        assert {name: path.read_text() for name, path in stack.role_files.items()} == mine
        assert not set(other.role_files.values()) & set(stack.role_files.values())
