"""``python -m local.sandboxes.wave`` serves the same sandbox, its app and refresh mode from flags."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[3]


def test_standalone_run_serves_the_sandbox_with_its_app() -> None:
    command = [
        sys.executable,
        "-m",
        "local.sandboxes.wave",
        "--port",
        "0",  # the system picks a free port as the sandbox binds, and the banner names it
        "--client-id",
        "cli-app",
        "--client-secret",
        "cli-secret",
        "--redirect-uri",
        "http://127.0.0.1:3000/cb",
        "--refresh-mode",
        "omit",
    ]
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert process.stdout is not None
        watchdog = threading.Timer(30, process.kill)  # a hang guard only: the banner comes once bound
        watchdog.start()
        banner = process.stdout.readline()
        watchdog.cancel()
        match = re.fullmatch(r"Wave sandbox on (http://127\.0\.0\.1:(\d+)) \(Ctrl-C to stop\)\n", banner)
        assert match, f"no address announced: {banner!r}"
        config = httpx.get(f"{match.group(1)}/_sandbox/config").json()
        assert (config["clients"], config["refresh_mode"]) == (["cli-app"], "omit")
    finally:
        process.terminate()
        process.wait(timeout=5)
