"""Whose connection is it: a connection link's state is checked before it is spent, and outside
values that become keys are bounded before any read (Integrations and the API over moto)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from booksync.errors import InvalidRequest
from booksync.integrations import Integrations
from booksync.store.connections import ConnectionRepository
from booksync.store.documents import DocumentRepository

from tests.dynamo_limits import enforce
from tests.fakes.integrations import fake_integrations
from tests.fakes.oauth import FakeOAuth


def state_of(url: str) -> str:
    return url.split("state=")[1].split("&", maxsplit=1)[0]


@pytest.fixture
def service(tables: SimpleNamespace, kms_key: str) -> Integrations:
    return fake_integrations(ConnectionRepository(), DocumentRepository(), kms_key, oauth=FakeOAuth())


def test_a_state_sent_to_another_providers_callback_is_not_spent(service: Integrations) -> None:
    state = state_of(service.start_connect(company_id="acme", user_id="u1", provider="quickbooks"))
    with pytest.raises(InvalidRequest, match="started for quickbooks") as refused:
        service.complete_connect(provider="square", state=state, code="c-1", account_id=None)
    assert "redirect URI" in (refused.value.fix or "")
    connected = service.complete_connect(provider="quickbooks", state=state, code="c-1", account_id="r-1")
    assert (connected.company_id, connected.account_id) == ("acme", "r-1")


@pytest.mark.parametrize(("state", "realm"), [("s" * 3_000, "r-1"), (None, "9" * 3_000)])
def test_a_callback_key_too_long_for_dynamodb_is_refused_before_any_read(
    service: Integrations, monkeypatch: pytest.MonkeyPatch, state: str | None, realm: str
) -> None:
    real = state_of(service.start_connect(company_id="acme", user_id="u1", provider="quickbooks"))
    enforce(monkeypatch)
    with pytest.raises(InvalidRequest, match="over 200 characters"):
        service.complete_connect(provider="quickbooks", state=state or real, code="c", account_id=realm)
