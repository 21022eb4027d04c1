"""IAM for the local runtime: policy evaluation as AWS does it, and its enforcement in a function's process.

The runtime (``local.runtime.roles``) writes each function's role as the template declares it
(SAM's expansion, every reference resolved to the local resources) to a JSON file; the function's
worker calls :func:`install` before it imports the handler. From then on every botocore client the
function makes (boto3, pynamodb and Powertools all use botocore sessions) asks this module before
each call, and a call the role does not allow never leaves the process: the client gets the
AccessDenied error AWS would send, in the service's wire protocol, parsed by botocore itself.

Evaluation follows AWS's logic for one account: an explicit Deny wins; otherwise an Allow is needed
from an identity policy, or, for a KMS key, from the key policy (naming the role, or naming the
account, which then delegates to the identity policies). Actions and resources match with IAM's
``*``/``?`` wildcards; Action/NotAction, Resource/NotResource and the condition operators below are
understood; any other operator is an error, so a policy is never evaluated as something it is not.

This file is loaded by path in the worker (its import path is the function's, as in Lambda): it
imports only the standard library at module level, and botocore when installed.
"""

from __future__ import annotations

import json
import os
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ContextValue = str | list[str]
Document = Mapping[str, Any]


class PolicyError(Exception):
    """A policy uses something this evaluator does not understand."""


# ---------------------------------------------------------------------------------------------
# Matching


def _glob(pattern: str, *, ignore_case: bool) -> re.Pattern[str]:
    parts = ("." if char == "?" else ".*" if char == "*" else re.escape(char) for char in pattern)
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def wildcard_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM's wildcards: ``*`` any run of characters, ``?`` one character, nothing else special."""
    return _glob(pattern, ignore_case=ignore_case).fullmatch(value) is not None


def as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


# ---------------------------------------------------------------------------------------------
# Requests and decisions


@dataclass(frozen=True)
class Request:
    """One authorization question: may the principal do ``action`` on ``resource``?"""

    action: str  # service prefix and action, as IAM names it: "dynamodb:PutItem"
    resource: str  # an ARN, or "*" for actions without resource-level permissions
    context: Mapping[str, ContextValue] = field(default_factory=dict)  # condition keys

    def value(self, key: str) -> ContextValue | None:
        """A condition key's value; key names are case-insensitive, as in IAM."""
        wanted = key.lower()
        for name, value in self.context.items():
            if name.lower() == wanted:
                return value
        return None


@dataclass(frozen=True)
class Grant:
    """Which Allow statement let a request through: the policy, the statement, the resource pattern."""

    policy: int
    statement: int
    resource: int  # index in the statement's Resource list; -1 for NotResource


KEY_POLICY = -1  # Grant.policy of an allow that the key policy gives the role by name


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str  # "allowed", or why not, in AWS's words
    grant: Grant | None = None


def statements_of(document: Document) -> list[Mapping[str, Any]]:
    statements = document.get("Statement", [])
    return [dict(item) for item in as_list(statements)]


def _action_matches(statement: Mapping[str, Any], action: str) -> bool:
    if "NotAction" in statement:
        return not any(wildcard_match(p, action, ignore_case=True) for p in as_list(statement["NotAction"]))
    return any(wildcard_match(p, action, ignore_case=True) for p in as_list(statement.get("Action", [])))


def _resource_index(statement: Mapping[str, Any], resource: str) -> int | None:
    """The index of the first Resource pattern that matches (-1 for a NotResource that lets it pass)."""
    if "NotResource" in statement:
        if any(wildcard_match(p, resource) for p in as_list(statement["NotResource"])):
            return None
        return -1
    for index, pattern in enumerate(as_list(statement.get("Resource", []))):
        if wildcard_match(str(pattern), resource):
            return index
    return None


def principal_matches(statement: Mapping[str, Any], principal_arn: str) -> bool:
    """Whether a resource policy statement's Principal names this role itself (or everyone)."""
    if "NotPrincipal" in statement:
        raise PolicyError("NotPrincipal is not supported by the local runtime")
    principal = statement.get("Principal")
    if principal == "*":
        return True
    if not isinstance(principal, Mapping):
        return False
    return any(str(name) in ("*", principal_arn) for name in as_list(principal.get("AWS", [])))


