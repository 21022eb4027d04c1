"""Least privilege, measured (issue 13): template.yaml's roles against what the code used.

local/iam/used.json is what the functions' calls used when the demo and the tests that run the
local stack went through the runtime, which enforces each role (``python -m local.iam_report
--record`` after such a run adds to it). Every action a role allows is used there or carries a
one-line reason in local/iam/unused.yaml; every use recorded there is still granted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from local.iam_report import (
    TEMPLATE,
    FunctionReport,
    GrantKey,
    grants,
    load_reasons,
    load_used,
    offline_roles,
    report,
    stale_reasons,
)
from local.runtime.template import load_yaml


@pytest.fixture(scope="module")
def reports() -> list[FunctionReport]:
    return report(offline_roles(), load_used(), load_reasons())


def test_every_grant_is_used_or_has_a_reason(reports: list[FunctionReport]) -> None:
    missing = {item.function: item.without_reason for item in reports if item.without_reason}
    assert not missing, (
        "these grants are unused or broader than the calls through the local runtime that used them: "
        f"narrow or remove them in template.yaml, or give each a one-line reason in local/iam/unused.yaml: {missing}"
    )


def test_no_reason_outlives_its_permission(reports: list[FunctionReport]) -> None:
    assert stale_reasons(reports, load_reasons()) == [], "remove these from local/iam/unused.yaml"


def test_every_permission_the_code_used_is_still_granted(reports: list[FunctionReport]) -> None:
    gone = {
        item.function: [f"{u.action} on {u.resource}" for u in item.refused]
        for item in reports
        if item.refused
    }
    assert not gone, f"template.yaml no longer grants what these functions used (local/iam/used.json): {gone}"


def _without(policy: str, function: str, tmp_path: Path) -> Path:
    """template.yaml with one of a function's Policies entries removed (matched by its text)."""
    document: dict[str, Any] = load_yaml(TEMPLATE)
    policies = document["Resources"][function]["Properties"]["Policies"]
    kept = [entry for entry in policies if policy not in json.dumps(entry)]
    assert len(kept) == len(policies) - 1, f"{policy} is not one of {function}'s policies"
    document["Resources"][function]["Properties"]["Policies"] = kept
    path = tmp_path / "template.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


@pytest.mark.parametrize(
    ("function", "policy", "lost"),
    [
        ("ApiFunction", "SyncInvoiceQueue", "sqs:SendMessage"),
        ("SyncInvoiceFunction", "DelayMessageByRetryAfter", "sqs:ChangeMessageVisibility"),
        ("ApiFunction", "SyncCatalogQueue", "sqs:SendMessage"),
        ("ApiFunction", "TokenKeyUsePolicy", "kms:Decrypt"),
    ],
)
def test_removing_a_needed_permission_is_caught(
    function: str, policy: str, lost: str, tmp_path: Path
) -> None:
    reduced = report(offline_roles(_without(policy, function, tmp_path)), load_used(), load_reasons())
    item = next(entry for entry in reduced if entry.function == function)
    assert lost in {use.action for use in item.refused}


def test_no_write_grant_where_the_functions_calls_only_read(reports: list[FunctionReport]) -> None:
    """A DynamoDB write grant on a table a function's recorded calls only read stays only with a
    reason of the function's own naming that table (each function's statements in template.yaml
    name exactly the actions its code performs)."""
    found = {
        item.function: item.writes_where_reads_suffice for item in reports if item.writes_where_reads_suffice
    }
    assert not found, f"narrow these to reads in template.yaml, or say per table why they stay: {found}"


