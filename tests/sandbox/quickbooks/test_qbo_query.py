"""Intuit's query language as the sandbox runs it: filters, paging, escaping and refusals."""

from __future__ import annotations

import pytest
from qbo_helpers import fault_of, new_customer, new_invoice, new_item

from local.sandboxes.quickbooks.control import SandboxControl
from local.sandboxes.quickbooks.testing import QBOClient


def rows(qbo: QBOClient, statement: str, entity: str = "Customer") -> list[dict[str, object]]:
    answer = qbo.query(statement)
    assert answer.status_code == 200, answer.text
    result: list[dict[str, object]] = answer.json()["QueryResponse"].get(entity, [])
    return result


def names(qbo: QBOClient, statement: str) -> list[object]:
    return [row["DisplayName"] for row in rows(qbo, statement)]


@pytest.fixture
def customers(qbo: QBOClient) -> QBOClient:
    for name, email in [
        ("Acme Plumbing", "a@acme.test"),
        ("Bravo Heating", "b@bravo.test"),
        ("Charlie Air", None),
    ]:
        new_customer(qbo, name, **({"PrimaryEmailAddr": {"Address": email}} if email else {}))
    new_customer(qbo, "O'Brien & Sons")
    return qbo


def test_equality_in_and_like(customers: QBOClient) -> None:
    assert names(customers, "SELECT * FROM Customer WHERE DisplayName = 'Bravo Heating'") == ["Bravo Heating"]
    found = names(customers, "select * from Customer where DisplayName in ('Acme Plumbing', 'Charlie Air')")
    assert found == ["Acme Plumbing", "Charlie Air"]
    assert names(customers, "select * from Customer where DisplayName like '%heat%'") == ["Bravo Heating"]
    assert names(customers, "select * from Customer where DisplayName like 'Ch%'") == ["Charlie Air"]


def test_conditions_combine_with_and(customers: QBOClient) -> None:
    statement = "select * from Customer where DisplayName like '%a%' and PrimaryEmailAddr = 'b@bravo.test'"
    assert names(customers, statement) == ["Bravo Heating"]


def test_backslash_escapes_a_quote(customers: QBOClient) -> None:
    assert names(customers, r"select * from Customer where DisplayName = 'O\'Brien & Sons'") == [
        "O'Brien & Sons"
    ]


def test_keywords_entities_and_fields_are_case_insensitive(customers: QBOClient) -> None:
    assert names(customers, "sElEcT * fRoM customer WhErE displayname = 'Acme Plumbing'") == ["Acme Plumbing"]


def test_get_with_query_parameter(customers: QBOClient) -> None:
    answer = customers.query("select * from Customer where DisplayName = 'Acme Plumbing'", method="GET")
    assert [c["DisplayName"] for c in answer.json()["QueryResponse"]["Customer"]] == ["Acme Plumbing"]


def test_paging_and_ordering(customers: QBOClient) -> None:
    ordered = names(customers, "select * from Customer orderby DisplayName desc")
    assert ordered == ["O'Brien & Sons", "Charlie Air", "Bravo Heating", "Acme Plumbing"]
    page = customers.query("select * from Customer orderby DisplayName startposition 2 maxresults 2").json()
    response = page["QueryResponse"]
    assert [c["DisplayName"] for c in response["Customer"]] == ["Bravo Heating", "Charlie Air"]
    assert (response["startPosition"], response["maxResults"]) == (2, 2)


def test_count(customers: QBOClient) -> None:
    assert customers.query("select count(*) from Customer").json()["QueryResponse"] == {"totalCount": 4}


def test_no_rows_is_an_empty_query_response(customers: QBOClient) -> None:
    answer = customers.query("select * from Customer where DisplayName = 'Nobody'").json()
    assert answer["QueryResponse"] == {}
    assert "time" in answer


