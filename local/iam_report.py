"""Least privilege, measured: per function, the grants of its role no test or demo run used.

The local runtime records every IAM decision its functions' calls meet (``.local/iam-usage/``, or
``BOOKSYNC_IAM_USAGE_DIR``). This module lists each function's grants (an action on a resource
pattern, from SAM's expansion of template.yaml, with logical ids in place of local names) and judges
each against the recorded calls: a grant no call used (an action used on one table leaves its grant
on another unused), and a wildcard grant whose calls all named one resource (too broad), must be
removed or narrowed in the template, or carry a one-line reason in ``local/iam/unused.yaml``.

``local/iam/used.json`` keeps the measurement (what the test suite and the demo used), so the test
that holds the template to it runs without the stack::

    python -m local.iam_report              # unused and too broad grants, with their reasons
                                            # (exit 1: some have none)
    python -m local.iam_report --record     # add what .local/iam-usage/ saw to local/iam/used.json

AWS managed policies that SAM attaches on its own (logs, traces, the SQS poller) are Lambda's, not
the template's, and are not listed.
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from local.runtime.iam import (
    Request,
    RoleFile,
    as_list,
    explicitly_denied,
    iam_action,
    iam_prefix,
    read_usage,
    statements_of,
    wildcard_match,
)
from local.runtime.roles import RoleBuilder, symbolic_resolver
from local.runtime.template import Pseudo, Resolver, Template, parameter_values
from local.stack import DEFAULT_CONFIG, REPO_ROOT, fill_placeholders, iam_usage_dir

TEMPLATE = REPO_ROOT / "template.yaml"
USED_FILE = REPO_ROOT / "local" / "iam" / "used.json"
REASONS_FILE = REPO_ROOT / "local" / "iam" / "unused.yaml"


@dataclass(frozen=True, order=True)
class GrantKey:
    """One thing a role allows: an action on a resource pattern (logical ids, not local names)."""

    action: str
    resource: str

    def __str__(self) -> str:
        return f"{self.action} on {self.resource}"


# ---------------------------------------------------------------------------------------------
# What the template allows


def offline_roles(template_path: Path = TEMPLATE) -> dict[str, RoleFile]:
    """Every function's role from the template alone, with the local stack's parameters."""
    template = Template.load(template_path)
    config = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8")) or {}
    # The placeholders stand for URLs and ids of a running stack: any value of the right shape.
    filler = _Placeholders()
    overrides = fill_placeholders(config.get("parameters") or {}, filler, "local/stack.yaml parameters")
    known = {name: value for name, value in overrides.items() if name in template.parameters}
    # Logical ids in place of local names, in the roles as in the usage record.
    resolver = symbolic_resolver(Resolver(template, parameter_values(template, known), Pseudo(), {}))
    builder = RoleBuilder(template, resolver, None)
    functions = [r.logical_id for r in template.of_type("AWS::Serverless::Function") if resolver.enabled(r)]
    return {function: builder.role(function) for function in functions}


class _Placeholders(dict[str, str]):
    def __contains__(self, key: object) -> bool:
        return isinstance(key, str)

    def __getitem__(self, key: str) -> str:
        return f"https://{key.replace('_', '-')}.local.example"


@functools.lru_cache(maxsize=64)
def _actions_of(prefix: str) -> frozenset[str]:
    """Every IAM action of a service, from botocore's model of it (empty if botocore has none)."""
    import botocore.session
    from botocore.exceptions import UnknownServiceError

    try:
        model = botocore.session.get_session().get_service_model(prefix)
    except UnknownServiceError:
        return frozenset()
    return frozenset(iam_action(iam_prefix(prefix), name) for name in model.operation_names)


def expand_action(pattern: str) -> list[str]:
    """``sqs:SendMessage*`` -> the IAM actions it matches (SendMessage; the batch is the same action)."""
    prefix = pattern.split(":", 1)[0].lower()
    if "*" not in pattern and "?" not in pattern:
        return [pattern]
    found = sorted(
        action for action in _actions_of(prefix) if wildcard_match(pattern, action, ignore_case=True)
    )
    return found or [pattern]