def names_account(statement: Mapping[str, Any], account_id: str) -> bool:
    """A key policy statement that names the account: it lets the identity policies decide."""
    principal = statement.get("Principal")
    if not isinstance(principal, Mapping):
        return False
    return any(
        str(name) in (account_id, f"arn:aws:iam::{account_id}:root")
        for name in as_list(principal.get("AWS", []))
    )


# ---------------------------------------------------------------------------------------------
# Conditions

_NEGATED = ("StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals", "ArnNotLike")
_NUMERIC: dict[str, Callable[[float, float], bool]] = {
    "NumericEquals": lambda a, b: a == b,
    "NumericNotEquals": lambda a, b: a != b,
    "NumericLessThan": lambda a, b: a < b,
    "NumericLessThanEquals": lambda a, b: a <= b,
    "NumericGreaterThan": lambda a, b: a > b,
    "NumericGreaterThanEquals": lambda a, b: a >= b,
}


def _match_one(operator: str, expected: str, actual: str) -> bool:
    """One value against one policy value, for a positive (non-negated) operator."""
    if operator in ("StringEquals", "ArnEquals"):
        return actual == expected if operator == "StringEquals" else wildcard_match(expected, actual)
    if operator == "StringEqualsIgnoreCase":
        return actual.lower() == expected.lower()
    if operator in ("StringLike", "ArnLike"):
        return wildcard_match(expected, actual)
    if operator == "Bool":
        return actual.lower() == expected.lower()
    if operator in _NUMERIC:
        try:
            return _NUMERIC[operator](float(actual), float(expected))
        except ValueError:
            return False
    raise PolicyError(f"condition operator {operator} is not supported by the local runtime")


_POSITIVE = ("StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike", "Bool")
_OPERATORS = frozenset((*_POSITIVE, *_NEGATED, *_NUMERIC, "Null"))


def _positive(operator: str) -> str:
    return {
        "StringNotEquals": "StringEquals",
        "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
        "StringNotLike": "StringLike",
        "ArnNotEquals": "ArnEquals",
        "ArnNotLike": "ArnLike",
    }.get(operator, operator)


def _condition_holds(full_operator: str, key: str, expected: Any, request: Request) -> bool:
    qualifier, _, operator = full_operator.rpartition(":")
    if_exists = operator.endswith("IfExists")
    operator = operator.removesuffix("IfExists")
    # Before any shortcut (a missing key): a Deny with an unknown operator must never read as allowed.
    if operator not in _OPERATORS:
        raise PolicyError(f"condition operator {full_operator} is not supported by the local runtime")
    expected_values = [
        str(value).lower() if isinstance(value, bool) else str(value) for value in as_list(expected)
    ]
    actual = request.value(key)
    if operator == "Null":
        wants_absent = expected_values[0].lower() == "true"
        return (actual is None) == wants_absent
    if qualifier not in ("", "ForAllValues", "ForAnyValue"):
        raise PolicyError(f"condition qualifier {qualifier} is not supported by the local runtime")
    negated = operator in _NEGATED
    positive = _positive(operator)
    if actual is None:
        if qualifier == "ForAllValues":
            return True
        return if_exists or (negated and qualifier == "")
    values = as_list(actual)

    def one(value: str) -> bool:
        matched = any(_match_one(positive, want, value) for want in expected_values)
        return not matched if negated else matched

    if qualifier == "ForAllValues":
        return all(one(value) for value in values)
    if qualifier == "ForAnyValue" or not negated:
        return any(one(value) for value in values)
    return all(one(value) for value in values)


def conditions_hold(statement: Mapping[str, Any], request: Request) -> bool:
    block = statement.get("Condition") or {}
    if not isinstance(block, Mapping):
        raise PolicyError("Condition must be a mapping of operator to {key: value}")
    return all(
        _condition_holds(str(operator), str(key), expected, request)
        for operator, keys in block.items()
        for key, expected in dict(keys).items()
    )


# ---------------------------------------------------------------------------------------------
# Evaluation


@dataclass(frozen=True)
class _Found:
    deny: bool
    allow: Grant | None


def explicitly_denied(documents: Sequence[Document], request: Request) -> bool:
    """Whether a Deny statement of these documents applies to the request."""
    return _scan(documents, request, lambda _statement: True).deny


