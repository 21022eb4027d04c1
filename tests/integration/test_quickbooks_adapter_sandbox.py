"""The QuickBooks adapter against the QuickBooks sandbox on loopback: the whole OAuth code flow,
then customers, items, invoices and payments created, found, updated; faults injected by the
sandbox (lost answers, throttling, expired tokens) typed as the engine expects."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from booksync.documents import Address, Customer, Discount, Invoice, InvoiceLine, Item, Payment
from booksync.errors import DuplicateName, NeedsReconnection, RateLimited, TransientError
from booksync.providers.http import HttpClient, HttpSettings
from booksync.providers.port import InvoiceRefs, ItemRefs, PaymentRefs, RemoteObject, TokenSet
from booksync.providers.quickbooks.adapter import QuickBooksProvider
from booksync.providers.quickbooks.bulk import QuickBooksCatalog
from booksync.providers.quickbooks.client import QuickBooksClient
from booksync.providers.quickbooks.declaration import LIMITS
from booksync.providers.quickbooks.oauth import QuickBooksOAuth
from booksync.sync.limiter import Limiter

from local.sandboxes.quickbooks.control import SandboxControl
from local.sandboxes.quickbooks.server import ClientApp, QuickBooksSandbox, SandboxConfig

CLIENT_ID = "booksync-it"
CLIENT_SECRET = "it-secret-0123456789"
REDIRECT = "https://booksync.test/oauth/quickbooks/callback"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[QuickBooksSandbox]:
    config = SandboxConfig(clients={CLIENT_ID: ClientApp(secret=CLIENT_SECRET, redirect_uris=[REDIRECT])})
    server = QuickBooksSandbox(host="127.0.0.1", port=0, config=config).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def control(sandbox: QuickBooksSandbox) -> Iterator[SandboxControl]:
    with SandboxControl(sandbox.url) as ctl:
        yield ctl
        ctl.clear_faults()


def sandbox_oauth(
    url: str, client_id: str = CLIENT_ID, client_secret: str = CLIENT_SECRET
) -> QuickBooksOAuth:
    """booksync's QuickBooks OAuth client against the sandbox at ``url``, as this app."""
    return QuickBooksOAuth(
        client_id=client_id,
        client_secret=client_secret,
        auth_url=f"{url}/connect/oauth2",
        token_url=f"{url}/oauth2/v1/tokens/bearer",
        revoke_url=f"{url}/v2/oauth2/tokens/revoke",
    )


@pytest.fixture
def oauth(sandbox: QuickBooksSandbox) -> QuickBooksOAuth:
    return sandbox_oauth(sandbox.url)


class GrantTokens:
    """A TokenSource over one grant: refreshes only when the rejected token is still current."""

    def __init__(self, oauth: QuickBooksOAuth, tokens: TokenSet) -> None:
        self.oauth = oauth
        self.tokens = tokens
        self.refreshes = 0

    def access_token(self) -> str:
        return self.tokens.access_token

    def refreshed_after_rejection(self, rejected_token: str) -> str:
        if rejected_token == self.tokens.access_token:
            assert self.tokens.refresh_token is not None
            self.tokens = self.oauth.refresh(self.tokens.refresh_token)
            self.refreshes += 1
        return self.tokens.access_token


@dataclass
class Connected:
    realm: str
    tokens: GrantTokens
    provider: QuickBooksProvider
    income_account_id: str


def connect(oauth: QuickBooksOAuth, control: SandboxControl, sandbox: QuickBooksSandbox) -> Connected:
    authorize = oauth.authorization_url(state="state-123", redirect_uri=REDIRECT)
    location = control.approve_consent(authorize)
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert location.startswith(REDIRECT)
    assert query["state"] == "state-123"
    token_set = oauth.exchange_code(code=query["code"], redirect_uri=REDIRECT, realm_id=query["realmId"])
    assert token_set.account_id == query["realmId"]
    tokens = GrantTokens(oauth, token_set)
    http = HttpClient(
        provider="quickbooks",
        label="QuickBooks",
        settings=HttpSettings(connect_timeout=2, read_timeout=2, write_timeout=2),
        trace_header="intuit_tid",
    )
    client = QuickBooksClient(
        realm_id=query["realmId"],
        tokens=tokens,
        http=http,
        api_base_url=sandbox.url,
    )
    provider = QuickBooksProvider(client)
    income = next(
        a for a in provider.list_accounts() if a.classification == "Revenue" and a.name == "Services"
    )
    return Connected(query["realmId"], tokens, provider, income.id)


@pytest.fixture
def company(oauth: QuickBooksOAuth, control: SandboxControl, sandbox: QuickBooksSandbox) -> Connected:
    return connect(oauth, control, sandbox)


