"""make mutation's scope stays true: every module and test it names exists, and every listed
equivalent mutant is of a module it mutates."""

from __future__ import annotations

import tomllib

from scripts.mutation import CONFIG, ROOT, equivalent_patterns


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