def _scan(
    documents: Sequence[Document], request: Request, applies: Callable[[Mapping[str, Any]], bool]
) -> _Found:
    deny = False
    allow: Grant | None = None
    for policy_index, document in enumerate(documents):
        for statement_index, statement in enumerate(statements_of(document)):
            if not applies(statement) or not _action_matches(statement, request.action):
                continue
            resource_index = _resource_index(statement, request.resource)
            if resource_index is None or not conditions_hold(statement, request):
                continue
            if statement.get("Effect") == "Deny":
                deny = True
            elif allow is None:
                allow = Grant(policy_index, statement_index, resource_index)
    return _Found(deny, allow)


def evaluate(
    request: Request,
    identity: Sequence[Document],
    *,
    principal_arn: str,
    account_id: str,
    key_policy: Document | None = None,
) -> Decision:
    """AWS's decision for a role of this account; ``key_policy`` when the resource is a KMS key."""
    user = (
        f"User: {assumed_role(principal_arn)} is not authorized to perform: {request.action} "
        f"on resource: {request.resource}"
    )
    found = _scan(identity, request, lambda _statement: True)
    if found.deny:
        return Decision(False, f"{user} with an explicit deny in an identity-based policy")
    if key_policy is None:
        if found.allow is None:
            return Decision(
                False, f"{user} because no identity-based policy allows the {request.action} action"
            )
        return Decision(True, "allowed", found.allow)
    direct = _scan([key_policy], request, lambda s: principal_matches(s, principal_arn))
    delegated = _scan([key_policy], request, lambda s: names_account(s, account_id))
    if direct.deny or delegated.deny:
        return Decision(False, f"{user} with an explicit deny in a resource-based policy")
    if direct.allow is not None:
        return Decision(True, "allowed", Grant(KEY_POLICY, direct.allow.statement, direct.allow.resource))
    if delegated.allow is not None:
        if found.allow is not None:
            return Decision(True, "allowed", found.allow)
        # The key policy lets IAM decide, and no identity policy allows: that is what AWS names.
        return Decision(False, f"{user} because no identity-based policy allows the {request.action} action")
    return Decision(False, f"{user} because no resource-based policy allows the {request.action} action")


def assumed_role(role_arn: str) -> str:
    """The caller as AWS names it in an AccessDenied message."""
    account = role_arn.split(":")[4] if role_arn.count(":") >= 5 else ""
    role = role_arn.rsplit("/", 1)[-1]
    function = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", role)
    return f"arn:aws:sts::{account}:assumed-role/{role}/{function}"


# ---------------------------------------------------------------------------------------------
# From a botocore call to IAM requests

# Operations whose IAM action is another operation's (AWS's Service Authorization Reference).
_ACTION_OF: dict[tuple[str, str], str] = {
    ("sqs", "SendMessageBatch"): "SendMessage",
    ("sqs", "DeleteMessageBatch"): "DeleteMessage",
    ("sqs", "ChangeMessageVisibilityBatch"): "ChangeMessageVisibility",
}
# Services whose IAM prefix is not their signing name.
_PREFIX_OF = {"monitoring": "cloudwatch"}
_TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}
# SSM's AWS managed key (alias/aws/ssm): moto has none, so it gets a fixed id of the usual shape.
SSM_SERVICE_KEY_ALIAS = "alias/aws/ssm"
SSM_SERVICE_KEY_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, SSM_SERVICE_KEY_ALIAS))


def iam_prefix(signing_name: str) -> str:
    return _PREFIX_OF.get(signing_name, signing_name)


def iam_action(prefix: str, operation: str) -> str:
    return f"{prefix}:{_ACTION_OF.get((prefix, operation), operation)}"


