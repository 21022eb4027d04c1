"""All companies the sandbox holds, and how a new one starts (chart of accounts, payment methods)."""

from __future__ import annotations

import threading

from local.sandboxes.quickbooks import ops
from local.sandboxes.quickbooks.clock import CompanyClock
from local.sandboxes.quickbooks.entities import ENTITY_TYPES
from local.sandboxes.quickbooks.entities.lists import DEFAULT_ACCOUNTS, DEFAULT_PAYMENT_METHODS
from local.sandboxes.quickbooks.model import Realm


class Books:
    """Realm data behind one lock: each API call is one short transaction over it."""

    def __init__(self, clock: CompanyClock) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.realms: dict[str, Realm] = {}

    def get(self, realm_id: str) -> Realm | None:
        return self.realms.get(realm_id)

    def open(self, realm_id: str) -> Realm:
        """The realm, created with a new company's lists the first time it is named."""
        with self.lock:
            realm = self.realms.get(realm_id)
            if realm is None:
                realm = Realm(realm_id, self.clock.now())
                _start_company(realm, self.clock)
                self.realms[realm_id] = realm
            return realm

    def reset(self) -> None:
        with self.lock:
            self.realms.clear()


def _start_company(realm: Realm, clock: CompanyClock) -> None:
    ctx = ops.context(realm, clock, origin="system")
    for name, account_type, sub_type in DEFAULT_ACCOUNTS:
        body = {"Name": name, "AccountType": account_type, "AccountSubType": sub_type}
        ops.create(ctx, ENTITY_TYPES["Account"], body)
    for name, kind in DEFAULT_PAYMENT_METHODS:
        ops.create(ctx, ENTITY_TYPES["PaymentMethod"], {"Name": name, "Type": kind})