def test_inactive_rows_only_when_active_is_filtered(customers: QBOClient, control: SandboxControl) -> None:
    acme = rows(customers, "select * from Customer where DisplayName = 'Acme Plumbing'")[0]
    control.inactivate_entity(customers.connection.realm, "Customer", str(acme["Id"]))
    assert "Acme Plumbing" not in names(customers, "select * from Customer")
    assert names(customers, "select * from Customer where Active = false") == ["Acme Plumbing"]
    both = names(customers, "select * from Customer where Active in (true, false) and DisplayName like 'A%'")
    assert both == ["Acme Plumbing"]


def test_numbers_dates_and_references(qbo: QBOClient) -> None:
    customer, other, item = new_customer(qbo, "One"), new_customer(qbo, "Two"), new_item(qbo)
    small = new_invoice(qbo, customer["Id"], item["Id"], TxnDate="2025-03-01", DocNumber="A-1")
    new_invoice(qbo, other["Id"], item["Id"], TxnDate="2025-04-01", DocNumber="A-2")
    by_customer = rows(qbo, f"select * from Invoice where CustomerRef = '{customer['Id']}'", "Invoice")
    assert [i["Id"] for i in by_customer] == [small["Id"]]
    march = rows(
        qbo, "select * from Invoice where TxnDate >= '2025-03-01' and TxnDate < '2025-04-01'", "Invoice"
    )
    assert [i["DocNumber"] for i in march] == ["A-1"]
    assert len(rows(qbo, "select * from Invoice where TotalAmt > '299.99'", "Invoice")) == 2
    assert rows(qbo, "select * from Invoice where Balance < '1'", "Invoice") == []
    assert [
        i["DocNumber"] for i in rows(qbo, "select * from Invoice where DocNumber = 'A-2'", "Invoice")
    ] == ["A-2"]


def test_metadata_times_can_be_filtered(customers: QBOClient) -> None:
    assert (
        len(rows(customers, "select * from Customer where MetaData.LastUpdatedTime >= '2000-01-01T00:00:00'"))
        == 4
    )
    assert (
        rows(customers, "select * from Customer where MetaData.CreateTime > '2999-01-01T00:00:00-08:00'")
        == []
    )


def test_default_page_is_100_and_maxresults_is_capped_at_1000(qbo: QBOClient) -> None:
    for index in range(105):
        qbo.created("Customer", {"DisplayName": f"Customer {index:03}"})
    assert len(rows(qbo, "select * from Customer")) == 100
    response = qbo.query("select * from Customer maxresults 5000").json()["QueryResponse"]
    assert response["maxResults"] == 105


@pytest.mark.parametrize(
    ("statement", "code"),
    [
        ("select * from Customer where Notes = 'x'", "4001"),
        ("select * from Customer where Nickname = 'x'", "4001"),
        ("select * from Invoice where PrivateNote = 'x'", "4001"),
        ("select * from Customer where Active like '%t%'", "4001"),
        ("select * from Widget", "4001"),
        ("select * from Customer where DisplayName = 'a' or DisplayName = 'b'", "4000"),
        ("select DisplayName from Customer", "4000"),
        ("select * from Customer where DisplayName = 'unterminated", "4000"),
        ("select * from Customer order by DisplayName", "4000"),
        ("select * from Customer where", "4000"),
        ("", "4000"),
    ],
)
def test_refused_queries(qbo: QBOClient, statement: str, code: str) -> None:
    answer = qbo.query(statement)
    assert answer.status_code == 400
    error = fault_of(answer.json())
    assert error["code"] == code
    prefix = "QueryValidationError" if code == "4001" else "QueryParserError"
    assert str(error["Detail"]).startswith(prefix)


def test_query_is_logged_with_its_entity(qbo: QBOClient, control: SandboxControl) -> None:
    qbo.query("select * from Item where Name = 'x'")
    entry = control.requests(qbo.connection.realm)[-1]
    assert (entry["operation"], entry["entity"], entry["minorversion"]) == ("query", "Item", "75")
