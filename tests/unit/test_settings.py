"""Settings are validated at cold start; credentials are refused when unset, empty or placeholders."""

from __future__ import annotations

import pytest
from booksync.errors import ConfigurationError
from booksync.settings import (
    ApiSettings,
    QuickBooksSettings,
    SchedulerSettings,
    SquareSettings,
    placeholder_reason,
)

BASE = {
    "CONNECTIONS_TABLE": "c",
    "DOCUMENTS_TABLE": "d",
    "SYNC_RUNS_TABLE": "r",
    "NOTIFICATIONS_TABLE": "n",
    "INTENTS_TABLE": "i",
    "OAUTH_STATES_TABLE": "o",
    "TOKEN_KEY_ID": "k",
    "PUBLIC_API_BASE_URL": "https://api.example.com",
    "SYNC_INVOICE_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/1/q",
}


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "changeme",
        "CHANGEME",
        "your-client-id",
        "xxx",
        "XXXXXX",
        "<client id>",
        "${QBO_CLIENT_ID}",
        "undefined",
        "null",
        "TODO",
        "None",
    ],
)
def test_placeholders_are_refused_naming_the_variable(value: str) -> None:
    settings = QuickBooksSettings.from_env({"QBO_CLIENT_ID": value, "QBO_CLIENT_SECRET": "a-real-secret-1"})
    with pytest.raises(ConfigurationError) as info:
        settings.credentials()
    assert "QBO_CLIENT_ID" in info.value.message
    assert info.value.fix


def test_unset_secret_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="QBO_CLIENT_SECRET is not set"):
        QuickBooksSettings.from_env({"QBO_CLIENT_ID": "ABcd1234"}).credentials()


def test_real_looking_credentials_pass() -> None:
    assert placeholder_reason("AB4dXk2mQ") is None
    assert QuickBooksSettings.from_env(
        {"QBO_CLIENT_ID": "ABcd1234", "QBO_CLIENT_SECRET": "s3cr3tV4lue"}
    ).credentials() == ("ABcd1234", "s3cr3tV4lue")


def test_missing_table_names_the_variable() -> None:
    env = dict(BASE)
    del env["DOCUMENTS_TABLE"]
    with pytest.raises(ConfigurationError, match="DOCUMENTS_TABLE"):
        ApiSettings.from_env(env)


def test_bad_stage_and_queue_url_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="STAGE"):
        SchedulerSettings.from_env({**BASE, "STAGE": "production"})
    with pytest.raises(ConfigurationError, match="SYNC_INVOICE_QUEUE_URL"):
        SchedulerSettings.from_env({**BASE, "SYNC_INVOICE_QUEUE_URL": "my-queue"})


def test_redirect_uri_is_exact() -> None:
    settings = ApiSettings.from_env({**BASE, "PUBLIC_API_BASE_URL": "https://api.example.com/"})
    assert settings.redirect_uri("quickbooks") == "https://api.example.com/oauth/quickbooks/callback"


def test_secret_value_never_in_repr() -> None:
    settings = QuickBooksSettings.from_env({"QBO_CLIENT_ID": "ABcd1234", "QBO_CLIENT_SECRET": "s3cr3tV4lue"})
    assert "s3cr3tV4lue" not in repr(settings)


def test_square_oauth_flow_is_code_unless_pkce_is_asked_for() -> None:
    assert SquareSettings.from_env({}).uses_pkce is False
    assert SquareSettings.from_env({"SQUARE_OAUTH_FLOW": "code"}).uses_pkce is False
    assert SquareSettings.from_env({"SQUARE_OAUTH_FLOW": "pkce"}).uses_pkce is True


@pytest.mark.parametrize("value", ["PKCE", "s256", "", "code,pkce"])
def test_an_unknown_square_oauth_flow_names_the_variable_and_the_choices(value: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        SquareSettings.from_env({"SQUARE_OAUTH_FLOW": value})
    assert "SQUARE_OAUTH_FLOW" in info.value.message
    assert "'code' or 'pkce'" in info.value.message
