"""Customer types for the wizard's step 1: Homeowner, Business or Builder, with the reason.

``RulesClassifier`` (the default) weighs what the record shows: the name (legal suffixes,
construction trade words, organisation words, a personal name's shape, honorifics, households),
the provider's own person/company fields, the e-mail domain (personal mailbox providers versus a
company's domain, trade words inside it, the person's own name as the domain) and the billing
address (suite, floor, unit). Construction companies are Builders. A surname that is a trade or
business word (Linda Lodge, Camila Builder: the provider's given and family name, or "Lodge,
Linda") is a name, not a sign; a family trust or an estate holds a home; a credential after a name
("Jane Roe, CPA") or the person's name as the company's domain makes a practice; a possessive
("Rosa's Kitchen") names a shop. ``LlmClassifier`` asks an OpenAI-compatible chat-completions endpoint and
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
    CREDENTIALS,
    FIRST_NAMES,
    HOUSEHOLD_WORDS,
    LEGAL_SUFFIXES,
    PERSON_MARKERS,
    PERSONAL_EMAIL_DOMAINS,
    TRADE_PHRASES,
    TRADE_STEMS,
    TRADE_WORDS,
    TRUST_WORDS,
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
    """'John & Mary Smith', 'Mr and Mrs Lee', 'Perry & Esther Frame': a household, not a firm."""
    for joiner in ("&", "and"):
        if joiner in name_words:
            at = name_words.index(joiner)
            before, after = name_words[at - 1 : at], name_words[at + 1 : at + 2]
            known = FIRST_NAMES | PERSON_MARKERS
            if before and after and before[0] in known and after[0] in known:
                return True
            # Given & Given Surname, no word of a firm's: a couple whose names the list lacks.
            plain = not any(
                w in BUSINESS_WORDS or w in TRADE_WORDS or w in LEGAL_SUFFIXES for w in name_words
            )
            if (
                at == 1
                and len(name_words) == 4
                and plain
                and all(w.isalpha() for w in name_words if w != "&")
            ):
                return True
    return False


def _surnames(customer: RemoteCustomer, name_words: list[str]) -> set[str]:
    """The name's words that are a person's surname, so not a trade or business sign: the
    provider's family name when the display name is the given and family name and no company is
    recorded (Camila Builder), or the first part of 'Lodge, Linda' before a known given name."""
    given, family = words(customer.given_name), words(customer.family_name)
    if given and family and not customer.company_name and sorted(name_words) == sorted(given + family):
        return set(family)
    head, _, tail = customer.display_name.partition(",")
    after = words(tail)
    firm = BUSINESS_WORDS | TRADE_WORDS | LEGAL_SUFFIXES | CREDENTIALS
    if len(words(head)) == 1 and len(after) == 1 and after[0].isalpha() and after[0] not in firm:
        return set(words(head))
    return set()


def _held_home(name_words: list[str]) -> str | None:
    """'Smith Family Trust', 'Lee Revocable Living Trust', 'Estate of John Smith': a home's owner."""
    if name_words[:2] == ["estate", "of"] and len(name_words) >= 3:
        return "an estate holds the home"
    if {"trust", "trustee", "trustees"} & set(name_words) and TRUST_WORDS & set(name_words):
        return "a family or living trust holds the home"
    return None


_INITIALS = re.compile(r"\b[a-z]\.\s?[a-z]\.", re.IGNORECASE)  # "D.R. Horton": initials, not "Dr."
_DIVISION = re.compile(r"\b(division|region)\b", re.IGNORECASE)


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
        surnames = _surnames(customer, name_words)
        signs = [w for w in name_words if w not in surnames]  # a surname is no trade or business sign
        company_words = words(customer.company_name)
        held = _held_home(name_words)
        if held:
            tally.add(CustomerType.HOMEOWNER, 6.0, held)
        self._trade(tally, customer, signs + company_words)
        self._organisation(tally, signs, company_words)
        self._person(tally, customer, name_words, signs)
        self._practice(tally, customer, name_words)
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
        elif _DIVISION.search(customer.display_name):
            # A contractor's customer with regional divisions is, far most often, a home builder.
            tally.add(
                CustomerType.BUILDER, 5.0, "a company's regional division (as national home builders buy)"
            )

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
    def _person(tally: _Tally, customer: RemoteCustomer, name_words: list[str], signs: list[str]) -> None:
        household = next((w for w in name_words if w in HOUSEHOLD_WORDS), None)
        if household and not any(w in TRADE_WORDS or w in BUSINESS_WORDS for w in signs):
            tally.add(CustomerType.HOMEOWNER, 3.0, f"household word '{household}' in the name")
        markers = PERSON_MARKERS - {"dr"} if _INITIALS.search(customer.display_name) else PERSON_MARKERS
        if any(w in markers for w in name_words):
            tally.add(CustomerType.HOMEOWNER, 2.0, "a personal title (Mr, Mrs, Dr...) in the name")
        plain = [w for w in name_words if w not in PERSON_MARKERS and w not in ("and", "&")]
        first = next((w for w in plain if w in FIRST_NAMES), None)
        org = any(w in BUSINESS_WORDS or w in LEGAL_SUFFIXES or w in TRADE_WORDS for w in signs)
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
    def _practice(tally: _Tally, customer: RemoteCustomer, name_words: list[str]) -> None:
        """A professional's practice or a shop named after its owner, though the name is a person's."""
        _, _, after = customer.display_name.partition(",")
        credential = next((w for w in words(after) if w in CREDENTIALS), None)
        if credential:
            tally.add(
                CustomerType.BUSINESS,
                3.0,
                f"a professional's credential ('{credential.upper()}') after the name",
            )
        possessive = next((w for w in name_words if w.endswith("'s")), None)
        if possessive and len(name_words) >= 2 and not any(w in HOUSEHOLD_WORDS for w in name_words):
            tally.add(CustomerType.BUSINESS, 3.0, f"a possessive name ('{possessive}'), as a shop's")
        email = (customer.email or "").lower()
        domain = email.rsplit("@", 1)[1] if "@" in email else ""
        person = 2 <= len(name_words) <= 3 and name_words[0] in FIRST_NAMES
        family = "".join(words(customer.family_name)) or ("".join(name_words[-1:]) if person else "")
        given = "".join(words(customer.given_name)) or "".join(name_words[:1])
        if (
            not domain
            or domain in PERSONAL_EMAIL_DOMAINS
            or domain.endswith((".gov", ".edu"))
            or len(family) < 3
        ):
            return
        label = domain.split(".")[0]
        if label.startswith(family) or (given and label.startswith(given + family)):
            tally.add(
                CustomerType.BUSINESS, 3.5, f"the person's own name is the company's e-mail domain ({domain})"
            )

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
