"""The local stack the sandboxes' stack tests start: the mini template, the real stack.yaml,
free ports, every sandbox, no schedules."""

from __future__ import annotations

from pathlib import Path

from local.stack import DEFAULT_CONFIG, StackOptions

MINI = Path(__file__).resolve().parents[1] / "runtime" / "fixtures" / "mini.yaml"


def mini_stack(state_dir: Path) -> StackOptions:
    return StackOptions(
        template=MINI,
        config=DEFAULT_CONFIG,
        ports="auto",
        parameters={},
        state_dir=state_dir,
        sandboxes=True,
        schedule_scale=0,
        echo=False,
    )