def ann(**kw: Any) -> Customer:
    fields: dict[str, Any] = {
        "id": "c-1",
        "display_name": "Ann:\tSmith",
        "given_name": "Ann",
        "family_name": "Smith",
        "email": "ann@example.com",
        "phone": "555-0100",
        "billing_address": Address(line1="1 Main St", city="Springfield", region="IL", postal_code="62701"),
    }
    return Customer(**{**fields, **kw})


def pump(**kw: Any) -> Item:
    fields: dict[str, Any] = {
        "id": "i-1",
        "name": "TKO-\t813PB-1500B",
        "unit_price": Decimal("150.00"),
        "sku": "TKO-1",
    }
    return Item(**{**fields, **kw})


def invoice_1001(**kw: Any) -> Invoice:
    fields: dict[str, Any] = {
        "id": "inv-1",
        "customer_id": "c-1",
        "number": "1001",
        "issue_date": date(2025, 3, 1),
        "due_date": date(2025, 3, 31),
        "lines": [InvoiceLine(item_id="i-1", quantity=Decimal("2"), unit_price=Decimal("150.00"))],
        "discount": Discount(kind="percent", value=Decimal("10")),
        "memo": "Thank you!",
    }
    return Invoice(**{**fields, **kw})


# ---------------------------------------------------------------------- OAuth


def test_code_flow_refresh_rotation_and_revoke(
    oauth: QuickBooksOAuth, control: SandboxControl, sandbox: QuickBooksSandbox
) -> None:
    company = connect(oauth, control, sandbox)
    first = company.tokens.tokens
    now = datetime.now(UTC)
    assert first.refresh_token and first.refresh_expires_at is not None
    assert now < first.access_expires_at <= now + timedelta(seconds=3600)
    assert first.refresh_expires_at > now + timedelta(days=99)
    rotated = oauth.refresh(first.refresh_token)
    assert rotated.access_token != first.access_token
    assert rotated.refresh_token
    oauth.revoke(rotated.refresh_token)
    with pytest.raises(NeedsReconnection):
        oauth.refresh(rotated.refresh_token)


def test_expired_access_token_is_refreshed_once_and_the_call_retried(
    company: Connected, control: SandboxControl
) -> None:
    control.expire_tokens(company.realm)
    assert company.provider.get_customer("999999") is None
    assert company.tokens.refreshes == 1


# ---------------------------------------------------------------------- documents


def test_customer_create_find_update(company: Connected) -> None:
    provider = company.provider
    assert provider.find_customer(ann()) is None
    created = provider.create_customer(ann(), idempotency_key="cust-c-1-v1")
    assert created.name == "Ann-Smith" and created.version is not None

    by_email = provider.find_customer(ann(display_name="SMITH, Ann"))
    assert by_email is not None and by_email.id == created.id
    # The same mailbox is not enough: Jane Smith of the same household is someone else.
    assert provider.find_customer(ann(id="c-2", display_name="Jane Smith", given_name="Jane")) is None
    by_name = provider.find_customer(ann(email=None))
    assert by_name is not None and by_name.id == created.id

    updated = provider.update_customer(created, ann(phone="555-0199"), idempotency_key="cust-c-1-v2")
    assert updated.id == created.id and updated.version != created.version
    got = provider.get_customer(created.id)
    assert got is not None and got.version == updated.version

    with pytest.raises(DuplicateName):
        provider.create_customer(ann(id="c-2", email="other@example.com"), idempotency_key="cust-c-2-v1")


def test_inactive_customer_is_found_with_active_false(company: Connected, control: SandboxControl) -> None:
    created = company.provider.create_customer(ann(email=None), idempotency_key="cust-inactive")
    control.inactivate_entity(company.realm, "Customer", created.id)
    found = company.provider.find_customer(ann(email=None))
    assert found is not None and found.id == created.id and found.active is False


def test_an_inactive_customer_matched_by_email_alone_is_not_reused_by_either_lookup(
    company: Connected, control: SandboxControl
) -> None:
    """A customer someone made inactive, whose name is not ours but whose e-mail and address are:
    neither the single lookup (the invoice engine's) nor the bulk one (Sync Now's) takes it, so a
    record the books retired is never revived and renamed; both take it once it is active again."""
    retired = company.provider.create_customer(
        ann(display_name="Ann Smith (old)"), idempotency_key="cust-old"
    )
    control.inactivate_entity(company.realm, "Customer", retired.id)
    catalog = QuickBooksCatalog(company.provider._client, Limiter(LIMITS))
    ours = ann(display_name="Ann Smith")

    assert company.provider.find_customer(ours) is None
    assert catalog.find_customers([ours]) == {}

    current = company.provider.get_customer(retired.id)
    assert current is not None and not current.active
    company.provider.update_customer(
        current, ann(display_name="Ann Smith (old)"), idempotency_key="cust-back"
    )
    assert (found := company.provider.find_customer(ours)) is not None and found.id == retired.id
    assert catalog.find_customers([ours])[ours.id].id == retired.id