@dataclass(frozen=True)
class Place:
    """Where the calls go: the account, the region, and the local KMS keys (id -> ARN, alias -> id)."""

    account_id: str
    region: str
    keys: Mapping[str, str] = field(default_factory=dict)
    aliases: Mapping[str, str] = field(default_factory=dict)

    def arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{self.account_id}:{resource}"

    def table_arn(self, name: str) -> str:
        return name if name.startswith("arn:") else self.arn("dynamodb", f"table/{name}")

    def queue_arn(self, url_or_name: str) -> str:
        return self.arn("sqs", url_or_name.rstrip("/").rsplit("/", 1)[-1])

    def parameter_arn(self, name: str) -> str:
        if name.startswith("arn:"):
            return name
        return self.arn("ssm", f"parameter{name}" if name.startswith("/") else f"parameter/{name}")

    def key_arn(self, key: str) -> str:
        """A KeyId as KMS accepts it (id, ARN, alias name or alias ARN) to the key's ARN."""
        if ":alias/" in key:
            key = "alias/" + key.split(":alias/", 1)[1]
        if key.startswith("alias/"):
            key = self.aliases.get(key, key)
            if key.startswith("alias/"):
                return self.arn("kms", key)
        if key.startswith("arn:"):
            return key
        return self.keys.get(key, self.arn("kms", f"key/{key}"))

    def aliases_of(self, key_arn: str) -> list[str]:
        """The alias names that point at a key (KMS's kms:ResourceAliases condition key)."""
        key_id = key_arn.rsplit("/", 1)[-1] if ":key/" in key_arn else None
        found = [alias for alias, target in self.aliases.items() if key_id and target == key_id]
        return sorted([*found, SSM_SERVICE_KEY_ALIAS] if key_id == SSM_SERVICE_KEY_ID else found)

    def ssm_key_arn(self) -> str:
        return self.arn("kms", f"key/{SSM_SERVICE_KEY_ID}")

    def key_of_ciphertext(self, blob: Any) -> str | None:
        """moto's symmetric ciphertext starts with the key id (AWS's also carries it)."""
        data = bytes(blob) if isinstance(blob, bytes | bytearray) else str(blob).encode()
        return next((key for key in self.keys if data.startswith(key.encode())), None)


def _kms_context(params: Mapping[str, Any], place: Place) -> dict[str, ContextValue]:
    context: dict[str, ContextValue] = {"kms:CallerAccount": place.account_id}
    encryption_context = params.get("EncryptionContext")
    if isinstance(encryption_context, Mapping) and encryption_context:
        context["kms:EncryptionContextKeys"] = sorted(encryption_context)
        for key, value in encryption_context.items():
            context[f"kms:EncryptionContext:{key}"] = str(value)
    return context


def _dynamodb(operation: str, params: Mapping[str, Any], place: Place) -> list[Request]:
    if operation in ("TransactWriteItems", "TransactGetItems"):
        found: list[Request] = []
        for item in params.get("TransactItems", []):
            for kind, body in dict(item).items():
                action = f"dynamodb:{_TRANSACT_ACTIONS[kind]}"
                found.append(Request(action, place.table_arn(str(body["TableName"]))))
        return found
    if operation in ("BatchWriteItem", "BatchGetItem"):
        return [
            Request(f"dynamodb:{operation}", place.table_arn(str(name)))
            for name in params.get("RequestItems", {})
        ]
    table = params.get("TableName") or params.get("ResourceArn")
    if table is None:
        return [Request(f"dynamodb:{operation}", "*")]
    arn = place.table_arn(str(table))
    if params.get("IndexName"):
        arn = f"{arn}/index/{params['IndexName']}"
    return [Request(f"dynamodb:{operation}", arn)]


def _sqs(operation: str, params: Mapping[str, Any], place: Place) -> list[Request]:
    action = iam_action("sqs", operation)
    if "QueueUrl" in params:
        return [Request(action, place.queue_arn(str(params["QueueUrl"])))]
    if "QueueName" in params:
        return [Request(action, place.queue_arn(str(params["QueueName"])))]
    return [Request(action, "*")]


def _kms(operation: str, params: Mapping[str, Any], place: Place) -> list[Request]:
    key = params.get("KeyId")
    if key is None and "CiphertextBlob" in params:
        key = place.key_of_ciphertext(params["CiphertextBlob"])
    resource = "*" if key is None else place.key_arn(str(key))
    return [Request(f"kms:{operation}", resource, _kms_context(params, place))]


def _ssm(operation: str, params: Mapping[str, Any], place: Place) -> list[Request]:
    names = [params["Name"]] if "Name" in params else list(params.get("Names", []))
    if "Path" in params:
        names = [params["Path"]]
    if not names:
        return [Request(f"ssm:{operation}", "*")]
    return [Request(f"ssm:{operation}", place.parameter_arn(str(name))) for name in names]


_MAPPERS: dict[str, Callable[[str, Mapping[str, Any], Place], list[Request]]] = {
    "dynamodb": _dynamodb,
    "sqs": _sqs,
    "kms": _kms,
    "ssm": _ssm,
}


def requests_for(prefix: str, operation: str, params: Mapping[str, Any], place: Place) -> list[Request]:
    """The IAM requests one API call makes (a transaction or batch asks once per table and kind)."""
    mapper = _MAPPERS.get(prefix)
    if mapper is not None:
        return mapper(operation, params, place)
    resource = params.get("TopicArn") or params.get("TargetArn") or "*"
    return [Request(iam_action(prefix, operation), str(resource))]


