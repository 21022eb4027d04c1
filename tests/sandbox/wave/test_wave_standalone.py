"""``python -m local.sandboxes.wave`` serves the same sandbox, its app and refresh mode from flags."""

from __future__ import annotations

import httpx

from tests.sandbox.starting import APP_FLAGS, standalone


def test_standalone_run_serves_the_sandbox_with_its_app() -> None:
    with standalone("local.sandboxes.wave", "Wave sandbox", *APP_FLAGS, "--refresh-mode", "omit") as url:
        config = httpx.get(f"{url}/_sandbox/config").json()
        assert (config["clients"], config["refresh_mode"]) == (["cli-app"], "omit")