def test_item_create_find_update(company: Connected) -> None:
    provider = company.provider
    refs = ItemRefs(income_account_id=company.income_account_id)
    created = provider.create_item(pump(), refs, idempotency_key="item-i-1-v1")
    assert created.name == "TKO-813PB-1500B"
    found = provider.find_item(pump())
    assert found is not None and found.id == created.id
    by_sku = provider.find_item(pump(name="Renamed in the app"))
    assert by_sku is not None and by_sku.id == created.id
    updated = provider.update_item(
        created, pump(unit_price=Decimal("175.00")), refs, idempotency_key="item-i-1-v2"
    )
    assert updated.version != created.version


def setup_documents(company: Connected) -> tuple[RemoteObject, RemoteObject]:
    customer = company.provider.create_customer(ann(), idempotency_key="c-1-create")
    item = company.provider.create_item(
        pump(), ItemRefs(company.income_account_id), idempotency_key="i-1-create"
    )
    return customer, item


def test_invoice_and_payment_round_trip(company: Connected) -> None:
    provider = company.provider
    customer, item = setup_documents(company)
    refs = InvoiceRefs(customer_id=customer.id, item_ids={"i-1": item.id}, marker="booksync:invoice:inv-1")
    doc = invoice_1001()
    created = provider.create_invoice(doc, refs, idempotency_key="inv-1-create-v1")
    assert created.total == doc.total == Decimal("270.00")
    assert created.marker == "booksync:invoice:inv-1" and created.name == "1001"

    found = provider.find_invoice(doc, "booksync:invoice:inv-1")
    assert found is not None and found.id == created.id
    assert provider.find_invoice(doc, "booksync:invoice:someone-else") is None

    changed = invoice_1001(
        lines=[InvoiceLine(item_id="i-1", quantity=Decimal("3"), unit_price=Decimal("150.00"))]
    )
    updated = provider.update_invoice(created, changed, refs, idempotency_key="inv-1-update-v2")
    assert updated.total == changed.total == Decimal("405.00")

    pay = Payment(
        id="p-1",
        invoice_id="inv-1",
        amount=Decimal("100.00"),
        date=date(2025, 3, 5),
        method="check",
        reference="CHK-1",
        memo="Paid at the door.\nSquare payment 123",  # a line break: refused by Intuit in a note
    )
    pay_refs = PaymentRefs(
        customer_id=customer.id, invoice_id=created.id, marker="booksync:payment:p-1", currency="USD"
    )
    paid = provider.create_payment(pay, pay_refs, idempotency_key="pay-p-1-v1")
    assert paid.total == Decimal("100.00") and paid.marker == "booksync:payment:p-1"
    found_payment = provider.find_payment(pay, pay_refs)
    assert found_payment is not None and found_payment.id == paid.id
    after = provider.get_invoice(created.id)
    assert after is not None and after.balance == Decimal("305.00")


def test_void_invoice(company: Connected) -> None:
    customer, item = setup_documents(company)
    refs = InvoiceRefs(customer_id=customer.id, item_ids={"i-1": item.id}, marker="booksync:invoice:inv-9")
    created = company.provider.create_invoice(
        invoice_1001(id="inv-9", number="1009"), refs, idempotency_key="inv-9"
    )
    voided = company.provider.void_invoice(created, idempotency_key="inv-9-void")
    assert voided.total == Decimal("0") and voided.version != created.version


def test_get_unknown_objects_is_none(company: Connected) -> None:
    assert company.provider.get_customer("987654") is None
    assert company.provider.get_item("987654") is None
    assert company.provider.get_invoice("987654") is None


# ---------------------------------------------------------------------- faults


def test_lost_answer_on_create_is_uncertain_and_the_lookup_finds_it(
    company: Connected, control: SandboxControl
) -> None:
    customer, item = setup_documents(company)
    refs = InvoiceRefs(customer_id=customer.id, item_ids={"i-1": item.id}, marker="booksync:invoice:inv-2")
    doc = invoice_1001(id="inv-2", number="1002")
    control.add_fault("commit_then_reset", entity="Invoice", operation="create", times=1)
    with pytest.raises(TransientError) as caught:
        company.provider.create_invoice(doc, refs, idempotency_key="inv-2-create")
    assert caught.value.uncertain is True
    found = company.provider.find_invoice(doc, refs.marker)
    assert found is not None and found.total == doc.total


def test_long_throttle_is_rate_limited_for_the_queue(company: Connected, control: SandboxControl) -> None:
    control.add_fault("http_429", entity="Customer", operation="query", times=1, retry_after=120)
    with pytest.raises(RateLimited) as caught:
        company.provider.find_customer(ann())
    assert caught.value.retry_after == 120.0


def test_503_page_on_a_query_is_retried(company: Connected, control: SandboxControl) -> None:
    control.add_fault("http_503", operation="query", times=1)
    assert company.provider.find_customer(ann()) is None
