"""Every validation problem says what is wrong, the form expected, and a fix of its own (issue 12).

The API app runs as API Gateway invokes it; the documents service is a recorder, since every
refusal here happens before anything is stored.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from booksync.api.app import create_app, lambda_adapter
from booksync.api.examples import EXAMPLES
from booksync.api.field_errors import PATTERNS
from booksync.providers.quickbooks.mapping import NOTE_MEMO_MAX
from booksync.sync.records import Accepted

from tests.apigw import admin, http_event

ROOT = Path(__file__).resolve().parents[2]
INVOICE: dict[str, Any] = {
    "customer_id": "c-1",
    "number": "1001",
    "status": "SENT",
    "issue_date": "2026-12-01",
    "lines": [
        {"item_id": "i-1", "quantity": "2", "unit_price": "150.00"},
        {"item_id": "i-2", "quantity": "1", "unit_price": "80.00", "taxable": False},
    ],
    "discount": {"kind": "percent", "value": "10"},
    "tax_rate_percent": "8.25",
}


class Recorder:
    """DocumentService's put_* methods: record what was accepted."""

    def __init__(self) -> None:
        self.accepted: list[Any] = []

    def __getattr__(self, name: str) -> Any:
        def put(_company: str, doc: Any) -> Accepted:
            self.accepted.append(doc)
            return Accepted(doc.id, True, True, False, None)

        return put


@pytest.fixture(scope="module")
def api() -> SimpleNamespace:
    docs = Recorder()
    handler = lambda_adapter(create_app(lambda: SimpleNamespace(documents=docs)))  # type: ignore[arg-type]

    def put(path: str, body: Any) -> tuple[int, dict[str, Any]]:
        answer = handler(http_event("PUT", path, body, claims=admin()), SimpleNamespace())
        return answer["statusCode"], json.loads(answer["body"])

    return SimpleNamespace(put=put, docs=docs)


def refused(api: SimpleNamespace, path: str, body: Any) -> dict[str, Any]:
    status, problem = api.put(path, body)
    assert status == 422, problem
    assert problem["fix"] and all(error["fix"] for error in problem["errors"]), problem
    return problem


def only_error(problem: dict[str, Any]) -> dict[str, Any]:
    (error,) = problem["errors"]
    return error


def test_a_json_syntax_error_gives_its_line_and_column(api: SimpleNamespace) -> None:
    body = '{"display_name": "Ann",\n "email": "ann@example.com",}'
    problem = refused(api, "/customers/c-1", body)
    error = only_error(problem)
    assert error["field"] == "body"
    assert "line 2, column 29" in error["message"] and "line 2, column 29" in error["fix"]
    assert problem["title"] == "The body is not valid JSON"


@pytest.mark.parametrize("value", ["12/01/2026", "2026-13-01", "Dec 1 2026"])
def test_a_date_says_yyyy_mm_dd(api: SimpleNamespace, value: str) -> None:
    error = only_error(refused(api, "/invoices/inv-1", {**INVOICE, "issue_date": value}))
    assert error["field"] == "issue_date"
    assert "YYYY-MM-DD" in error["message"] and value in error["message"]
    assert error["fix"] == 'Write issue_date as YYYY-MM-DD, e.g. "2026-12-01".'


@pytest.mark.parametrize(
    ("amount", "says"),
    [
        ("12.345", "got 12.345, with 3 decimals"),
        (12.345, "got 12.345, with 3 decimals"),
        ("abc", 'got "abc"'),
        ("1234567890123.00", "at most 12 digits before the decimal point"),
        # 0.1 + 0.2 in the app's language: a float, not "14 digits in total".
        (0.30000000000000004, "a float that is not exact; send money as a string"),
    ],
    ids=["three-decimals", "float-three-decimals", "not-a-number", "too-large", "inexact-float"],
)
def test_money_says_a_string_with_at_most_2_decimals(api: SimpleNamespace, amount: Any, says: str) -> None:
    body = {"invoice_id": "inv-1", "amount": amount, "date": "2026-12-01"}
    error = only_error(refused(api, "/payments/p-1", body))
    assert error["field"] == "amount"
    assert "a string with at most 2 decimals" in error["message"] and says in error["message"]
    assert "digits in total" not in json.dumps(error)
    assert error["fix"].startswith("Send amount as a string with at most 2 decimals")


