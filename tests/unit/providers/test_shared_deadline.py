"""Every function that calls a provider ends its calls before its invocation does, whichever
provider's client it uses (the payout function calls both Square and QuickBooks)."""

from __future__ import annotations

import ast
from pathlib import Path
from types import SimpleNamespace

import pytest
from booksync.providers import http
from booksync.providers.quickbooks.adapter import QuickBooksProvider
from booksync.providers.quickbooks.client import shared_http as quickbooks_http
from booksync.providers.square.client import shared_http as square_http

ROOT = Path(__file__).resolve().parents[3]
# The functions whose code calls a provider (the two webhook receivers only verify and queue).
CALLING_OUT = (
    "functions/api/handler.py",
    "functions/payout_deposit/handler.py",
    "functions/scheduler/handler.py",
    "functions/sync_catalog/handler.py",
    "functions/sync_invoice/handler.py",
    "functions/webhooks/quickbooks_events.py",
    "functions/webhooks/square_events.py",
    "functions/webhooks/xero_events.py",
)


class Context:
    def get_remaining_time_in_millis(self) -> int:
        return 12_000


def test_the_deadline_reaches_every_providers_client_even_one_made_later() -> None:
    made_before = quickbooks_http()
    http._SHARED.pop("square", None)  # Square's client is made after the deadline is bound
    http.bind_lambda_deadline(Context())
    for client in (made_before, square_http()):
        assert client.deadline is not None and client.deadline() == 12.0
    http.bind_deadline(None)
    assert made_before.deadline is None and square_http().deadline is None


def test_each_provider_has_one_client_per_process() -> None:
    assert quickbooks_http() is quickbooks_http() and square_http() is square_http()
    assert quickbooks_http() is not square_http()


def _binds_the_deadline_first(path: str) -> bool:
    """The handler's first statement binds the deadline (directly or through the wiring's
    begin-invocation callable, which does)."""
    tree = ast.parse((ROOT / path).read_text())
    handler = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "handler")
    first = ast.unparse(handler.body[0])
    return first.startswith("bind_lambda_deadline(context)") or first.endswith("[1](context)")


def test_every_function_that_calls_out_binds_its_deadline() -> None:
    assert [path for path in CALLING_OUT if not _binds_the_deadline_first(path)] == []


def test_the_payout_functions_calls_end_before_it_does(monkeypatch: pytest.MonkeyPatch) -> None:
    """The clients the payout function builds, Square's (the payout's entries) and the books'
    adapter (the deposit, and the payments synced first), take the invocation's deadline; the
    deposit's write also ends before its claim (``sync/once.py``; test_payout_deposits)."""
    from booksync.settings import PayoutDepositSettings
    from booksync.store.models import ALL_MODELS, ConnectionModel
    from booksync.wiring import payout_deposits

    from tests.lambda_env import environment

    tables = SimpleNamespace(**{field: f"{field}-deadline" for field in ALL_MODELS})
    env = environment(
        tables,
        queue_url="https://sqs.us-east-1.amazonaws.com/123456789012/q",
        key_id="alias/booksync-tokens",
        qbo_url="http://127.0.0.1:9",
        client_id="ABtestclient0001",
        client_secret="s3cr3t-for-tests",
        idempotency_table="idempotency-deadline",
        square={"SQUARE_APPLICATION_ID": "sq0idp-deadline", "SQUARE_APPLICATION_SECRET": "sq0csp-deadline"},
    )
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    job = payout_deposits(PayoutDepositSettings.from_env())
    http.bind_lambda_deadline(Context())
    square = job.parts.square_for("acme")
    books = job.parts.provider_for(
        ConnectionModel("acme", "quickbooks", account_id="9130", status="connected")
    )
    assert isinstance(books, QuickBooksProvider)
    for client in (square.http, books._client.http):
        assert client.deadline is not None and client.deadline() == 12.0, client
