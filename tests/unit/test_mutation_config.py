"""make mutation's scope stays true: every module and test it names exists, and every listed
equivalent mutant is of a module it mutates."""

from __future__ import annotations

import ast
import io
import itertools
import json
import subprocess
import sys
import tokenize
import tomllib
from pathlib import Path

import pytest

import scripts.mutation
from scripts.mutation import (
    CONFIG,
    EQUIVALENT,
    ROOT,
    BaselineFailed,
    Score,
    equivalent_patterns,
    run_target,
    skip_before_running,
    write_figures,
)

COSMIC_RAY = str(Path(sys.executable).with_name("cosmic-ray"))


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


def operator_lines(source: str) -> tuple[set[int], set[int]]:
    """The lines whose every ``|`` is in an annotation, and those with a keyword-only bare ``*``."""
    spans = []
    for node in ast.walk(ast.parse(source)):
        annotations: list[ast.expr | None] = []
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            given = node.args
            every = [*given.posonlyargs, *given.args, *given.kwonlyargs, given.vararg, given.kwarg]
            annotations += [arg.annotation for arg in every if arg is not None]
            annotations.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            annotations.append(node.annotation)
        spans += [
            ((a.lineno, a.col_offset), (a.end_lineno, a.end_col_offset)) for a in annotations if a is not None
        ]
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    in_annotation: dict[int, bool] = {}
    bare_star = set()
    for token, after in itertools.pairwise(tokens):
        if token.exact_type == tokenize.VBAR:
            inside = any(start <= token.start and token.end <= end for start, end in spans)
            in_annotation[token.start[0]] = in_annotation.get(token.start[0], True) and inside
        elif token.exact_type == tokenize.STAR and after.exact_type == tokenize.COMMA:
            bare_star.add(token.start[0])
    return {line for line, only in in_annotation.items() if only}, bare_star


def test_equivalent_mutants_of_annotations_and_keyword_only_stars_name_such_lines() -> None:
    """Those entries name lines, which move with the code: each still names an annotation's ``|``
    (never evaluated) or a keyword-only ``*`` (its ``/`` mutant), not a line that moved."""
    lines = [line for line in EQUIVALENT.read_text().splitlines() if line and not line.startswith("#")]
    checked = 0
    for entry in lines:
        mutant, why = entry.split("  # ", 1)
        where, operator = mutant.split(" ", 1)
        module, line = where.rsplit(":", 1)
        annotations, stars = operator_lines((ROOT / module).read_text())
        if operator.startswith("core/ReplaceBinaryOperator_BitOr_") and "annotation" in why:
            assert int(line) in annotations, f"{entry}: no annotation's `|` on that line"
            checked += 1
        elif operator.startswith("core/ReplaceBinaryOperator_Mul_Div") and "keyword-only" in why:
            assert int(line) in stars, f"{entry}: no keyword-only `*` on that line"
            checked += 1
    assert checked > 40


