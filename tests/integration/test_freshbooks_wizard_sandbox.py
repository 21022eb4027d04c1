"""The post-connection wizard for FreshBooks as deployed: the real wiring over moto tables and the
FreshBooks sandbox. FreshBooks is connected through its consent (the callback opens the wizard);
the clients typed into FreshBooks (an organisation, a person with phone and address, one that
duplicates booksync's customer) are listed page by page, classified and checked for duplicates,
and imported linked; an existing item is auto-linked by name and a new one imported, with no
income account (FreshBooks items carry none); the wizard writes nothing to FreshBooks; the
directory reads rows across FreshBooks' pages of 100."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from booksync.documents import DocumentKind
from booksync.providers.port import ProviderDirectory
from booksync.providers.registry import declaration
from booksync.security.vault import KmsTokenVault
from booksync.store.connections import ConnectionRepository
from booksync.store.documents import DocumentRepository
from booksync.wiring import token_source

from tests import builders
from tests.apigw import admin
from tests.integration.test_freshbooks_connect_sandbox import consent, freshbooks_stack

COMPANY = "acme"
CLIENT_ID, CLIENT_SECRET = "freshbooks-wizard-app", "freshbooks-wizard-secret"
W = "/integrations/freshbooks/wizard"


@pytest.fixture
def stack(tables: SimpleNamespace, kms_key: str, sqs_queue: str) -> Iterator[SimpleNamespace]:
    with freshbooks_stack(tables, kms_key, sqs_queue, CLIENT_ID, CLIENT_SECRET) as running:
        yield running


def directory(stack: SimpleNamespace) -> ProviderDirectory:
    build = declaration("freshbooks").builders.directory
    assert build is not None, "FreshBooks declares the wizard's directory"
    connections = ConnectionRepository()
    return build(
        declaration("freshbooks").read_settings(),
        stack.account,
        token_source(COMPANY, "freshbooks", stack.settings, connections, KmsTokenVault(stack.kms_key)),
        None,
    )


def typed_in_freshbooks(stack: SimpleNamespace, plural: str, **record: Any) -> dict[str, Any]:
    """As the user, in FreshBooks itself."""
    return stack.control.user_create(stack.account, plural, record)


def test_the_wizard_walks_freshbooks_clients_and_items(stack: SimpleNamespace) -> None:
    call = stack.call
    typed_in_freshbooks(
        stack, "clients", organization="Summit Construction LLC", email="office@summitbuilds.com"
    )
    typed_in_freshbooks(
        stack,
        "clients",
        fname="Jane",
        lname="Doe",
        email="jane.doe@gmail.com",
        mob_phone="512 555 0101",
        p_street="14 Maple Street",
        p_city="Austin",
        p_province="TX",
        p_code="78701",
        p_country="United States",
    )
    typed_in_freshbooks(stack, "clients", fname="Ada", lname="Lovelace", email="ada@example.com")
    typed_in_freshbooks(stack, "items", name="Drain cleaning", unit_cost={"amount": "150.00", "code": "USD"})
    heater = typed_in_freshbooks(
        stack, "items", name="Water heater install", sku="WH-1", unit_cost={"amount": "899.50", "code": "USD"}
    )
    stack.services.documents.put_customer(COMPANY, builders.customer())  # Ada Lovelace
    stack.services.documents.put_item(COMPANY, builders.item("i-1", name="Drain Cleaning"))
    consent(stack)
    before = stack.control.ledger(stack.account)

    status, state, _ = call("GET", W, claims=admin())
    assert status == 200 and state["steps"]["customers"]["status"] == "open"  # opened at connect
    first = call("GET", f"{W}/customers?page=1&page_size=2", claims=admin())[1]
    second = call("GET", f"{W}/customers?page=2&page_size=2", claims=admin())[1]
    assert first["has_more"] and not second["has_more"]
    rows: dict[str, dict[str, Any]] = {r["name"]: r for r in first["customers"] + second["customers"]}
    assert sorted(rows) == ["Ada Lovelace", "Jane Doe", "Summit Construction LLC"]
    assert rows["Summit Construction LLC"]["suggested_type"] == "Builder"
    assert rows["Jane Doe"]["suggested_type"] == "Homeowner"
    assert rows["Ada Lovelace"]["status"] == "Already exists"  # the duplicate finder: booksync's c-1
    chosen = [
        {"remote_id": r["remote_id"], "type": r["suggested_type"]} for r in rows.values() if r["preselected"]
    ]
    result = call("POST", f"{W}/customers/import", {"customers": chosen}, claims=admin())[1]
    assert result["counts"]["added"] == len(chosen) == 2 and result["counts"]["linked"] == 1
    jane_id = rows["Jane Doe"]["remote_id"]
    jane = DocumentRepository().get(COMPANY, DocumentKind.CUSTOMER, f"freshbooks-{jane_id}")
    assert jane is not None and jane.body["given_name"] == "Jane" and jane.body["family_name"] == "Doe"
    assert jane.body["billing_address"]["postal_code"] == "78701" and jane.body["phone"] == "512 555 0101"
    assert jane.link("freshbooks") is not None and jane.link("freshbooks").remote_id == jane_id
    summit = DocumentRepository().get(
        COMPANY, DocumentKind.CUSTOMER, f"freshbooks-{rows['Summit Construction LLC']['remote_id']}"
    )
    assert summit is not None and summit.body["company_name"] == "Summit Construction LLC"

    items = {r["name"]: r for r in call("GET", f"{W}/items", claims=admin())[1]["items"]}
    assert items["Drain cleaning"]["existing_item_id"] == "i-1"  # auto-linked by name
    new = items["Water heater install"]
    assert new["income_account"] is None and new["sku"] == "WH-1"  # FreshBooks items carry none
    assert new["remote_id"] == str(heater["id"])
    result = call("POST", f"{W}/items/import", {"items": [{"remote_id": new["remote_id"]}]}, claims=admin())[
        1
    ]
    assert result["counts"] == {"added": 1, "linked": 1, "already": 0, "failed": 0}
    doc = DocumentRepository().get(COMPANY, DocumentKind.ITEM, f"freshbooks-{new['remote_id']}")
    assert doc is not None and Decimal(doc.body["unit_price"]) == Decimal("899.50")
    assert doc.income_account("freshbooks") is None

    summary = call("GET", f"{W}/summary", claims=admin())[1]
    assert summary["customers_added"] == 2 and summary["items_imported"] == 1
    after = stack.control.ledger(stack.account)
    assert (
        (len(after["clients"]), len(after["items"]))
        == (len(before["clients"]), len(before["items"]))
        == (3, 2)
    )


def test_the_directory_reads_rows_across_freshbooks_pages_of_a_hundred(stack: SimpleNamespace) -> None:
    for n in range(103):
        typed_in_freshbooks(stack, "clients", organization=f"Client {n:03}")
    consent(stack)
    reader = directory(stack)
    assert isinstance(reader, ProviderDirectory)
    across = reader.list_customers(99, 3)  # rows 99-101: FreshBooks' pages 1 and 2
    assert [c.display_name for c in across.rows] == ["Client 098", "Client 099", "Client 100"]
    assert across.next_start == 102
    walk = reader.list_customers(1, 1000)  # the import's walk
    assert len(walk.rows) == 103 and walk.next_start is None
    assert reader.list_customers(104, 3).rows == ()