def ssm_decrypt_request(parameter_name: str, place: Place) -> Request:
    """What SSM asks KMS on the caller's behalf to return a SecureString decrypted (with SSM's AWS
    managed key, alias/aws/ssm: the key of every SecureString booksync reads)."""
    parameter_arn = place.parameter_arn(parameter_name)
    return Request(
        "kms:Decrypt",
        place.ssm_key_arn(),
        {
            "kms:CallerAccount": place.account_id,
            "kms:ViaService": f"ssm.{place.region}.amazonaws.com",
            "kms:EncryptionContextKeys": ["PARAMETER_ARN"],
            "kms:EncryptionContext:PARAMETER_ARN": parameter_arn,
        },
    )


# ---------------------------------------------------------------------------------------------
# A function's role, as the runtime writes it


@dataclass(frozen=True)
class NamedPolicy:
    name: str  # where it comes from: "SyncInvoiceFunctionRolePolicy0 (DynamoDBCrudPolicy)"
    document: Document  # resolved to the local resources
    symbolic: Document  # the same, with logical ids in place of local names (for the usage record)
    declared: bool  # False for what SAM adds on its own (AWS managed policies)


@dataclass(frozen=True)
class KeyPolicy:
    key: str  # the key's logical id
    document: Document


@dataclass(frozen=True)
class RoleFile:
    function: str
    role_arn: str
    place: Place
    policies: tuple[NamedPolicy, ...]
    key_policies: Mapping[str, KeyPolicy]  # by key ARN (a key absent here has the default policy)
    usage_dir: str | None
    # Local names (tables, queues, key ids) -> "{LogicalId}" forms, for the usage record.
    symbols: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "function": self.function,
            "role_arn": self.role_arn,
            "place": {
                "account_id": self.place.account_id,
                "region": self.place.region,
                "keys": dict(self.place.keys),
                "aliases": dict(self.place.aliases),
            },
            "policies": [
                {"name": p.name, "document": p.document, "symbolic": p.symbolic, "declared": p.declared}
                for p in self.policies
            ],
            "key_policies": {
                arn: {"key": policy.key, "document": policy.document}
                for arn, policy in self.key_policies.items()
            },
            "usage_dir": self.usage_dir,
            "symbols": dict(self.symbols),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RoleFile:
        place = data["place"]
        return cls(
            function=str(data["function"]),
            role_arn=str(data["role_arn"]),
            place=Place(str(place["account_id"]), str(place["region"]), place["keys"], place["aliases"]),
            policies=tuple(
                NamedPolicy(str(p["name"]), p["document"], p["symbolic"], bool(p["declared"]))
                for p in data["policies"]
            ),
            key_policies={
                arn: KeyPolicy(str(policy["key"]), policy["document"])
                for arn, policy in data["key_policies"].items()
            },
            usage_dir=data.get("usage_dir"),
            symbols=data.get("symbols") or {},
        )

    def decide(self, request: Request) -> Decision:
        # The global keys AWS adds to every request a role makes.
        added: dict[str, ContextValue] = {
            "aws:PrincipalArn": self.role_arn,
            "aws:PrincipalAccount": self.place.account_id,
        }
        key_policy: Document | None = None
        if request.action.lower().startswith("kms:"):
            # KMS adds the key's aliases: the key is known by its alias in a policy of its users.
            aliases = self.place.aliases_of(request.resource)
            if aliases:
                added["kms:ResourceAliases"] = aliases
        request = Request(request.action, request.resource, {**added, **request.context})
        if request.action.lower().startswith("kms:"):
            # A key without a policy here has the default one (the account, so IAM decides), but
            # for SSM's AWS managed key, whose policy AWS sets.
            known = self.key_policies.get(request.resource)
            if known is not None:
                key_policy = known.document
            elif request.resource == self.place.ssm_key_arn():
                key_policy = ssm_key_policy(self.place.account_id, self.place.region)
            else:
                key_policy = default_key_policy(self.place.account_id)
        return evaluate(
            request,
            [policy.document for policy in self.policies],
            principal_arn=self.role_arn,
            account_id=self.place.account_id,
            key_policy=key_policy,
        )

    def granted(self, grant: Grant, request: Request) -> str:
        """The symbolic resource pattern of a grant (logical ids, not local names)."""
        if grant.policy == KEY_POLICY:
            known = self.key_policies.get(request.resource)
            return f"key policy of {known.key if known else request.resource}"
        statement = statements_of(self.policies[grant.policy].symbolic)[grant.statement]
        if grant.resource < 0:
            return "NotResource " + json.dumps(statement.get("NotResource"))
        return str(as_list(statement.get("Resource", []))[grant.resource])

    def symbolize(self, text: str) -> str:
        """An ARN with the local names in it replaced by their logical ids."""
        for name in sorted(self.symbols, key=len, reverse=True):
            pieces = re.split(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text)
            text = self.symbols[name].join(pieces)
        return text

    def policy_name(self, grant: Grant) -> str:
        return "key policy" if grant.policy == KEY_POLICY else self.policies[grant.policy].name


