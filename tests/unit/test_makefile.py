"""The Makefile as a newcomer meets it: `make help` lists every target; `make token` prints a token only."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def make(*args: str) -> str:
    # PY is this interpreter and -o keeps make from rebuilding it (an edited pyproject.toml would,
    # and pip's output would then be in the answer): the same path in both, or make sees two targets.
    # As from a shell: under `make test` (CI) the inherited MAKELEVEL makes this a sub-make, which
    # prints "Entering directory" around its output.
    shell_env = {k: v for k, v in os.environ.items() if k not in {"MAKELEVEL", "MAKEFLAGS", "MFLAGS"}}
    done = subprocess.run(
        ["make", "-o", sys.executable, f"PY={sys.executable}", *args],
        cwd=ROOT,
        env=shell_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def phony_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    (line,) = re.findall(r"^\.PHONY:(.*)$", text, flags=re.MULTILINE)
    return set(line.split())


def test_make_help_lists_every_phony_target_with_what_it_does() -> None:
    listed = {}
    for line in make("help").splitlines():
        match = re.match(r"make (\S+)\s+(\S.*)$", line)
        assert match, f"not a 'make TARGET  what it does' line: {line!r}"
        listed[match.group(1)] = match.group(2)
    assert set(listed) == phony_targets()


@pytest.mark.parametrize("flags", [(), ("-s",)], ids=["make token", "make -s token"])
def test_make_token_prints_the_token_and_nothing_else(flags: tuple[str, ...]) -> None:
    """So that TOKEN=$(make token) is a token the API accepts, not make's echo of the command."""
    out = make(*flags, "token")
    assert re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\n", out), out
    payload = out.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert (claims["company_id"], claims["role"]) == ("demo-company", "admin")
