"""``python -m local.sandboxes.voyage`` serves the same sandbox, its API keys and limits from flags."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[3]


def test_standalone_run_serves_the_sandbox_with_its_keys() -> None:
    command = [sys.executable, "-m", "local.sandboxes.voyage", "--port", "0", "--api-key", "pa-cli-key"]
    command += ["--requests-per-minute", "30"]
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert process.stdout is not None
        watchdog = threading.Timer(30, process.kill)  # a hang guard only: the banner comes once bound
        watchdog.start()
        banner = process.stdout.readline()
        watchdog.cancel()
        match = re.fullmatch(r"Voyage sandbox on (http://127\.0\.0\.1:(\d+)) \(Ctrl-C to stop\)\n", banner)
        assert match, f"no address announced: {banner!r}"
        url = match.group(1)
        assert httpx.get(f"{url}/_sandbox/config").json()["requests_per_minute"] == 30
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
    finally:
        process.terminate()
        process.wait(timeout=5)