def grants(role: RoleFile) -> set[GrantKey]:
    """What the role's own (template-declared) Allow statements grant, one action and pattern each,
    less what a Deny of the role takes back."""
    found: set[GrantKey] = set()
    for policy in role.policies:
        if not policy.declared:
            continue
        for statement in statements_of(policy.symbolic):
            if statement.get("Effect") != "Allow" or "Action" not in statement:
                continue
            patterns = as_list(statement.get("Resource", []))
            for action in as_list(statement["Action"]):
                for expanded in expand_action(str(action)):
                    found.update(GrantKey(expanded, str(pattern)) for pattern in patterns)
    documents = [policy.symbolic for policy in role.policies]
    return {
        grant for grant in found if not explicitly_denied(documents, Request(grant.action, grant.resource))
    }


# ---------------------------------------------------------------------------------------------
# What was used


@dataclass(frozen=True, order=True)
class Use:
    """One call a function made, as IAM saw it, with logical ids in place of local names."""

    action: str
    resource: str
    context: tuple[tuple[str, str | tuple[str, ...]], ...] = ()

    @classmethod
    def of(cls, action: str, resource: str, context: Mapping[str, Any] | None) -> Use:
        items = sorted((context or {}).items())
        return cls(
            action, resource, tuple((k, tuple(v) if isinstance(v, list) else str(v)) for k, v in items)
        )

    def request(self) -> Request:
        return Request(
            self.action, self.resource, {k: list(v) if isinstance(v, tuple) else v for k, v in self.context}
        )

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"action": self.action, "resource": self.resource}
        if self.context:
            body["context"] = dict(self.request().context)
        return body


def observed(directory: Path) -> dict[str, set[Use]]:
    """The calls a role allowed, per function, from a usage directory."""
    used: dict[str, set[Use]] = {}
    if not directory.is_dir():
        return used
    for entry in read_usage(directory):
        if entry.get("allowed") and "symbolic" in entry:
            use = Use.of(str(entry["action"]), str(entry["symbolic"]), entry.get("context"))
            used.setdefault(str(entry["function"]), set()).add(use)
    return used


def load_used(path: Path = USED_FILE) -> dict[str, set[Use]]:
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return {
        function: {Use.of(item["action"], item["resource"], item.get("context")) for item in items}
        for function, items in data.get("used", {}).items()
    }


