"""template.yaml as SAM's transform makes it: what CloudFormation is given at deploy.

SAM generates each function's role, so a dependency through a role (a key policy naming the role,
the role carrying a policy that names the key) is a cycle only in the translation: cfn-lint on the
template as written (tests/unit/test_template.py reads that) cannot see it.
"""

from __future__ import annotations

from typing import Any

import pytest

from local.runtime.resources import _dependency_order
from local.runtime.roles import sam_translation
from local.runtime.template import Resource, Template, TemplateError, references
from tests.unit.test_template import TEMPLATE_PATH


def _resources(translated: dict[str, Any]) -> list[Resource]:
    return [
        Resource(
            logical_id=name,
            type=str(body["Type"]),
            properties=dict(body.get("Properties") or {}),
            depends_on=tuple(
                [body["DependsOn"]] if isinstance(body.get("DependsOn"), str) else body.get("DependsOn") or ()
            ),
            condition=body.get("Condition"),
            metadata={},
        )
        for name, body in translated["Resources"].items()
    ]


def dependency_order(translated: dict[str, Any]) -> list[str]:
    """CloudFormation's creation order of the translation (a TemplateError on a cycle)."""
    resources = _resources(translated)
    ids = {resource.logical_id for resource in resources}
    ordered = _dependency_order(
        resources, lambda resource: (references(resource.properties) | set(resource.depends_on)) & ids
    )
    return [resource.logical_id for resource in ordered]


def test_the_translated_template_has_no_circular_dependency() -> None:
    order = dependency_order(sam_translation(Template.load(TEMPLATE_PATH)))
    # The token key's policy names the token functions' roles, so the roles come first.
    assert order.index("ApiFunctionRole") < order.index("TokenKey")
    assert order.index("TokenKeyUsePolicy") < order.index("ApiFunctionRole")


def test_a_cycle_through_a_generated_role_is_found() -> None:
    translated = sam_translation(Template.load(TEMPLATE_PATH))
    # The use policy naming the key by ARN (as before the fix): TokenKey -> role -> policy -> key.
    statement = translated["Resources"]["TokenKeyUsePolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    statement["Resource"] = {"Fn::GetAtt": ["TokenKey", "Arn"]}
    with pytest.raises(TemplateError, match="circular dependency"):
        dependency_order(translated)
