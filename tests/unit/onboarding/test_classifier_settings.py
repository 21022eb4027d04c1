"""CUSTOMER_CLASSIFIER: rules by default; llm needs its endpoint and model, refused by name."""

from __future__ import annotations

import pytest
from booksync.errors import ConfigurationError
from booksync.settings import ApiSettings

from tests.unit.test_settings import BASE


def test_rules_by_default() -> None:
    settings = ApiSettings.from_env(BASE)
    assert settings.customer_classifier == "rules"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"CLASSIFIER_LLM_MODEL": "small"}, "CLASSIFIER_LLM_URL"),
        ({"CLASSIFIER_LLM_URL": "https://llm.internal/v1"}, "CLASSIFIER_LLM_MODEL"),
        ({"CLASSIFIER_LLM_URL": "changeme", "CLASSIFIER_LLM_MODEL": "small"}, "CLASSIFIER_LLM_URL"),
    ],
)
def test_llm_without_its_endpoint_is_refused_naming_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        ApiSettings.from_env({**BASE, "CUSTOMER_CLASSIFIER": "llm", **env})
    assert named in str(caught.value)


def test_llm_settings_and_the_key_from_the_environment() -> None:
    settings = ApiSettings.from_env(
        {**BASE, "CUSTOMER_CLASSIFIER": "llm", "CLASSIFIER_LLM_URL": "https://llm.internal/v1",
         "CLASSIFIER_LLM_MODEL": "small", "CLASSIFIER_LLM_API_KEY": "sk-local"}
    )  # fmt: skip
    assert settings.classifier_api_key() == "sk-local"
    assert "sk-local" not in repr(settings)
    with pytest.raises(ConfigurationError):
        ApiSettings.from_env({**BASE, "CUSTOMER_CLASSIFIER": "neural"})
