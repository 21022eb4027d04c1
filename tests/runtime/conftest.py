"""Shared helpers for the runtime's tests: fixture templates, a stack on free ports, HTTP clients."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from local.stack import LocalStack, StackOptions

FIXTURES = Path(__file__).parent / "fixtures"
FIXTURE_TEMPLATE = FIXTURES / "template.yaml"
ISSUER = "https://issuer.fixture.example/"
AUDIENCE = "fixture-api"


def fixture_options(state_dir: Path, **overrides: Any) -> StackOptions:
    """The fixture stack on free ports, quiet, without provider sandboxes or automatic schedules."""
    settings: dict[str, Any] = {
        "template": FIXTURE_TEMPLATE,
        "config": None,
        "ports": "auto",
        "parameters": {"Stage": "dev", "Issuer": ISSUER, "Audience": AUDIENCE},
        "state_dir": state_dir,
        "sandboxes": False,
        "schedule_scale": 0,
        "echo": False,
    }
    settings.update(overrides)
    return StackOptions(**settings)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """One fixture stack per test module (moto's state is per process: stacks never overlap)."""
    with LocalStack(fixture_options(tmp_path_factory.mktemp("stack"))) as running:
        yield running


@pytest.fixture(scope="module")
def api(stack: LocalStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.api_url, timeout=15) as client:
        yield client


@pytest.fixture(scope="module")
def control(stack: LocalStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.control_url, timeout=30) as client:
        yield client