def test_no_function_keeps_sams_dynamodb_templates() -> None:
    """SAM's DynamoDB templates grant a table's whole row-action set (and Scan, DescribeTable,
    BatchWriteItem): each function's role names its actions per table instead."""
    document: dict[str, Any] = load_yaml(TEMPLATE)
    broad = {
        name: [
            key
            for entry in resource["Properties"].get("Policies", [])
            if isinstance(entry, dict)
            for key in entry
        ]
        for name, resource in document["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }
    kept = {name: [key for key in keys if key.startswith("DynamoDB")] for name, keys in broad.items()}
    assert not {name: keys for name, keys in kept.items() if keys}
    whole_table = ("dynamodb:Scan", "dynamodb:DescribeTable", "dynamodb:BatchWriteItem")
    allowed = {
        (function, grant.action)
        for function, role in offline_roles().items()
        for grant in grants(role)
        if grant.action in whole_table
    }
    # But the billing memory's vectors: a record's vectors are written in batches (store/memory.py,
    # DynamoVectorStore.put), by the function that embeds them, on MemoryTable only.
    assert allowed <= {("EmbedBillingFunction", "dynamodb:BatchWriteItem")}, (
        "booksync never scans, describes or batch-writes a table (but the memory's vectors)"
    )


# ---------------------------------------------------------------------------------------------
# Per grant, not per action: a small template and usage record


def _small_stack(
    tmp_path: Path, resources: str, function: str, policies: str, used: list[Any]
) -> dict[str, Any]:
    """The roles of a one-function template (its other resources and its Policies entries as
    YAML lines) and a usage record of that function's calls."""
    template = tmp_path / "template.yaml"
    template.write_text(
        f"""
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
{resources}
  {function}:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/{function.lower()}/
      Handler: app.handler
      Runtime: python3.12
      Policies:
{policies}
"""
    )
    record = tmp_path / "used.json"
    record.write_text(json.dumps({"used": {function: used}}))
    return {"roles": offline_roles(template), "used": load_used(record)}


_QUEUE = "arn:aws:sqs:us-east-1:123456789012:{%s.QueueName}"
_PARAMETER = "arn:aws:ssm:us-east-1:123456789012:parameter/worker/secret"


@pytest.fixture
def worker(tmp_path: Path) -> dict[str, Any]:
    """The Worker's role, and what it used: a send to Jobs (never to Audit), one parameter read."""
    resources = "  Jobs:\n    Type: AWS::SQS::Queue\n  Audit:\n    Type: AWS::SQS::Queue"
    policies = """\
        - SQSSendMessagePolicy: { QueueName: !GetAtt Jobs.QueueName }
        - SQSSendMessagePolicy: { QueueName: !GetAtt Audit.QueueName }
        - Statement:
            - Effect: Allow
              Action: ssm:GetParameter
              Resource: '*'"""
    used = [
        {"action": "sqs:SendMessage", "resource": _QUEUE % "Jobs"},
        {"action": "ssm:GetParameter", "resource": _PARAMETER},
    ]
    return _small_stack(tmp_path, resources, "Worker", policies, used)


def test_an_action_used_on_one_resource_leaves_its_grant_on_another_unused(worker: dict[str, Any]) -> None:
    (item,) = report(worker["roles"], worker["used"], {})
    assert item.unused == [GrantKey("sqs:SendMessage", _QUEUE % "Audit")]
    assert GrantKey("sqs:SendMessage", _QUEUE % "Jobs") not in item.unused


def test_a_grant_on_star_used_on_one_resource_is_too_broad(worker: dict[str, Any]) -> None:
    (item,) = report(worker["roles"], worker["used"], {})
    assert item.too_broad == [GrantKey("ssm:GetParameter", "*")]
    assert item.used_on[GrantKey("ssm:GetParameter", "*")] == [_PARAMETER]
    assert set(item.without_reason) == {GrantKey("sqs:SendMessage", _QUEUE % "Audit"), *item.too_broad}


def test_reasons_name_a_grant_by_action_and_resource_pattern(worker: dict[str, Any]) -> None:
    reasons = {
        "Worker": {
            # An action's reason covers its unused grants, never a too broad one.
            "sqs:SendMessage": "audit trail, not reached by the tests",
            "ssm:GetParameter": "says nothing about the resource",
            "ssm:* on *": "the parameter's name is chosen at deploy time",
            "sqs:SendMessage on *{Jobs.QueueName}": "covers nothing: Jobs is used",
        }
    }
    (item,) = report(worker["roles"], worker["used"], reasons)
    assert item.without_reason == []
    assert (
        item.reason(GrantKey("ssm:GetParameter", "*"), broad=True)
        == "the parameter's name is chosen at deploy time"
    )
    assert stale_reasons([item], reasons) == [
        "Worker: ssm:GetParameter",
        "Worker: sqs:SendMessage on *{Jobs.QueueName}",
    ]
    without_star = {"Worker": {k: v for k, v in reasons["Worker"].items() if k != "ssm:* on *"}}
    (item,) = report(worker["roles"], worker["used"], without_star)
    assert item.without_reason == [GrantKey("ssm:GetParameter", "*")]


def test_the_roles_share_what_the_template_resolves_once() -> None:
    """The template's managed policies and key policies are resolved once for every role, and the
    offline roles carry no map of logical ids onto themselves (their resolver is symbolic already)."""
    roles = offline_roles()
    api, worker = roles["ApiFunction"], roles["SyncInvoiceFunction"]
    shared = {policy.name: policy for policy in api.policies}
    assert [policy for policy in worker.policies if policy.name == "TokenKeyUsePolicy"] == [
        shared["TokenKeyUsePolicy"]
    ]
    assert next(p for p in worker.policies if p.name == "TokenKeyUsePolicy") is shared["TokenKeyUsePolicy"]
    assert worker.key_policies is api.key_policies
    assert api.symbols == {}


def test_the_usage_directory_is_the_variables_or_the_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from local.stack import DEFAULT_IAM_USAGE_DIR, IAM_USAGE_VARIABLE, iam_usage_dir

    monkeypatch.setenv(IAM_USAGE_VARIABLE, str(tmp_path))
    assert iam_usage_dir() == tmp_path
    monkeypatch.delenv(IAM_USAGE_VARIABLE)
    assert iam_usage_dir() == DEFAULT_IAM_USAGE_DIR


def test_a_functions_own_reason_comes_before_the_shared_one(worker: dict[str, Any]) -> None:
    audit = GrantKey("sqs:SendMessage", _QUEUE % "Audit")
    reasons = {"*": {"sqs:SendMessage": "shared"}, "Worker": {"sqs:SendMessage": "the worker's own"}}
    (item,) = report(worker["roles"], worker["used"], reasons)
    assert item.reason(audit) == "the worker's own"
    reasons = {"*": {"sqs:*": "any send", "sqs:SendMessage": "shared"}, "Worker": {"sqs:SendMessage": "own"}}
    (item,) = report(worker["roles"], worker["used"], reasons)
    assert item.reason(audit) == "own"


# ---------------------------------------------------------------------------------------------
# A CrudPolicy where reads suffice

_ROWS = "arn:aws:dynamodb:us-east-1:123456789012:table/{Rows}"


@pytest.fixture
def reader(tmp_path: Path) -> dict[str, Any]:
    """A function with SAM's DynamoDBCrudPolicy on a table whose rows it only ever read."""
    return _small_stack(
        tmp_path,
        "  Rows:\n    Type: AWS::DynamoDB::Table",
        "Reader",
        "        - DynamoDBCrudPolicy: { TableName: !Ref Rows }",
        [{"action": "dynamodb:GetItem", "resource": _ROWS}],
    )


def test_a_crud_policy_where_reads_suffice_fails_whatever_the_shared_reasons(reader: dict[str, Any]) -> None:
    """The role is SAM's own expansion of DynamoDBCrudPolicy (its policy_templates.json), and its
    write grants on a table the function only read are flagged even when a shared reason, or one
    naming every table, excuses them as unused."""
    import samtranslator

    path = Path(samtranslator.__file__).parent / "policy_templates_data" / "policy_templates.json"
    crud = json.loads(path.read_text())["Templates"]["DynamoDBCrudPolicy"]["Definition"]["Statement"][0]
    role = reader["roles"]["Reader"]
    statements = [
        s for p in role.policies for s in p.symbolic.get("Statement", []) if _ROWS in s.get("Resource", [])
    ]
    assert [statement["Action"] for statement in statements] == [crud["Action"]]

    broad = {"*": {"dynamodb:*": "granted whole"}, "Reader": {"dynamodb:* on *:table/{*}": "every table"}}
    (item,) = report(reader["roles"], reader["used"], broad)
    assert item.without_reason == []
    writes = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}
    assert {grant.action for grant in item.writes_where_reads_suffice} == writes
    assert {grant.resource for grant in item.writes_where_reads_suffice} == {_ROWS}

    named = {**broad, "Reader": {"dynamodb:*Item on *{Rows}": "the writes of a path no test takes yet"}}
    (item,) = report(reader["roles"], reader["used"], named)
    assert item.writes_where_reads_suffice == []
