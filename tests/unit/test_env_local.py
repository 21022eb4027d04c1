"""events/env.local.json, the --env-vars file of the README's sam local invoke recipe, can only set
what template.yaml declares (sam ignores any other variable) and names every function."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scripts.env_local import OUT, SAMPLE_KEYS, environments, token_key_alias
from tests.unit.test_template import load_template

ROOT = Path(__file__).resolve().parents[2]


def declared() -> dict[str, set[str]]:
    template: dict[str, Any] = load_template(ROOT / "template.yaml")
    common = set(template["Globals"]["Function"]["Environment"]["Variables"])
    return {
        name: common | set(((resource["Properties"].get("Environment") or {}).get("Variables")) or {})
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def test_every_function_has_its_variables_and_only_declared_ones() -> None:
    env = json.loads(OUT.read_text())
    functions = declared()
    assert set(env) == set(functions)
    for name, variables in env.items():
        assert set(variables) <= functions[name], (name, sorted(set(variables) - functions[name]))
        assert variables["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4566", name
        assert "TOKEN_KEY_ID" not in variables or variables["TOKEN_KEY_ID"] == token_key_alias()


def test_the_key_alias_is_the_local_stacks() -> None:
    template = load_template(ROOT / "template.yaml")
    (alias,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::KMS::Alias"]
    assert alias["Properties"]["AliasName"] == {"Fn::Sub": "alias/${AWS::StackName}-tokens"}
    assert token_key_alias() == "alias/booksync-local-tokens"  # the local stack is booksync-local


def test_the_file_is_made_from_the_stacks_environments() -> None:
    functions = [
        {"logicalId": "SquareWebhookFunction", "environment": {"STAGE": "dev", "TOKEN_KEY_ID": "k-1"}},
        {"logicalId": "ApiFunction", "environment": {"STAGE": "dev"}},
    ]
    made = environments(functions, "http://127.0.0.1:4566")
    assert list(made) == ["ApiFunction", "SquareWebhookFunction"]
    assert made["SquareWebhookFunction"] == {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:4566",
        "STAGE": "dev",
        "TOKEN_KEY_ID": "alias/booksync-local-tokens",
        **SAMPLE_KEYS["SquareWebhookFunction"],
    }


def test_the_alias_is_the_templates_resolved_with_the_local_stack_name(tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(
        "Resources:\n"
        "  Key: {Type: AWS::KMS::Key, Properties: {}}\n"
        "  KeyAlias:\n"
        "    Type: AWS::KMS::Alias\n"
        "    Properties: {AliasName: !Sub 'alias/${AWS::StackName}-keys', TargetKeyId: !Ref Key}\n"
    )
    assert token_key_alias(template) == "alias/booksync-local-keys"
