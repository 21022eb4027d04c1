"""template.yaml as the bench needs it: the functions, their code and the environment they are
given, and the layers. Read with a YAML loader that keeps CloudFormation short tags
(`!Ref X` -> {"Ref": "X"}), so the bench needs neither SAM nor cfn-lint."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local.runtime.template import load_yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"


def load(path: Path = TEMPLATE) -> dict[str, Any]:
    # The local runtime's loader: one reading of CloudFormation short tags for the whole repo.
    return load_yaml(path)


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_dir: Path
    handler_module: str
    environment: dict[str, Any]
    event_types: frozenset[str]
    http_paths: frozenset[str]

    @property
    def short_name(self) -> str:
        """ApiFunction -> api, SyncInvoiceFunction -> sync_invoice."""
        stem = self.logical_id.removesuffix("Function")
        return re.sub(r"(?<!^)(?=[A-Z])", "_", stem).lower()

    @property
    def handler_path(self) -> Path | None:
        """The handler module's file or package, or None when it does not exist yet."""
        parts = self.handler_module.split(".")
        for candidate in (
            self.code_dir.joinpath(*parts).with_suffix(".py"),
            self.code_dir.joinpath(*parts, "__init__.py"),
        ):
            if candidate.is_file():
                return candidate
        return None


def functions(document: dict[str, Any] | None = None) -> list[FunctionSpec]:
    document = document if document is not None else load()
    glob = document.get("Globals", {}).get("Function", {})
    global_env = glob.get("Environment", {}).get("Variables", {})
    specs = []
    for logical_id, resource in document["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        props = resource["Properties"]
        handler = props.get("Handler", glob.get("Handler"))
        code_uri = props.get("CodeUri", glob.get("CodeUri"))
        events = props.get("Events", {}).values()
        specs.append(
            FunctionSpec(
                logical_id=logical_id,
                code_dir=ROOT / str(code_uri),
                handler_module=str(handler).rsplit(".", 1)[0],
                environment={**global_env, **props.get("Environment", {}).get("Variables", {})},
                event_types=frozenset(e["Type"] for e in events),
                http_paths=frozenset(e["Properties"]["Path"] for e in events if e["Type"] == "HttpApi"),
            )
        )
    return specs


def layer_content_dirs(document: dict[str, Any] | None = None) -> dict[str, Path]:
    """Layers built by a Makefile (BuildMethod makefile): logical id -> ContentUri."""
    document = document if document is not None else load()
    return {
        logical_id: ROOT / str(resource["Properties"]["ContentUri"])
        for logical_id, resource in document["Resources"].items()
        if resource["Type"] == "AWS::Serverless::LayerVersion"
        and resource.get("Metadata", {}).get("BuildMethod") == "makefile"
    }


def parameter_default(document: dict[str, Any], value: Any) -> str | None:
    """The default of the parameter `value` refers to (`!Ref Param`), when it has a non-empty one."""
    if isinstance(value, dict) and set(value) == {"Ref"}:
        parameter = document.get("Parameters", {}).get(value["Ref"])
        if parameter is not None and str(parameter.get("Default", "")):
            return str(parameter["Default"])
    return None
