"""Least privilege, measured: the permissions each function's role grants that no call used.

The local runtime records every IAM decision its functions meet (tests and the demo run through
it); local/iam/used.json keeps that measurement, and this figure adds whatever .local/iam-usage/
holds now (run `make demo` or the tests first for a fresh look). An action a role allows that no
call used must be removed from template.yaml or carry a one-line reason in local/iam/unused.yaml:
the figure counts those without one (goal 0). See `python -m local.iam_report`.
"""

from __future__ import annotations

from bench.figure import Figure, Goal
from local.iam_report import load_reasons, load_used, merge, observed, offline_roles, report, usage_dir

GOAL = Goal("<=", 0)


def measure() -> list[Figure]:
    reports = report(offline_roles(), merge(load_used(), observed(usage_dir())), load_reasons())
    missing = [f"{item.function} {action}" for item in reports for action in item.without_reason]
    unused = sum(len(item.unused) for item in reports)
    allowed = sum(len(item.allowed) for item in reports)
    note = (
        f"{allowed} actions allowed over {len(reports)} functions, "
        f"{unused} unused ({unused - len(missing)} with a reason)"
    )
    if missing:
        note += "; without a reason: " + ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
    return [Figure("iam.unused_permissions", len(missing), "", GOAL, note=note)]
