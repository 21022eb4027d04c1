"""Least privilege, measured: the grants of each function's role that no call used, or too broad.

The local runtime records every IAM decision its functions meet (tests and the demo run through
it); local/iam/used.json keeps that measurement, and this figure adds whatever .local/iam-usage/
holds now (run `make demo` or the tests first for a fresh look). A grant (an action on a resource
pattern) that no call used, or a wildcard one whose calls all named one resource, must be removed
from template.yaml or carry a one-line reason in local/iam/unused.yaml: the figure counts those
without one (goal 0). See `python -m local.iam_report`.
"""

from __future__ import annotations

from bench.figure import Figure, Goal
from local.iam_report import load_reasons, load_used, merge, observed, offline_roles, report
from local.stack import iam_usage_dir

GOAL = Goal("<=", 0)


def measure() -> list[Figure]:
    reports = report(offline_roles(), merge(load_used(), observed(iam_usage_dir())), load_reasons())
    missing = [f"{item.function} {grant}" for item in reports for grant in item.without_reason]
    # A write grant on a table the function only reads counts too, whatever a shared reason says.
    missing += [
        f"{item.function} {grant} (reads suffice)"
        for item in reports
        for grant in item.writes_where_reads_suffice
        if grant not in item.without_reason
    ]
    flagged = sum(len(item.unused) + len(item.too_broad) for item in reports)
    allowed = sum(len(item.allowed) for item in reports)
    note = (
        f"{allowed} grants over {len(reports)} functions, "
        f"{flagged} unused or too broad ({flagged - len(missing)} with a reason)"
    )
    if missing:
        note += "; without a reason: " + ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
    return [Figure("iam.unused_permissions", len(missing), "", GOAL, note=note)]
