"""Each function's IAM role as the template declares it, for the local runtime to enforce.

SAM itself (the aws-sam-translator package, which ``sam`` and ``cfn-lint`` use) turns the template
into CloudFormation, so a function's ``Policies`` (policy templates such as DynamoDBCrudPolicy,
inline statements, managed policies, ``!If``) and the policies its events add become exactly the
role SAM would create. That role's intrinsics are then resolved by the runtime's own resolver, to
the local resources' ARNs (or, for the least-privilege record, to logical ids). KMS keys keep their
key policies, with their encryption-context conditions.
"""

from __future__ import annotations

import argparse
import copy
import functools
import hashlib
import json
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from local.runtime.iam import Decision, KeyPolicy, NamedPolicy, Place, Request, RoleFile
from local.runtime.model import QueueSourceSpec
from local.runtime.template import Attributes, Pseudo, Resolver, Template, TemplateError, load_yaml

_MANAGED = "arn:aws:iam::aws:policy/"
_LOGS = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
# The AWS managed policies SAM attaches on its own (their documents are AWS's, not SAM's, so the
# translator cannot ship them): logs and traces for every function, the SQS event source's poller.
AWS_MANAGED_POLICIES: dict[str, dict[str, Any]] = {
    f"{_MANAGED}service-role/AWSLambdaBasicExecutionRole": {
        "Statement": [{"Effect": "Allow", "Action": _LOGS, "Resource": "*"}]
    },
    f"{_MANAGED}AWSXrayWriteOnlyAccess": {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": [
                    "xray:PutTraceSegments",
                    "xray:PutTelemetryRecords",
                    "xray:GetSamplingRules",
                    "xray:GetSamplingTargets",
                    "xray:GetSamplingStatisticSummaries",
                ],
                "Resource": "*",
            }
        ]
    },
    f"{_MANAGED}service-role/AWSLambdaSQSQueueExecutionRole": {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", *_LOGS],
                "Resource": "*",
            }
        ]
    },
}
# What Lambda's SQS poller calls with the function's role (CreateEventSourceMapping checks them).
SQS_POLLER_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")


# ---------------------------------------------------------------------------------------------
# SAM's translation


@functools.lru_cache(maxsize=8)
def _translate(digest: str, path: Path) -> dict[str, Any]:
    """SAM's transform of the template file whose content has this digest (cached per content)."""
    from boto3 import Session
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    document = load_yaml(path)
    # SAM wants code in S3, as after `sam package`: the location changes nothing in a role.
    for resource in (document.get("Resources") or {}).values():
        properties = resource.get("Properties") if isinstance(resource, dict) else None
        for key in ("CodeUri", "ContentUri"):
            if isinstance(properties, dict) and isinstance(properties.get(key), str):
                properties[key] = f"s3://local-code/{properties[key]}"
    translator = Translator({}, Parser(), boto_session=Session(region_name="us-east-1"))
    try:
        translated: dict[str, Any] = translator.translate(
            document, parameter_values={}, get_managed_policy_map=dict
        )
    except InvalidDocumentException as error:
        causes = "; ".join(str(cause) for cause in error.causes)
        raise TemplateError(f"SAM cannot translate the template: {causes}") from error
    return translated


def sam_translation(template: Template) -> dict[str, Any]:
    """The template as SAM's transform makes it."""
    digest = hashlib.sha256(template.path.read_bytes()).hexdigest()
    return copy.deepcopy(_translate(digest, template.path))


def main(argv: list[str] | None = None) -> int:
    """Write SAM's translation of a template as JSON (`make validate` lints it with cfn-lint: a
    circular dependency through the roles SAM generates shows only there)."""
    parser = argparse.ArgumentParser(prog="python -m local.runtime.roles", description=main.__doc__)
    parser.add_argument("template", type=Path)
    parser.add_argument("output", type=Path)
    args = parser.parse_args(argv)
    translated = sam_translation(Template.load(args.template))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(translated, indent=1) + "\n", encoding="utf-8")
    return 0


# ---------------------------------------------------------------------------------------------
# Logical ids in place of local names


class _SymbolicAttributes(Mapping[str, str]):
    def __init__(self, logical_id: str, shaped: Mapping[str, str]) -> None:
        self._logical_id = logical_id
        self._shaped = shaped

    def __getitem__(self, attribute: str) -> str:
        return self._shaped.get(attribute, f"{{{self._logical_id}.{attribute}}}")

    def __contains__(self, attribute: object) -> bool:
        return isinstance(attribute, str)

    def __iter__(self) -> Iterator[str]:
        return iter(self._shaped)

    def __len__(self) -> int:
        return len(self._shaped)


