"""Voyage's settings (booksync.settings.VoyageSettings): the key validated like every other
credential (empty, placeholder or unset refused by name; from SSM or, locally, a variable), the
model and the dimension checked at cold start."""

from __future__ import annotations

from typing import Any

import pytest
from booksync.errors import ConfigurationError
from booksync.settings import VoyageSettings


def test_defaults_are_voyage_4_lite_at_1024() -> None:
    settings = VoyageSettings.from_env({})
    assert (settings.model, settings.output_dimension) == ("voyage-4-lite", 1024)
    assert settings.api_base_url == "https://api.voyageai.com/v1"
    assert not settings.key_named  # no key: the local embedder serves


@pytest.mark.parametrize(
    ("value", "reason"), [("", "is empty"), ("changeme", "placeholder"), ("<key>", "placeholder")]
)
def test_a_key_in_the_environment_is_refused_by_name_at_cold_start(value: str, reason: str) -> None:
    with pytest.raises(ConfigurationError, match=f"VOYAGE_API_KEY .*{reason}") as caught:
        VoyageSettings.from_env({"VOYAGE_API_KEY": value})
    assert caught.value.fix


def test_an_empty_parameter_name_names_no_key() -> None:
    assert not VoyageSettings.from_env({"VOYAGE_API_KEY_PARAM": "  "}).key_named


def test_the_key_is_read_from_its_ssm_securestring(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[str, dict[str, Any]]] = []

    def get_parameter(name: str, **options: Any) -> str:
        asked.append((name, options))
        return "pa-real-voyage-key-123"

    monkeypatch.setattr("aws_lambda_powertools.utilities.parameters.get_parameter", get_parameter)
    settings = VoyageSettings.from_env({"VOYAGE_API_KEY_PARAM": "/booksync/voyage-key"})
    assert settings.key_named and "/booksync/voyage-key" in settings.key_source
    assert settings.api_key() == "pa-real-voyage-key-123"
    assert asked == [("/booksync/voyage-key", {"decrypt": True, "max_age": 300})]


@pytest.mark.parametrize("stored", ["", "changeme", "your-voyage-key"])
def test_a_placeholder_in_ssm_is_refused_naming_the_parameter(
    monkeypatch: pytest.MonkeyPatch, stored: str
) -> None:
    monkeypatch.setattr("aws_lambda_powertools.utilities.parameters.get_parameter", lambda *_a, **_k: stored)
    settings = VoyageSettings.from_env({"VOYAGE_API_KEY_PARAM": "/booksync/voyage-key"})
    with pytest.raises(ConfigurationError, match="SSM parameter /booksync/voyage-key"):
        settings.api_key()


def test_an_unreadable_parameter_says_what_it_should_hold(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(*_a: Any, **_k: Any) -> str:
        raise LookupError("ParameterNotFound")

    monkeypatch.setattr("aws_lambda_powertools.utilities.parameters.get_parameter", missing)
    with pytest.raises(ConfigurationError, match="VOYAGE_API_KEY_PARAM names SSM parameter") as caught:
        VoyageSettings.from_env({"VOYAGE_API_KEY_PARAM": "/booksync/voyage-key"}).api_key()
    assert "Voyage AI API key" in caught.value.fix


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"VOYAGE_OUTPUT_DIMENSION": "300"}, "VOYAGE_OUTPUT_DIMENSION"),
        ({"VOYAGE_OUTPUT_DIMENSION": "many"}, "VOYAGE_OUTPUT_DIMENSION"),
        ({"VOYAGE_MODEL": "text-embedding-3-small"}, "VOYAGE_MODEL"),
    ],
)
def test_a_model_or_dimension_voyage_does_not_offer_is_refused_by_name(
    env: dict[str, str], named: str
) -> None:
    with pytest.raises(ConfigurationError, match=named):
        VoyageSettings.from_env(env)