def default_key_policy(account_id: str) -> Document:
    """KMS's default key policy: the account may do everything, so the identity policies decide."""
    return {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ]
    }


def ssm_key_policy(account_id: str, region: str) -> Document:
    """The key policy AWS gives SSM's managed key (alias/aws/ssm): any principal of the account may
    use it through SSM, so reading a SecureString needs ssm:GetParameter and no kms:Decrypt grant."""
    return {
        "Statement": [
            {
                "Sid": "Allow access through Systems Manager for all principals in the account that "
                "are authorized to use Systems Manager",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": [
                    "kms:Encrypt",
                    "kms:Decrypt",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:CreateGrant",
                    "kms:DescribeKey",
                ],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        "kms:CallerAccount": account_id,
                        "kms:ViaService": f"ssm.{region}.amazonaws.com",
                    }
                },
            },
            {
                "Sid": "Allow direct access to key metadata to the account",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                "Action": ["kms:Describe*", "kms:Get*", "kms:List*", "kms:RevokeGrant"],
                "Resource": "*",
            },
        ]
    }


# ---------------------------------------------------------------------------------------------
# The usage record: what each function actually asked, allowed or not


class UsageLog:
    """Appends each distinct decision of this process to <usage_dir>/<Function>.<pid>.jsonl."""

    def __init__(self, role: RoleFile) -> None:
        self._role = role
        self._seen: set[tuple[str, str, bool]] = set()
        self._lock = threading.Lock()
        self._path: Path | None = None
        if role.usage_dir:
            directory = Path(role.usage_dir)
            directory.mkdir(parents=True, exist_ok=True)
            self._path = directory / f"{role.function}.{os.getpid()}.jsonl"

    def record(self, request: Request, decision: Decision) -> None:
        if self._path is None:
            return
        key = (request.action, request.resource, decision.allowed)
        with self._lock:
            if key in self._seen:
                return
            self._seen.add(key)
            line = {
                "function": self._role.function,
                "action": request.action,
                "resource": request.resource,
                # The same call with logical ids: what local/iam/used.json keeps.
                "symbolic": self._role.symbolize(request.resource),
                "context": {
                    k: self._role.symbolize(v) if isinstance(v, str) else v
                    for k, v in request.context.items()
                },
                "allowed": decision.allowed,
                "grant": None if decision.grant is None else self._role.granted(decision.grant, request),
                "policy": None if decision.grant is None else self._role.policy_name(decision.grant),
            }
            with self._path.open("a", encoding="utf-8") as stream:
                stream.write(json.dumps(line) + "\n")


