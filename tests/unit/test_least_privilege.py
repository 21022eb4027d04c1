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
from local.runtime.iam import Request
from local.runtime.template import load_yaml


@pytest.fixture(scope="module")
def reports() -> list[FunctionReport]:
    return report(offline_roles(), load_used(), load_reasons())


def test_every_allowed_action_is_used_or_has_a_reason(reports: list[FunctionReport]) -> None:
    missing = {item.function: item.without_reason for item in reports if item.without_reason}
    assert not missing, (
        "these actions are allowed but no call through the local runtime used them: remove them from "
        f"template.yaml, or give each a one-line reason in local/iam/unused.yaml: {missing}"
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


def test_roles_are_sams_expansion_of_the_policy_templates() -> None:
    """DynamoDBCrudPolicy's statement comes from SAM's own policy_templates.json, not a copy; the
    template's TableRowsOnlyPolicy then takes the whole-table operations back."""
    import samtranslator

    path = Path(samtranslator.__file__).parent / "policy_templates_data" / "policy_templates.json"
    crud = json.loads(path.read_text())["Templates"]["DynamoDBCrudPolicy"]["Definition"]["Statement"][0]
    role = offline_roles()["SyncInvoiceFunction"]
    table = "arn:aws:dynamodb:us-east-1:123456789012:table/{IntentsTable}"
    expanded = [
        statement
        for policy in role.policies
        for statement in policy.symbolic.get("Statement", [])
        if table in statement.get("Resource", [])
    ]
    assert [statement["Action"] for statement in expanded] == [crud["Action"]]
    assert GrantKey("dynamodb:Query", f"{table}/index/*") in grants(role)
    assert role.decide(Request("dynamodb:PutItem", table)).allowed
    for taken_back in ("dynamodb:Scan", "dynamodb:DescribeTable", "dynamodb:BatchWriteItem"):
        assert not role.decide(Request(taken_back, table)).allowed
        assert GrantKey(taken_back, table) not in grants(role)
