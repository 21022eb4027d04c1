"""Mutation testing of the exactly-once core with cosmic-ray: ``make mutation`` (outside CI).

The modules whose every line carries the promise (``mutation.toml``): the intents
(``sync/once.py``, ``store/intents.py``), the token lease and fencing (``security/tokens.py``),
the engine's link-before-create and update keys (``sync/engine.py``) and the webhook signatures
(``webhooks/signature.py``), each mutated against only the tests that cover it. cosmic-ray edits
the files it mutates, so the run happens in a copy of the repository's tracked files (the working
tree is never touched). The share of mutants killed is written to ``bench/results.json``, per
module (``tests.mutation_score.once`` ...) and as ``tests.mutation_score.core`` over every module
measured so far (goal ≥ 0.9); surviving mutants are listed for a test or a one-line reason in
``tests/mutation_equivalent.txt``. A mutant that is not Python is skipped, not counted as killed.

    python -m scripts.mutation                    # every module of mutation.toml
    python -m scripts.mutation --only signature   # the modules whose path contains the text
    python -m scripts.mutation --sample 40        # 40 random mutants of each (a busy machine)
    python -m scripts.mutation --minutes 50       # stop each module's mutants after 50 minutes
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import random
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
import warnings
from pathlib import Path
from typing import Any, NamedTuple

from bench.figure import Figure, Goal

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "mutation.toml"
RESULTS = ROOT / "bench" / "results.json"
FIGURE = "tests.mutation_score.core"
EQUIVALENT = ROOT / "tests" / "mutation_equivalent.txt"


def equivalent_patterns() -> list[str]:
    """Survivors no test can kill, as listed (``fnmatch`` patterns) with their one-line reason."""
    lines = (line.split("  # ", 1)[0].strip() for line in EQUIVALENT.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def tracked_copy(into: Path) -> None:
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.split("\0")
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / name)


class BaselineFailed(Exception):
    """The tests fail on the unmutated copy: every mutant would count as killed."""


def test_command(tests: list[str]) -> list[str]:
    """The command cosmic-ray runs against each mutant (and once before, unmutated)."""
    return [
        sys.executable,
        *("-m", "pytest", "-x", "-q", "-p", "no:randomly", "-p", "no:cacheprovider", "-n", "0"),
        *tests,
    ]


def check_baseline(work: Path, command: list[str], module: str) -> float:
    """Run the tests once on the unmutated copy; a failure there would make the score read 1.0.
    The seconds they took."""
    started = time.monotonic()
    outcome = subprocess.run(command, check=False, cwd=work, capture_output=True, text=True)
    if outcome.returncode != 0:
        tail = "\n".join((outcome.stdout + outcome.stderr).strip().splitlines()[-15:])
        raise BaselineFailed(
            f"{module}: the tests fail before any mutation (exit {outcome.returncode}), so no mutant "
            f"can be judged; fix them first.\ncommand: {shlex.join(command)}\n{tail}"
        )
    return time.monotonic() - started


def mutant_name(module_path: object, line: int, operator: str, occurrence: int) -> str:
    """A mutant as survivors are printed and ``tests/mutation_equivalent.txt`` lists them."""
    return f"{module_path}:{line} {operator} #{occurrence}"


def skip_before_running(
    session: Path, work: Path, equivalent: list[str], sample: int | None = None
) -> tuple[int, list[str]]:
    """Mark as skipped the mutants no test needs to run: those listed as equivalent (``fnmatch``
    patterns, matched by name), and those that are not Python (cosmic-ray turns the bare ``*`` of
    keyword-only parameters into ``+``, ``-``, ``**`` ...: the import's SyntaxError would count a
    kill no test made) or that cosmic-ray cannot make. With ``sample``, only that many mutants are
    left to test, drawn at random: the others are checked (one parse of the module each, seconds
    on a busy machine) only until the sample is full, and the rest are left out unchecked. The
    number of mutants found not Python, the names of those listed."""
    from cosmic_ray.mutating import mutate_code
    from cosmic_ray.plugins import get_operator
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    def skip(job_id: str, why: str) -> None:
        db.set_result(job_id, WorkResult(output=why, worker_outcome=WorkerOutcome.SKIPPED))

    not_python = kept = 0
    listed: list[str] = []
    with use_db(str(session), WorkDB.Mode.open) as db:
        unlisted = []
        for item in sorted(db.pending_work_items, key=lambda item: item.job_id):
            (mutation,) = item.mutations
            name = mutant_name(
                mutation.module_path, mutation.start_pos[0], mutation.operator_name, mutation.occurrence
            )
            if any(fnmatch.fnmatchcase(name, pattern) for pattern in equivalent):
                skip(item.job_id, "listed as equivalent")
                listed.append(name)
            else:
                unlisted.append(item)
        if sample is not None:
            random.shuffle(unlisted)
        for item in unlisted:
            if sample is not None and kept >= sample:
                skip(item.job_id, "not in the sample")
                continue
            (mutation,) = item.mutations
            source = (work / mutation.module_path).read_text()
            try:  # cosmic-ray 8.7 fails on some nodes, e.g. `except (binascii.Error, ValueError)`
                mutant = mutate_code(source, get_operator(mutation.operator_name)(), mutation.occurrence)
            except Exception as error:  # a mutant cosmic-ray cannot make is no kill either
                skip(item.job_id, f"cosmic-ray cannot make it: {error!r}")
                not_python += 1
                continue
            try:
                with warnings.catch_warnings():  # `x is "literal"`, a mutant that compiles
                    warnings.simplefilter("ignore", SyntaxWarning)
                    compile(mutant or source, str(mutation.module_path), "exec")
            except SyntaxError as error:
                skip(item.job_id, f"not Python: {error}")
                not_python += 1
                continue
            kept += 1
    return not_python, sorted(listed)


def pending_count(session: Path) -> int:
    from cosmic_ray.work_db import WorkDB, use_db

    with use_db(str(session), WorkDB.Mode.open) as db:
        return len(db.pending_work_items)


def execute(cosmic: str, config: Path, session: Path, work: Path, module: str, minutes: float | None) -> None:
    """``cosmic-ray exec``, stopped after ``minutes`` if given: the mutants it did not reach stay
    untested and are not counted (it tests them in random order, so those tested are a random
    sample of them). The mutant under test when it stops is put back to the module's source."""
    process = subprocess.Popen([cosmic, "exec", str(config), str(session)], cwd=work, start_new_session=True)
    try:
        code = process.wait(timeout=None if minutes is None else minutes * 60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGTERM)  # its test run too
        process.wait()
        shutil.copy2(ROOT / module, work / module)
        print(f"{module}: stopped after {minutes} minutes; untested mutants are not counted", flush=True)
        return
    if code != 0:
        raise subprocess.CalledProcessError(code, ["cosmic-ray", "exec"])


