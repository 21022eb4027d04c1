"""The rules classifier on targeted cases, and its accuracy floor on the labelled set."""

from __future__ import annotations

import pytest
from booksync.documents import Address
from booksync.onboarding.classifier import CustomerClassifier, CustomerType, RulesClassifier
from booksync.providers.port import RemoteCustomer

from bench.figures.onboarding import FLOOR, UNSEEN, classifier_results, load

HOME = Address(line1="14 Maple Street", city="Austin", region="TX", postal_code="78701")
OFFICE = Address(line1="500 Congress Ave", line2="Suite 300", city="Austin", region="TX", postal_code="78701")


def one(**fields: object) -> tuple[CustomerType, str]:
    customer = RemoteCustomer(id="1", **fields)  # type: ignore[arg-type]
    result = RulesClassifier().one(customer)
    return result.type, result.reason


@pytest.mark.parametrize(
    ("fields", "expected", "because"),
    [
        ({"display_name": "Summit Construction LLC"}, CustomerType.BUILDER, "construction"),
        ({"display_name": "Oakwood Custom Homes"}, CustomerType.BUILDER, "homes"),
        ({"display_name": "Peak Roofing & Exteriors"}, CustomerType.BUILDER, "roofing"),
        ({"display_name": "Lakeside Remodeling", "email": "office@lakesideremodel.com"}, CustomerType.BUILDER, "remodeling"),
        ({"display_name": "Mark Ruiz", "given_name": "Mark", "family_name": "Ruiz",
          "email": "mark@ruizbuilders.com"}, CustomerType.BUILDER, "ruizbuilders.com"),
        ({"display_name": "Acme Widgets Inc."}, CustomerType.BUSINESS, "INC"),
        ({"display_name": "Riverside Dental Group", "billing_address": OFFICE}, CustomerType.BUSINESS, "dental"),
        ({"display_name": "Karen Wu", "given_name": "Karen", "family_name": "Wu",
          "company_name": "Wu Family Dentistry", "email": "karen@wudental.com"}, CustomerType.BUSINESS, "company name"),
        ({"display_name": "John Smith", "email": "jsmith@gmail.com", "billing_address": HOME},
         CustomerType.HOMEOWNER, "given name"),
        ({"display_name": "Okafor, Oluwaseun", "given_name": "Oluwaseun", "family_name": "Okafor"},
         CustomerType.HOMEOWNER, "personal name"),
        ({"display_name": "Adam & Maria Taylor", "email": "ataylor@yahoo.com"}, CustomerType.HOMEOWNER, "couple"),
        ({"display_name": "The Nakamura Family"}, CustomerType.HOMEOWNER, "family"),
        ({"display_name": "Mr. & Mrs. Lindqvist", "billing_address": HOME}, CustomerType.HOMEOWNER, "title"),
        # Issue 19, unseen books: a trust or an estate holds a home; a surname that is a trade word.
        ({"display_name": "The Okafor Family Trust", "email": "okafors@gmail.com"}, CustomerType.HOMEOWNER, "trust"),
        ({"display_name": "Whitcombe Revocable Living Trust"}, CustomerType.HOMEOWNER, "trust"),
        ({"display_name": "Estate of Ruth Law"}, CustomerType.HOMEOWNER, "estate"),
        ({"display_name": "Camila Builder", "given_name": "Camila", "family_name": "Builder", "billing_address": HOME},
         CustomerType.HOMEOWNER, "personal name"),
        ({"display_name": "Lodge, Linda", "email": "llodge@kroger.com"}, CustomerType.HOMEOWNER, "personal name"),
        ({"display_name": "Perry & Esther Frame", "billing_address": HOME}, CustomerType.HOMEOWNER, "couple"),
        # A practice on its owner's name, a shop on a personal mailbox, a clinic named "family".
        ({"display_name": "Dana Whitfield, CPA", "email": "dwhitfield@gmail.com"}, CustomerType.BUSINESS, "credential"),
        ({"display_name": "Joel Ferris", "given_name": "Joel", "family_name": "Ferris", "email": "joel@ferrislaw.com",
          "billing_address": HOME}, CustomerType.BUSINESS, "own name"),
        ({"display_name": "Imelda's Tamales", "email": "imelda88@yahoo.com", "billing_address": HOME},
         CustomerType.BUSINESS, "possessive"),
        ({"display_name": "Sunnyside Laundromat", "email": "sunnyside4@gmail.com", "billing_address": HOME},
         CustomerType.BUSINESS, "laundromat"),
        ({"display_name": "Canyon Family Medicine", "email": "canyonfm@yahoo.com", "billing_address": HOME},
         CustomerType.BUSINESS, "medicine"),
        # A national builder's regional division, its initials no title.
        ({"display_name": "D.R. Horton - Austin Division", "email": "ap@drhorton.com", "billing_address": OFFICE},
         CustomerType.BUILDER, "division"),
        ({"display_name": "Garnet Communities", "email": "ap@garnetliving.com"}, CustomerType.BUILDER, "communities"),
    ],
)  # fmt: skip
def test_rules_type_with_a_reason(fields: dict[str, object], expected: CustomerType, because: str) -> None:
    kind, reason = one(**fields)
    assert kind == expected
    assert because.lower() in reason.lower()


def test_a_homeowner_on_an_employers_domain_stays_a_homeowner() -> None:
    kind, _ = one(display_name="Joel Ferris", given_name="Joel", family_name="Ferris",
                  email="joel.ferris@boeing.com", billing_address=HOME)  # fmt: skip
    assert kind == CustomerType.HOMEOWNER
    assert one(display_name="Dr. Joel Ferris", billing_address=HOME)[0] == CustomerType.HOMEOWNER
    assert "title" not in one(display_name="D.R. Horton Greenville")[1]  # initials, not "Dr."


def test_the_address_and_domain_tip_an_ambiguous_name() -> None:
    # A name that is neither clearly a person's nor a firm's: where it is and who answers decide.
    assert one(display_name="Northwind", email="ap@northwind.com", billing_address=OFFICE)[0] == (
        CustomerType.BUSINESS
    )
    assert one(display_name="Northwind", email="northwind77@gmail.com", billing_address=HOME)[0] == (
        CustomerType.HOMEOWNER
    )


def test_rules_is_a_customer_classifier_and_keeps_order() -> None:
    rules = RulesClassifier()
    assert isinstance(rules, CustomerClassifier)
    customers = [
        RemoteCustomer(id="a", display_name="Kim Lee"),
        RemoteCustomer(id="b", display_name="Lee Builders"),
    ]
    assert [c.type for c in rules.classify(customers)] == [CustomerType.HOMEOWNER, CustomerType.BUILDER]


def test_accuracy_on_the_labelled_set_clears_the_floor() -> None:
    accuracy, confusion = classifier_results()
    assert sum(confusion.values()) >= 200
    assert {label for label, _ in confusion} == {"Homeowner", "Business", "Builder"}
    assert accuracy >= FLOOR, confusion


def test_accuracy_on_the_unseen_sets_tuning_part_holds() -> None:
    """Issue 19: the rules written from the unseen set's tuning part keep its figure (0.929 when
    written); the held-out part is measured by the bench only."""
    accuracy, confusion = classifier_results(load("customers.json", UNSEEN, "tuning"))
    assert sum(confusion.values()) >= 250
    assert accuracy >= 0.92