def test_an_unknown_field_names_the_nearest_valid_one(api: SimpleNamespace) -> None:
    problem = refused(api, "/customers/c-1", {"displayname": "Ann", "emial": "ann@example.com"})
    by_field = {e["field"]: e for e in problem["errors"]}
    assert by_field["displayname"]["message"] == "is not a field; did you mean display_name?"
    assert by_field["displayname"]["fix"] == "Rename displayname to display_name."
    assert "did you mean email?" in by_field["emial"]["message"]
    # The required one that is missing says what it expects.
    assert by_field["display_name"]["message"].startswith("is required")


def test_an_unknown_field_with_no_near_name_lists_the_fields(api: SimpleNamespace) -> None:
    error = only_error(refused(api, "/items/i-1", {"name": "Trip", "colour": "red"}))
    assert "the fields here are" in error["message"] and "unit_price" in error["message"]


def test_a_nested_unknown_field_is_named_with_its_path(api: SimpleNamespace) -> None:
    body = {"display_name": "Ann", "billing_address": {"line_1": "1 Main St"}}
    error = only_error(refused(api, "/customers/c-1", body))
    assert error["field"] == "billing_address.line_1"
    assert error["message"] == "is not a field; did you mean line1?"


def test_a_lines_error_names_its_index(api: SimpleNamespace) -> None:
    lines = [*INVOICE["lines"], {"item_id": "bad id!", "unit_price": "1.00"}]
    error = only_error(refused(api, "/invoices/inv-1", {**INVOICE, "lines": lines}))
    assert error["field"] == "lines[2].item_id"
    assert "letters, digits and _ . : -" in error["message"] and "bad id!" in error["message"]


def test_an_enum_suggests_the_value_meant(api: SimpleNamespace) -> None:
    error = only_error(refused(api, "/invoices/inv-1", {**INVOICE, "status": "sent"}))
    assert "DRAFT, SENT, PAID, VOID" in error["message"] and "did you mean SENT?" in error["message"]
    assert error["fix"] == "Send status as SENT (exactly, case included)."


def test_a_pattern_and_a_length_say_the_form(api: SimpleNamespace) -> None:
    problem = refused(api, "/invoices/inv-1", {**INVOICE, "currency": "usd", "number": "x" * 101})
    by_field = {e["field"]: e for e in problem["errors"]}
    assert "3 capital letters (ISO 4217)" in by_field["currency"]["message"]
    assert by_field["number"]["message"] == "must be at most 100 characters (got 101)"
    assert by_field["number"]["fix"] == "Shorten number to 100 characters or fewer."


def test_the_fix_is_the_errors_own(api: SimpleNamespace) -> None:
    """Not one sentence for all: three kinds of error, three different fixes."""
    body = {**INVOICE, "issue_date": "12/01/2026", "status": "sent", "memo_text": "x"}
    problem = refused(api, "/invoices/inv-1", body)
    fixes = [e["fix"] for e in problem["errors"]]
    assert len(fixes) == 3 and len(set(fixes)) == 3
    assert all(fix in problem["fix"] for fix in fixes)


def test_a_total_that_disagrees_with_the_lines_is_refused(api: SimpleNamespace) -> None:
    # 2 x 150 + 80 = 380; less 10 % = 342; tax 8.25 % on the taxable 300 less its share of the
    # discount (270) = 22.28: total 364.28.
    error = only_error(refused(api, "/invoices/inv-1", {**INVOICE, "total": "380.00"}))
    assert error["field"] == "total"
    assert error["message"] == (
        "is 380.00, but the lines make 364.28 (subtotal 380.00, discount 38.00, tax 22.28): "
        "booksync computes the total itself"
    )
    assert error["fix"].startswith("Leave total out (booksync computes it)")


def test_a_total_that_agrees_is_accepted_and_not_stored(api: SimpleNamespace) -> None:
    status, answer = api.put("/invoices/inv-7", {**INVOICE, "total": "364.28"})
    assert status == 201, answer
    stored = api.docs.accepted[-1]
    assert stored.id == "inv-7" and stored.total.to_eng_string() == "364.28"
    assert "total" not in stored.model_dump(mode="json") and "stated_total" not in stored.model_dump()


# -- the OpenAPI document ------------------------------------------------------------------------