class SymbolicResources(Mapping[str, Attributes]):
    """Every resource of a template as ``{LogicalId}`` / ``{LogicalId.Attribute}``; the ARNs of
    tables, queues and keys keep AWS's shape around the name (``...:table/{DocumentsTable}``), so
    an ARN a call names reads the same whichever way the template built it (GetAtt or Sub)."""

    def __init__(self, template: Template, pseudo: Pseudo) -> None:
        self._types = {logical_id: resource.type for logical_id, resource in template.resources.items()}
        self._types.update(
            {f"{r.logical_id}Role": "AWS::IAM::Role" for r in template.of_type("AWS::Serverless::Function")}
        )
        self._pseudo = pseudo

    def _arn(self, service: str, resource: str) -> str:
        pseudo = self._pseudo
        return f"arn:{pseudo.partition}:{service}:{pseudo.region}:{pseudo.account_id}:{resource}"

    def __getitem__(self, logical_id: str) -> Attributes:
        kind = self._types[logical_id]
        token = f"{{{logical_id}}}"
        shaped: dict[str, str] = {}
        ref = token
        if kind in ("AWS::DynamoDB::Table", "AWS::Serverless::SimpleTable"):
            shaped = {"Arn": self._arn("dynamodb", f"table/{token}")}
        elif kind == "AWS::SQS::Queue":
            name = f"{{{logical_id}.QueueName}}"
            ref = f"https://sqs.{self._pseudo.region}.amazonaws.com/{self._pseudo.account_id}/{name}"
            shaped = {"QueueName": name, "Arn": self._arn("sqs", name), "QueueUrl": ref}
        elif kind == "AWS::KMS::Key":
            shaped = {"Arn": self._arn("kms", f"key/{token}"), "KeyId": token}
        return Attributes(ref=ref, atts=_SymbolicAttributes(logical_id, shaped))

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._types))

    def __len__(self) -> int:
        return len(self._types)


def symbolic_resolver(resolver: Resolver) -> Resolver:
    symbols = SymbolicResources(resolver.template, resolver.pseudo)
    return Resolver(resolver.template, resolver.parameters, resolver.pseudo, symbols)


# The name a call's ARN carries, per resource type: its Ref (None) or this attribute.
_NAME_ATTRIBUTE: dict[str, str | None] = {
    "AWS::DynamoDB::Table": None,
    "AWS::Serverless::SimpleTable": None,
    "AWS::KMS::Key": None,
    "AWS::SQS::Queue": "QueueName",
}


# ---------------------------------------------------------------------------------------------
# Roles