def save_used(used: Mapping[str, set[Use]], path: Path = USED_FILE) -> None:
    body = {
        "about": (
            "Per function, the AWS calls (IAM action, resource, condition keys; logical ids in place "
            "of local names) that the test suite and the demo made through the local runtime. "
            "Written by python -m local.iam_report --record."
        ),
        "used": {function: [use.as_json() for use in sorted(used[function])] for function in sorted(used)},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")


def load_reasons(path: Path = REASONS_FILE) -> dict[str, dict[str, str]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None
    return {
        str(function): {str(k): str(v) for k, v in (items or {}).items()}
        for function, items in (data or {}).items()
    }


def merge(*sources: Mapping[str, set[Use]]) -> dict[str, set[Use]]:
    """One use per action, resource and set of condition keys (the first seen): the values of an
    encryption context are data (company and connection ids), and the record must not grow with them."""
    merged: dict[str, dict[tuple[str, str, tuple[str, ...]], Use]] = {}
    for source in sources:
        for function, items in source.items():
            kept = merged.setdefault(function, {})
            for use in sorted(items):
                kept.setdefault((use.action, use.resource, tuple(key for key, _ in use.context)), use)
    return {function: set(kept.values()) for function, kept in merged.items()}


# ---------------------------------------------------------------------------------------------
# The report

EVERY_FUNCTION = "*"  # a reason in local/iam/unused.yaml that holds for every function


def _uses(use: Use, grant: GrantKey) -> bool:
    """A call uses a grant when its action is the grant's and its resource matches the pattern."""
    return use.action.lower() == grant.action.lower() and wildcard_match(grant.resource, use.resource)


def _covers(key: str, grant: GrantKey) -> bool:
    """A reason's key: an action (on every resource it is granted on), or "<action> on <resource>";
    either may hold IAM's wildcards (``dynamodb:*Item on *:table/*/index/*``)."""
    action, _, resource = key.partition(" on ")
    return wildcard_match(action, grant.action, ignore_case=True) and (
        not resource or wildcard_match(resource, grant.resource)
    )


DYNAMODB_WRITES = frozenset(
    {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}
)
# A table named by its logical id, not a wildcard: ``...:table/{DocumentsTable}`` (no index).
_TABLE = re.compile(r":table/\{[A-Za-z0-9]+\}$")
_NAMED = re.compile(r"\{[A-Za-z0-9]+\}$")  # a reason's resource pattern ending in one logical id


def _wildcard_resource(pattern: str) -> bool:
    """``*``, or an ARN whose resource name is a wildcard (``...:key/*``, ``...:parameter/app/*``)."""
    return pattern == "*" or pattern.endswith(("/*", ":*"))


@dataclass(frozen=True)
class FunctionReport:
    """One function: what its role grants, the calls it made, the reasons for the rest."""

    function: str
    role: RoleFile
    used: frozenset[Use]
    # "<action>" or "<action> on <resource pattern>" (wildcards allowed) -> why the grant stays
    # though unused or broad; the function's own keys first, then those of "*"
    reasons: Mapping[str, str]
    # the keys of ``reasons`` that are the function's own (not those of "*")
    own: frozenset[str] = frozenset()

    @functools.cached_property
    def allowed(self) -> frozenset[GrantKey]:
        """What the template's own statements grant this role (AWS managed policies aside), one
        action on one resource pattern each."""
        return frozenset(grants(self.role))

    @functools.cached_property
    def refused(self) -> list[Use]:
        """Recorded calls the role now refuses: a permission the code needs was removed."""
        return sorted(use for use in self.used if not self.role.decide(use.request()).allowed)

    @functools.cached_property
    def used_on(self) -> dict[GrantKey, list[str]]:
        """Per grant, the resources the allowed recorded calls named through it."""
        refused = set(self.refused)
        calls = [use for use in self.used if use not in refused]
        return {grant: sorted({use.resource for use in calls if _uses(use, grant)}) for grant in self.allowed}

    @property
    def unused(self) -> list[GrantKey]:
        """Grants (an action on a resource) that no recorded call used: an action used on one
        resource does not make its grant on another used."""
        return sorted(grant for grant, resources in self.used_on.items() if not resources)

    @property
    def too_broad(self) -> list[GrantKey]:
        """Grants on ``*`` (or every resource of a kind) whose calls all named one specific resource
        or a few: a grant on those would do."""
        return sorted(
            grant
            for grant, resources in self.used_on.items()
            if resources and _wildcard_resource(grant.resource) and not any("*" in r for r in resources)
        )

    def reason(self, grant: GrantKey, *, broad: bool = False) -> str | None:
        """Why the grant stays: for a too broad one, only a key that names a resource pattern (a
        reason an action is unused says nothing about its resource)."""
        keys = [(key, why) for key, why in self.reasons.items() if not broad or " on " in key]
        return next((why for key, why in keys if _covers(key, grant)), None)

    def covers(self, key: str) -> bool:
        """Whether a reason's key covers one of this function's unused or too broad grants."""
        broad = self.too_broad if " on " in key else []
        return any(_covers(key, grant) for grant in [*self.unused, *broad])

    @property
    def writes_where_reads_suffice(self) -> list[GrantKey]:
        """DynamoDB write grants (a CrudPolicy, say) on a table this function's recorded calls only
        read, or never touched, unless a reason of the function's own names that table: a shared
        reason, or one for every table, cannot keep a write grant where reads suffice."""
        written = {use.resource for use in self.used if use.action in DYNAMODB_WRITES}
        return sorted(
            grant
            for grant in self.unused
            if grant.action in DYNAMODB_WRITES
            and _TABLE.search(grant.resource)
            and not any(wildcard_match(grant.resource, resource) for resource in written)
            and not any(_covers(key, grant) and _NAMED.search(key.partition(" on ")[2]) for key in self.own)
        )

    @property
    def without_reason(self) -> list[GrantKey]:
        return [
            *(grant for grant in self.unused if self.reason(grant) is None),
            *(grant for grant in self.too_broad if self.reason(grant, broad=True) is None),
        ]


def report(
    roles: Mapping[str, RoleFile], used: Mapping[str, set[Use]], reasons: Mapping[str, Mapping[str, str]]
) -> list[FunctionReport]:
    shared = reasons.get(EVERY_FUNCTION, {})
    reports: list[FunctionReport] = []
    for function, role in sorted(roles.items()):
        own = reasons.get(function, {})
        # The function's own keys first, with their own words, then the shared ones it lacks.
        ordered = {**own, **{key: why for key, why in shared.items() if key not in own}}
        reports.append(
            FunctionReport(function, role, frozenset(used.get(function, set())), ordered, frozenset(own))
        )
    return reports


def stale_reasons(reports: Sequence[FunctionReport], reasons: Mapping[str, Mapping[str, str]]) -> list[str]:
    """Reasons that cover no unused or too broad grant (used after all, no longer granted, or of
    an unknown function)."""
    by_function = {item.function: [item] for item in reports}
    stale: list[str] = []
    for function, items in reasons.items():
        scope = reports if function == EVERY_FUNCTION else by_function.get(function, [])
        stale.extend(f"{function}: {key}" for key in items if not any(item.covers(key) for item in scope))
    return stale


def render(reports: Iterable[FunctionReport]) -> str:
    lines: list[str] = []
    for item in reports:
        used = len(item.allowed) - len(item.unused)
        lines.append(f"{item.function}: {len(item.allowed)} grants, {used} used")
        for grant in item.unused:
            lines.append(f"  unused  {grant}  -- {item.reason(grant) or 'NO REASON'}")
        for grant in item.too_broad:
            on = ", ".join(item.used_on[grant])
            reason = item.reason(grant, broad=True) or "NO REASON"
            lines.append(f"  too broad  {grant} (used on {on})  -- {reason}")
        lines.extend(f"  REFUSED now, though used  {use.action} on {use.resource}" for use in item.refused)
        lines.extend(
            f"  WRITE where reads suffice  {grant}  -- no reason of {item.function}'s own names the table"
            for grant in item.writes_where_reads_suffice
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.iam_report", description=__doc__.splitlines()[0])
    parser.add_argument("--record", action="store_true", help="add the observed usage to local/iam/used.json")
    parser.add_argument("--usage-dir", type=Path, default=None, help="default .local/iam-usage")
    args = parser.parse_args(argv)
    roles = offline_roles()
    # Only template.yaml's functions: stacks of other templates (the runtime's fixtures) record too.
    seen = {f: grants for f, grants in observed(args.usage_dir or iam_usage_dir()).items() if f in roles}
    used = merge(load_used(), seen)
    if args.record:
        save_used(used)
        print(f"recorded {sum(len(v) for v in seen.values())} observed calls into {USED_FILE}")
    reasons = load_reasons()
    reports = report(roles, used, reasons)
    print(render(reports))
    for stale in stale_reasons(reports, reasons):
        print(f"stale reason (it covers no unused or too broad grant): {stale}")
    missing = sum(len(item.without_reason) + len(item.writes_where_reads_suffice) for item in reports)
    print(f"\n{missing} unused or too broad grant(s) without a reason (or writes where reads suffice)")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
