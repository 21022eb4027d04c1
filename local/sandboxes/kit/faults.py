"""Fault injection rules: which requests fail, how, and how often (the same rules in every sandbox;
each renders an injected answer in its provider's shape)."""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from local.sandboxes.kit.wire import Drop, Request

ACTIONS = {
    "http_500",
    "http_503",
    "http_429",
    "http_401",
    "timeout",
    "reset",
    "commit_then_500",
    "commit_then_reset",
    "commit_then_timeout",
}
OPERATIONS = {"create", "update", "read", "query", "batch", "void", "delete", "token", "any"}


@dataclass
class CallInfo:
    """What a request is, as far as rules and the log care: classified before it is processed."""

    kind: str  # "api" | "oauth"
    operation: str
    realm: str | None = None  # the provider's account the call concerns (a realm, a merchant id)
    entity: str | None = None
    # (entity, operation) of each batch item, so a rule naming an entity also hits a batch.
    batch_items: list[tuple[str | None, str]] = field(default_factory=list)


@dataclass
class FaultRule:
    id: str
    action: str
    method: str | None = None
    path: str | None = None
    entity: str | None = None
    operation: str = "any"
    realm: str | None = None
    times: int | None = None
    probability: float | None = None
    seed: int | None = None
    retry_after: int = 1
    seconds: float = 10.0
    fired: int = 0
    _random: random.Random = field(default_factory=random.Random, repr=False)

    @property
    def commits_first(self) -> bool:
        return self.action.startswith("commit_then_")

    def public(self) -> dict[str, Any]:
        fields = ("id", "action", "method", "path", "entity", "operation", "realm", "times")
        extra = ("probability", "seed", "retry_after", "seconds", "fired")
        return {name: getattr(self, name) for name in fields + extra}

    def matches(self, method: str, targets: tuple[str, ...], call: CallInfo) -> bool:
        """``targets``: the request's path, then path?query when it has one (``path`` may match either)."""
        if self.method and self.method.upper() != method:
            return False
        if self.path and not any(re.search(self.path, target) for target in targets):
            return False
        if self.realm and self.realm != call.realm:
            return False
        return self._matches_call(call)

    def _matches_call(self, call: CallInfo) -> bool:
        pairs = [(call.entity, call.operation), *call.batch_items]
        if call.operation == "batch" and self.operation == "batch" and not self.entity:
            return True
        return any(self._matches_pair(entity, operation) for entity, operation in pairs)

    def _matches_pair(self, entity: str | None, operation: str) -> bool:
        if self.entity and (entity or "").lower() != self.entity.lower():
            return False
        return self.operation in {"any", operation}


def parse_rule(rule_id: str, body: dict[str, Any]) -> FaultRule:
    """A rule from the control API's JSON; raises ValueError naming what is wrong."""
    action = body.get("action")
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {sorted(ACTIONS)}")
    operation = body.get("operation") or "any"
    if operation not in OPERATIONS:
        raise ValueError(f"operation must be one of {sorted(OPERATIONS)}")
    if body.get("path"):
        re.compile(body["path"])
    probability = body.get("probability")
    if probability is not None and not 0 <= float(probability) <= 1:
        raise ValueError("probability must be between 0 and 1")
    rule = FaultRule(
        id=rule_id,
        action=action,
        method=body.get("method"),
        path=body.get("path"),
        entity=body.get("entity"),
        operation=operation,
        realm=body.get("realm"),
        times=int(body["times"]) if body.get("times") is not None else None,
        probability=float(probability) if probability is not None else None,
        seed=body.get("seed"),
        retry_after=int(body.get("retry_after", 1)),
        seconds=float(body.get("seconds", 10.0)),
    )
    rule._random = random.Random(rule.seed)
    return rule


class FaultInjector:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._next_id = 0

    def add(self, body: dict[str, Any]) -> FaultRule:
        with self._lock:
            self._next_id += 1
            rule = parse_rule(f"fault-{self._next_id}", body)
            self._rules.append(rule)
            return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[dict[str, Any]]:
        with self._lock:
            return [rule.public() for rule in self._rules]

    def pick(self, request: Request, call: CallInfo) -> FaultRule | None:
        """The first rule that fires for this request; a ``times`` rule is spent by firing.

        A rule's ``path`` regex is tried on the path, then on path?query, so a rule can aim at the
        pages after the first (``payout-entries\\?.*cursor=``) while ``/payout-entries$`` still
        matches every page; a rule with a ``probability`` draws once per request either way."""
        targets: tuple[str, ...] = (request.path,)
        if request.query:
            targets += (f"{request.path}?{urlencode(request.query, doseq=True)}",)
        with self._lock:
            for rule in self._rules:
                if not rule.matches(request.method, targets, call):
                    continue
                if rule.probability is not None and rule._random.random() >= rule.probability:
                    continue
                rule.fired += 1
                if rule.times is not None:
                    rule.times -= 1
                    if rule.times <= 0:
                        self._rules.remove(rule)
                return rule
            return None


# A commit-first rule lets the work happen, then has the plain rule's effect on the answer.
_AFTER_COMMIT = {
    "commit_then_500": "http_500",
    "commit_then_reset": "reset",
    "commit_then_timeout": "timeout",
}


def fault_effect(rule: FaultRule) -> Drop | str:
    """A dropped connection (reset, timeout), or the kind of answer (``http_429``, ``http_503``,
    ``http_500``) for the sandbox to render in its provider's shape."""
    effect = _AFTER_COMMIT.get(rule.action, rule.action)
    if effect == "reset":
        return Drop("reset")
    if effect == "timeout":
        return Drop("timeout", rule.seconds)
    return effect
