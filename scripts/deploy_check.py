"""Check a deploy command against template.yaml's parameter rules, offline, before `sam deploy`.

SAM takes a stack's parameters from samconfig.toml's ``parameter_overrides`` for the
``--config-env``, but a ``--parameter-overrides`` on the command line *replaces* that list
instead of adding to it: ``sam deploy --config-env dev --parameter-overrides QuickBooksClientId=…``
loses samconfig's ``Stage=dev``, and CloudFormation refuses the stack after the build and the
upload. This resolves the parameters as the command would and checks them as CloudFormation
does: a value for every parameter without a Default, no unknown parameter, AllowedValues,
AllowedPattern and lengths (``local.runtime.template.typed_parameter``), and the template's
Rules (Stage=prod needs AlarmEmail).

    python -m scripts.deploy_check --readme
        every deploy command in the README's "Deploying" section (`make deploy-check`); a
        ``<placeholder>`` stands for the reader's value and is checked as its own text
    python -m scripts.deploy_check --config-env dev --params "QuickBooksClientId=... ..."
        what `make deploy` checks first: samconfig's overrides for that env, PARAMS added on top
    ... --exec .venv-sam/bin/sam
        then runs `sam deploy --config-env dev --parameter-overrides <both, merged>`

Exit status 2 with the names of what is missing or wrong, and how to give it.
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local.runtime.template import (
    Pseudo,
    Resolver,
    Template,
    TemplateError,
    references,
    typed_parameter,
)

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
SAMCONFIG = ROOT / "samconfig.toml"
README = ROOT / "README.md"
README_SECTION = "## Deploying"
# <what to put here>, or an ellipsis: a value the reader supplies.
PLACEHOLDER = re.compile(r"<([^<>]*)>|…")


@dataclass(frozen=True)
class DeployCommand:
    """One deploy command: its stage profile and the parameters it gives on the command line."""

    text: str
    config_env: str
    overrides: Mapping[str, str]
    # `make deploy` adds PARAMS to samconfig's overrides; `sam deploy --parameter-overrides`
    # replaces them.
    merges: bool
    given_on_command_line: bool = False

    def parameters(self, samconfig: Mapping[str, Any]) -> dict[str, str]:
        """The parameters CloudFormation receives when this command runs."""
        configured = samconfig_overrides(samconfig, self.config_env)
        if self.merges:
            return configured | dict(self.overrides)
        return dict(self.overrides) if self.given_on_command_line else configured


def parse_overrides(text: str, where: str) -> dict[str, str]:
    """`Key=Value Key2="value 2"` (SAM's short form) as a mapping."""
    values: dict[str, str] = {}
    for token in shlex.split(text):
        key, equals, value = token.partition("=")
        if not equals or not re.fullmatch(r"[A-Za-z0-9]+", key):
            raise TemplateError(f"{where}: {token!r} is not Key=Value (a template parameter and its value)")
        values[key] = value
    return values


def samconfig_overrides(samconfig: Mapping[str, Any], config_env: str) -> dict[str, str]:
    if config_env not in samconfig:
        raise TemplateError(f"samconfig.toml has no [{config_env}] profile (use one of {sorted(samconfig)})")
    deploy = samconfig[config_env].get("deploy", {}).get("parameters", {})
    configured = deploy.get("parameter_overrides", "")
    text = " ".join(configured) if isinstance(configured, list) else str(configured)
    return parse_overrides(text, f"samconfig.toml [{config_env}.deploy.parameters] parameter_overrides")


def stack_name(samconfig: Mapping[str, Any], config_env: str) -> str:
    profile = samconfig.get(config_env, {})
    for command in ("deploy", "global"):
        name = profile.get(command, {}).get("parameters", {}).get("stack_name")
        if name:
            return str(name)
    return "booksync"


# ---------------------------------------------------------------------------------------------
# The checks


def problems(
    parameters: Mapping[str, str], *, stack: str = "booksync", placeholders: bool = False
) -> list[str]:
    """What CloudFormation would refuse in these parameters, each with how to fix it; empty when
    the deploy's parameters are acceptable. ``placeholders``: a ``<text>`` stands for a value
    and is checked as ``text``; otherwise a placeholder left in a value is itself a problem."""
    template = Template.load(TEMPLATE)
    found: list[str] = []
    for name in sorted(set(parameters) - set(template.parameters)):
        found.append(f"{name}: not a parameter of template.yaml (CloudFormation refuses unknown ones)")
    values: dict[str, Any] = {}
    for name, spec in template.parameters.items():
        what = str(spec.get("Description", "")).strip()
        if name not in parameters:
            if "Default" in spec:
                values[name] = typed_parameter(f"Parameters.{name}", spec, spec["Default"])
            else:
                found.append(f"{name}: required (it has no Default) and not given. {what}".rstrip())
            continue
        raw = parameters[name]
        if PLACEHOLDER.search(raw):
            if not placeholders:
                found.append(f"{name}: {raw!r} is still a placeholder; put your value. {what}".rstrip())
                continue
            raw = PLACEHOLDER.sub(lambda m: m.group(1) or "value", raw)
        try:
            values[name] = typed_parameter(name, spec, raw)
        except TemplateError as exc:
            found.append(f"{exc}. {what}".rstrip())
    found += rule_problems(template, values, stack)
    return found


def rule_problems(template: Template, values: Mapping[str, Any], stack: str) -> list[str]:
    """The template's Rules, as CloudFormation evaluates them before creating anything. A rule
    that names a parameter with no value is left to that parameter's own problem."""
    resolver = Resolver(template, values, Pseudo(stack_name=stack), {})
    found: list[str] = []
    for name, rule in template.rules.items():
        where = f"Rules.{name}"
        # Parameters only (a pseudo parameter always has a value), through Ref and Fn::Sub alike.
        missing = (references(rule) & set(template.parameters)) - set(values)
        if missing:
            continue
        if "RuleCondition" in rule and resolver.resolve(rule["RuleCondition"], where) is not True:
            continue
        for index, assertion in enumerate(rule.get("Assertions") or []):
            if resolver.resolve(assertion["Assert"], f"{where}.Assertions[{index}]") is not True:
                found.append(f"{where}: {str(assertion.get('AssertDescription', 'assertion fails')).strip()}")
    return found


# ---------------------------------------------------------------------------------------------
# Commands: as `make deploy` gets them, and as the README writes them


def make_command(config_env: str, params: str) -> DeployCommand:
    return DeployCommand(
        text=f"make deploy STAGE={config_env} PARAMS={params!r}",
        config_env=config_env,
        overrides=parse_overrides(params, "PARAMS"),
        merges=True,
    )


def parse_command(text: str) -> DeployCommand:
    """A `make deploy ...` or `[sam build &&] sam deploy ...` command line."""
    line = text.rsplit("&&", maxsplit=1)[-1].strip()
    tokens = shlex.split(line)
    if tokens[:2] == ["make", "deploy"]:
        settings = dict(token.partition("=")[::2] for token in tokens[2:] if "=" in token)
        return DeployCommand(
            text=text,
            config_env=settings.get("STAGE", "dev"),  # the Makefile's default
            overrides=parse_overrides(settings.get("PARAMS", ""), f"{text}: PARAMS"),
            merges=True,
        )
    if tokens[:2] != ["sam", "deploy"]:
        raise TemplateError(f"{text!r}: not a `make deploy` or `sam deploy` command")
    config_env, overrides, given = "default", [], False
    option = ""
    for token in tokens[2:]:
        if token.startswith("--"):
            option = token
            given = given or option == "--parameter-overrides"
        elif option == "--config-env":
            config_env, option = token, ""
        elif option == "--parameter-overrides":
            overrides.append(token)
    return DeployCommand(
        text=text,
        config_env=config_env,
        overrides=parse_overrides(shlex.join(overrides), f"{text}: --parameter-overrides"),
        merges=False,
        given_on_command_line=given,
    )


def readme_commands(readme: str) -> list[DeployCommand]:
    """Every deploy command in the README's Deploying section (code spans and code blocks)."""
    start = readme.find(f"\n{README_SECTION}\n")
    if start < 0:
        raise TemplateError(f"README.md has no {README_SECTION!r} section")
    end = readme.find("\n## ", start + 1)
    section = readme[start : end if end >= 0 else None]
    code = re.findall(r"```[a-z]*\n(.*?)```", section, flags=re.DOTALL)
    code += re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", section, flags=re.DOTALL))
    lines = [line.strip() for block in code for line in block.replace("\\\n", " ").splitlines()]
    # A placeholder may hold spaces (<client id>): one word, so the command splits as a shell would.
    lines = [
        re.sub(r"<([^<>]*)>", lambda m: "<" + m.group(1).replace(" ", "-") + ">", line) for line in lines
    ]
    # A command the reader may run: it must work as written (prose names commands without code).
    command = re.compile(r"^(sam build && )?(make|sam) deploy(\s|$)")
    found = [parse_command(line) for line in lines if command.match(line)]
    if not found:
        raise TemplateError(f"README.md's {README_SECTION!r} section names no deploy command")
    return found


def check_commands(commands: Sequence[DeployCommand], *, placeholders: bool) -> list[str]:
    samconfig = tomllib.loads(SAMCONFIG.read_text())
    report: list[str] = []
    for command in commands:
        found = problems(
            command.parameters(samconfig),
            stack=stack_name(samconfig, command.config_env),
            placeholders=placeholders,
        )
        report += [f"`{command.text}`: {problem}" for problem in found]
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--readme", action="store_true", help="check the README's deploy commands")
    parser.add_argument("--config-env", default="dev", help="samconfig.toml profile (make's STAGE)")
    parser.add_argument("--params", default="", help="make's PARAMS: Key=Value ... added to samconfig's")
    parser.add_argument("--exec", dest="sam", help="then run this sam's deploy with the merged parameters")
    args = parser.parse_args(argv)
    try:
        if args.readme:
            commands = readme_commands(README.read_text())
            report = check_commands(commands, placeholders=True)
        else:
            commands = [make_command(args.config_env, args.params)]
            report = check_commands(commands, placeholders=False)
    except TemplateError as exc:
        report, commands = [str(exc)], []
    if report:
        print("The deploy would fail: CloudFormation refuses these parameters.", file=sys.stderr)
        for line in report:
            print(f"  - {line}", file=sys.stderr)
        print(
            'Give the values as make deploy STAGE=<stage> PARAMS="Key=value ...", or add them to '
            "samconfig.toml's [<stage>.deploy.parameters] parameter_overrides (README: Deploying).",
            file=sys.stderr,
        )
        return 2
    if args.readme:
        print(f"deploy-check: {len(commands)} deploy command(s) in README.md resolve every parameter")
        return 0
    if args.sam:
        (command,) = commands
        merged = command.parameters(tomllib.loads(SAMCONFIG.read_text()))
        overrides = [f"{key}={value}" for key, value in merged.items()]
        deploy = [args.sam, "deploy", "--config-env", command.config_env, "--parameter-overrides", *overrides]
        return subprocess.run(deploy, check=False).returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