class Outcome(NamedTuple):
    killed: int
    total: (
        int  # mutants tested (not those that are not Python, nor listed equivalent, nor left out of a sample)
    )
    survivors: list[str]
    equivalent: list[str]  # listed as equivalent, so not run
    sampled_from: int | None  # the mutants there were to test, when only a sample was tested


def run_target(
    work: Path,
    module: str,
    tests: list[str],
    timeout: float,
    sample: int | None = None,
    minutes: float | None = None,
) -> Outcome:
    """One module mutated against its tests (mutants that are not Python, or listed as equivalent,
    are skipped)."""
    argv = test_command(tests)
    # cosmic-ray counts a run out of time as a kill: each mutant gets at least three times the
    # unmutated run (on a busy machine that run alone can outlast the configured timeout).
    timeout = max(timeout, 3 * check_baseline(work, argv, module))
    command = shlex.join(argv)
    config = work / f"cr-{Path(module).stem}.toml"
    config.write_text(
        "[cosmic-ray]\n"
        f"module-path = {json.dumps(module)}\n"
        f"timeout = {timeout}\n"
        "excluded-modules = []\n"
        f"test-command = {json.dumps(command)}\n\n"
        '[cosmic-ray.distributor]\nname = "local"\n'
    )
    session = work / f"cr-{Path(module).stem}.sqlite"
    cosmic = str(Path(sys.executable).with_name("cosmic-ray"))
    subprocess.run([cosmic, "init", str(config), str(session)], cwd=work, check=True)
    made = pending_count(session)
    not_python, equivalent = skip_before_running(session, work, equivalent_patterns(), sample)
    print(
        f"{module}: {not_python} mutants that are not Python and {len(equivalent)} listed equivalent skipped",
        flush=True,
    )
    # With a sample, only the mutants drawn were checked for being Python: of the others, the
    # few that are not (keyword-only `*` made `+` ...) are still counted here.
    sampled_from = made - len(equivalent) - not_python if sample is not None else None
    if sampled_from is not None:
        print(f"{module}: a sample of {min(sample or 0, sampled_from)} of {sampled_from} mutants", flush=True)
    execute(cosmic, config, session, work, module, minutes)
    dump = subprocess.run(
        [cosmic, "dump", str(session)], cwd=work, check=True, capture_output=True, text=True
    ).stdout
    killed = total = 0
    survivors: list[str] = []
    for line in filter(None, dump.splitlines()):
        job, result = json.loads(line)
        # Skipped, or "incompetent": cosmic-ray could not make the mutant or start the tests (no kill).
        if result is None or result["worker_outcome"] == "skipped" or result["test_outcome"] == "incompetent":
            continue
        total += 1
        if result["test_outcome"] == "survived":
            (mutation,) = job["mutations"]
            survivors.append(
                mutant_name(
                    mutation["module_path"],
                    mutation["start_pos"][0],
                    mutation["operator_name"],
                    mutation["occurrence"],
                )
            )
        else:
            killed += 1
    return Outcome(killed, total, survivors, equivalent, sampled_from)


