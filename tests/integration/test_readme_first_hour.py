"""The README's "first hour" requests work as written: each PUT's body goes through the API (as
API Gateway invokes it, over moto tables) in the README's order and is accepted, the routes it
names exist, and the amounts it quotes are the ones booksync computes."""

from __future__ import annotations

import json
import re
import shlex
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

from booksync.documents import Invoice

from tests.apigw import admin
from tests.integration.test_api import api  # noqa: F401  (the fixture)

README = Path(__file__).resolve().parents[2] / "README.md"


def first_hour() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("\n## The first hour\n")
    return text[start : text.index("\n## ", start + 1)]


def curl_commands() -> list[list[str]]:
    blocks = re.findall(r"```bash\n(.*?)```", first_hour(), flags=re.DOTALL)
    lines = "\n".join(blocks).replace("\\\n", " ").splitlines()
    commands = [shlex.split(line, comments=True) for line in lines if line.startswith("curl ")]
    # (curl "$BACK" follows a redirect the sandbox gave: no address of its own.)
    return [words for words in commands if any(w.startswith(("$API/", "$QBO/")) for w in words)]


def request(words: list[str]) -> tuple[str, str, dict[str, object] | None]:
    method = words[words.index("-X") + 1] if "-X" in words else "GET"
    url = next(w for w in words if w.startswith(("$API/", "$QBO/")))
    body = json.loads(words[words.index("-d") + 1]) if "-d" in words else None
    return method, url, body


def test_the_first_hour_puts_are_accepted_in_order(api: SimpleNamespace) -> None:  # noqa: F811
    puts = [request(w) for w in curl_commands() if request(w)[0] == "PUT"]
    assert [url.split("/")[1] for _, url, _ in puts] == ["customers", "items", "invoices", "payments"]
    for _, url, body in puts:
        status, answer, _ = api.call("PUT", url.removeprefix("$API"), body, claims=admin())
        assert status == 201, (url, answer)
    # Sent again: the same answer, nothing changed.
    _, url, body = puts[0]
    status, answer, _ = api.call("PUT", url.removeprefix("$API"), body, claims=admin())
    assert status == 200 and answer["changed"] is False


def test_the_first_hour_names_routes_that_exist() -> None:
    from scripts.openapi import document

    paths = document()["paths"]
    for words in curl_commands():
        method, url, _ = request(words)
        if url.startswith("$QBO/"):
            assert url.split("?")[0] in {"$QBO/connect/oauth2/consent", "$QBO/_sandbox/ledger"}, url
            continue
        path = url.removeprefix("$API").split("?")[0]
        templates = [p for p in paths if re.fullmatch(re.sub(r"\{[^/]+\}", "[^/]+", p), path)]
        assert any(method.lower() in paths[t] for t in templates), (method, path)


def test_the_amounts_the_readme_quotes_are_booksyncs() -> None:
    (invoice_body,) = [
        body for method, url, body in map(request, curl_commands()) if url == "$API/invoices/inv-1"
    ]
    assert isinstance(invoice_body, dict)
    invoice = Invoice.model_validate({"id": "inv-1", **invoice_body})
    section = first_hour()
    assert (invoice.subtotal, invoice.discount_amount, invoice.tax_amount, invoice.total) == (
        Decimal("849.00"),
        Decimal("84.90"),
        Decimal("63.04"),
        Decimal("827.14"),
    )
    assert "TotalAmt 827.14 and Balance 427.14" in section
    assert "| total | subtotal \N{MINUS SIGN} discount + tax | 827.14 |" in section


def test_a_first_hour_invoice_before_its_item_names_the_line(api: SimpleNamespace) -> None:  # noqa: F811
    """The usual first mistake: the invoice before its item. The problem names the line by index."""
    puts = {url: body for method, url, body in map(request, curl_commands()) if method == "PUT"}
    assert api.call("PUT", "/customers/cust-1", puts["$API/customers/cust-1"], claims=admin())[0] == 201
    invoice = dict(puts["$API/invoices/inv-1"] or {})
    invoice["lines"] = [*invoice["lines"], {"item_id": "item-9", "unit_price": "10.00"}]  # type: ignore[list-item]
    status, problem, _ = api.call("PUT", "/invoices/inv-1", invoice, claims=admin())
    assert status == 422
    assert problem["errors"] == [
        {
            "field": "lines[0].item_id",
            "message": "no item 'item-1' in booksync",
            "fix": "Send it first with PUT /items/item-1.",
        }
    ]