class RoleBuilder:
    """Builds every function's RoleFile from SAM's translation of the template. What every role
    shares (the place, the key policies, the symbols, the template's managed policies) is
    resolved once, not per function."""

    def __init__(self, template: Template, resolver: Resolver, usage_dir: Path | None) -> None:
        self.template = template
        self.resolver = resolver
        self.symbolic = symbolic_resolver(resolver)
        self.usage_dir = usage_dir
        self.translated = sam_translation(template)
        self._resources: dict[str, Any] = self.translated.get("Resources") or {}

    def _both(self, value: Any, where: str) -> tuple[Any, Any]:
        return self.resolver.resolve(value, where), self.symbolic.resolve(value, where)

    @functools.cached_property
    def place(self) -> Place:
        keys: dict[str, str] = {}
        aliases: dict[str, str] = {}
        for key in self._enabled("AWS::KMS::Key"):
            keys[str(self.resolver.resolve({"Ref": key}, key))] = str(
                self.resolver.resolve({"Fn::GetAtt": [key, "Arn"]}, key)
            )
        for alias in self._enabled("AWS::KMS::Alias"):
            properties = self.template.resources[alias].properties
            name = self.resolver.resolve(properties["AliasName"], f"Resources.{alias}.AliasName")
            target = self.resolver.resolve(properties["TargetKeyId"], f"Resources.{alias}.TargetKeyId")
            aliases[str(name)] = str(target).rsplit("/", 1)[-1]
        pseudo = self.resolver.pseudo
        return Place(pseudo.account_id, pseudo.region, keys, aliases)

    @functools.cached_property
    def key_policies(self) -> dict[str, KeyPolicy]:
        policies: dict[str, KeyPolicy] = {}
        for key in self._enabled("AWS::KMS::Key"):
            properties = self.template.resources[key].properties
            if "KeyPolicy" not in properties:
                continue
            arn = str(self.resolver.resolve({"Fn::GetAtt": [key, "Arn"]}, key))
            document = self.resolver.resolve(properties["KeyPolicy"], f"Resources.{key}.KeyPolicy")
            policies[arn] = KeyPolicy(key, _document(document))
        return policies

    @functools.cached_property
    def symbols(self) -> dict[str, str]:
        """Local names (a table's, a queue's, a key id) -> their symbolic form, for the usage record
        (empty when the resolver is symbolic already, as for the least-privilege report)."""
        found: dict[str, str] = {}
        for resource in self.template.resources.values():
            if resource.type not in _NAME_ATTRIBUTE or not self.resolver.enabled(resource):
                continue
            lid = resource.logical_id
            attribute = _NAME_ATTRIBUTE[resource.type]
            value: dict[str, Any] = {"Ref": lid} if attribute is None else {"Fn::GetAtt": [lid, attribute]}
            name, symbol = str(self.resolver.resolve(value, lid)), str(self.symbolic.resolve(value, lid))
            if name != symbol:
                found[name] = symbol
        return found

    def _enabled(self, kind: str) -> list[str]:
        return [r.logical_id for r in self.template.of_type(kind) if self.resolver.enabled(r)]

    def role(self, function: str) -> RoleFile:
        resource = self._resources.get(function) or {}
        role_ref = (resource.get("Properties") or {}).get("Role")
        role_id = _role_id(role_ref)
        if role_id is None or role_id not in self._resources:
            raise TemplateError(
                f"Resources.{function}.Role: {role_ref!r} is not a role of this template, so the local "
                "runtime cannot know its permissions; declare the role (or Policies) in the template"
            )
        role_arn = str(self.resolver.resolve({"Fn::GetAtt": [role_id, "Arn"]}, f"Resources.{function}.Role"))
        policies = list(self._role_policies(role_id))
        return RoleFile(
            function=function,
            role_arn=role_arn,
            place=self.place,
            policies=tuple(policies),
            key_policies=self.key_policies,
            usage_dir=None if self.usage_dir is None else str(self.usage_dir),
            symbols=self.symbols,
        )

    def _role_policies(self, role_id: str) -> Iterator[NamedPolicy]:
        properties = self._resources[role_id].get("Properties") or {}
        where = f"Resources.{role_id}"
        for index, inline in enumerate(properties.get("Policies") or []):
            real, symbolic = self._both(inline.get("PolicyDocument"), f"{where}.Policies[{index}]")
            name = str(inline.get("PolicyName", f"{role_id}Policy{index}"))
            yield NamedPolicy(name, _document(real), _document(symbolic), declared=True)
        arns = self.resolver.resolve(properties.get("ManagedPolicyArns") or [], f"{where}.ManagedPolicyArns")
        for arn in arns:
            if arn in AWS_MANAGED_POLICIES:
                document = AWS_MANAGED_POLICIES[arn]
                yield NamedPolicy(arn.rsplit("/", 1)[-1], document, document, declared=False)
            elif arn in self._template_managed_policies:
                yield self._template_managed_policies[arn]
            else:
                raise TemplateError(
                    f"{where}.ManagedPolicyArns: the local runtime does not know the policy {arn}"
                )

    @functools.cached_property
    def _template_managed_policies(self) -> dict[str, NamedPolicy]:
        """The template's own managed policies by ARN, each resolved once for every role using it."""
        found: dict[str, NamedPolicy] = {}
        for logical_id in self._enabled("AWS::IAM::ManagedPolicy"):
            body = self.template.resources[logical_id].properties.get("PolicyDocument")
            real, symbolic = self._both(body, f"Resources.{logical_id}.PolicyDocument")
            arn = str(self.resolver.resolve({"Ref": logical_id}, logical_id))
            found[arn] = NamedPolicy(logical_id, _document(real), _document(symbolic), declared=True)
        return found


def _role_id(role_ref: Any) -> str | None:
    if isinstance(role_ref, dict) and "Fn::GetAtt" in role_ref:
        target = role_ref["Fn::GetAtt"]
        parts = target.split(".", 1) if isinstance(target, str) else target
        return str(parts[0])
    return None


def _document(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        value = json.loads(value)
    if not isinstance(value, dict):
        raise TemplateError(f"a policy document must be a mapping, got {value!r}")
    return value


# ---------------------------------------------------------------------------------------------
# What the runtime does with them


def write_roles(roles: Iterable[RoleFile], directory: Path) -> dict[str, Path]:
    """One JSON file per function, read by its workers (local/runtime/worker.py)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for role in roles:
        path = directory / f"{role.function}.json"
        path.write_text(json.dumps(role.to_json(), indent=1) + "\n", encoding="utf-8")
        paths[role.function] = path
    return paths


def check_event_sources(roles: Mapping[str, RoleFile], sources: Iterable[QueueSourceSpec]) -> None:
    """Lambda refuses an SQS event source whose function's role cannot poll the queue."""
    for source in sources:
        role = roles[source.function]
        for action in SQS_POLLER_ACTIONS:
            decision: Decision = role.decide(Request(action, source.queue_arn))
            if not decision.allowed:
                raise TemplateError(
                    f"Resources.{source.function}.Events.{source.event}: Lambda cannot create this event "
                    f"source: the execution role does not allow {action} on {source.queue_arn} "
                    f"({decision.reason})"
                )


if __name__ == "__main__":
    sys.exit(main())
