"""The local stack starts the Voyage sandbox with its API key in SSM, and booksync's Voyage
settings read that key from SSM (moto) and embed with it there."""

from __future__ import annotations

from pathlib import Path

import pytest
from booksync.memory.voyage import VoyageEmbedder
from booksync.providers.http import HttpClient
from booksync.settings import VoyageSettings

from local.sandboxes.voyage.testing import VoyageControl
from local.stack import LocalStack
from tests.sandbox.mini_stack import mini_stack

PARAMETER = "/booksync/local/voyage/api-key"


@pytest.mark.xdist_group("stack")
def test_the_stack_runs_the_voyage_sandbox_with_its_key_in_ssm(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with LocalStack(mini_stack(tmp_path)) as stack:
        run = stack.sandboxes["voyage"]
        assert run.sandbox is not None and stack.urls()["voyage_url"] == run.url
        assert run.client_secret.startswith("pa-")
        monkeypatch.setenv("AWS_ENDPOINT_URL", stack.moto_url)
        for name, value in {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing"}.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        settings = VoyageSettings.from_env(
            {"VOYAGE_API_KEY_PARAM": PARAMETER, "VOYAGE_API_BASE_URL": f"{run.url}/v1"}
        )
        assert settings.api_key() == run.client_secret
        embedder = VoyageEmbedder.from_settings(
            settings, http=HttpClient(provider="voyage", label="Voyage AI")
        )
        assert len(embedder.embed(["Invoice INV-1: drain cleaning"], "document").vectors[0]) == 1024
        with VoyageControl(run.url) as control:
            assert control.ledger()["calls"][0]["key"] == "local"
