"""Which of the provider's customers booksync already has: name, address and e-mail together.

Each side is normalised first (case, punctuation, '&', legal suffixes, titles and a trailing
building or unit ("- Building C", "(Unit 4)") dropped from names; street words shortened,
St/Street, Ave/Avenue; e-mail lower case, Gmail dots and +tags dropped), then compared fuzzily
(rapidfuzz). A pair is a duplicate when two of the three agree (the same e-mail with a similar
name, or the same name at the same address, ...), or when the
name agrees and nothing else can be compared. A different e-mail *and* a different address rule
a pair out however close the names are: that is another branch of a company or another person.
A shared mailbox does not make two people one: the same family name with another first name
(John and Jane Smith at one address) is a household, not a duplicate, and a Jr and a Sr of one
name are two people. Names agree across a short form of the given name (Bill / William, Jessie /
Jessica) and across a surname written in one word or several (McAllister / Mc Allister). Two
e-mails on one company's own domain (not a mailbox provider's) count as the same e-mail when the
names are the same: the company's accounts and its office, with or without its legal suffix.

``surely_same`` is the same judgement for a sync that links without a person looking: the
finder's verdict, and the names must agree too (a shared e-mail alone is never enough).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from booksync.documents import Address, Customer
from booksync.onboarding.words import (
    GENERATIONS,
    LEGAL_SUFFIXES,
    NICKNAMES,
    PERSON_MARKERS,
    PERSONAL_EMAIL_DOMAINS,
    STREET_ABBREVIATIONS,
)
from booksync.providers.port import RemoteCustomer

NAME_AGREES = 0.88
NAME_SIMILAR = 0.6  # enough beside the same e-mail (a nickname, a company's trading name)
NAME_ALONE = 0.95
ADDRESS_AGREES = 0.88
CANDIDATES = 8
_PUNCT = re.compile(r"[^\w\s]")
_SPACES = re.compile(r"\s+")
_GMAIL = {"gmail.com", "googlemail.com"}
_UNIT_WORDS = {"ste", "unit", "apt", "no", "#"}
_NAME_NOISE = LEGAL_SUFFIXES | PERSON_MARKERS | {"the", "and", "of"}
# A building or unit written after the name: "Harbor View - Building C", "Jane Roe (Unit 4)". A bare
# number ("Liberty Framing #2") is left: it is as often a branch's.
_NAME_UNIT = re.compile(
    r"[\s,(-]*\b(?:building|bldg|unit|apt|apartment|suite|ste|tower|phase)\b\.?\s*#?\s*[a-z0-9]{1,4}\)?\s*$"
)
_SHORT_FORMS: dict[str, set[str]] = defaultdict(set)
for _formal, _shorts in NICKNAMES.items():
    for _short in _shorts:
        _SHORT_FORMS[_short].add(_formal)


def normal_name(name: str | None) -> str:
    # Dots and apostrophes join (L.L.C., O'Brien); other punctuation separates words.
    text = _NAME_UNIT.sub("", (name or "").casefold())
    text = text.replace("&", " and ").replace("'", "").replace(".", "")
    text = _PUNCT.sub(" ", text)
    return " ".join(w for w in text.split() if w not in _NAME_NOISE)


def normal_email(email: str | None) -> str:
    if not email or "@" not in email:
        return ""
    local, domain = email.strip().casefold().rsplit("@", 1)
    if domain in _GMAIL:
        local, domain = local.split("+", 1)[0].replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


def normal_street(address: Address | None) -> str:
    if address is None:
        return ""
    lines = " ".join(x for x in (address.line1, address.line2) if x)
    text = _SPACES.sub(" ", _PUNCT.sub(" ", lines.casefold().replace(".", "")))
    short = (STREET_ABBREVIATIONS.get(w, w) for w in text.split())
    # Suite 200, Ste 200, Unit 200 and #200 name the same door: the number is what counts.
    return " ".join(w for w in short if w not in _UNIT_WORDS)


def _generation(name: str | None) -> frozenset[str]:
    return frozenset(_PUNCT.sub(" ", (name or "").casefold().replace(".", "")).split()) & GENERATIONS


def _company_domain(email: str) -> str:
    domain = email.rsplit("@", 1)[-1]
    return "" if not email or domain in PERSONAL_EMAIL_DOMAINS else domain


def same_given_name(a: str, b: str) -> bool:
    """One given name or a short form of it: Bill / William, Jessie / Jessica, Sam / Samantha."""
    if a == b:
        return True
    formal_a, formal_b = _SHORT_FORMS.get(a, set()) | {a}, _SHORT_FORMS.get(b, set()) | {b}
    return bool(formal_a & formal_b)


def _postal(address: Address | None) -> str:
    return (address.postal_code or "").replace(" ", "")[:5].casefold() if address else ""


@dataclass(frozen=True)
class _Side:
    name: str
    email: str
    street: str
    postal: str
    city: str
    generation: frozenset[str]
    domain: str  # the e-mail's domain when it is a company's own, else ""

    @classmethod
    def of(cls, name: str, company: str | None, email: str | None, address: Address | None) -> _Side:
        mailbox = normal_email(email)
        return cls(
            name=normal_name(name) or normal_name(company),
            email=mailbox,
            street=normal_street(address),
            postal=_postal(address),
            city=(address.city or "").casefold().strip() if address else "",
            generation=_generation(name),
            domain=_company_domain(mailbox),
        )


@dataclass(frozen=True)
class Match:
    """A booksync customer the provider's customer duplicates, how sure, and what agreed."""

    doc_id: str
    score: float  # 0..1
    matched: tuple[str, ...]  # of: name, address, email
    compared: tuple[str, ...]  # the fields both sides have

    def as_dict(self) -> dict[str, object]:
        return {
            "customer_id": self.doc_id,
            "score": self.score,
            "matched": list(self.matched),
            "compared": list(self.compared),
        }


