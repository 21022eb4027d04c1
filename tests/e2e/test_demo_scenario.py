"""The whole scenario over HTTP on the local stack: the runtime reading template.yaml, real
handlers in worker processes, moto server and the QuickBooks sandbox."""

from __future__ import annotations

import pytest

from local.stack import LocalStack, StackOptions
from scripts.demo import run

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("stack")]


def test_the_business_day_checks_out() -> None:
    with LocalStack(StackOptions(template="template.yaml", ports="auto")) as stack:
        checks = run(stack)
    failed = [(name, detail) for name, ok, detail in checks.results if not ok]
    assert failed == []
    assert len(checks.results) >= 20
