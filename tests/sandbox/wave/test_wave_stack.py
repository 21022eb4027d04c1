"""The local stack starts the Wave sandbox with its app registered, and an app can connect to it."""

from __future__ import annotations

from pathlib import Path

import pytest

from local.sandboxes.wave.testing import WaveClient, WaveControl
from local.stack import LocalStack
from tests.sandbox.mini_stack import mini_stack


@pytest.mark.xdist_group("stack")
def test_the_stack_runs_the_wave_sandbox_with_its_app(tmp_path: Path) -> None:
    with LocalStack(mini_stack(tmp_path)) as stack:
        run = stack.sandboxes["wave"]
        assert run.sandbox is not None and stack.urls()["wave_url"] == run.url
        assert run.redirect_uri == f"{stack.api_url}/oauth/wave/callback"
        with WaveControl(run.url) as control:
            business = control.business_id("Maple Design Studio")
            tokens = control.connect(run.client_id, run.client_secret, run.redirect_uri, business)
            wave = WaveClient(run.url, tokens.access_token)
            assert wave.gql("{ businesses { edges { node { id } } } }")["data"]["businesses"]["edges"] == [
                {"node": {"id": business}}
            ]
            wave.close()
