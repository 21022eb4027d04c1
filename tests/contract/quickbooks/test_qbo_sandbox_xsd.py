"""Every shape the QuickBooks sandbox accepts and every answer it gives, against Intuit's XSDs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from qbo_xsd import XsdModel

from local.sandboxes.quickbooks.control import SandboxControl
from local.sandboxes.quickbooks.entities import ENTITY_TYPES
from local.sandboxes.quickbooks.schema import REF, Shape
from local.sandboxes.quickbooks.server import ClientApp, QuickBooksSandbox, SandboxConfig
from local.sandboxes.quickbooks.testing import QBOClient, connect

pytestmark = pytest.mark.contract

CLIENT_ID = "contract-app"
SECRET = "contract-secret-0123"
REDIRECT = "http://127.0.0.1:3000/oauth/quickbooks/callback"
CONTROL_KEYS = {"Id", "SyncToken", "sparse"}


class Recorder:
    """An API client that keeps every JSON answer, so each one can be checked afterwards."""

    def __init__(self, qbo: QBOClient) -> None:
        self.qbo = qbo
        self.answers: list[tuple[str, dict[str, Any]]] = []

    def keep(self, label: str, answer: httpx.Response) -> dict[str, Any]:
        body: dict[str, Any] = answer.json()
        self.answers.append((label, body))
        return body

    def write(self, entity: str, body: dict[str, Any], **params: str) -> dict[str, Any]:
        answer = self.keep(f"{entity} write {params}", self.qbo.write(entity, body, **params))
        assert entity in answer, answer
        result: dict[str, Any] = answer[entity]
        return result


@pytest.fixture(scope="module")
def sandbox() -> Iterator[QuickBooksSandbox]:
    config = SandboxConfig(clients={CLIENT_ID: ClientApp(secret=SECRET, redirect_uris=[REDIRECT])})
    with QuickBooksSandbox(config=config) as running:
        yield running


@pytest.fixture(scope="module")
def scenario(sandbox: QuickBooksSandbox) -> Iterator[tuple[Recorder, dict[str, list[dict[str, Any]]]]]:
    qbo = QBOClient(sandbox.url, connect(sandbox.url, CLIENT_ID, SECRET, REDIRECT))
    recorder = Recorder(qbo)
    sent = _run_scenario(recorder)
    yield recorder, sent
    qbo.close()


def _account(recorder: Recorder, name: str) -> str:
    body = recorder.keep("account query", recorder.qbo.query(f"select * from Account where Name = '{name}'"))
    return str(body["QueryResponse"]["Account"][0]["Id"])


def _address(tag: str) -> dict[str, str]:
    return {
        "Line1": f"{tag} 1",
        "Line2": "Suite 2",
        "Line3": "Floor 3",
        "Line4": "Wing 4",
        "Line5": "Door 5",
        "City": "Springfield",
        "Country": "USA",
        "CountrySubDivisionCode": "IL",
        "PostalCode": "62701",
        "Lat": "39.78",
        "Long": "-89.65",
    }


def _run_scenario(rec: Recorder) -> dict[str, list[dict[str, Any]]]:
    """Create one of everything with every field the sandbox supports; answer what was sent."""
    sent: dict[str, list[dict[str, Any]]] = {name: [] for name in ENTITY_TYPES}

    def write(entity: str, body: dict[str, Any], **params: str) -> dict[str, Any]:
        sent[entity].append(body)
        return rec.write(entity, body, **params)

    bank = write(
        "Account",
        {
            "Name": "Operating",
            "Description": "Main account",
            "Active": True,
            "AccountType": "Bank",
            "AccountSubType": "Checking",
            "AcctNum": "1010",
        },
    )
    method = write("PaymentMethod", {"Name": "Square", "Active": True, "Type": "CREDIT_CARD"})
    parent = write("Customer", {"DisplayName": "Parent Co"})
    phone = {"FreeFormNumber": "555-0100"}
    customer = write(
        "Customer",
        {
            "Title": "Ms",
            "GivenName": "Ann",
            "MiddleName": "B",
            "FamilyName": "Smith",
            "Suffix": "Jr",
            "CompanyName": "Smith Plumbing",
            "DisplayName": "Ann Smith Jr",
            "PrintOnCheckName": "Ann Smith",
            "Active": True,
            "PrimaryPhone": phone,
            "AlternatePhone": phone,
            "Mobile": phone,
            "Fax": phone,
            "PrimaryEmailAddr": {"Address": "ann@example.com"},
            "WebAddr": {"URI": "https://example.com"},
            "Taxable": False,
            "BillAddr": _address("Bill"),
            "ShipAddr": _address("Ship"),
            "Notes": "VIP",
            "BillWithParent": True,
            "ParentRef": {"value": parent["Id"]},
            "SalesTermRef": {"value": "3"},
            "PaymentMethodRef": {"value": method["Id"]},
            "PreferredDeliveryMethod": "Email",
            "ResaleNum": "R-1",
            "AcctNum": "A-1",
            "CurrencyRef": {"value": "USD"},
        },
    )
    category = write("Item", {"Name": "Pumps", "Type": "Category", "Active": True})
    item = write(
        "Item",
        {
            "Name": "Sump pump",
            "Sku": "SP-1",
            "Description": "1/2 HP sump pump",
            "Active": True,
            "SubItem": True,
            "ParentRef": {"value": category["Id"]},
            "Taxable": False,
            "UnitPrice": 150,
            "Type": "Inventory",
            "IncomeAccountRef": {"value": _account(rec, "Sales of Product Income")},
            "PurchaseDesc": "From the wholesaler",
            "PurchaseCost": 90,
            "ExpenseAccountRef": {"value": _account(rec, "Cost of Goods Sold")},
            "AssetAccountRef": {"value": _account(rec, "Inventory Asset")},
            "TrackQtyOnHand": True,
            "QtyOnHand": 10,
            "InvStartDate": "2025-01-01",
        },
    )
    invoice = write(
        "Invoice",
        {
            "DocNumber": "INV-1",
            "CurrencyRef": {"value": "USD"},
            "TxnDate": "2025-03-01",
            "PrivateNote": "booksync:invoice:inv-1",
            "CustomerRef": {"value": customer["Id"], "name": "ignored"},
            "CustomerMemo": {"value": "Thank you"},
            "BillAddr": _address("Bill"),
            "ShipAddr": _address("Ship"),
            "SalesTermRef": {"value": "3"},
            "DueDate": "2025-03-31",
            "ApplyTaxAfterDiscount": False,
            "TxnTaxDetail": {"TotalTax": "1.25"},
            "PrintStatus": "NeedToPrint",
            "EmailStatus": "NeedToSend",
            "BillEmail": {"Address": "ann@example.com"},
            "AllowOnlineCreditCardPayment": True,
            "AllowOnlineACHPayment": False,
            "Line": [
                {
                    "Description": "Install",
                    "Amount": 300,
                    "DetailType": "SalesItemLineDetail",
                    "SalesItemLineDetail": {
                        "ItemRef": {"value": item["Id"]},
                        "UnitPrice": 150,
                        "Qty": 2,
                        "TaxCodeRef": {"value": "NON"},
                        "ServiceDate": "2025-03-01",
                        "DiscountRate": 0,
                        "DiscountAmt": 0,
                    },
                },
                {
                    "Description": "Thanks for your business",
                    "DetailType": "DescriptionOnly",
                    "DescriptionLineDetail": {"ServiceDate": "2025-03-01", "TaxCodeRef": {"value": "NON"}},
                },
                {
                    "Amount": 300,
                    "DetailType": "SubTotalLineDetail",
                    "SubTotalLineDetail": {"ItemRef": {"value": item["Id"]}, "ServiceDate": "2025-03-01"},
                },
                {
                    "Amount": 30,
                    "DetailType": "DiscountLineDetail",
                    "DiscountLineDetail": {
                        "PercentBased": True,
                        "DiscountPercent": 10,
                        "DiscountAccountRef": {"value": _account(rec, "Discounts given")},
                    },
                },
            ],
        },
    )
    # A client echoes the answered lines (with their Id and LineNum) on an update.
    lines = [line for line in invoice["Line"] if "Id" in line]
    invoice = write(
        "Invoice", {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"], "sparse": True, "Line": lines}
    )
    payment = write(
        "Payment",
        {
            "DocNumber": "P-1",
            "CurrencyRef": {"value": "USD"},
            "TxnDate": "2025-03-05",
            "PrivateNote": "booksync:payment:p-1",
            "TotalAmt": 300,
            "Line": [
                {
                    "Amount": 270,
                    "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice", "TxnLineId": "0"}],
                }
            ],
            "CustomerRef": {"value": customer["Id"]},
            "DepositToAccountRef": {"value": _account(rec, "Undeposited Funds")},
            "PaymentMethodRef": {"value": method["Id"]},
            "PaymentRefNum": "sq_123",
            "ProcessPayment": False,
        },
    )
    write(
        "RefundReceipt",
        {
            "DocNumber": "R-1",
            "CurrencyRef": {"value": "USD"},
            "TxnDate": "2025-03-07",
            "PrivateNote": "booksync:refund:r-1",
            "CustomerRef": {"value": customer["Id"]},
            "CustomerMemo": {"value": "Part returned"},
            "BillEmail": {"Address": "ann@example.com"},
            "DepositToAccountRef": {"value": _account(rec, "Undeposited Funds")},
            "PaymentMethodRef": {"value": method["Id"]},
            "PaymentRefNum": "sq_rf_1",
            "Line": [
                {
                    "Id": "1",
                    "LineNum": 1,
                    "Description": "Refund of sq_123",
                    "Amount": 20,
                    "DetailType": "SalesItemLineDetail",
                    "SalesItemLineDetail": {
                        "ItemRef": {"value": item["Id"]},
                        "UnitPrice": 20,
                        "Qty": 1,
                        "TaxCodeRef": {"value": "NON"},
                        "ServiceDate": "2025-03-07",
                        "DiscountRate": 0,
                        "DiscountAmt": 0,
                    },
                }
            ],
        },
    )
    write(
        "Deposit",
        {
            "DocNumber": "D-1",
            "TxnDate": "2025-03-06",
            "PrivateNote": "square payout po_1",
            "DepositToAccountRef": {"value": bank["Id"]},
            "CashBack": {
                "AccountRef": {"value": _account(rec, "Checking")},
                "Amount": 1,
                "Memo": "petty cash",
            },
            "Line": [
                {
                    "Id": "1",
                    "LineNum": 1,
                    "Description": "Payment sq_123",
                    "Amount": 300,
                    "LinkedTxn": [{"TxnId": payment["Id"], "TxnType": "Payment", "TxnLineId": "0"}],
                },
                {
                    "Description": "Square fees",
                    "Amount": -3.85,
                    "DetailType": "DepositLineDetail",
                    "DepositLineDetail": {
                        "Entity": {"value": customer["Id"]},
                        "AccountRef": {"value": _account(rec, "Merchant Service Fees")},
                        "PaymentMethodRef": {"value": method["Id"]},
                        "CheckNum": "42",
                        "TxnType": "Deposit",
                    },
                },
            ],
        },
    )
    _more_answers(rec, customer, invoice)
    return sent


def _more_answers(rec: Recorder, customer: dict[str, Any], invoice: dict[str, Any]) -> None:
    """Reads, queries, batches, voids, deletes and faults: every other envelope the API answers."""
    qbo = rec.qbo
    rec.keep("read", qbo.read("Customer", customer["Id"]))
    rec.keep("preferences", qbo.http.get("/preferences", params={"minorversion": "75"}))
    for entity in ENTITY_TYPES:
        rec.keep(f"query {entity}", qbo.query(f"select * from {entity} where Id > '0' maxresults 1000"))
    rec.keep("count", qbo.query("select count(*) from Invoice"))
    rec.keep("empty", qbo.query("select * from Customer where DisplayName = 'nobody'"))
    rec.keep("bad query", qbo.query("select * from Customer where Notes = 'x'"))
    rec.keep("fault 6240", qbo.write("Customer", {"DisplayName": "Parent Co"}))
    rec.keep("fault 610", qbo.read("Invoice", "99999"))
    other = rec.write("Invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": invoice["Line"][:1]})
    rec.keep(
        "void", qbo.write("Invoice", {"Id": other["Id"], "SyncToken": other["SyncToken"]}, operation="void")
    )
    rec.keep("delete", qbo.write("Invoice", {"Id": other["Id"], "SyncToken": "1"}, operation="delete"))
    items: list[dict[str, Any]] = [
        {"bId": "1", "operation": "create", "Customer": {"DisplayName": "Batch one"}},
        {"bId": "2", "operation": "create", "Customer": {"DisplayName": "Parent Co"}},
        {"bId": "3", "Query": "select * from Item"},
    ]
    rec.keep("batch", qbo.batch(items))
    rec.keep("batch too big", qbo.batch(items * 11))
    bearer = qbo.http.headers["Authorization"]
    qbo.use_token("not-a-token")
    rec.keep("401", qbo.read("Customer", customer["Id"]))
    qbo.http.headers["Authorization"] = bearer


# ---------------------------------------------------------------------- the checker itself


def test_the_checker_refuses_what_the_xsd_does_not_declare(xsd: XsdModel) -> None:
    good = {"Customer": {"Id": "1", "DisplayName": "A", "Active": True, "Balance": 0}, "time": "t"}
    assert xsd.problems(good, "IntuitResponse") == []
    bad = [
        {"Customer": {"Nickname": "x"}},
        {"Customer": {"PrimaryEmailAddr": [{"Address": "a@b"}]}},
        {"Customer": {"DisplayName": {"value": "A"}}},
        {"Customer": {"Balance": "12.50"}},
        {"Customer": {"Active": "true"}},
        {"Invoice": {"Line": {"Amount": 1}}},
        {"Invoice": {"Line": [{"DetailType": "ItemLine"}]}},
        {"Invoice": {"CustomerRef": {"value": "1", "label": "x"}}},
        {"QueryResponse": {"Customer": {"Id": "1"}}},
        {"Fault": {"Error": [{"Message": "m", "Code": "1"}]}},
    ]
    for body in bad:
        assert xsd.problems(body, "IntuitResponse"), body


# ---------------------------------------------------------------------- what the sandbox accepts


def _shape_problems(xsd: XsdModel, shape: Shape, type_name: str, path: str) -> list[str]:
    declared = xsd.complex(type_name)
    assert declared is not None, f"{path}: {type_name} is not a complex type in the XSD"
    found: list[str] = []
    for key, spec in shape.items():
        where = f"{path}.{key}"
        if key in declared.attributes or (key == "value" and declared.simple_content):
            continue
        child = declared.children.get(key)
        if child is None:
            found.append(f"{where}: not declared in {type_name}")
        elif child.many != spec.many:
            found.append(f"{where}: array-ness differs from the XSD")
        elif spec.shape is not None:
            found.extend(_shape_problems(xsd, spec.shape, child.type_name or "", where))
    return found


@pytest.mark.parametrize("entity", sorted(ENTITY_TYPES))
def test_every_field_the_sandbox_accepts_is_declared_by_the_xsd(xsd: XsdModel, entity: str) -> None:
    assert _shape_problems(xsd, ENTITY_TYPES[entity].shape, entity, entity) == []


def _writable_paths(shape: Shape, prefix: str = "") -> set[str]:
    paths: set[str] = set()
    for key, spec in shape.items():
        if spec.ro or (not prefix and key in CONTROL_KEYS) or key in {"domain", "status"}:
            continue
        if shape is REF and key != "value":
            continue  # a reference's name and type are informative: Intuit reads the value
        path = f"{prefix}{key}"
        paths.add(path)
        if spec.shape is not None:
            paths |= _writable_paths(spec.shape, f"{path}.")
    return paths


def _sent_paths(value: Any, prefix: str = "") -> set[str]:
    if isinstance(value, list):
        return set().union(*(_sent_paths(item, prefix) for item in value)) if value else set()
    if not isinstance(value, dict):
        return set()
    paths: set[str] = set()
    for key, item in value.items():
        path = f"{prefix}{key}"
        paths |= {path} | _sent_paths(item, f"{path}.")
    return paths


@pytest.mark.parametrize("entity", sorted(ENTITY_TYPES))
def test_the_scenario_fills_every_field_the_sandbox_supports(
    scenario: tuple[Recorder, dict[str, list[dict[str, Any]]]], entity: str
) -> None:
    _, sent = scenario
    filled = _sent_paths(sent[entity])
    missing = _writable_paths(ENTITY_TYPES[entity].shape) - filled
    assert missing == set(), f"{entity} fields the contract scenario never sends: {sorted(missing)}"


# ---------------------------------------------------------------------- what the sandbox answers


def test_every_answer_matches_the_xsd(xsd: XsdModel, scenario: tuple[Recorder, Any]) -> None:
    recorder, _ = scenario
    labels = [label for label, _ in recorder.answers]
    for wanted in (
        "read",
        "preferences",
        "count",
        "empty",
        "bad query",
        "fault 6240",
        "void",
        "delete",
        "batch",
        "401",
    ):
        assert wanted in labels
    problems = [
        f"{label}: {p}" for label, body in recorder.answers for p in xsd.problems(body, "IntuitResponse")
    ]
    assert problems == []


def test_every_object_in_the_ledger_matches_the_xsd(
    xsd: XsdModel, sandbox: QuickBooksSandbox, scenario: tuple[Recorder, Any]
) -> None:
    recorder, _ = scenario
    with SandboxControl(sandbox.url) as control:
        ledger = control.ledger(recorder.qbo.connection.realm)
    checked = 0
    for entity, objects in ledger["entities"].items():
        for obj in objects:
            assert xsd.problems(obj, entity, f"{entity}[{obj['Id']}]") == []
            checked += 1
    assert checked > 20


def test_answers_carry_the_computed_fields_the_xsd_names(scenario: tuple[Recorder, Any]) -> None:
    recorder, _ = scenario
    invoices = [body["Invoice"] for _, body in recorder.answers if "Line" in body.get("Invoice", {})]
    assert invoices
    for key in (
        "TotalAmt",
        "Balance",
        "DocNumber",
        "TxnDate",
        "DueDate",
        "CurrencyRef",
        "LinkedTxn",
        "MetaData",
    ):
        assert key in invoices[0]
    assert [line["DetailType"] for line in invoices[0]["Line"]] == [
        "SalesItemLineDetail",
        "DescriptionOnly",
        "SubTotalLineDetail",
        "DiscountLineDetail",
    ]
