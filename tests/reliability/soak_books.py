"""The books the reliability suite writes to, one class per accounting provider: its sandbox (set
up so its throttles stay out of the way: the faults the soak injects are what it is about), the
functions' environment for it, the consent that connects a company, its idempotency-key switch,
and its ledger read back in booksync's terms (``Ledger``), so the soak's proof is written once.

A provider joins the soak with one subclass of ``SoakBooks`` and its row in ``SOAK_BOOKS``.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar

from local.sandboxes.kit.client import ControlClient
from tests.lambda_env import connect_company

CLIENT_ID, CLIENT_SECRET = "ABreliability001", "s3cr3t-for-reliability"


@dataclass(frozen=True)
class RemoteInvoice:
    customer: str  # the remote customer's id
    lines: list[tuple[str, Decimal]]  # (remote item id, amount) of each item line, in order
    total: Decimal
    balance: Decimal
    number: str


@dataclass(frozen=True)
class RemotePayment:
    amount: Decimal
    applied: list[tuple[str, Decimal]]  # (remote invoice id, amount)


@dataclass(frozen=True)
class RemoteRefund:
    amount: Decimal
    date: str  # YYYY-MM-DD


@dataclass
class Ledger:
    """One company's books as booksync's kinds, by remote id (each id once: ``unique`` checks)."""

    customers: dict[str, str] = field(default_factory=dict)  # id -> the name the books keep
    items: dict[str, str] = field(default_factory=dict)
    invoices: dict[str, RemoteInvoice] = field(default_factory=dict)
    payments: dict[str, RemotePayment] = field(default_factory=dict)
    refunds: dict[str, RemoteRefund] = field(default_factory=dict)


def unique(ids: list[str], what: str) -> None:
    twice = [rid for rid, n in Counter(ids).items() if n > 1]
    assert not twice, f"the books list {what} {twice[:3]} more than once"


def money(value: Any) -> Decimal:
    return Decimal(str(value))


class SoakBooks(ABC):
    """One provider's sandbox for the reliability suite (a context manager: started on enter)."""

    provider: ClassVar[str]
    # The provider API's paths (a regex): the faults the soak injects hit these, not OAuth.
    api_path: ClassVar[str]
    control: ControlClient
    url: str

    @abstractmethod
    def __enter__(self) -> SoakBooks: ...

    def __exit__(self, *_: object) -> None:
        self._stack.close()

    def __init__(self) -> None:
        self._stack = contextlib.ExitStack()

    @abstractmethod
    def environment(self) -> dict[str, str]:
        """The provider's settings for the functions, naming this sandbox."""

    @abstractmethod
    def connect(self, services: Any, company_id: str, user_id: str = "u1") -> str:
        """The company connects through the sandbox's consent; the account id it is connected to."""

    @abstractmethod
    def honour_keys(self, honoured: bool) -> None:
        """Whether the sandbox replays a repeated idempotency key (else only booksync's intents
        and lookups after doubt stand between a retry and a duplicate)."""

    @abstractmethod
    def ledger(self, account: str, *, refunds: bool) -> Ledger:
        """What the books hold (``refunds``: whether booksync recorded any, for the helper objects
        a provider makes on first need)."""

    def requests(self, account: str) -> list[dict[str, Any]]:
        return self.control.requests(account)


class QuickBooksBooks(SoakBooks):
    provider = "quickbooks"
    api_path = r"^/v3/company/"
    REDIRECT = "https://api.example.com/oauth/quickbooks/callback"

    def __enter__(self) -> QuickBooksBooks:
        from local.sandboxes.quickbooks.config import ClientApp, Limits, SandboxConfig
        from local.sandboxes.quickbooks.control import SandboxControl
        from local.sandboxes.quickbooks.server import QuickBooksSandbox

        config = SandboxConfig(
            clients={CLIENT_ID: ClientApp(secret=CLIENT_SECRET, redirect_uris=[self.REDIRECT])},
            limits=Limits(requests_per_minute=1_000_000, max_concurrent=1_000, batch_per_minute=1_000),
        )
        sandbox = self._stack.enter_context(QuickBooksSandbox(config=config))
        self.url = sandbox.url
        self.control = self._stack.enter_context(SandboxControl(sandbox.url))
        return self

    def environment(self) -> dict[str, str]:
        return {}  # tests.lambda_env.environment names the QuickBooks sandbox itself

    def connect(self, services: Any, company_id: str, user_id: str = "u1") -> str:
        return connect_company(services, self.control, company_id, user_id=user_id)

    def honour_keys(self, honoured: bool) -> None:
        self.control.set_config(honor_request_id=honoured)

    def ledger(self, account: str, *, refunds: bool) -> Ledger:
        entities: dict[str, list[dict[str, Any]]] = self.control.ledger(account)["entities"]  # type: ignore[attr-defined]
        # booksync's own "Refunds" item (made on first need for refund receipts) has no document.
        own = [obj for obj in entities.get("Item", []) if obj["Name"] == "Refunds"]
        assert len(own) == (1 if refunds else 0), "one Refunds item, whatever the retries"
        for entity in ("Customer", "Item", "Invoice", "Payment", "RefundReceipt"):
            unique([str(obj["Id"]) for obj in entities.get(entity, [])], entity)
        books = Ledger(
            customers={str(c["Id"]): c["DisplayName"] for c in entities.get("Customer", [])},
            items={str(i["Id"]): i["Name"] for i in entities.get("Item", []) if i["Name"] != "Refunds"},
        )
        for invoice in entities.get("Invoice", []):
            books.invoices[str(invoice["Id"])] = RemoteInvoice(
                customer=str(invoice["CustomerRef"]["value"]),
                lines=[
                    (str(line["SalesItemLineDetail"]["ItemRef"]["value"]), money(line["Amount"]))
                    for line in invoice["Line"]
                    if line.get("DetailType") == "SalesItemLineDetail"
                ],
                total=money(invoice["TotalAmt"]),
                balance=money(invoice["Balance"]),
                number=str(invoice.get("DocNumber")),
            )
        for payment in entities.get("Payment", []):
            books.payments[str(payment["Id"])] = RemotePayment(
                amount=money(payment["TotalAmt"]),
                applied=[
                    (str(txn["TxnId"]), money(line["Amount"]))
                    for line in payment.get("Line", [])
                    for txn in line.get("LinkedTxn", [])
                ],
            )
        for receipt in entities.get("RefundReceipt", []):
            # The money leaves Undeposited Funds, where the payments went (no account set).
            assert receipt["DepositToAccountRef"]["name"] == "Undeposited Funds", receipt["Id"]
            books.refunds[str(receipt["Id"])] = RemoteRefund(money(receipt["TotalAmt"]), receipt["TxnDate"])
        return books


SOAK_BOOKS: dict[str, type[SoakBooks]] = {"quickbooks": QuickBooksBooks}


@contextlib.contextmanager
def soak_books(provider: str) -> Iterator[SoakBooks]:
    with SOAK_BOOKS[provider]() as books:
        yield books
