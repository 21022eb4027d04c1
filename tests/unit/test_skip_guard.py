"""The skip guard (tests/skip_guard.py) run on small suites of its own: a skip whose reason is not
on tests/skips_allowed.txt fails the run, whether a test or a whole module (at collection) skips."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
# The guard alone (as tests/conftest.py loads it), no random order, no cache in the temporary folder;
# the guard's module is imported already, so pytest cannot rewrite its asserts (it has none).
OPTIONS = ("-p", "tests.skip_guard", "-p", "no:randomly", "-p", "no:cacheprovider")
OPTIONS += ("-W", "ignore::pytest.PytestAssertRewriteWarning")
PASSING = "def test_passes():\n    assert True\n"


def run(pytester: pytest.Pytester, *args: str, **modules: str) -> pytest.RunResult:
    pytester.makepyfile(test_passing=PASSING, **modules)
    return pytester.runpytest(*OPTIONS, *args)


def test_a_module_skipped_at_collection_for_an_unlisted_reason_fails_the_run(
    pytester: pytest.Pytester,
) -> None:
    result = run(
        pytester,
        test_gone="import pytest\npytest.skip('a renamed fixture file', allow_module_level=True)\n",
    )
    result.assert_outcomes(passed=1, skipped=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        ["*skips not on tests/skips_allowed.txt*", "test_gone.py: a renamed fixture file"]
    )


def test_a_module_level_importorskip_of_a_missing_package_fails_the_run(pytester: pytest.Pytester) -> None:
    result = run(pytester, test_needs="import pytest\npytest.importorskip('booksync_no_such_package')\n")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["test_needs.py: could not import 'booksync_no_such_package'*"])


def test_a_module_skipped_for_a_listed_reason_passes(pytester: pytest.Pytester) -> None:
    result = run(
        pytester, test_make="import pytest\npytest.skip('make is not installed', allow_module_level=True)\n"
    )
    result.assert_outcomes(passed=1, skipped=1)
    assert result.ret == pytest.ExitCode.OK


def test_a_test_skipped_for_an_unlisted_reason_fails_the_run(pytester: pytest.Pytester) -> None:
    result = run(pytester, test_one="import pytest\ndef test_x():\n    pytest.skip('flaky, later')\n")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["test_one.py::test_x: flaky, later"])


def test_under_xdist_the_controller_fails_on_a_workers_collection_skip(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # the worker imports tests.skip_guard too
    result = run(
        pytester,
        "-n",
        "1",
        test_gone="import pytest\npytest.skip('a renamed fixture file', allow_module_level=True)\n",
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*test_gone.py: a renamed fixture file"])
