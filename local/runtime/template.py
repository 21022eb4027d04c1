"""Reads a SAM template the way CloudFormation and the SAM transform would, for the local runtime.

Covers YAML short tags, SAM ``Globals``, ``Parameters``, ``Conditions``, ``Mappings`` and the
intrinsic functions. Anything else raises ``TemplateError`` naming where it was met: a template that
uses a feature the runtime cannot emulate fails at start-up instead of running differently.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class TemplateError(Exception):
    """The template uses something the local runtime cannot do, or contradicts itself."""


class _NoValue:
    """``AWS::NoValue``: the property (or list item) it stands for is removed."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Any = _NoValue()

# ---------------------------------------------------------------------------------------------
# YAML with CloudFormation's short tags

_SHORT_TAGS = {
    "Ref": "Ref",
    "Condition": "Condition",
    "GetAtt": "Fn::GetAtt",
    "Sub": "Fn::Sub",
    "Join": "Fn::Join",
    "If": "Fn::If",
    "Equals": "Fn::Equals",
    "Not": "Fn::Not",
    "And": "Fn::And",
    "Or": "Fn::Or",
    "Select": "Fn::Select",
    "Split": "Fn::Split",
    "FindInMap": "Fn::FindInMap",
    "Base64": "Fn::Base64",
    "GetAZs": "Fn::GetAZs",
    "ImportValue": "Fn::ImportValue",
    "Cidr": "Fn::Cidr",
    "Transform": "Fn::Transform",
    "ToJsonString": "Fn::ToJsonString",
}


# libyaml's parser when PyYAML has it (ten times faster on template.yaml), with the same constructors.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _CfnLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    """SafeLoader plus the short tags; nothing in it can build arbitrary Python objects."""


