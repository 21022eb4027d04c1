"""What a figure module returns: a named measurement, its unit and, optionally, its goal."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

Comparison = Literal["<", "<=", ">", ">="]

_COMPARE: dict[Comparison, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


@dataclass(frozen=True)
class Goal:
    """A bound the value must satisfy, such as `Goal("<=", 1.5)`."""

    comparison: Comparison
    target: float

    def met_by(self, value: float) -> bool:
        return _COMPARE[self.comparison](value, self.target)

    def __str__(self) -> str:
        return f"{self.comparison} {self.target:g}"


@dataclass(frozen=True)
class Figure:
    """One measurement. `value` is None when it could not be measured; `error` then says why
    (a missing handler, a failed build) so the report shows the gap instead of crashing."""

    name: str
    value: float | None
    unit: str
    goal: Goal | None = None
    note: str | None = None
    error: str | None = None

    @property
    def meets(self) -> bool | None:
        """Whether the goal is met; None when there is no goal. An unmeasured value misses."""
        if self.goal is None:
            return None
        return self.value is not None and self.goal.met_by(self.value)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "value": self.value, "unit": self.unit}
        if self.goal is not None:
            out["goal"] = str(self.goal)
            out["meets"] = self.meets
        if self.note:
            out["note"] = self.note
        if self.error:
            out["error"] = self.error
        return out


class BenchError(RuntimeError):
    """A figure could not be measured for a reason the reader can act on."""
