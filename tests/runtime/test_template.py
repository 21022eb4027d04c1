"""Template reading: short tags, Globals, parameters, conditions and intrinsic functions (no AWS)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from local.runtime.template import (
    NO_VALUE,
    Attributes,
    Pseudo,
    Resolver,
    Template,
    TemplateError,
    apply_globals,
    load_yaml,
    merge_globals,
    parameter_values,
    references,
)
from tests.runtime.conftest import FIXTURE_TEMPLATE


def _template(tmp_path: Path, text: str) -> Template:
    path = tmp_path / "template.yaml"
    path.write_text(text)
    return Template.load(path)


def _resolver(
    template: Template, overrides: dict[str, Any] | None = None, **attributes: Attributes
) -> Resolver:
    return Resolver(template, parameter_values(template, overrides or {}), Pseudo(), attributes)


BASE = """
Parameters:
  Stage: {Type: String, AllowedValues: [dev, prod], Default: dev}
  Names: {Type: CommaDelimitedList, Default: "a,b,c"}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  IsDev: !Not [Condition: IsProd]
  Both: !And [Condition: IsDev, !Equals [x, x]]
  Either: !Or [Condition: IsProd, !Equals [1, "1"]]
Mappings:
  Sizes: {dev: {Memory: 128}, prod: {Memory: 1024}}
Resources:
  Queue: {Type: AWS::SQS::Queue}
