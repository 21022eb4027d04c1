"""pytest imports a test module outside a package by its basename: two with the same name stop the
whole suite at collection ("import file mismatch"), which targeted runs of one folder never show."""

from collections import defaultdict
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def _in_package(path: Path) -> bool:
    return (path.parent / "__init__.py").exists()


def test_test_module_basenames_are_unique_outside_packages() -> None:
    by_name: dict[str, list[str]] = defaultdict(list)
    for module in TESTS.rglob("test_*.py"):
        if not _in_package(module):
            by_name[module.name].append(str(module.relative_to(TESTS)))
    clashes = {name: paths for name, paths in by_name.items() if len(paths) > 1}
    assert not clashes, f"rename one of each (pytest collects them under one module name): {clashes}"
