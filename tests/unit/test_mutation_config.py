"""make mutation's scope stays true: every module and test it names exists, and every listed
equivalent mutant is of a module it mutates."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest

import scripts.mutation
from scripts.mutation import CONFIG, ROOT, BaselineFailed, equivalent_patterns, run_target


def test_every_module_and_test_of_mutation_toml_exists() -> None:
    targets = tomllib.loads(CONFIG.read_text())["target"]
    assert targets
    for target in targets:
        assert (ROOT / target["module"]).is_file(), target["module"]
        assert target["tests"] and all((ROOT / t).is_file() for t in target["tests"]), target["tests"]


def test_equivalent_mutants_name_a_mutated_module() -> None:
    modules = {t["module"] for t in tomllib.loads(CONFIG.read_text())["target"]}
    for pattern in equivalent_patterns():
        assert pattern.split(":", 1)[0] in modules, pattern


def test_a_run_whose_tests_fail_unmutated_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Otherwise every mutant counts as killed and the score reads 1.0."""
    failing = [sys.executable, "-c", "raise SystemExit('the suite is red')"]
    monkeypatch.setattr(scripts.mutation, "test_command", lambda tests: failing)
    with pytest.raises(BaselineFailed, match="fail before any mutation") as refused:
        run_target(tmp_path, "booksync/sync/once.py", ["tests/x.py"], 10)
    assert "the suite is red" in str(refused.value)  # the failure is shown, with the command
    assert not list(tmp_path.glob("cr-*.sqlite"))  # no cosmic-ray session was started
