"""``LlmClassifier``: customer types from an OpenAI-compatible chat-completions endpoint.

A page of customers is asked in batches of ``BATCH`` (one request each, a JSON object asked for),
so a long page does not make one long answer. Whatever goes wrong the rules classify instead and
the reason says so, so the wizard never stalls on the model: a batch that fails (no answer in
time, an HTTP error, an answer that is not the JSON asked for) and every batch after it (the model
is not asked again for that page), or one customer the answer leaves out or types wrongly (the
others keep the model's answer).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from booksync.chat import ChatModel, failure
from booksync.onboarding.classifier import Classification, CustomerClassifier, CustomerType, RulesClassifier
from booksync.providers.port import RemoteCustomer

logger = logging.getLogger(__name__)

BATCH = 25
SYSTEM_PROMPT = (
    "You classify the customers of a field-service business (plumbing, HVAC, electrical) as "
    "Homeowner (a private person or household), Business (any organisation that is not a "
    "construction company) or Builder (a construction company: home builders, general "
    "contractors, remodelers, roofers, developers). Judge what the customer is, not the words "
    "alone. Builders include national and regional home builders known by a family or brand name "
    "with no trade word (Lennar, Toll Brothers, KB Home, Taylor Morrison) and their divisions "
    "named after a city or region. Businesses include shops named like places or pets on a "
    "personal mailbox (gmail, yahoo), a professional whose own name is the company's e-mail domain "
    "or who writes a credential (CPA, DDS, Esq) after the name, and clinics named 'Family ...'. "
    "Homeowners include people whose surname or nickname is a trade word (Linda Mason, Chip "
    "Carpenter), a family or living trust or an estate that holds a home, and people on an "
    "employer's e-mail domain. Answer with a JSON object "
    '{"results": [{"id": "<id>", "type": "Homeowner|Business|Builder", "reason": "<short reason>"}]} '
    "with one entry per customer, each id exactly as given, nothing else."
)


class LlmClassifier:
    def __init__(self, chat: ChatModel, *, fallback: CustomerClassifier | None = None) -> None:
        self._chat = chat
        self._fallback = fallback or RulesClassifier()

    def classify(self, customers: Sequence[RemoteCustomer]) -> list[Classification]:
        out: list[Classification] = []
        why: str | None = None  # once a batch fails, the rest of the page is the rules'
        for start in range(0, len(customers), BATCH):
            batch = customers[start : start + BATCH]
            if why is None:
                try:
                    answer = self._ask(batch)
                except Exception as exc:  # any failure: the rules answer, and say so
                    why = failure(exc)
                    logger.warning("language-model classifier unavailable; rules used", extra={"why": why})
            if why is not None:
                out.extend(self._rules(batch, f"language model unavailable: {why}"))
                continue
            for customer in batch:
                try:
                    out.append(self._one(customer, answer))
                except (ValueError, KeyError, TypeError) as exc:
                    out.extend(self._rules([customer], f"language model unavailable: {exc}"))
        return out

    def _rules(self, customers: Sequence[RemoteCustomer], why: str) -> list[Classification]:
        return [
            replace(c, reason=f"{c.reason} (rules: {why})", source="rules")
            for c in self._fallback.classify(customers)
        ]

    def _ask(self, customers: Sequence[RemoteCustomer]) -> dict[str, dict[str, Any]]:
        answer = self._chat.ask_json(SYSTEM_PROMPT, json.dumps([_describe(c) for c in customers]))
        results = answer["results"]
        return {str(r["id"]): r for r in results if isinstance(r, dict) and "id" in r}

    @staticmethod
    def _one(customer: RemoteCustomer, answer: dict[str, dict[str, Any]]) -> Classification:
        entry = answer.get(customer.id)
        if entry is None:
            raise ValueError("unusable answer: this customer left out")
        try:
            kind = CustomerType(str(entry["type"]).strip().title())
        except (ValueError, KeyError) as exc:
            raise ValueError(f"unusable answer: type {entry.get('type')!r}") from exc
        reason = str(entry.get("reason") or "language model").strip()[:300]
        return Classification(kind, reason, 0.9, source="llm")


def _describe(customer: RemoteCustomer) -> dict[str, Any]:
    address = customer.billing_address
    return {
        "id": customer.id,
        "name": customer.display_name,
        "company": customer.company_name,
        "given_name": customer.given_name,
        "family_name": customer.family_name,
        "email": customer.email,
        "address": None
        if address is None
        else ", ".join(x for x in (address.line1, address.line2, address.city, address.region) if x),
    }
