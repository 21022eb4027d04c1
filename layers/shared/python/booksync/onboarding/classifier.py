"""Customer types for the wizard's step 1: Homeowner, Business or Builder, with the reason.

``RulesClassifier`` (the default) weighs what the record shows: the name (legal suffixes,
construction trade words, organisation words, a personal name's shape, honorifics, households),
the provider's own person/company fields, the e-mail domain (personal mailbox providers versus a
company's domain, trade words inside it) and the billing address (suite, floor, unit). Construction
companies are Builders. ``LlmClassifier`` asks an OpenAI-compatible chat-completions endpoint and
falls back to the rules on any failure. Both take a page at a time so a model answers once per page.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from booksync.documents import CustomerType
from booksync.onboarding.words import (
    BUSINESS_WORDS,
    COMMERCIAL_UNITS,
    FIRST_NAMES,
    HOUSEHOLD_WORDS,
    LEGAL_SUFFIXES,
    PERSON_MARKERS,
    PERSONAL_EMAIL_DOMAINS,
    TRADE_PHRASES,
    TRADE_STEMS,
    TRADE_WORDS,
)
from booksync.providers.port import RemoteCustomer

__all__ = ["Classification", "CustomerClassifier", "CustomerType", "RulesClassifier"]


@dataclass(frozen=True)
class Classification:
    type: CustomerType
    reason: str
    confidence: float  # 0..1: the winning score's share
    source: str = "rules"  # rules | llm | rules (llm unavailable)


@runtime_checkable
class CustomerClassifier(Protocol):
    def classify(self, customers: Sequence[RemoteCustomer]) -> list[Classification]:
        """One classification per customer, in order."""
        ...


_WORD = re.compile(r"[a-z0-9&]+(?:'[a-z]+)?")
_UNIT = re.compile(r"\b(" + "|".join(COMMERCIAL_UNITS) + r")\b\.?\s*#?\s*\w+|#\s*\d+\w*", re.IGNORECASE)
_RESIDENTIAL_UNIT = re.compile(r"\b(apt|apartment|lot|trlr)\b", re.IGNORECASE)
_PO_BOX = re.compile(r"\bp\.?\s*o\.?\s*box\b", re.IGNORECASE)


def _couple(name_words: list[str]) -> bool:
    """'John & Mary Smith', 'Mr and Mrs Lee': a household, not a firm."""
    for joiner in ("&", "and"):
        if joiner in name_words:
            at = name_words.index(joiner)
            before, after = name_words[at - 1 : at], name_words[at + 1 : at + 2]
            known = FIRST_NAMES | PERSON_MARKERS
            if before and after and before[0] in known and after[0] in known:
                return True
    return False


def words(text: str | None) -> list[str]:
    return _WORD.findall((text or "").lower().replace(".", ""))


@dataclass
class _Tally:
    scores: dict[CustomerType, float] = field(default_factory=lambda: dict.fromkeys(CustomerType, 0.0))
    reasons: dict[CustomerType, list[tuple[float, str]]] = field(
        default_factory=lambda: {t: [] for t in CustomerType}
    )

    def add(self, kind: CustomerType, weight: float, reason: str) -> None:
        self.scores[kind] += weight
        self.reasons[kind].append((weight, reason))

    def result(self) -> Classification:
        # Ties go to Homeowner: the cheapest type to correct in the wizard.
        best = max(CustomerType, key=lambda t: (self.scores[t], t == CustomerType.HOMEOWNER))
        total = sum(max(s, 0.0) for s in self.scores.values())
        if self.scores[best] <= 0:
            return Classification(CustomerType.HOMEOWNER, "no business or trade signs in the record", 0.34)
        because = [r for _, r in sorted(self.reasons[best], key=lambda wr: -wr[0])[:3]]
        return Classification(best, "; ".join(because), round(self.scores[best] / total, 2) if total else 0.0)


class RulesClassifier:
    """The default classifier: explainable rules, no network."""

    def classify(self, customers: Sequence[RemoteCustomer]) -> list[Classification]:
        return [self.one(c) for c in customers]

    def one(self, customer: RemoteCustomer) -> Classification:
        tally = _Tally()
        name_words = words(customer.display_name)
        company_words = words(customer.company_name)
        self._trade(tally, customer, name_words + company_words)
        self._organisation(tally, name_words, company_words)
        self._person(tally, customer, name_words)
        self._email(tally, customer.email)
        self._address(tally, customer)
        return tally.result()

    @staticmethod
    def _trade(tally: _Tally, customer: RemoteCustomer, name_words: list[str]) -> None:
        text = " ".join(name_words)
        trade = next((w for w in name_words if w in TRADE_WORDS), None)
        phrase = next((p for p in TRADE_PHRASES if p in text), None)
        if trade or phrase:
            tally.add(CustomerType.BUILDER, 5.0, f"construction trade word '{trade or phrase}' in the name")
        elif re.search(r"\bgc\b", text):
            tally.add(CustomerType.BUILDER, 4.0, "'GC' (general contractor) in the name")

    @staticmethod
    def _organisation(tally: _Tally, name_words: list[str], company_words: list[str]) -> None:
        all_words = name_words + company_words
        suffix = next((w for w in all_words if w in LEGAL_SUFFIXES), None)
        if suffix:
            tally.add(CustomerType.BUSINESS, 3.0, f"legal suffix '{suffix.upper()}' in the name")
            tally.add(CustomerType.BUILDER, 1.0, f"a company ('{suffix.upper()}')")
        business = next((w for w in all_words if w in BUSINESS_WORDS and w not in LEGAL_SUFFIXES), None)
        if business:
            tally.add(CustomerType.BUSINESS, 3.0, f"organisation word '{business}' in the name")
        if company_words and not (set(company_words) <= set(name_words)):
            # The provider's company field beside a person's name: the person is the contact.
            tally.add(CustomerType.BUSINESS, 3.0, "a company name is recorded beside the contact's name")
        if "&" in all_words and not _couple(name_words):
            tally.add(CustomerType.BUSINESS, 1.5, "'&' joins names as in a firm's name")

    @staticmethod
    def _person(tally: _Tally, customer: RemoteCustomer, name_words: list[str]) -> None:
        household = next((w for w in name_words if w in HOUSEHOLD_WORDS), None)
        if household and not any(w in TRADE_WORDS or w in BUSINESS_WORDS for w in name_words):
            tally.add(CustomerType.HOMEOWNER, 3.0, f"household word '{household}' in the name")
        if any(w in PERSON_MARKERS for w in name_words):
            tally.add(CustomerType.HOMEOWNER, 2.0, "a personal title (Mr, Mrs, Dr...) in the name")
        plain = [w for w in name_words if w not in PERSON_MARKERS and w not in ("and", "&")]
        first = next((w for w in plain if w in FIRST_NAMES), None)
        org = any(w in BUSINESS_WORDS or w in LEGAL_SUFFIXES or w in TRADE_WORDS for w in name_words)
        shaped = 2 <= len(plain) <= 4 and all(w.isalpha() or "'" in w for w in plain) and not org
        if first and shaped:
            tally.add(CustomerType.HOMEOWNER, 3.0, f"a personal name ('{first.title()}' is a given name)")
        elif shaped and customer.given_name and customer.family_name:
            tally.add(CustomerType.HOMEOWNER, 2.5, "a personal name (given and family name recorded)")
        elif shaped and "," in customer.display_name:
            tally.add(CustomerType.HOMEOWNER, 2.0, "a personal name written 'Family, Given'")
        elif shaped:
            tally.add(CustomerType.HOMEOWNER, 0.5, "the name could be a person's")
        if _couple(name_words):
            tally.add(CustomerType.HOMEOWNER, 1.0, "two given names joined ('and', '&'): a couple")
        if customer.given_name and customer.family_name and not customer.company_name and not org:
            tally.add(CustomerType.HOMEOWNER, 0.5, "given and family name recorded, no company")

    @staticmethod
    def _email(tally: _Tally, email: str | None) -> None:
        if not email or "@" not in email:
            return
        domain = email.rsplit("@", 1)[1].lower()
        if domain in PERSONAL_EMAIL_DOMAINS:
            tally.add(CustomerType.HOMEOWNER, 1.5, f"personal e-mail domain ({domain})")
            return
        stem = next((s for s in TRADE_STEMS if s in domain.split(".")[0]), None)
        if stem:
            tally.add(CustomerType.BUILDER, 4.0, f"construction company e-mail domain ({domain})")
        elif domain.endswith((".gov", ".edu", ".org")):
            tally.add(CustomerType.BUSINESS, 2.0, f"organisation e-mail domain ({domain})")
        else:
            tally.add(CustomerType.BUSINESS, 1.5, f"company e-mail domain ({domain})")
            tally.add(CustomerType.BUILDER, 0.5, f"company e-mail domain ({domain})")

    @staticmethod
    def _address(tally: _Tally, customer: RemoteCustomer) -> None:
        address = customer.billing_address
        if address is None:
            return
        lines = " ".join(x for x in (address.line1, address.line2) if x)
        if _UNIT.search(lines) and not _RESIDENTIAL_UNIT.search(lines):
            tally.add(CustomerType.BUSINESS, 1.0, "commercial address (suite, floor or unit)")
            tally.add(CustomerType.BUILDER, 0.5, "commercial address")
        elif _PO_BOX.search(lines):
            tally.add(CustomerType.BUSINESS, 0.25, "a PO box")
        elif lines:
            tally.add(CustomerType.HOMEOWNER, 0.75, "residential street address")
