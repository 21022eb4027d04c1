"""Run every figure module in bench/figures/, print a table and write bench/results.json.

    python -m bench.run                 # all figures
    python -m bench.run --only cold     # modules whose name contains "cold"
    python -m bench.run --strict        # exit 1 when a goal is missed or a value is missing

Exit status: 2 when a figure module itself failed (the bench is broken or could not build
what it measures), 1 under --strict when a figure misses its goal, else 0.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

from bench import figures as figures_package
from bench.figure import BenchError, Figure

RESULTS = Path(__file__).resolve().parent / "results.json"


def discover(only: str | None = None) -> list[ModuleType]:
    names = sorted(
        info.name
        for info in pkgutil.iter_modules(figures_package.__path__)
        if not info.name.startswith("_") and (only is None or only in info.name)
    )
    return [importlib.import_module(f"{figures_package.__name__}.{name}") for name in names]


def run_module(module: ModuleType) -> tuple[list[Figure], str | None]:
    """The module's figures, or, when it could not produce them, one unmeasured figure named
    after the module (so results.json records the gap) and the error message."""
    short = module.__name__.rsplit(".", 1)[-1]
    measure: Callable[[], list[Figure]] | None = getattr(module, "measure", None)
    if measure is None:
        failure = "has no measure() function"
    else:
        try:
            return list(measure()), None
        except BenchError as exc:
            failure = str(exc)
        except Exception:  # a broken module must not hide the other modules' figures
            failure = f"crashed\n{traceback.format_exc()}"
    first_line = failure.splitlines()[0]
    return [Figure(short, None, "", error=f"not measured: {first_line}")], f"{short}: {failure}"


def _format_value(figure: Figure) -> str:
    if figure.value is None:
        return "-"
    return f"{figure.value:g} {figure.unit}".strip()


def render(figures: Sequence[Figure]) -> str:
    rows = [("figure", "value", "goal", "result", "detail")]
    for figure in figures:
        if figure.meets is None:
            result = "ok" if figure.error is None else "MISSING"
        elif figure.value is None:
            result = "MISSING"
        else:
            result = "meets" if figure.meets else "MISSES"
        rows.append(
            (
                figure.name,
                _format_value(figure),
                f"{figure.goal} {figure.unit}".strip() if figure.goal else "",
                result,
                figure.error or figure.note or "",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = []
    for index, row in enumerate(rows):
        # The last column is free text: not padded.
        cells = [row[i].ljust(widths[i]) for i in range(4)] + [row[4]]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in [*widths[:4], len(row[4])]))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="run only figure modules whose name contains this text")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a goal is missed")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"results file (default {RESULTS})")
    args = parser.parse_args(argv)

    modules = discover(args.only)
    if not modules:
        print("no figure module matched", file=sys.stderr)
        return 2
    collected: list[Figure] = []
    failures: list[str] = []
    for module in modules:
        short = module.__name__.rsplit(".", 1)[-1]
        print(f"measuring {short} ...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        produced, failure = run_module(module)
        print(f"  {short}: {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
        collected.extend(produced)
        if failure:
            failures.append(failure)

    print()
    print(render(collected))
    args.output.write_text(json.dumps([f.as_json() for f in collected], indent=2) + "\n")
    print(f"\nwrote {args.output}")
    for failure in failures:
        print(f"\nERROR {failure}", file=sys.stderr)
    if failures:
        return 2
    missed = [f.name for f in collected if f.meets is False]
    if missed:
        print(f"goal missed: {', '.join(missed)}", file=sys.stderr)
        if args.strict:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
