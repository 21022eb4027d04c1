"""``python -m local.sandboxes.voyage`` serves the same sandbox, its API keys and limits from flags."""

from __future__ import annotations

import re

import httpx
import pytest

from local.sandboxes.voyage.__main__ import main
from tests.sandbox.starting import standalone


def test_standalone_run_serves_the_sandbox_with_its_keys() -> None:
    flags = ("--api-key", "pa-cli-key", "--requests-per-minute", "30")
    with standalone("local.sandboxes.voyage", "Voyage sandbox", *flags) as url:
        config = httpx.get(f"{url}/_sandbox/config").json()
        assert config["requests_per_minute"] == 30
        assert "clients" not in config  # Voyage has API keys, no OAuth apps
        body = {"input": ["a"], "model": "voyage-4-lite"}
        assert (
            httpx.post(
                f"{url}/v1/embeddings", json=body, headers={"authorization": "Bearer pa-cli-key"}
            ).status_code
            == 200
        )
        refused = httpx.post(
            f"{url}/v1/embeddings", json=body, headers={"authorization": "Bearer pa-voyage-sandbox-key"}
        )
        assert refused.status_code == 401  # the default key only when none is given


def test_the_flags_are_the_kits_without_an_oauth_app(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    flags = set(re.findall(r"--[a-z-]+", capsys.readouterr().out))
    assert {"--host", "--port", "--clock-scale", "--api-key", "--requests-per-minute"} <= flags
    assert not {"--client-id", "--client-secret", "--redirect-uri"} & flags