def _document() -> dict[str, Any]:
    from scripts.openapi import document

    return document()


def test_every_operation_with_a_body_carries_an_example_body() -> None:
    for path, item in _document()["paths"].items():
        for method, operation in item.items():
            for content in operation.get("requestBody", {}).get("content", {}).values():
                assert content.get("examples"), f"{method.upper()} {path} has no example body"


def test_the_examples_are_the_sample_events_bodies_and_are_valid(api: SimpleNamespace) -> None:
    """events/api/ (what sam local invoke replays) and the document show the same bodies, valid
    by the document's schema; the documents' examples are accepted by the API."""
    from jsonschema import Draft202012Validator

    document = _document()
    for operation, examples in EXAMPLES.items():
        method, template = operation.split(" ", 1)
        content = document["paths"][template][method.lower()]["requestBody"]["content"]
        schema = {**content["application/json"]["schema"], "components": document["components"]}
        for name, body in examples.items():
            event = json.loads((ROOT / "events" / "api" / f"{name}.json").read_text())
            assert event["requestContext"]["http"]["method"] == method, name
            assert re.fullmatch(re.sub(r"\{[^/]+\}", "[^/]+", template), event["rawPath"]), name
            assert json.loads(event["body"]) == body, f"events/api/{name}.json differs from its example"
            errors = [e.message for e in Draft202012Validator(schema).iter_errors(body)]
            assert not errors, (name, errors)
            if method == "PUT" and template.endswith("/{doc_id}"):
                status, answer = api.put(event["rawPath"], body)
                assert status in (200, 201), (name, answer)


@pytest.mark.parametrize(
    ("schema", "field", "says"),
    [
        ("Payment", "amount", "at most 2 decimals"),
        ("InvoiceLine", "unit_price", "at most 2 decimals"),
        ("InvoiceLine", "quantity", "at most 4 decimals"),
        ("Invoice", "issue_date", "YYYY-MM-DD"),
        ("Invoice", "total", "must equal that total"),
        ("Invoice", "tax_rate_percent", "0 to 100"),
        ("Invoice", "memo", "At most 1000 characters"),
        ("Payment", "memo", f"At most {NOTE_MEMO_MAX} characters"),
    ],
)
def test_the_document_states_the_constraints(schema: str, field: str, says: str) -> None:
    prop = _document()["components"]["schemas"][schema]["properties"][field]
    assert says in json.dumps(prop), prop


def test_every_pattern_a_field_checks_is_put_in_words() -> None:
    """A validation error says the form a pattern asks for (field_errors.PATTERNS), never the regex."""

    def patterns(node: Any) -> set[str]:
        if isinstance(node, dict):
            own = {node["pattern"]} if isinstance(node.get("pattern"), str) else set()
            return own.union(*(patterns(value) for value in node.values()))
        return set().union(*(patterns(value) for value in node)) if isinstance(node, list) else set()

    schemas = _document()["components"]["schemas"]
    checked = set().union(
        *(patterns(schemas[name]) for name in ("Customer", "Item", "Invoice", "Payment", "Refund"))
    )
    decimals = {p for p in checked if p.endswith(r"(\.\d{1,2})?$") or p.endswith(r"(\.\d{1,4})?$")}
    assert checked - decimals == set(PATTERNS)


def test_a_number_out_of_its_range_names_the_bound_and_never_none() -> None:
    """The bound comes from the error, else from the field; when neither says it, the message
    says the range in general rather than "at most None"."""
    from booksync.api.field_errors import teach
    from booksync.memory.queries import SearchRequest

    said = teach({"type": "less_than_equal", "loc": ("body", "top_k"), "ctx": {"le": 20}, "input": 50}, None)
    assert (said.message, said.fix) == ("must be at most 20 (got 50)", "Send top_k as a number at most 20.")
    from_field = teach({"type": "less_than_equal", "loc": ("body", "top_k"), "input": 50}, SearchRequest)
    assert from_field.message == "must be at most 20 (got 50)"
    unknown = teach({"type": "greater_than", "loc": ("body", "n"), "input": 0}, None)
    assert "None" not in f"{unknown.message} {unknown.fix}"
    assert unknown.message == "is out of its range (got 0)" and unknown.fix.startswith(
        "Send n as a number within"
    )
