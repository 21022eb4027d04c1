"""Mutation testing of the exactly-once core with cosmic-ray: ``make mutation`` (outside CI).

The modules whose every line carries the promise (``mutation.toml``): the intents
(``sync/once.py``, ``store/intents.py``), the token lease and fencing (``security/tokens.py``),
the engine's link-before-create and update keys (``sync/engine.py``) and the webhook signatures
(``webhooks/signature.py``), each mutated against only the tests that cover it. cosmic-ray edits
the files it mutates, so the run happens in a copy of the repository's tracked files (the working
tree is never touched). The share of mutants killed is written to ``bench/results.json`` as
``tests.mutation_score.core`` (goal ≥ 0.9); surviving mutants are listed for a test or a one-line
reason in ``tests/mutation_equivalent.txt``.

    python -m scripts.mutation                    # every module of mutation.toml
    python -m scripts.mutation --only signature   # the modules whose path contains the text
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

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


def check_baseline(work: Path, command: list[str], module: str) -> None:
    """Run the tests once on the unmutated copy; a failure there would make the score read 1.0."""
    outcome = subprocess.run(command, check=False, cwd=work, capture_output=True, text=True)
    if outcome.returncode != 0:
        tail = "\n".join((outcome.stdout + outcome.stderr).strip().splitlines()[-15:])
        raise BaselineFailed(
            f"{module}: the tests fail before any mutation (exit {outcome.returncode}), so no mutant "
            f"can be judged; fix them first.\ncommand: {shlex.join(command)}\n{tail}"
        )


def run_target(work: Path, module: str, tests: list[str], timeout: float) -> tuple[int, int, list[str]]:
    """(killed, total, survivors) for one module mutated against its tests."""
    argv = test_command(tests)
    check_baseline(work, argv, module)
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
    subprocess.run([cosmic, "exec", str(config), str(session)], cwd=work, check=True)
    dump = subprocess.run(
        [cosmic, "dump", str(session)], cwd=work, check=True, capture_output=True, text=True
    ).stdout
    killed = total = 0
    survivors: list[str] = []
    for line in filter(None, dump.splitlines()):
        job, result = json.loads(line)
        if result is None:
            continue
        total += 1
        if result["test_outcome"] == "survived":
            mutation = job["mutations"][0]
            survivors.append(
                f"{mutation['module_path']}:{mutation['start_pos'][0]} {mutation['operator_name']}"
                f" #{mutation['occurrence']}"
            )
        else:
            killed += 1
    return killed, total, survivors


def write_figure(killed: int, total: int, note: str) -> None:
    figures = json.loads(RESULTS.read_text()) if RESULTS.is_file() else []
    figures = [f for f in figures if f.get("name") != FIGURE]
    figure = Figure(FIGURE, round(killed / total, 3) if total else None, "", Goal(">=", 0.9), note=note)
    figures.append(figure.as_json())
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.mutation", description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="only the modules whose path contains this text")
    args = parser.parse_args(argv)
    # Fewer hypothesis examples per mutant: a surviving interleaving bug is still found by most.
    os.environ.setdefault("BOOKSYNC_ONCE_EXAMPLES", "20")
    targets = tomllib.loads(CONFIG.read_text())["target"]
    chosen = [t for t in targets if not args.only or args.only in t["module"]]
    killed = total = 0
    survivors: list[str] = []
    with tempfile.TemporaryDirectory(prefix="booksync-mutation-") as tmp:
        work = Path(tmp)
        tracked_copy(work)
        for target in chosen:
            timeout = float(target.get("timeout", 300))
            try:
                k, t, s = run_target(work, target["module"], target["tests"], timeout)
            except BaselineFailed as error:
                print(error, file=sys.stderr)
                return 2
            print(f"{target['module']}: {k} of {t} mutants killed", flush=True)
            killed, total, survivors = killed + k, total + t, survivors + s
    patterns = equivalent_patterns()
    equivalent = [s for s in survivors if any(fnmatch.fnmatchcase(s, p) for p in patterns)]
    survivors = [s for s in survivors if s not in equivalent]
    total -= len(equivalent)
    scope = "all core modules" if len(chosen) == len(targets) else ", ".join(t["module"] for t in chosen)
    note = f"{killed} of {total} mutants killed, {len(equivalent)} equivalent left out ({scope})"
    write_figure(killed, total, note)
    print(f"{FIGURE} = {killed}/{total} ({len(equivalent)} equivalent left out); survivors needing a test:")
    for line in survivors:
        print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