def name_similarity(a: str, b: str) -> float:
    if not a or not b:
        return 0.0
    first_a, _, rest_a = a.partition(" ")
    first_b, _, rest_b = b.partition(" ")
    if rest_a and rest_b and first_a != first_b and same_given_name(first_a, first_b):
        b = f"{first_a} {rest_b}"  # Bill Smith reads as William Smith
    # Word order varies ("Smith, John"); a word more on one side ("John & Mary Smith") a little less;
    # a surname in one word or several (McAllister, Mc Allister) is the same.
    joined = 100.0 if a.replace(" ", "") == b.replace(" ", "") else 0.0
    return max(fuzz.token_sort_ratio(a, b), 0.9 * fuzz.token_set_ratio(a, b), joined) / 100


def address_similarity(a: _Side, b: _Side) -> float | None:
    """None when one side has no street address to compare."""
    if not a.street or not b.street:
        return None
    number_a, number_b = a.street.split()[0], b.street.split()[0]
    if any(ch.isdigit() for ch in number_a + number_b) and number_a != number_b:
        return 0.0  # 123 Main St and 125 Main St are different houses
    if a.postal and b.postal and a.postal != b.postal:
        return 0.0
    if not (a.postal and b.postal) and a.city and b.city and fuzz.ratio(a.city, b.city) < 85:
        return 0.0
    return fuzz.token_sort_ratio(a.street, b.street) / 100


