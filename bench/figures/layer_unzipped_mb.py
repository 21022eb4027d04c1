"""Unzipped size of each layer, built exactly as `sam build` builds it.

Runs each layer's Makefile target (layers/shared: build-SharedLayer, layers/memory:
build-MemoryLayer) into a temporary ARTIFACTS_DIR (pip downloads the Lambda platform's wheels:
arm64, CPython 3.12) and adds up the file sizes. Lambda allows 250 MB for a function and all its
layers unzipped; the shared layer's goal (every function carries it) keeps most of that free and
cold starts short. The memory layer (numpy) is said with no goal of its own: only the functions
that import numpy carry it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.figure import BenchError, Figure, Goal
from bench.template import layer_content_dirs

# Layer -> (figure name, goal).
LAYERS: dict[str, tuple[str, Goal | None]] = {
    "SharedLayer": ("layer_unzipped_mb", Goal("<", 50)),
    "MemoryLayer": ("layer_unzipped_mb.memory", None),
}
BUILD_TIMEOUT_SECONDS = 900
MEGABYTE = 1024 * 1024  # Lambda's size limits count in 2^20-byte megabytes

# What pip prints when it cannot reach the index (as opposed to a real build failure).
_UNREACHABLE = (
    "NewConnectionError",
    "Max retries exceeded",
    "Temporary failure in name resolution",
    "Name or service not known",
    "Network is unreachable",
    "Connection refused",
    "ConnectTimeoutError",
    "ReadTimeoutError",
    "No matching distribution found",
    "Could not find a version that satisfies",
)


def tree_size(root: Path) -> tuple[int, int]:
    """Total bytes and number of files under root (symlinks counted as themselves)."""
    total = files = 0
    for directory, _dirs, names in os.walk(root):
        for name in names:
            total += (Path(directory) / name).lstat().st_size
            files += 1
    return total, files


def build_layer(layer: str, content_dir: Path, artifacts: Path) -> None:
    make = shutil.which("make")
    if make is None:
        raise BenchError(f"`make` is not installed; {layer} is built by its Makefile")
    env = dict(os.environ)
    # Fail fast rather than retry for minutes when the package index is out of reach.
    env.setdefault("PIP_RETRIES", "1")
    env.setdefault("PIP_TIMEOUT", "30")
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    try:
        done = subprocess.run(
            [
                make,
                "--no-print-directory",
                f"build-{layer}",
                f"ARTIFACTS_DIR={artifacts}",
                f"PYTHON={sys.executable}",
            ],
            cwd=content_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"building {layer} took over {BUILD_TIMEOUT_SECONDS} s; is PyPI reachable?") from exc
    if done.returncode == 0:
        return
    # make echoes each recipe line on stdout; pip's diagnostics are on stderr.
    said = [
        line
        for line in done.stderr.strip().splitlines()
        if line.strip() and "is ignored: it is neither a file" not in line
    ]
    if any(marker in done.stderr for marker in _UNREACHABLE):
        raise BenchError(
            f"pip could not download {layer}'s wheels for the Lambda platform (arm64, CPython 3.12): "
            "PyPI (or the configured index) is unreachable, or has no matching wheel.\npip said:\n  "
            + "\n  ".join(said[-4:])
        )
    raise BenchError(f"make build-{layer} failed (exit {done.returncode}):\n  " + "\n  ".join(said[-8:]))


def measure() -> list[Figure]:
    built = layer_content_dirs()
    figures: list[Figure] = []
    for layer, (name, goal) in LAYERS.items():
        if layer not in built:
            missing = f"template.yaml has no makefile-built {layer}"
            figures.append(Figure(name, None, "MB", goal, error=missing))
            continue
        with tempfile.TemporaryDirectory(prefix="booksync-layer-") as tmp:
            artifacts = Path(tmp)
            build_layer(layer, built[layer], artifacts)
            size, files = tree_size(artifacts)
        figures.append(
            Figure(
                name,
                round(size / MEGABYTE, 2),
                "MB",
                goal,
                note=f"{layer}: {files} files, arm64 / CPython 3.12 wheels, runtime-provided ones removed",
            )
        )
    return figures