def read_usage(directory: Path) -> list[dict[str, Any]]:
    """Every decision recorded under a usage directory."""
    entries: list[dict[str, Any]] = []
    for path in sorted(directory.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                entries.append(json.loads(line))
    return entries


# ---------------------------------------------------------------------------------------------
# Enforcement in the worker

_REFUSAL_KEY = "booksync_local_iam_refusal"


class Enforcer:
    """The botocore event handlers that ask the role before each call."""

    def __init__(self, role: RoleFile) -> None:
        self.role = role
        self.usage = UsageLog(role)

    def decide(self, request: Request) -> Decision:
        decision = self.role.decide(request)
        self.usage.record(request, decision)
        return decision

    def check(self, params: Mapping[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        """before-parameter-build: decide with the call's own parameters; remember a refusal."""
        service = model.service_model
        prefix = iam_prefix(str(service.signing_name or service.endpoint_prefix))
        for request in requests_for(prefix, str(model.name), params, self.role.place):
            decision = self.decide(request)
            if not decision.allowed:
                context[_REFUSAL_KEY] = decision.reason
                return
        if (
            prefix == "ssm"
            and model.name in ("GetParameter", "GetParameters")
            and params.get("WithDecryption")
        ):
            context["booksync_local_iam_ssm"] = True

    def refuse(self, model: Any, context: Mapping[str, Any], **_: Any) -> tuple[Any, dict[str, Any]] | None:
        """before-call: answer a refused call with AWS's AccessDenied, never sending it."""
        reason = context.get(_REFUSAL_KEY)
        if reason is None:
            return None
        return access_denied(model, str(reason))

    def decrypt_secure_strings(
        self, http_response: Any, parsed: dict[str, Any], model: Any, context: Mapping[str, Any], **_: Any
    ) -> None:
        """after-call of SSM reads: SSM decrypts a SecureString with KMS as the caller; KMS may refuse."""
        if not context.get("booksync_local_iam_ssm") or http_response.status_code >= 300:
            return
        found = parsed.get("Parameters") or ([parsed["Parameter"]] if "Parameter" in parsed else [])
        for parameter in found:
            if parameter.get("Type") != "SecureString":
                continue
            decision = self.decide(ssm_decrypt_request(str(parameter["Name"]), self.role.place))
            if not decision.allowed:
                denied_http, denied = access_denied(model, decision.reason)
                http_response.status_code = denied_http.status_code
                parsed.clear()
                parsed.update(denied)
                return


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterable[bytes]:
        yield self._data


def _denied_wire(
    protocol: str, message: str, request_id: str, query_compatible: bool
) -> tuple[int, dict[str, str], bytes]:
    """AccessDenied as each AWS protocol puts it on the wire."""
    if protocol == "json":
        headers = {"x-amzn-RequestId": request_id, "Content-Type": "application/x-amz-json-1.0"}
        if query_compatible:  # SQS: the query error code travels in a header
            headers["x-amzn-query-error"] = "AccessDenied;Sender"
            status = 403
        else:
            status = 400
        payload = {"__type": "com.amazon.coral.service#AccessDeniedException", "message": message}
        return status, headers, json.dumps(payload).encode()
    if protocol == "rest-json":
        headers = {"x-amzn-RequestId": request_id, "x-amzn-ErrorType": "AccessDeniedException"}
        return 403, headers, json.dumps({"message": message}).encode()
    escaped = message.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if protocol == "rest-xml":
        body = (
            f"<Error><Code>AccessDenied</Code><Message>{escaped}</Message>"
            f"<RequestId>{request_id}</RequestId></Error>"
        )
        return 403, {"x-amz-request-id": request_id}, body.encode()
    if protocol == "ec2":
        body = (
            f"<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>{escaped}</Message></Error>"
            f"</Errors><RequestID>{request_id}</RequestID></Response>"
        )
        return 403, {}, body.encode()
    body = (
        f"<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>{escaped}</Message>"
        f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
    )
    return 403, {"x-amzn-RequestId": request_id}, body.encode()


def access_denied(model: Any, message: str) -> tuple[Any, dict[str, Any]]:
    """The (http response, parsed response) pair botocore would have got from AWS."""
    from botocore.awsrequest import AWSResponse
    from botocore.compat import HTTPHeaders
    from botocore.parsers import create_parser

    service = model.service_model
    protocol = str(getattr(service, "resolved_protocol", None) or service.protocol)
    query_compatible = "awsQueryCompatible" in service.metadata
    status, headers, body = _denied_wire(protocol, message, str(uuid.uuid4()), query_compatible)
    header_dict = HTTPHeaders.from_dict(headers)
    parsed = create_parser(protocol).parse(
        {"status_code": status, "headers": header_dict, "body": body}, model.output_shape
    )
    return AWSResponse("", status, header_dict, _Body(body)), parsed


def install(role_path: str) -> Enforcer:
    """Make every botocore session created from now on in this process ask the role first."""
    from botocore import handlers

    role = RoleFile.from_json(json.loads(Path(role_path).read_text(encoding="utf-8")))
    enforcer = Enforcer(role)
    handlers.BUILTIN_HANDLERS.extend(
        [
            ("before-parameter-build", enforcer.check),
            ("before-call", enforcer.refuse),
            ("after-call.ssm", enforcer.decrypt_secure_strings),
        ]
    )
    return enforcer
