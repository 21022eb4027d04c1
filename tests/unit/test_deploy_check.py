"""`make deploy-check` and `make deploy`'s first step (scripts/deploy_check.py): a deploy command
resolved as SAM resolves it (samconfig.toml's parameter_overrides, replaced by a command-line
--parameter-overrides, merged by make deploy's PARAMS) and checked as CloudFormation checks it,
offline, so the first-deploy failure of issue 13 cannot come back."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from local.runtime.template import Template
from scripts import deploy_check
from scripts.deploy_check import make_command, parse_command, problems, readme_commands

ROOT = Path(__file__).resolve().parents[2]
SAMCONFIG = tomllib.loads((ROOT / "samconfig.toml").read_text())
REQUIRED = "QuickBooksClientId=ABclient0001 JwtIssuer=https://login.example.com/ JwtAudience=booksync-app"

# The Deploying step of the README before issue 13: samconfig's Stage=dev was replaced.
ORIGINAL_README = """# booksync

## Deploying

3. `sam build && sam deploy --config-env dev --parameter-overrides QuickBooksClientId=… JwtIssuer=… JwtAudience=…`
   (`make deploy STAGE=dev` does the same with `samconfig.toml`).

## Next
"""


def problems_of(command: str) -> list[str]:
    parsed = parse_command(command)
    return problems(parsed.parameters(SAMCONFIG), placeholders=True)


def named(found: list[str]) -> set[str]:
    return {line.split(":")[0] for line in found}


def test_the_readme_deploy_commands_resolve_every_parameter() -> None:
    commands = readme_commands((ROOT / "README.md").read_text())
    assert {command.config_env for command in commands} == {"dev", "prod"}
    assert deploy_check.check_commands(commands, placeholders=True) == []
    assert deploy_check.main(["--readme"]) == 0


def test_the_original_readme_command_is_refused_for_the_stage_it_lost() -> None:
    (sam, make) = readme_commands(ORIGINAL_README)
    assert sam.config_env == "dev" and not sam.merges
    assert "Stage" not in sam.parameters(SAMCONFIG)  # replaced, not added to
    assert "Stage" in named(problems(sam.parameters(SAMCONFIG), placeholders=True))
    # And `make deploy STAGE=dev` had none of the required values.
    assert named(problems(make.parameters(SAMCONFIG), placeholders=True)) == {
        "QuickBooksClientId",
        "JwtIssuer",
        "JwtAudience",
    }


def test_a_sam_command_that_repeats_the_stage_passes() -> None:
    assert problems_of(f"sam deploy --config-env dev --parameter-overrides Stage=dev {REQUIRED}") == []
    # Without any --parameter-overrides, samconfig's list is used as it is.
    assert "Stage" not in named(problems_of("sam deploy --config-env dev"))


def test_make_deploy_merges_params_into_the_stage_profile() -> None:
    command = make_command("prod", f"{REQUIRED} AlarmEmail=ops@example.com LogLevel=DEBUG")
    parameters = command.parameters(SAMCONFIG)
    assert parameters["Stage"] == "prod"  # from samconfig
    assert parameters["LogLevel"] == "DEBUG"  # PARAMS win over samconfig's LogLevel=INFO
    assert problems(parameters) == []


def test_make_deploy_names_each_missing_value_with_what_it_is() -> None:
    found = problems(make_command("dev", "").parameters(SAMCONFIG))
    assert named(found) == {"QuickBooksClientId", "JwtIssuer", "JwtAudience"}
    assert all("required" in line for line in found)
    assert any("Intuit app's client id" in line for line in found)


def test_prod_needs_an_alarm_email_by_the_template_rule() -> None:
    found = problems(make_command("prod", REQUIRED).parameters(SAMCONFIG))
    assert named(found) == {"Rules.ProdHasAlarmEmail"}
    assert "AlarmEmail" in found[0]
    assert problems(make_command("dev", REQUIRED).parameters(SAMCONFIG)) == []


@pytest.mark.parametrize(
    ("params", "name", "says"),
    [
        ("Stage=staging", "Stage", "AllowedValues"),
        ("JwtIssuer=http://login.example.com/", "JwtIssuer", "AllowedPattern"),
        ("AlarmEmail=ops", "AlarmEmail", "AllowedPattern"),
        ("AppOrigin=https://app.example.com/", "AppOrigin", "AllowedPattern"),
        ("QuickBooksClientId=", "QuickBooksClientId", "MinLength"),
        ("QuickbooksClientId=ABclient0001", "QuickbooksClientId", "not a parameter"),
    ],
)
def test_values_are_checked_as_cloudformation_checks_them(params: str, name: str, says: str) -> None:
    found = problems(make_command("dev", f"{REQUIRED} {params}").parameters(SAMCONFIG))
    (line,) = [line for line in found if line.startswith(f"{name}:")]
    assert says in line


def test_a_placeholder_left_in_a_real_deploy_is_refused() -> None:
    found = problems(
        make_command("dev", "QuickBooksClientId=<client-id> " + REQUIRED.split(" ", 1)[1]).parameters(
            SAMCONFIG
        )
    )
    assert named(found) == {"QuickBooksClientId"}
    assert "placeholder" in found[0]


def test_exec_runs_sam_deploy_with_samconfig_and_params_merged(tmp_path: Path) -> None:
    record = tmp_path / "argv.json"
    sam = tmp_path / "sam"
    sam.write_text(
        f"#!{sys.executable}\nimport json, sys\nopen({str(record)!r}, 'w').write(json.dumps(sys.argv[1:]))\n"
    )
    sam.chmod(0o755)
    assert deploy_check.main(["--config-env", "dev", "--params", REQUIRED, "--exec", str(sam)]) == 0
    argv = json.loads(record.read_text())
    assert argv[:4] == ["deploy", "--config-env", "dev", "--parameter-overrides"]
    assert set(argv[4:]) == {"Stage=dev", *REQUIRED.split()}


def test_exec_never_runs_sam_when_a_value_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sam = tmp_path / "sam"
    sam.write_text(f"#!{sys.executable}\nraise SystemExit('sam must not run')\n")
    sam.chmod(0o755)
    assert deploy_check.main(["--config-env", "dev", "--params", "", "--exec", str(sam)]) == 2
    err = capsys.readouterr().err
    for name in ("QuickBooksClientId", "JwtIssuer", "JwtAudience"):
        assert f"{name}: required" in err
    assert 'PARAMS="Key=value ..."' in err


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_deploy_stops_before_building_when_values_are_missing() -> None:
    done = subprocess.run(
        ["make", "-o", ".venv/bin/python", f"PY={sys.executable}", "deploy", "STAGE=dev"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "QuickBooksClientId: required" in done.stderr
    assert "sam build" not in done.stdout  # failed at the check, before building


def test_validate_runs_the_deploy_check() -> None:
    makefile = (ROOT / "Makefile").read_text()
    (validate,) = re.findall(r"^validate:([^#\n]*)", makefile, flags=re.MULTILINE)
    assert "deploy-check" in validate.split()
    (recipe,) = re.findall(r"^deploy-check:.*\n\t(.*)$", makefile, flags=re.MULTILINE)
    assert "scripts.deploy_check --readme" in recipe


RULES_TEMPLATE = """
Parameters:
  Stage: {Type: String, Default: dev}
  AlarmEmail: {Type: String}
Rules:
  StackNamedForItsStage:
    Assertions:
      - Assert: !Equals [!Ref AWS::StackName, !Sub "booksync-${Stage}"]
        AssertDescription: the stack is named booksync-<Stage>
  AlarmEmailGiven:
    Assertions:
      - Assert: !Not [!Equals [!Sub "${AlarmEmail}", ""]]
        AssertDescription: AlarmEmail is empty
Resources: {}
"""


def test_a_rule_is_checked_unless_a_parameter_it_names_has_no_value(tmp_path: Path) -> None:
    """A pseudo parameter (AWS::StackName) always has a value, so its rule is checked; a parameter
    without one, named through Fn::Sub as through Ref, leaves the rule to that parameter's problem."""
    path = tmp_path / "template.yaml"
    path.write_text(RULES_TEMPLATE)
    template = Template.load(path)
    assert set(template.rules) == {"StackNamedForItsStage", "AlarmEmailGiven"}
    found = deploy_check.rule_problems(template, {"Stage": "dev"}, "booksync-prod")
    assert found == ["Rules.StackNamedForItsStage: the stack is named booksync-<Stage>"]
    assert deploy_check.rule_problems(template, {"Stage": "prod"}, "booksync-prod") == []