"""


class TestShortTags:
    def test_short_tags_become_long_forms(self, tmp_path: Path) -> None:
        path = tmp_path / "t.yaml"
        path.write_text(
            "A: !Ref X\nB: !GetAtt Q.Arn\nC: !GetAtt [Q, Arn]\nD: !Sub 'x-${AWS::Region}'\n"
            "E: !Join [',', [!Ref X, b]]\nF: !If [C, !Select [0, !Split [',', 'a,b']], !FindInMap [M, k, v]]\n"
            "G: !Base64 text\nH: 2024-01-01\n"
        )
        doc = load_yaml(path)
        assert doc["A"] == {"Ref": "X"}
        assert doc["B"] == {"Fn::GetAtt": ["Q", "Arn"]}
        assert doc["C"] == {"Fn::GetAtt": ["Q", "Arn"]}
        assert doc["D"] == {"Fn::Sub": "x-${AWS::Region}"}
        assert doc["E"] == {"Fn::Join": [",", [{"Ref": "X"}, "b"]]}
        assert doc["F"]["Fn::If"][1] == {"Fn::Select": [0, {"Fn::Split": [",", "a,b"]}]}
        assert doc["F"]["Fn::If"][2] == {"Fn::FindInMap": ["M", "k", "v"]}
        assert doc["G"] == {"Fn::Base64": "text"}
        # CloudFormation keeps dates as text; PyYAML would make a datetime.
        assert doc["H"] == "2024-01-01"

    def test_unknown_tag_fails_with_its_line(self, tmp_path: Path) -> None:
        path = tmp_path / "t.yaml"
        path.write_text("A: 1\nB: !Bogus x\n")
        with pytest.raises(TemplateError, match=r"line 2: unknown tag !Bogus"):
            load_yaml(path)


class TestGlobals:
    def test_maps_merge_lists_concatenate_scalars_override(self) -> None:
        merged = merge_globals(
            {"Timeout": 3, "Layers": ["g"], "Environment": {"Variables": {"A": "g", "B": "g"}}},
            {"Timeout": 9, "Layers": ["l"], "Environment": {"Variables": {"B": "l", "C": "l"}}},
        )
        assert merged == {
            "Timeout": 9,
            "Layers": ["g", "l"],
            "Environment": {"Variables": {"A": "g", "B": "l", "C": "l"}},
        }

    def test_intrinsic_values_replace_instead_of_merging(self) -> None:
        assert merge_globals({"Ref": "A"}, {"Fn::If": ["C", 1, 2]}) == {"Fn::If": ["C", 1, 2]}

    def test_applied_per_resource_type(self) -> None:
        document = apply_globals(
            {
                "Globals": {"Function": {"Runtime": "python3.12", "MemorySize": 256}},
                "Resources": {
                    "F": {"Type": "AWS::Serverless::Function", "Properties": {"MemorySize": 512}},
                    "Q": {"Type": "AWS::SQS::Queue", "Properties": {}},
                },
            }
        )
        assert "Globals" not in document
        assert document["Resources"]["F"]["Properties"] == {"Runtime": "python3.12", "MemorySize": 512}
        assert document["Resources"]["Q"]["Properties"] == {}

    def test_unknown_section_fails(self) -> None:
        with pytest.raises(TemplateError, match=r"Globals.Queue: not a SAM Globals section"):
            apply_globals({"Globals": {"Queue": {}}, "Resources": {}})

    def test_fixture_functions_get_global_environment_and_layers(self) -> None:
        template = Template.load(FIXTURE_TEMPLATE)
        echo = template.resources["EchoFunction"].properties
        assert echo["Environment"]["Variables"]["SHARED"] == "from-echo"
        assert echo["Environment"]["Variables"]["STAGE"] == {"Ref": "Stage"}
        assert echo["Layers"] == [{"Ref": "FixtureLayer"}]
        assert echo["MemorySize"] == 256
        assert template.resources["SlowFunction"].properties["Timeout"] == 1


class TestParameters:
    def test_override_default_and_list(self, tmp_path: Path) -> None:
        template = _template(tmp_path, BASE)
        assert parameter_values(template, {}) == {"Stage": "dev", "Names": ["a", "b", "c"]}
        assert parameter_values(template, {"Stage": "prod"})["Stage"] == "prod"

    def test_missing_value_names_the_parameter(self, tmp_path: Path) -> None:
        template = _template(tmp_path, "Parameters:\n  Issuer: {Type: String}\nResources: {}\n")
        with pytest.raises(TemplateError, match=r"Parameters.Issuer: no value"):
            parameter_values(template, {})

    @pytest.mark.parametrize(
        ("spec", "value", "message"),
        [
            ("{Type: String, AllowedValues: [dev, prod]}", "qa", "not one of the AllowedValues"),
            ("{Type: String, AllowedPattern: '^https://.+$'}", "http://x", "does not match AllowedPattern"),
            ("{Type: String, MinLength: 3}", "ab", "shorter than MinLength"),
            ("{Type: Number, MaxValue: 10}", "11", "above MaxValue"),
        ],
    )
    def test_constraints_are_checked(self, tmp_path: Path, spec: str, value: str, message: str) -> None:
        template = _template(tmp_path, f"Parameters:\n  P: {spec}\nResources: {{}}\n")
        with pytest.raises(TemplateError, match=message):
            parameter_values(template, {"P": value})


class TestIntrinsics:
    def test_ref_parameters_pseudo_and_resources(self, tmp_path: Path) -> None:
        resolver = _resolver(_template(tmp_path, BASE), Queue=Attributes("https://q", {"Arn": "arn:q"}))
        value = {
            "stage": {"Ref": "Stage"},
            "region": {"Ref": "AWS::Region"},
            "account": {"Ref": "AWS::AccountId"},
            "stack": {"Ref": "AWS::StackName"},
            "partition": {"Ref": "AWS::Partition"},
            "suffix": {"Ref": "AWS::URLSuffix"},
            "queue": {"Ref": "Queue"},
            "arn": {"Fn::GetAtt": ["Queue", "Arn"]},
        }
        assert resolver.resolve(value, "x") == {
            "stage": "dev",
            "region": "us-east-1",
            "account": "123456789012",
            "stack": "booksync-local",
            "partition": "aws",
            "suffix": "amazonaws.com",
            "queue": "https://q",
            "arn": "arn:q",
        }

    def test_sub_both_forms_and_escapes(self, tmp_path: Path) -> None:
        resolver = _resolver(_template(tmp_path, BASE), Queue=Attributes("https://q", {"Arn": "arn:q"}))
        assert resolver.resolve({"Fn::Sub": "${AWS::StackName}-${Stage}-${Queue.Arn}-${!Kept}"}, "x") == (
            "booksync-local-dev-arn:q-${Kept}"
        )
        assert (
            resolver.resolve({"Fn::Sub": ["${A}/${Queue}", {"A": {"Ref": "Stage"}}]}, "x") == "dev/https://q"
        )

    def test_join_select_split_find_in_map_base64(self, tmp_path: Path) -> None:
        resolver = _resolver(_template(tmp_path, BASE), {"Stage": "prod"})
        assert resolver.resolve({"Fn::Join": ["-", ["a", {"Ref": "Stage"}]]}, "x") == "a-prod"
        assert resolver.resolve({"Fn::Select": ["2", {"Ref": "Names"}]}, "x") == "c"
        assert resolver.resolve({"Fn::Split": ["/", "a/b"]}, "x") == ["a", "b"]
        assert resolver.resolve({"Fn::FindInMap": ["Sizes", {"Ref": "Stage"}, "Memory"]}, "x") == 1024
        assert resolver.resolve({"Fn::Base64": "hi"}, "x") == "aGk="

    def test_conditions_and_if_with_no_value(self, tmp_path: Path) -> None:
        resolver = _resolver(_template(tmp_path, BASE))
        assert resolver.condition("IsDev") is True
        assert resolver.condition("Both") is True
        assert resolver.condition("Either") is True
        value = {
            "kept": {"Fn::If": ["IsDev", "d", "p"]},
            "dropped": {"Fn::If": ["IsProd", "p", {"Ref": "AWS::NoValue"}]},
            "list": ["a", {"Fn::If": ["IsProd", "b", {"Ref": "AWS::NoValue"}]}],
        }
        assert resolver.resolve(value, "x") == {"kept": "d", "list": ["a"]}
        assert resolver.resolve({"Ref": "AWS::NoValue"}, "x") is NO_VALUE

    def test_resources_with_false_condition_are_disabled(self, tmp_path: Path) -> None:
        template = _template(tmp_path, BASE + "  Extra: {Type: AWS::SQS::Queue, Condition: IsProd}\n")
        resolver = _resolver(template)
        assert resolver.enabled(template.resources["Queue"])
        assert not resolver.enabled(template.resources["Extra"])

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            (
                {"Fn::ImportValue": "x"},
                r"Resources.Q.Properties.P.Fn::ImportValue: Fn::ImportValue is not supported",
            ),
            ({"Ref": "Nope"}, r"Resources.Q.Properties.P.Ref: Nope is neither a parameter nor a resource"),
            ({"Fn::GetAtt": ["Queue", "Bogus"]}, r"Queue has no attribute Bogus locally \(known: Arn\)"),
            ({"Fn::If": ["Missing", 1, 2]}, r"condition 'Missing' is not declared"),
            ({"Fn::Select": [5, ["a"]]}, r"index 5 is out of range"),
            ({"Fn::FindInMap": ["Sizes", "qa", "Memory"]}, r"Mappings.Sizes.qa.Memory does not exist"),
        ],
    )
    def test_unsupported_or_wrong_fails_loudly_with_location(
        self, tmp_path: Path, value: dict[str, Any], message: str
    ) -> None:
        resolver = _resolver(_template(tmp_path, BASE), Queue=Attributes("u", {"Arn": "a"}))
        with pytest.raises(TemplateError, match=message):
            resolver.resolve(value, "Resources.Q.Properties.P")

    def test_resource_known_but_not_created_is_reported(self, tmp_path: Path) -> None:
        resolver = _resolver(_template(tmp_path, BASE))
        with pytest.raises(TemplateError, match=r"Queue \(AWS::SQS::Queue\) has no local value"):
            resolver.resolve({"Ref": "Queue"}, "x")

    def test_references_walk_ref_getatt_and_sub(self) -> None:
        value = {
            "a": {"Ref": "A"},
            "b": {"Fn::GetAtt": "B.Arn"},
            "c": {"Fn::Sub": ["${C.Arn}-${AWS::Region}-${v}-${!Lit}", {"v": {"Ref": "D"}}]},
            "d": [{"Fn::Join": ["", [{"Ref": "E"}]]}],
        }
        assert references(value) == {"A", "B", "C", "AWS::Region", "D", "E"}
