"""Webhooks registered per connection at connect (``wiring.ConnectionWebhooks``, FreshBooks'
callbacks): a registration the provider refuses is said to the company's admins, never left
silent (edits made in the books would go unseen), and a later connect that registers ends it."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest
from booksync.errors import TransientError
from booksync.integrations import Connected
from booksync.store.connections import ConnectionRepository
from booksync.store.models import ConnectionModel
from booksync.store.notifications import NotificationRepository
from booksync.wiring import ConnectionWebhooks

COMPANY, PROVIDER = "acme", "freshbooks"
KIND = f"{PROVIDER}:webhooks_not_registered"


class Subscriptions:
    def __init__(self) -> None:
        self.refusing = True
        self.subscribed: list[str] = []

    def subscribe(self, url: str) -> object:
        if self.refusing:
            raise TransientError("FreshBooks answered 503", provider=PROVIDER)
        self.subscribed.append(url)
        return None

    def unsubscribe(self, url: str) -> object:
        return None


def open_notices(notifications: NotificationRepository) -> list[str]:
    return [str(n.kind) for n in notifications.for_company(COMPANY) if n.resolved_at is None]


def test_a_refused_registration_is_said_until_a_connect_registers(tables: SimpleNamespace) -> None:
    ConnectionModel(COMPANY, PROVIDER, connection_id="c1", status="connected", account_id="a1").save()
    notifications, subscriptions = NotificationRepository(), Subscriptions()
    settings = cast(Any, SimpleNamespace(public_api_base_url="https://api.example.test/"))
    webhooks = ConnectionWebhooks(
        settings, ConnectionRepository(), notifications, subscriptions_for=lambda _row: subscriptions
    )
    done = Connected(company_id=COMPANY, provider=PROVIDER, account_id="a1")

    with pytest.raises(TransientError):
        webhooks.after_connect(done)  # the connect flow logs it; the connection stays connected
    assert open_notices(notifications) == [KIND]
    [notice] = notifications.for_company(COMPANY)
    assert "not seen" in str(notice.message) and "Reconnect FreshBooks" in str(notice.fix)

    subscriptions.refusing = False  # reconnected: registered this time
    webhooks.after_connect(done)
    assert subscriptions.subscribed == ["https://api.example.test/webhooks/freshbooks"]
    assert open_notices(notifications) == []
