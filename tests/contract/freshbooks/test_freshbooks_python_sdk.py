"""The official ``freshbooks-sdk`` pointed at the FreshBooks sandbox (``FRESHBOOKS_API_URL`` and
``FRESHBOOKS_AUTH_URL``, ``auto_retry=False`` so every request counts): the OAuth exchange and a
refresh (and the spent refresh token refused), the identity, then clients, items, taxes, invoices
and payments created, read, listed with the SDK's own builders, updated and deleted, and the
webhook callbacks registered, verified and removed; every answer read back through the SDK's
models, so the sandbox is held to the real client."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qsl

import pytest
from freshbooks import Client, FilterBuilder, IncludesBuilder, PaginateBuilder, SortBuilder, VisState
from freshbooks.errors import FreshBooksError

from local.sandboxes.freshbooks.server import FreshBooksSandbox
from local.sandboxes.freshbooks.testing import FreshBooksControl, redirect_params
from tests.sandbox.receiver import Receiver

pytestmark = pytest.mark.contract

CLIENT_ID, SECRET, REDIRECT = (
    "freshbooks-sdk-app",
    "freshbooks-sdk-secret",
    "https://app.test/oauth/freshbooks",
)


@dataclass
class Connected:
    sdk: Client
    control: FreshBooksControl
    account_id: str


@pytest.fixture
def connected(monkeypatch: pytest.MonkeyPatch) -> Iterator[Connected]:
    with FreshBooksSandbox() as sandbox, FreshBooksControl(sandbox.url) as control:
        monkeypatch.setenv("FRESHBOOKS_API_URL", sandbox.url)
        monkeypatch.setenv("FRESHBOOKS_AUTH_URL", sandbox.url)
        control.register_client(CLIENT_ID, SECRET, [REDIRECT])
        sdk = Client(client_id=CLIENT_ID, client_secret=SECRET, redirect_uri=REDIRECT, auto_retry=False)
        code = redirect_params(control.consent_at(sdk.get_auth_request_url()))["code"]
        sdk.get_access_token(code)
        account_id = sdk.current_user().business_memberships[0].business.account_id
        yield Connected(sdk, control, account_id)


def test_the_oauth_exchange_and_a_single_use_refresh(monkeypatch: pytest.MonkeyPatch) -> None:
    with FreshBooksSandbox() as sandbox, FreshBooksControl(sandbox.url) as control:
        monkeypatch.setenv("FRESHBOOKS_API_URL", sandbox.url)
        monkeypatch.setenv("FRESHBOOKS_AUTH_URL", sandbox.url)
        control.register_client(CLIENT_ID, SECRET, [REDIRECT])
        sdk = Client(client_id=CLIENT_ID, client_secret=SECRET, redirect_uri=REDIRECT, auto_retry=False)
        url = sdk.get_auth_request_url(scopes=["user:profile:read", "user:clients:write"])
        assert url.startswith(f"{sandbox.url}/oauth/authorize?")
        params = redirect_params(control.consent_at(url))
        first = sdk.get_access_token(params["code"])
        expected = datetime.now(UTC) + timedelta(hours=12)
        assert abs((first.access_token_expires_at - expected).total_seconds()) < 5
        spent = first.refresh_token
        second = sdk.refresh_access_token()
        assert (second.access_token, second.refresh_token) != (first.access_token, spent)
        with pytest.raises(FreshBooksError) as refused:
            sdk.refresh_access_token(spent)
        assert refused.value.status_code == 400
        assert str(refused.value).startswith("The provided authorization grant is invalid")
        assert control.token_stats()["token_calls"] == 2


def test_the_identity_lists_the_users_businesses(connected: Connected) -> None:
    connected.control.add_business("Second Shop", "CAD")
    identity = connected.sdk.current_user()
    assert identity.identity_id == 12345
    assert identity.full_name == "Sandy Box"
    businesses = [m.business for m in identity.business_memberships]
    assert [b.account_id for b in businesses] == [b["account_id"] for b in connected.control.businesses()]
    assert all(isinstance(b.id, int) and b.business_uuid for b in businesses)


def test_clients_round_trip_through_the_sdk(connected: Connected) -> None:
    sdk, account = connected.sdk, connected.account_id
    made = sdk.clients.create(account, {"organization": "Acme Ltd", "fname": "Ada", "email": "ap@acme.test"})
    assert (made.organization, made.fname, made.vis_state) == ("Acme Ltd", "Ada", VisState.ACTIVE)
    assert made.signup_date.tzinfo is not None and made.updated.tzinfo is not None
    assert sdk.clients.get(account, made.id).email == "ap@acme.test"
    for n in range(3):
        sdk.clients.create(account, {"organization": f"Other {n}", "email": f"o{n}@example.test"})
    found = sdk.clients.list(account, builders=[FilterBuilder().equals("email", "ap@acme.test")])
    assert [c.id for c in found] == [made.id]
    liked = sdk.clients.list(account, builders=[FilterBuilder().like("organization_like", "other")])
    assert len(liked) == 3
    listed = sdk.clients.list(account, builders=[FilterBuilder().in_list("userids", [made.id])])
    assert [c.userid for c in listed] == [made.id]
    page = sdk.clients.list(
        account, builders=[PaginateBuilder(2, 3), SortBuilder().ascending("organization")]
    )
    assert (page.pages.page, page.pages.pages, page.pages.per_page, page.pages.total) == (2, 2, 3, 4)
    assert [c.organization for c in page] == ["Other 2"]
    assert sdk.clients.update(account, made.id, {"organization": "Acme Inc"}).organization == "Acme Inc"
    assert sdk.clients.delete(account, made.id).vis_state == VisState.DELETED
    assert made.id not in [c.id for c in sdk.clients.list(account)]


def test_items_and_taxes_round_trip_through_the_sdk(connected: Connected) -> None:
    sdk, account = connected.sdk, connected.account_id
    tax = sdk.taxes.create(account, {"name": "HST", "amount": "13"})
    item = sdk.items.create(
        account, {"name": "Widget", "unit_cost": {"amount": "27.00", "code": "USD"}, "tax1": tax.id}
    )
    assert (item.unit_cost.amount, item.unit_cost.code, item.tax1) == ("27.00", "USD", tax.id)
    assert sdk.items.get(account, item.id).name == "Widget"
    assert [i.id for i in sdk.items.list(account, builders=[FilterBuilder().equals("name", "Widget")])] == [
        item.id
    ]
    assert sdk.items.update(account, item.id, {"description": "Blue"}).description == "Blue"
    assert sdk.items.delete(account, item.id).vis_state == VisState.DELETED
    assert len(sdk.items.list(account)) == 0
    assert sdk.taxes.get(account, tax.id).amount == "13"
    assert sdk.taxes.delete(account, tax.id).data == {}


def test_invoices_and_payments_round_trip_through_the_sdk(connected: Connected) -> None:
    sdk, account = connected.sdk, connected.account_id
    customer = sdk.clients.create(account, {"organization": "Acme Ltd"})
    lines = IncludesBuilder().include("lines")
    invoice = sdk.invoices.create(
        account,
        {
            "customerid": customer.id,
            "create_date": "2026-12-01",
            "due_offset_days": 14,
            "invoice_number": "BS-0001",
            "lines": [
                {
                    "name": "Widget",
                    "qty": 2,
                    "unit_cost": {"amount": "50.00", "code": "USD"},
                    "taxName1": "HST",
                    "taxAmount1": "13",
                }
            ],
        },
        includes=lines,
    )
    assert (invoice.v3_status, invoice.amount.amount, invoice.due_date.isoformat()) == (
        "draft",
        "113.00",
        "2026-12-15",
    )
    assert [(line.name, line.qty, line.taxAmount1) for line in invoice.lines] == [("Widget", "2", "13")]
    sent = sdk.invoices.update(account, invoice.id, {"action_mark_as_sent": True})
    assert (sent.status, sent.v3_status) == (2, "sent")
    by_number = sdk.invoices.list(account, builders=[FilterBuilder().equals("invoice_number", "BS-0001")])
    assert [i.id for i in by_number] == [invoice.id]
    by_date = sdk.invoices.list(
        account, builders=[FilterBuilder().between("date", "2026-11-01", "2026-12-31")]
    )
    assert len(by_date) == 1

    payment = sdk.payments.create(
        account,
        {"invoiceid": invoice.id, "amount": {"amount": "13.00"}, "date": "2026-12-05", "type": "Check"},
    )
    assert (payment.amount.amount, payment.amount.code, payment.date.isoformat()) == (
        "13.00",
        "USD",
        "2026-12-05",
    )
    partial = sdk.invoices.get(account, invoice.id)
    assert (partial.status, partial.v3_status, Decimal(partial.outstanding.amount)) == (
        8,
        "partial",
        Decimal("100"),
    )
    rest = sdk.payments.create(
        account, {"invoiceid": invoice.id, "amount": {"amount": "100.00"}, "date": "2026-12-06"}
    )
    paid = sdk.invoices.get(account, invoice.id)
    assert (paid.status, paid.v3_status, paid.paid.amount) == (4, "paid", "113.00")
    on_it = sdk.payments.list(account, builders=[FilterBuilder().equals("invoiceid", invoice.id)])
    assert sorted(p.id for p in on_it) == sorted([payment.id, rest.id])
    assert sdk.payments.update(account, rest.id, {"note": "wire"}).note == "wire"
    assert sdk.payments.delete(account, rest.id).vis_state == VisState.DELETED
    assert sdk.invoices.get(account, invoice.id).v3_status == "partial"
    assert sdk.invoices.delete(account, invoice.id).data == {}
    assert sdk.invoices.get(account, invoice.id).vis_state == VisState.DELETED


def test_errors_reach_the_sdk_with_freshbooks_codes(connected: Connected) -> None:
    sdk, account = connected.sdk, connected.account_id
    with pytest.raises(FreshBooksError) as missing:
        sdk.clients.get(account, 999999)
    assert (missing.value.status_code, missing.value.error_code, str(missing.value)) == (
        404,
        1012,
        "Client not found.",
    )
    with pytest.raises(FreshBooksError) as refused:
        sdk.invoices.create(account, {"customerid": 999999})
    assert refused.value.status_code == 422
    assert refused.value.error_details[0]["field"] == "customerid"


def test_a_429_reaches_the_sdk_once_without_auto_retry(connected: Connected) -> None:
    connected.control.add_fault("http_429", entity="client", operation="query", times=1, retry_after=7)
    connected.control.clear_requests()
    with pytest.raises(FreshBooksError) as limited:
        connected.sdk.clients.list(connected.account_id)
    assert limited.value.status_code == 429
    assert len(connected.control.requests(connected.account_id)) == 1


def test_callbacks_are_registered_verified_and_removed_through_the_sdk(connected: Connected) -> None:
    sdk, account = connected.sdk, connected.account_id
    connected.control.set_config(delivery="manual")
    receiver = Receiver(path="/webhooks/freshbooks").start()
    try:
        callback = sdk.callbacks.create(account, {"event": "invoice.create", "uri": receiver.url})
        assert (callback.event, callback.verified) == ("invoice.create", False)
        sdk.callbacks.resend_verification(account, callback.callbackid)
        connected.control.call("POST", "/callbacks/deliver")
        verifier = dict(parse_qsl(receiver.received[-1].body.decode()))["verifier"]
        assert sdk.callbacks.verify(account, callback.callbackid, verifier).verified is True
        assert [c.callbackid for c in sdk.callbacks.list(account)] == [callback.callbackid]
        assert sdk.callbacks.get(account, callback.callbackid).uri == receiver.url
        sdk.callbacks.delete(account, callback.callbackid)
        with pytest.raises(FreshBooksError) as gone:
            sdk.callbacks.get(account, callback.callbackid)
        assert gone.value.status_code == 404
    finally:
        receiver.stop()
