"""The whole scenario over HTTP on the local stack: the runtime reading template.yaml, real
handlers in worker processes, moto server and the QuickBooks sandbox."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

import pytest

from local.stack import LocalStack, StackOptions
from scripts import demo
from scripts.demo import run

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("stack")]


def test_the_business_day_checks_out() -> None:
    with LocalStack(
        StackOptions(template="template.yaml", ports="auto", parameters=demo.STACK_PARAMETERS)
    ) as stack:
        checks = run(stack)
    failed = [(name, detail) for name, ok, detail in checks.results if not ok]
    assert failed == []
    # Every check the demo declares ran, once: a chapter that stops running fails here.
    assert Counter(name for name, _ok, _detail in checks.results) == Counter(declared_checks())


def declared_checks() -> list[str]:
    """The names of the demo's checks, as written at its ``check("...")`` calls."""
    tree = ast.parse(Path(demo.__file__).read_text())
    return [
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "check"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    ]


def test_the_demo_declares_the_checks_the_readme_counts() -> None:
    names = declared_checks()
    assert len(set(names)) == len(names), "two checks of the demo share a name"
    readme = (Path(demo.__file__).parents[1] / "README.md").read_text()
    assert f"({len(names)} checks," in readme, (
        f"README's 'What the demo proves' should say {len(names)} checks"
    )