# PyYAML turns unquoted dates into datetime objects; CloudFormation keeps them as strings.
_CfnLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_short_tag(loader: _CfnLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if suffix not in _SHORT_TAGS:
        raise TemplateError(f"line {node.start_mark.line + 1}: unknown tag !{suffix}")
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {_SHORT_TAGS[suffix]: value}


_CfnLoader.add_multi_constructor("!", _construct_short_tag)


def load_yaml(path: Path) -> dict[str, Any]:
    """A template file as plain data, short tags in their long form."""
    with path.open(encoding="utf-8") as stream:
        document = yaml.load(stream, Loader=_CfnLoader)  # noqa: S506 (a SafeLoader subclass)
    if not isinstance(document, dict):
        raise TemplateError(f"{path}: not a template (expected a mapping at the top)")
    return document


# ---------------------------------------------------------------------------------------------
# SAM Globals

_GLOBALS_SECTIONS = {
    "Function": "AWS::Serverless::Function",
    "Api": "AWS::Serverless::Api",
    "HttpApi": "AWS::Serverless::HttpApi",
    "SimpleTable": "AWS::Serverless::SimpleTable",
    "LayerVersion": "AWS::Serverless::LayerVersion",
    "StateMachine": "AWS::Serverless::StateMachine",
}


def is_intrinsic(value: Any) -> bool:
    """A one-key mapping that is a function call, not data (SAM merges those as scalars)."""
    if not isinstance(value, dict) or len(value) != 1:
        return False
    key = next(iter(value))
    return key in ("Ref", "Condition") or key.startswith("Fn::")


def merge_globals(global_value: Any, local_value: Any) -> Any:
    """SAM's rule: mappings merge key by key, lists concatenate (globals first), scalars override."""
    if isinstance(global_value, dict) and isinstance(local_value, dict):
        if is_intrinsic(global_value) or is_intrinsic(local_value):
            return local_value
        merged = dict(global_value)
        for key, value in local_value.items():
            merged[key] = merge_globals(global_value[key], value) if key in global_value else value
        return merged
    if isinstance(global_value, list) and isinstance(local_value, list):
        return [*global_value, *local_value]
    return local_value


def apply_globals(document: Mapping[str, Any]) -> dict[str, Any]:
    """The template with ``Globals`` folded into each resource's properties and removed."""
    sections = document.get("Globals") or {}
    for section in sections:
        if section not in _GLOBALS_SECTIONS:
            raise TemplateError(f"Globals.{section}: not a SAM Globals section")
    by_type = {rtype: sections[name] for name, rtype in _GLOBALS_SECTIONS.items() if name in sections}
    resources: dict[str, Any] = {}
    for logical_id, body in (document.get("Resources") or {}).items():
        defaults = by_type.get(str(body.get("Type"))) if isinstance(body, dict) else None
        if defaults:
            properties = merge_globals(defaults, body.get("Properties") or {})
            resources[logical_id] = {**body, "Properties": properties}
        else:
            resources[logical_id] = body
    return {key: value for key, value in document.items() if key != "Globals"} | {"Resources": resources}


# ---------------------------------------------------------------------------------------------
# The template model


@dataclass(frozen=True)
class Resource:
    logical_id: str
    type: str
    properties: dict[str, Any]
    depends_on: tuple[str, ...]
    condition: str | None
    metadata: dict[str, Any]

    def where(self, *path: str) -> str:
        """The location of a property, for error messages."""
        return ".".join(["Resources", self.logical_id, "Properties", *path])


@dataclass(frozen=True)
class Template:
    path: Path
    parameters: dict[str, dict[str, Any]]
    mappings: dict[str, Any]
    conditions: dict[str, Any]
    resources: dict[str, Resource]
    rules: dict[str, Any] = field(default_factory=dict)  # CloudFormation's Rules, as written

    @property
    def directory(self) -> Path:
        return self.path.parent

    @classmethod
    def load(cls, path: Path) -> Template:
        document = apply_globals(load_yaml(path))
        return cls(
            path=path.resolve(),
            parameters=dict(document.get("Parameters") or {}),
            mappings=dict(document.get("Mappings") or {}),
            conditions=dict(document.get("Conditions") or {}),
            resources={
                logical_id: _resource(logical_id, body)
                for logical_id, body in (document.get("Resources") or {}).items()
            },
            rules=dict(document.get("Rules") or {}),
        )

    def of_type(self, *types: str) -> list[Resource]:
        return [resource for resource in self.resources.values() if resource.type in types]


def _resource(logical_id: str, body: Any) -> Resource:
    if not isinstance(body, dict) or "Type" not in body:
        raise TemplateError(f"Resources.{logical_id}: a resource needs a Type")
    depends_on = body.get("DependsOn") or ()
    return Resource(
        logical_id=logical_id,
        type=str(body["Type"]),
        properties=dict(body.get("Properties") or {}),
        depends_on=(depends_on,) if isinstance(depends_on, str) else tuple(depends_on),
        condition=body.get("Condition"),
        metadata=dict(body.get("Metadata") or {}),
    )


# ---------------------------------------------------------------------------------------------
# Parameters


def parameter_values(template: Template, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Each declared parameter's value: the override, else the Default; checked as CloudFormation does."""
    values: dict[str, Any] = {}
    for name, spec in template.parameters.items():
        where = f"Parameters.{name}"
        if name in overrides:
            raw = overrides[name]
        elif "Default" in spec:
            raw = spec["Default"]
        else:
            raise TemplateError(f"{where}: no value (no Default, and no override in local/stack.yaml)")
        values[name] = typed_parameter(where, spec, raw)
    return values


def typed_parameter(where: str, spec: Mapping[str, Any], raw: Any) -> Any:
    """A parameter value as CloudFormation checks it (AllowedValues, AllowedPattern, lengths,
    bounds); TemplateError says what is wrong. Also used by scripts/deploy_check.py."""
    kind = str(spec.get("Type", "String"))
    text = ",".join(str(item) for item in raw) if isinstance(raw, list) else _scalar_text(raw)
    allowed = spec.get("AllowedValues")
    if allowed is not None and text not in [_scalar_text(value) for value in allowed]:
        raise TemplateError(f"{where}: {text!r} is not one of the AllowedValues {allowed}")
    pattern = spec.get("AllowedPattern")
    if pattern is not None and not re.fullmatch(str(pattern), text):
        raise TemplateError(f"{where}: {text!r} does not match AllowedPattern {pattern!r}")
    _check_bounds(where, spec, kind, text)
    if kind in ("String", "Number"):
        return text
    if kind in ("CommaDelimitedList", "List<Number>", "List<String>"):
        return [item.strip() for item in text.split(",")] if text else []
    raise TemplateError(f"{where}: parameter type {kind} is not supported locally")


def _check_bounds(where: str, spec: Mapping[str, Any], kind: str, text: str) -> None:
    """MinLength/MaxLength for strings, MinValue/MaxValue for numbers, as CloudFormation checks them."""
    if "MinLength" in spec and len(text) < int(spec["MinLength"]):
        raise TemplateError(f"{where}: shorter than MinLength {spec['MinLength']}")
    if "MaxLength" in spec and len(text) > int(spec["MaxLength"]):
        raise TemplateError(f"{where}: longer than MaxLength {spec['MaxLength']}")
    if kind == "Number":
        try:
            number = float(text)
        except ValueError:
            raise TemplateError(f"{where}: {text!r} is not a Number") from None
        if "MinValue" in spec and number < float(spec["MinValue"]):
            raise TemplateError(f"{where}: below MinValue {spec['MinValue']}")
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            raise TemplateError(f"{where}: above MaxValue {spec['MaxValue']}")


def _scalar_text(value: Any) -> str:
    """CloudFormation's string form of a scalar (YAML booleans become true/false)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# ---------------------------------------------------------------------------------------------
# Intrinsic functions


# The local stack's name: its resources' physical names and the token key's alias derive from it.
LOCAL_STACK_NAME = "booksync-local"


@dataclass(frozen=True)
class Pseudo:
    """The pseudo parameters of the local stack."""

    region: str = "us-east-1"
    account_id: str = "123456789012"
    stack_name: str = LOCAL_STACK_NAME
    partition: str = "aws"
    url_suffix: str = "amazonaws.com"

    @property
    def stack_id(self) -> str:
        return (
            f"arn:{self.partition}:cloudformation:{self.region}:{self.account_id}:stack/"
            f"{self.stack_name}/00000000-0000-4000-8000-000000000000"
        )

    def value(self, name: str) -> Any:
        values: dict[str, Any] = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": self.stack_id,
            "AWS::Partition": self.partition,
            "AWS::URLSuffix": self.url_suffix,
            "AWS::NoValue": NO_VALUE,
            "AWS::NotificationARNs": [],
        }
        if name not in values:
            raise KeyError(name)
        return values[name]


@dataclass(frozen=True)
class Attributes:
    """What ``Ref`` and ``Fn::GetAtt`` give for one resource the runtime knows."""

    ref: Any
    atts: Mapping[str, Any]


_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class Resolver:
    """Evaluates intrinsic functions against parameters, pseudo parameters and resource attributes.

    ``attributes`` is read live: the provisioner adds a resource's attributes as it creates it, and
    creates resources in dependency order, so every reference resolves to something that exists.
    """

    def __init__(
        self,
        template: Template,
        parameters: Mapping[str, Any],
        pseudo: Pseudo,
        attributes: Mapping[str, Attributes],
    ) -> None:
        self.template = template
        self.parameters = parameters
        self.pseudo = pseudo
        self.attributes = attributes
        self._conditions: dict[str, bool] = {}

    # -- conditions

    def condition(self, name: str, where: str = "Conditions") -> bool:
        if name not in self._conditions:
            if name not in self.template.conditions:
                raise TemplateError(f"{where}: condition {name!r} is not declared")
            value = self._evaluate(self.template.conditions[name], f"Conditions.{name}")
            if not isinstance(value, bool):
                raise TemplateError(f"Conditions.{name}: does not evaluate to true or false")
            self._conditions[name] = value
        return self._conditions[name]

    def enabled(self, resource: Resource) -> bool:
        """False when the resource's Condition is false (CloudFormation does not create it)."""
        return resource.condition is None or self.condition(
            resource.condition, f"Resources.{resource.logical_id}"
        )

    # -- values

    def resolve(self, value: Any, where: str) -> Any:
        """The value with every intrinsic evaluated and every AWS::NoValue removed."""
        return self._evaluate(value, where)

    def _evaluate(self, value: Any, where: str) -> Any:
        if isinstance(value, list):
            items = [self._evaluate(item, f"{where}[{index}]") for index, item in enumerate(value)]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if is_intrinsic(value):
            ((name, argument),) = value.items()
            return self._call(name, argument, f"{where}.{name}")
        resolved = {key: self._evaluate(item, f"{where}.{key}") for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def _call(self, name: str, argument: Any, where: str) -> Any:
        functions: dict[str, Callable[[Any, str], Any]] = {
            "Ref": self._ref,
            "Condition": lambda arg, at: self.condition(self._text(arg, at), at),
            "Fn::GetAtt": self._get_att,
            "Fn::Sub": self._sub,
            "Fn::Join": self._join,
            "Fn::If": self._if,
            "Fn::Equals": self._equals,
            "Fn::Not": self._not,
            "Fn::And": lambda arg, at: all(self._booleans(arg, at)),
            "Fn::Or": lambda arg, at: any(self._booleans(arg, at)),
            "Fn::Select": self._select,
            "Fn::Split": self._split,
            "Fn::FindInMap": self._find_in_map,
            "Fn::Base64": lambda arg, at: base64.b64encode(self._text(arg, at).encode()).decode(),
            "Fn::GetAZs": lambda _arg, _at: [f"{self.pseudo.region}{zone}" for zone in "abc"],
        }
        if name not in functions:
            raise TemplateError(f"{where}: {name} is not supported by the local runtime")
        return functions[name](argument, where)

    def _ref(self, argument: Any, where: str) -> Any:
        name = self._text(argument, where)
        if name in self.parameters:
            return self.parameters[name]
        if name.startswith("AWS::"):
            try:
                return self.pseudo.value(name)
            except KeyError:
                raise TemplateError(f"{where}: unknown pseudo parameter {name}") from None
        return self._attributes(name, where).ref

    def _attributes(self, logical_id: str, where: str) -> Attributes:
        if logical_id in self.attributes:
            return self.attributes[logical_id]
        if logical_id in self.template.resources:
            kind = self.template.resources[logical_id].type
            raise TemplateError(f"{where}: {logical_id} ({kind}) has no local value to reference")
        raise TemplateError(f"{where}: {logical_id} is neither a parameter nor a resource")

    def _get_att(self, argument: Any, where: str) -> Any:
        parts = self._evaluate(argument, where)
        if isinstance(parts, str):
            parts = parts.split(".", 1)
        if not isinstance(parts, list) or len(parts) != 2:
            raise TemplateError(f"{where}: expected [LogicalId, Attribute], got {argument!r}")
        logical_id, attribute = (self._text(part, where) for part in parts)
        known = self._attributes(logical_id, where).atts
        if attribute not in known:
            names = ", ".join(sorted(known))
            raise TemplateError(
                f"{where}: {logical_id} has no attribute {attribute} locally (known: {names})"
            )
        return known[attribute]

    def _sub(self, argument: Any, where: str) -> str:
        if isinstance(argument, list):
            if len(argument) != 2 or not isinstance(argument[1], dict):
                raise TemplateError(f"{where}: expected a string or [string, {{variables}}]")
            text, variables = argument[0], self._evaluate(argument[1], where)
        else:
            text, variables = argument, {}
        template_text = self._text(text, where)

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return _scalar_text(variables[name])
            if "." in name and not name.startswith("AWS::"):
                return _scalar_text(self._get_att(name.split(".", 1), where))
            return _scalar_text(self._ref(name, where))

        return _SUB_VARIABLE.sub(substitute, template_text)

    def _join(self, argument: Any, where: str) -> str:
        if not isinstance(argument, list) or len(argument) != 2:
            raise TemplateError(f"{where}: expected [delimiter, [values]]")
        delimiter = self._text(argument[0], where)
        values = self._evaluate(argument[1], where)
        if not isinstance(values, list):
            raise TemplateError(f"{where}: the values to join are not a list")
        return delimiter.join(_scalar_text(value) for value in values)

    def _if(self, argument: Any, where: str) -> Any:
        if not isinstance(argument, list) or len(argument) != 3:
            raise TemplateError(f"{where}: expected [condition, value if true, value if false]")
        chosen = argument[1] if self.condition(self._text(argument[0], where), where) else argument[2]
        return self._evaluate(chosen, where)

    def _equals(self, argument: Any, where: str) -> bool:
        values = self._evaluate(argument, where)
        if not isinstance(values, list) or len(values) != 2:
            raise TemplateError(f"{where}: expected two values")
        first, second = values
        if isinstance(first, list | dict) or isinstance(second, list | dict):
            return bool(first == second)
        return _scalar_text(first) == _scalar_text(second)

    def _not(self, argument: Any, where: str) -> bool:
        values = self._booleans(argument, where)
        if len(values) != 1:
            raise TemplateError(f"{where}: expected one condition")
        return not values[0]

    def _booleans(self, argument: Any, where: str) -> list[bool]:
        values = self._evaluate(argument, where)
        if not isinstance(values, list) or not all(isinstance(value, bool) for value in values):
            raise TemplateError(f"{where}: expected a list of conditions")
        return values

    def _select(self, argument: Any, where: str) -> Any:
        if not isinstance(argument, list) or len(argument) != 2:
            raise TemplateError(f"{where}: expected [index, list]")
        index = int(self._text(argument[0], where))
        values = self._evaluate(argument[1], where)
        if not isinstance(values, list) or not 0 <= index < len(values):
            raise TemplateError(f"{where}: index {index} is out of range")
        return values[index]

    def _split(self, argument: Any, where: str) -> list[str]:
        if not isinstance(argument, list) or len(argument) != 2:
            raise TemplateError(f"{where}: expected [delimiter, string]")
        return self._text(argument[1], where).split(self._text(argument[0], where))

    def _find_in_map(self, argument: Any, where: str) -> Any:
        if not isinstance(argument, list) or len(argument) != 3:
            raise TemplateError(f"{where}: expected [MapName, TopLevelKey, SecondLevelKey]")
        map_name, top, second = (self._text(part, where) for part in argument)
        try:
            return self.template.mappings[map_name][top][second]
        except (KeyError, TypeError):
            raise TemplateError(f"{where}: Mappings.{map_name}.{top}.{second} does not exist") from None

    def _text(self, value: Any, where: str) -> str:
        resolved = self._evaluate(value, where)
        if isinstance(resolved, list | dict) or resolved is NO_VALUE or resolved is None:
            raise TemplateError(f"{where}: expected a string, got {resolved!r}")
        return _scalar_text(resolved)


def references(value: Any) -> set[str]:
    """Names a value refers to through Ref, Fn::GetAtt and Fn::Sub (parameters included)."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= references(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            found |= _references_of(key, item) if is_intrinsic(value) else references(item)
    return found


def _references_of(function: str, argument: Any) -> set[str]:
    if function == "Ref" and isinstance(argument, str):
        return {argument}
    if function == "Fn::GetAtt":
        parts = argument.split(".", 1) if isinstance(argument, str) else argument
        return {parts[0]} if isinstance(parts, list) and parts and isinstance(parts[0], str) else set()
    if function == "Fn::Sub":
        text, variables = (argument[0], argument[1]) if isinstance(argument, list) else (argument, {})
        names = {
            match.split(".", 1)[0]
            for match in _SUB_VARIABLE.findall(text if isinstance(text, str) else "")
            if not match.startswith("!") and match not in (variables if isinstance(variables, dict) else {})
        }
        return names | references(variables)
    return references(argument)
