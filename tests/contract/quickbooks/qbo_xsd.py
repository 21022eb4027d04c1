"""Intuit's XSDs (specs/quickbooks) read into a checker for QuickBooks JSON.

Intuit's JSON keeps the XSD's element and attribute names and nesting: an element becomes a
key, an attribute a key beside them, simple content a ``value`` key, and an element with
maxOccurs > 1 a JSON array. Extension bases, groups and the IntuitObject substitution group are
followed, so one check covers every entity.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

XS = "{http://www.w3.org/2001/XMLSchema}"
XSD_FILES = ("IntuitBaseTypes.xsd", "IntuitNamesTypes.xsd", "Finance.xsd", "IntuitRestServiceDef.xsd")
NUMERIC = {
    "decimal",
    "int",
    "integer",
    "long",
    "positiveInteger",
    "nonNegativeInteger",
    "double",
    "float",
    "short",
}


def _local(name: str | None) -> str | None:
    return name.split(":")[-1] if name else None


@dataclass
class Child:
    type_name: str | None
    many: bool


@dataclass
class ComplexType:
    name: str
    children: dict[str, Child] = field(default_factory=dict)
    attributes: dict[str, str | None] = field(default_factory=dict)
    simple_content: str | None = None  # the simple type of ``value``, when there is one
    open: bool = False  # xs:any: anything goes below


class XsdModel:
    def __init__(self, folder: Path) -> None:
        self._complex_nodes: dict[str, ET.Element] = {}
        self._simple_nodes: dict[str, ET.Element] = {}
        self._groups: dict[str, ET.Element] = {}
        self._elements: dict[str, str | None] = {}
        self._substitutes: dict[str, dict[str, str | None]] = {}
        self._built: dict[str, ComplexType] = {}
        for name in XSD_FILES:
            self._load(ET.parse(folder / name).getroot())

    def _load(self, root: ET.Element) -> None:
        for node in root:
            name = node.get("name")
            if node.tag == f"{XS}complexType" and name:
                self._complex_nodes[name] = node
            elif node.tag == f"{XS}simpleType" and name:
                self._simple_nodes[name] = node
            elif node.tag == f"{XS}group" and name:
                self._groups[name] = node
            elif node.tag == f"{XS}element" and name:
                self._elements[name] = _local(node.get("type"))
                head = _local(node.get("substitutionGroup"))
                if head:
                    self._substitutes.setdefault(head, {})[name] = _local(node.get("type"))

    # ------------------------------------------------------------ types

    def complex(self, name: str | None) -> ComplexType | None:
        if name is None or name not in self._complex_nodes:
            return None
        if name not in self._built:
            built = ComplexType(name)
            self._built[name] = built  # before walking: recursive types refer to themselves
            self._walk(self._complex_nodes[name], built, many=False)
        return self._built[name]

    def _walk(self, node: ET.Element, target: ComplexType, *, many: bool) -> None:
        for child in node:
            tag = child.tag.removeprefix(XS)
            repeated = many or child.get("maxOccurs", "1") != "1"
            if tag == "element":
                self._element(child, target, repeated)
            elif tag in {"sequence", "choice", "all"}:
                self._walk(child, target, many=repeated)
            elif tag == "group":
                self._walk(self._groups[_local(child.get("ref")) or ""], target, many=repeated)
            elif tag == "attribute":
                target.attributes[child.get("name") or ""] = _local(child.get("type"))
            elif tag in {"complexContent", "simpleContent"}:
                self._walk(child, target, many=many)
            elif tag in {"extension", "restriction"}:
                self._extend(child, target, many)
            elif tag == "any":
                target.open = True

    def _element(self, node: ET.Element, target: ComplexType, many: bool) -> None:
        ref = _local(node.get("ref"))
        if ref and ref in self._substitutes:
            for member, member_type in self._substitutes[ref].items():
                target.children[member] = Child(member_type, many)
        elif ref:
            target.children[ref] = Child(self._elements.get(ref), many)
        else:
            target.children[node.get("name") or ""] = Child(_local(node.get("type")), many)

    def _extend(self, node: ET.Element, target: ComplexType, many: bool) -> None:
        base = _local(node.get("base"))
        inherited = self.complex(base)
        if inherited is not None:
            target.children.update(inherited.children)
            target.attributes.update(inherited.attributes)
            target.simple_content = target.simple_content or inherited.simple_content
            target.open = target.open or inherited.open
        elif base is not None and base != "anyType":
            target.simple_content = base
        self._walk(node, target, many=many)

    def builtin_of(self, name: str | None) -> tuple[str, frozenset[str] | None]:
        """The XML Schema builtin under a simple type, and its enumeration when it has one."""
        if name is None:
            return "anyType", None
        node = self._simple_nodes.get(name)
        if node is None:
            return name, None
        restriction = node.find(f"{XS}restriction")
        if restriction is None:
            return "string", None  # unions and lists: strings in JSON
        values = frozenset(e.get("value") or "" for e in restriction.findall(f"{XS}enumeration"))
        base, _ = self.builtin_of(_local(restriction.get("base")))
        return base, values or None

    # ------------------------------------------------------------ checking JSON

    def problems(self, value: Any, type_name: str | None, path: str = "$") -> list[str]:
        found: list[str] = []
        self._check(value, type_name, path, found)
        return found

    def _check(self, value: Any, type_name: str | None, path: str, found: list[str]) -> None:
        declared = self.complex(type_name)
        if declared is None:
            self._check_simple(value, type_name, path, found)
            return
        if declared.open:
            return
        if not isinstance(value, dict):
            found.append(f"{path}: {type_name} is an object in the XSD, got {type(value).__name__}")
            return
        for key, item in value.items():
            self._check_key(declared, key, item, f"{path}.{key}", found)

    def _check_key(self, declared: ComplexType, key: str, item: Any, path: str, found: list[str]) -> None:
        if key in declared.attributes:
            self._check_simple(item, declared.attributes[key], path, found)
        elif key == "value" and declared.simple_content:
            self._check_simple(item, declared.simple_content, path, found)
        elif key not in declared.children:
            found.append(f"{path}: {declared.name} declares no element or attribute {key!r}")
        else:
            child = declared.children[key]
            if child.many != isinstance(item, list):
                shape = "an array (maxOccurs > 1)" if child.many else "a single element"
                found.append(f"{path}: {declared.name}.{key} is {shape} in the XSD")
            elif child.many:
                for index, element in enumerate(item):
                    self._check(element, child.type_name, f"{path}[{index}]", found)
            else:
                self._check(item, child.type_name, path, found)

    def _check_simple(self, value: Any, type_name: str | None, path: str, found: list[str]) -> None:
        builtin, choices = self.builtin_of(type_name)
        if isinstance(value, dict | list):
            found.append(f"{path}: {type_name} is a simple type, got {type(value).__name__}")
        elif builtin in NUMERIC and (isinstance(value, bool) or not isinstance(value, int | float)):
            found.append(f"{path}: {type_name} is a number in Intuit's JSON, got {value!r}")
        elif builtin == "boolean" and not isinstance(value, bool):
            found.append(f"{path}: {type_name} is a boolean, got {value!r}")
        elif builtin not in NUMERIC | {"boolean", "anyType"} and not isinstance(value, str):
            found.append(f"{path}: {type_name} is a string, got {value!r}")
        elif choices is not None and value not in choices:
            found.append(f"{path}: {value!r} is not one of the XSD's {type_name} values")