def compare(a: _Side, b: _Side) -> tuple[bool, float, tuple[str, ...], tuple[str, ...]]:
    """(duplicate?, score, fields that agreed, fields compared)."""
    name = name_similarity(a.name, b.name)
    address = address_similarity(a, b)
    email = None if not (a.email and b.email) else float(a.email == b.email)
    if email == 0.0 and a.domain and a.domain == b.domain and name >= NAME_ALONE:
        email = 1.0  # the same company's own domain, the same name: its accounts and its office
    compared = tuple(
        f for f, value in (("name", name), ("address", address), ("email", email)) if value is not None
    )
    matched = tuple(
        f
        for f, ok in (
            ("name", name >= NAME_AGREES),
            ("address", address is not None and address >= ADDRESS_AGREES),
            ("email", email == 1.0),
        )
        if ok
    )
    weights = {"name": 0.4, "address": 0.35, "email": 0.25}
    values = {"name": name, "address": address or 0.0, "email": email or 0.0}
    score = round(sum(weights[f] * values[f] for f in compared) / sum(weights[f] for f in compared), 3)
    contradicted = address is not None and address < ADDRESS_AGREES and email == 0.0
    contradicted |= bool(a.generation and b.generation and a.generation != b.generation)  # Jr / Sr
    if contradicted or ("name" not in matched and _household(a.name, b.name)):
        return False, score, matched, compared
    if "email" in matched and address is not None and address < ADDRESS_AGREES:
        # The same mailbox at another address: the customer moved only if the name is the same;
        # a name with more words is another branch sharing the accounts mailbox.
        return fuzz.token_sort_ratio(a.name, b.name) >= 100 * NAME_ALONE, score, matched, compared
    if "email" in matched and (name >= NAME_SIMILAR or "address" in matched):
        return True, score, matched, compared
    if "name" in matched and "address" in matched:
        return True, score, matched, compared
    # Only the name to go on: it must agree closely and nothing may disagree.
    alone = name >= NAME_ALONE and address is None and email is None
    return alone, score, matched, compared


def _household(a: str, b: str) -> bool:
    """Two people of one family: the same last word, first words that are not one another's
    initial or short form (Jane / John Smith, not J. / John Smith)."""
    first_a, *rest_a = a.split() or [""]
    first_b, *rest_b = b.split() or [""]
    if not rest_a or not rest_b or rest_a[-1] != rest_b[-1]:
        return False
    initial = first_a.startswith(first_b) or first_b.startswith(first_a)
    return not (initial or same_given_name(first_a, first_b))


def _side(c: Customer | RemoteCustomer) -> _Side:
    return _Side.of(c.display_name, c.company_name, c.email, c.billing_address)


def surely_same(customer: Customer, remote: RemoteCustomer) -> bool:
    """Whether a sync may link ``customer`` to ``remote`` by itself: a duplicate whose names agree."""
    duplicate, _, matched, _ = compare(_side(customer), _side(remote))
    return duplicate and "name" in matched


class DuplicateFinder:
    """booksync's customers of one company, indexed for matching the provider's, page by page."""

    def __init__(self, existing: Iterable[Customer]) -> None:
        self._sides: list[tuple[str, _Side]] = [(c.id, _side(c)) for c in existing]
        self._names = [side.name for _, side in self._sides]
        self._by_email: dict[str, list[int]] = defaultdict(list)
        self._by_street: dict[str, list[int]] = defaultdict(list)
        for index, (_, side) in enumerate(self._sides):
            if side.email:
                self._by_email[side.email].append(index)
            if side.street:
                self._by_street[side.street.split()[0] + side.postal].append(index)

    def match(self, customer: RemoteCustomer) -> Match | None:
        side = _side(customer)
        best: Match | None = None
        for index in self._candidates(side):
            doc_id, other = self._sides[index]
            duplicate, score, matched, compared = compare(side, other)
            if duplicate and (best is None or score > best.score):
                best = Match(doc_id=doc_id, score=score, matched=matched, compared=compared)
        return best

    def match_all(self, customers: Sequence[RemoteCustomer]) -> list[Match | None]:
        return [self.match(c) for c in customers]

    def _candidates(self, side: _Side) -> set[int]:
        found: set[int] = set()
        if side.email:
            found.update(self._by_email.get(side.email, ()))
        if side.street:
            found.update(self._by_street.get(side.street.split()[0] + side.postal, ()))
        if side.name and self._names:
            similar = process.extract(
                side.name, self._names, scorer=fuzz.token_set_ratio, limit=CANDIDATES, score_cutoff=55
            )
            found.update(index for _, _, index in similar)
        return found
