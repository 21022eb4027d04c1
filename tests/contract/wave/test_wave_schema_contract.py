"""The Wave sandbox's schema (local/sandboxes/wave/schema.graphql) holds every operation the best
offline basis sends Wave: oliverames/wave-mcp-server's documents (specs/wave/, validated against
Wave's live schema by that repository's CI), each with type-correct variables as its CI builds
them. And ``document_errors``, the helper booksync's Wave adapter is checked with, refuses what
Wave refuses."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from local.sandboxes.wave.schema import document_errors, sample_variables
from tests.specs import SPECS_DIR

OPERATIONS: dict[str, Any] = json.loads(
    (SPECS_DIR / "wave" / "wave-mcp-server-operations.json").read_text(encoding="utf-8")
)


def test_the_operations_file_is_the_pinned_commit_and_whole() -> None:
    assert OPERATIONS["commit"] == "7591a76ac2ce318b26f9e7bc30384150b994f826"
    assert len(OPERATIONS["operations"]) == 70
    assert sum(op["validated_live"] for op in OPERATIONS["operations"]) == 64


@pytest.mark.parametrize("operation", OPERATIONS["operations"], ids=lambda op: op["name"])
def test_every_wave_mcp_server_operation_validates(operation: dict[str, Any]) -> None:
    document = operation["document"]
    assert document_errors(document) == []
    assert document_errors(document, sample_variables(document)) == []


def test_a_field_wave_lacks_fails_validation() -> None:
    assert document_errors('query { business(id: "1") { id bogus } }') == [
        "GRAPHQL_VALIDATION_FAILED: Cannot query field 'bogus' on type 'Business'."
    ]


def test_a_variable_of_the_wrong_type_is_bad_user_input() -> None:
    document = "query($id: ID!, $page: Int!) { business(id: $id) { customers(page: $page) { edges { node { id } } } } }"
    assert document_errors(document, {"id": "1", "page": 1}) == []
    errors = document_errors(document, {"id": "1", "page": "first"})
    assert len(errors) == 1 and errors[0].startswith("BAD_USER_INPUT: Variable '$page'")


def test_an_input_missing_a_required_field_is_bad_user_input() -> None:
    document = "mutation($input: CustomerCreateInput!) { customerCreate(input: $input) { didSucceed } }"
    assert document_errors(document, {"input": {"businessId": "1", "name": "Ada"}}) == []
    errors = document_errors(document, {"input": {"businessId": "1"}})
    assert len(errors) == 1 and "name" in errors[0] and errors[0].startswith("BAD_USER_INPUT")


def test_the_schema_is_introspected_without_a_token_as_wave_allows(sandbox_url: str) -> None:
    """wave-mcp-server's CI introspects Wave's live schema with no token; so does the sandbox, and
    a request mixing introspection with data still needs one."""
    introspection = "query { __schema { types { kind name } } }"
    with httpx.Client(base_url=sandbox_url) as http:
        types = http.post("/graphql/public", json={"query": introspection}).json()["data"]["__schema"][
            "types"
        ]
        assert {"Invoice", "InvoicePaymentCreateManualInput", "Decimal"} <= {t["name"] for t in types}
        mixed = http.post("/graphql/public", json={"query": "query { __typename user { id } }"}).json()
        assert mixed["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