def module_figure(module: str) -> str:
    """The figure of one module's score: ``tests.mutation_score.once`` for ``sync/once.py``."""
    return f"tests.mutation_score.{Path(module).stem}"


def score_figure(name: str, killed: int, total: int, note: str) -> Figure:
    return Figure(name, round(killed / total, 3) if total else None, "", Goal(">=", 0.9), note=note)


class Score(NamedTuple):
    killed: int
    total: int  # tested, less the equivalent ones
    equivalent: int
    sampled_from: int | None = None  # the module's mutants, when a sample of them was tested


def write_figures(scores: dict[str, Score], modules: list[str]) -> dict[str, Any]:
    """Record each module's score as its own figure, then ``FIGURE`` over every module of
    ``modules`` measured so far, in this run or an earlier one (a run of one module with ``--only``
    adds to the others' instead of replacing them); the core figure is returned."""
    figures = json.loads(RESULTS.read_text()) if RESULTS.is_file() else []
    by_name: dict[str, dict[str, Any]] = {f["name"]: f for f in figures}
    for module, score in scores.items():
        note = f"{score.killed} of {score.total} mutants killed, {score.equivalent} equivalent left out"
        if score.sampled_from is not None:
            note += f", a random sample of {score.total} of {score.sampled_from} mutants"
        figure = score_figure(
            module_figure(module), score.killed, score.total, f"{note} ({module})"
        ).as_json()
        by_name[figure["name"]] = {**figure, **score._asdict()}
    measured = [by_name[module_figure(m)] for m in modules if module_figure(m) in by_name]
    missing = [m for m in modules if module_figure(m) not in by_name]
    sampled = [
        m for m in modules if module_figure(m) in by_name and by_name[module_figure(m)]["sampled_from"]
    ]
    killed, total, equivalent = (sum(f[k] for f in measured) for k in ("killed", "total", "equivalent"))
    note = f"{killed} of {total} mutants killed, {equivalent} equivalent left out"
    note += f"; sampled: {', '.join(sampled)}" if sampled else ""
    note += f"; not run yet: {', '.join(missing)}" if missing else " (all core modules)"
    by_name[FIGURE] = score_figure(FIGURE, killed, total, note).as_json()
    RESULTS.write_text(json.dumps(list(by_name.values()), indent=2) + "\n")
    return by_name[FIGURE]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.mutation", description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="only the modules whose path contains this text")
    parser.add_argument(
        "--sample", type=int, help="test only this many of each module's mutants, drawn at random"
    )
    parser.add_argument(
        "--minutes",
        type=float,
        help="stop testing each module's mutants after this long (those not reached are not counted)",
    )
    args = parser.parse_args(argv)
    # Fewer hypothesis examples per mutant: a surviving interleaving bug is still found by most.
    os.environ.setdefault("BOOKSYNC_ONCE_EXAMPLES", "20")
    os.environ.setdefault("BOOKSYNC_ONCE_SHRINK", "0")  # a failing example kills: no need to shrink it
    targets = tomllib.loads(CONFIG.read_text())["target"]
    chosen = [t for t in targets if not args.only or args.only in t["module"]]
    scores: dict[str, Score] = {}
    survivors: list[str] = []
    with tempfile.TemporaryDirectory(prefix="booksync-mutation-") as tmp:
        work = Path(tmp)
        tracked_copy(work)
        for target in chosen:
            timeout = float(target.get("timeout", 300))
            try:
                outcome = run_target(
                    work, target["module"], target["tests"], timeout, args.sample, args.minutes
                )
            except BaselineFailed as error:
                print(error, file=sys.stderr)
                return 2
            survivors += outcome.survivors
            score = Score(outcome.killed, outcome.total, len(outcome.equivalent), outcome.sampled_from)
            scores[target["module"]] = score
            print(
                f"{target['module']}: {score.killed} of {score.total} mutants killed "
                f"({score.equivalent} equivalent left out)",
                flush=True,
            )
    core = write_figures(scores, [t["module"] for t in targets])
    print(f"{FIGURE} = {core['value']}: {core['note']}; survivors needing a test:")
    for line in survivors:
        print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
