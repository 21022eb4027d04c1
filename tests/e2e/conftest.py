"""What the end-to-end modules share: template.yaml on a local stack per module, and an admin's
client for the module's own company (its ``COMPANY``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from local.sandboxes.quickbooks.control import SandboxControl
from local.stack import LocalStack, StackOptions

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(StackOptions(template=str(ROOT / "template.yaml"), ports="auto")) as running:
        yield running


@pytest.fixture(scope="module")
def api(stack: LocalStack, request: pytest.FixtureRequest) -> Iterator[httpx.Client]:
    token = stack.mint_token(str(request.module.COMPANY), "admin", sub="alice")
    with httpx.Client(base_url=stack.api_url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:
        yield c


def quickbooks_ledger(stack: LocalStack, realm: str, entity: str) -> list[dict[str, Any]]:
    """The sandbox's rows of one entity for a realm (what QuickBooks holds)."""
    with SandboxControl(stack.sandboxes["quickbooks"].url) as control:
        rows: list[dict[str, Any]] = control.ledger(realm)["entities"].get(entity, [])
    return rows