def test_a_run_whose_tests_fail_unmutated_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Otherwise every mutant counts as killed and the score reads 1.0."""
    failing = [sys.executable, "-c", "raise SystemExit('the suite is red')"]
    monkeypatch.setattr(scripts.mutation, "test_command", lambda tests: failing)
    with pytest.raises(BaselineFailed, match="fail before any mutation") as refused:
        run_target(tmp_path, "booksync/sync/once.py", ["tests/x.py"], 10)
    assert "the suite is red" in str(refused.value)  # the failure is shown, with the command
    assert not list(tmp_path.glob("cr-*.sqlite"))  # no cosmic-ray session was started


def cosmic_ray_session(work: Path, source: str) -> Path:
    """A cosmic-ray session of the module ``source`` (as m.py in ``work``), nothing run yet."""
    (work / "m.py").write_text(source)
    (work / "cr.toml").write_text(
        '[cosmic-ray]\nmodule-path = "m.py"\ntimeout = 10\nexcluded-modules = []\n'
        'test-command = "true"\n\n[cosmic-ray.distributor]\nname = "local"\n'
    )
    subprocess.run([COSMIC_RAY, "init", "cr.toml", "s.sqlite"], cwd=work, check=True)
    return work / "s.sqlite"


def pending(session: Path) -> list[str]:
    dump = subprocess.run(
        [COSMIC_RAY, "dump", str(session)], check=True, capture_output=True, text=True
    ).stdout
    return [
        job["mutations"][0]["operator_name"]
        for job, result in map(json.loads, dump.splitlines())
        if not result
    ]


def test_a_mutant_that_is_not_python_is_skipped_not_counted_as_killed(tmp_path: Path) -> None:
    """cosmic-ray turns the bare ``*`` of keyword-only parameters into ``+``, ``-`` ...; the tests
    would fail on the SyntaxError and count a kill. ``/`` still compiles: it is tested."""
    session = cosmic_ray_session(tmp_path, "def f(a, *, b):\n    return a\n")
    # `*` becomes each of the other 11 binary operators
    assert skip_before_running(session, tmp_path, equivalent=[]) == (10, [])
    assert pending(session) == ["core/ReplaceBinaryOperator_Mul_Div"]


def test_a_mutant_listed_as_equivalent_is_not_run(tmp_path: Path) -> None:
    session = cosmic_ray_session(tmp_path, "def f(a, *, b):\n    return a > 1\n")
    listed = ["m.py:1 core/ReplaceBinaryOperator_Mul_Div *", "m.py:2 core/ReplaceComparisonOperator_Gt_GtE *"]
    assert skip_before_running(session, tmp_path, listed) == (
        10,
        [
            "m.py:1 core/ReplaceBinaryOperator_Mul_Div #0",
            "m.py:2 core/ReplaceComparisonOperator_Gt_GtE #0",
        ],
    )
    assert "core/ReplaceComparisonOperator_Gt_Lt" in pending(session)
    assert not {"core/ReplaceBinaryOperator_Mul_Div", "core/ReplaceComparisonOperator_Gt_GtE"} & set(
        pending(session)
    )


def test_a_sample_leaves_that_many_mutants_to_test_none_of_them_listed_or_not_python(
    tmp_path: Path,
) -> None:
    session = cosmic_ray_session(tmp_path, "def f(a, *, b):\n    return a + b > 1\n")
    listed = ["m.py:2 core/ReplaceBinaryOperator_Add_*"]
    assert len(pending(session)) > 3 + 10 + 11
    _, equivalent = skip_before_running(session, tmp_path, listed, sample=3)
    assert len(equivalent) == 11  # every one listed is skipped, drawn or not
    left = pending(session)
    assert len(left) == 3
    assert not any(op.startswith("core/ReplaceBinaryOperator_Add_") for op in left)
    # of the keyword-only `*`'s mutants only `/` compiles: a drawn `+` is replaced by another
    assert not any(op.startswith("core/ReplaceBinaryOperator_Mul_") for op in left if not op.endswith("Div"))


def test_a_run_of_one_module_adds_to_the_core_score_of_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scripts.mutation, "RESULTS", tmp_path / "results.json")
    modules = ["x/once.py", "x/intents.py", "x/tokens.py"]
    first = write_figures({"x/once.py": Score(45, 50, 4)}, modules)
    assert (first["value"], first["note"]) == (
        0.9,
        "45 of 50 mutants killed, 4 equivalent left out; not run yet: x/intents.py, x/tokens.py",
    )
    write_figures(
        {"x/intents.py": Score(19, 20, 0, sampled_from=90), "x/tokens.py": Score(20, 30, 2)}, modules
    )
    core = write_figures({"x/tokens.py": Score(30, 30, 2)}, modules)  # a second run replaces the first
    assert (core["value"], core["note"]) == (
        0.94,
        "94 of 100 mutants killed, 6 equivalent left out; sampled: x/intents.py (all core modules)",
    )
    figures = {f["name"]: f for f in json.loads((tmp_path / "results.json").read_text())}
    assert figures["tests.mutation_score.tokens"]["value"] == 1.0
    assert (
        figures["tests.mutation_score.intents"]["note"]
        == "19 of 20 mutants killed, 0 equivalent left out, a random sample of 20 of 90 mutants (x/intents.py)"
    )
    assert figures["tests.mutation_score.core"] == core


def test_a_mutant_cosmic_ray_cannot_make_is_skipped_not_counted_as_killed(tmp_path: Path) -> None:
    """cosmic-ray 8.7's ExceptionReplacer fails on a tuple with a dotted name (webhooks/signature.py
    has one); cosmic-ray exec records it "incompetent", which used to count as a kill."""
    session = cosmic_ray_session(
        tmp_path, "import binascii\ntry:\n    pass\nexcept (binascii.Error, ValueError):\n    pass\n"
    )
    assert skip_before_running(session, tmp_path, equivalent=[]) == (1, [])
    assert pending(session) == ["core/ExceptionReplacer"]  # ValueError's; binascii.Error's is skipped
