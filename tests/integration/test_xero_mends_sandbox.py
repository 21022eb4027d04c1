"""The Xero adapter against the Xero sandbox, where Xero's records end or refuse: an invoice a
user voided is never linked again (its next generation carries the same number and marker), and
a write of one record Xero refuses is that refusal, however Xero is asked to answer it."""

from __future__ import annotations

import httpx
import pytest
from booksync.errors import DuplicateName, Rejected, TransientError
from booksync.providers.http import HttpClient
from booksync.providers.xero.adapter import XeroProvider
from booksync.providers.xero.client import XeroClient
from booksync.providers.xero.oauth import LABEL, PROVIDER

from tests import builders
from tests.integration.test_xero_adapter_sandbox import Org, _linked, control, org, sandbox

__all__ = ["control", "org", "sandbox"]  # the adapter suite's fixtures, used here as they are


def _live(org: Org) -> list[dict[str, object]]:
    return [i for i in org.ledger("invoices") if i["Status"] not in ("VOIDED", "DELETED")]


def test_an_invoice_voided_in_xero_is_never_found_again_as_the_documents_invoice(org: Org) -> None:
    """A user voids the synced invoice in Xero. The lookups booksync runs before a create and
    after an uncertain one (same InvoiceNumber, same marker in every generation) never take the
    voided invoice for the document's; a create of it again (answer lost, then retried past the
    Idempotency-Key's minutes) is Xero's refusal of the number, which a voided invoice keeps in
    Xero, never a link to the dead one."""
    invoice, refs = _linked(org)
    first = org.adapter.create_invoice(invoice, refs, idempotency_key="k-inv-1")
    org.adapter.void_invoice(first, idempotency_key="k-user-void")  # as the user voids it in Xero

    assert org.adapter.find_invoice(invoice, refs.marker) is None
    org.fault("commit_then_reset", entity="invoices", operation="create", times=1)
    with pytest.raises(TransientError) as lost:
        org.adapter.create_invoice(invoice, refs, idempotency_key="k-inv-2")
    assert lost.value.uncertain
    org.control.advance(7 * 60)

    assert org.adapter.find_invoice(invoice, refs.marker) is None
    with pytest.raises(Rejected) as refused:
        org.adapter.create_invoice(invoice, refs, idempotency_key="k-inv-2")
    assert "must be unique" in refused.value.message
    (voided,) = org.ledger("invoices")
    assert voided["Status"] == "VOIDED" and not _live(org)


def test_a_single_write_asks_xero_for_a_summarized_refusal(org: Org) -> None:
    org.adapter.create_customer(builders.customer("c-9"), idempotency_key="k-9")
    org.control.clear_requests()

    with pytest.raises(DuplicateName):
        org.adapter.create_customer(builders.customer(), idempotency_key="k-1")

    (sent,) = [r for r in org.control.requests(org.tenant) if r["method"] == "PUT"]
    assert (sent["status"], sent["summarizeErrors"]) == (400, "true")


class ElementAnswers(httpx.HTTPTransport):
    """Xero answering each element for itself (``summarizeErrors=false``, the OpenAPI text's
    declared default): a refused record comes back 200, marked ERROR with its ValidationErrors."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_set_param("summarizeErrors", "false")
        return super().handle_request(request)


def test_a_record_refused_in_an_answer_of_200_is_the_refusal_not_a_record_made(org: Org) -> None:
    org.adapter.create_customer(builders.customer("c-9"), idempotency_key="k-9")
    http = HttpClient(provider=PROVIDER, label=LABEL, transport=ElementAnswers())
    client = XeroClient(
        tenant_id=org.tenant, tokens=org.tokens, http=http, api_base_url=org.settings.api_base_url
    )
    adapter = XeroProvider(client)

    with pytest.raises(DuplicateName) as refused:
        adapter.create_customer(builders.customer(), idempotency_key="k-1")

    assert "already assigned to another contact" in refused.value.message
    assert len(org.ledger("contacts")) == 1
    answered = [r for r in org.control.requests(org.tenant) if r["method"] == "PUT"][-1]
    assert (answered["status"], answered["summarizeErrors"]) == (200, "false")
