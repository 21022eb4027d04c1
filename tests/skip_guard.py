"""Skips that hide: any skip whose reason is not on tests/skips_allowed.txt fails the run.

A pytest plugin (tests/conftest.py re-exports its hooks; a pytester run loads it with
``-p tests.skip_guard``). Both kinds of skip are checked: a test's (``pytest_runtest_logreport``)
and a whole module's at collection (``pytest_collectreport``: a module-level ``importorskip`` or
``pytest.skip(allow_module_level=True)``; under xdist the controller receives the workers'
skipped collect reports through the same hook). The unexplained skips are kept on the config, so
a run inside a run (pytester) keeps its own.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

SKIPS_ALLOWED = Path(__file__).resolve().parent / "skips_allowed.txt"


def allowed_skip_patterns() -> list[re.Pattern[str]]:
    """The allow-list's patterns (each line's part before ``  # ``; blank and comment lines aside)."""
    patterns = []
    for text in SKIPS_ALLOWED.read_text().splitlines():
        line = text.split("  # ", 1)[0].strip()
        if line and not line.startswith("#"):
            patterns.append(re.compile(line))
    return patterns


def skip_reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    longrepr = report.longrepr
    text = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return text.removeprefix("Skipped: ")


class SkipGuard:
    """One run's check: its unexplained skips fail it (the controller's, under xdist)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.unexplained: list[str] = []

    def _check(self, report: pytest.TestReport | pytest.CollectReport) -> None:
        if report.skipped and not hasattr(report, "wasxfail"):
            reason = skip_reason(report)
            if not any(p.search(reason) for p in allowed_skip_patterns()):
                self.unexplained.append(f"{report.nodeid}: {reason}")

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self._check(report)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        self._check(report)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.unexplained and not hasattr(session.config, "workerinput") and exitstatus == 0:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.unexplained:
            terminalreporter.section("skips not on tests/skips_allowed.txt (the run fails)", red=True)
            for line in self.unexplained:
                terminalreporter.line(line)


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(SkipGuard(config), "booksync-skip-guard")
