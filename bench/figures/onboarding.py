"""The post-connection wizard's classifier and duplicate finder on the labelled sets.

``classifier.accuracy``: the share of the customers in tests/data/onboarding/customers.json the
rules classifier types as labelled (Homeowner, Business, Builder). ``duplicates.precision`` and
``duplicates.recall``: over tests/data/onboarding/pairs.json, the pairs the duplicate finder calls
duplicates that are (precision) and the labelled duplicates it finds (recall). The sets are built
by tests/data/onboarding/generate.py, with hard cases the rules are expected to miss.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from bench.figure import BenchError, Figure, Goal

DATA = Path(__file__).resolve().parents[2] / "tests" / "data" / "onboarding"
FLOOR = 0.85


def _load(name: str) -> list[dict[str, Any]]:
    path = DATA / name
    if not path.exists():
        raise BenchError(f"missing: {path} (run python tests/data/onboarding/generate.py)")
    rows: list[dict[str, Any]] = json.loads(path.read_text())
    return rows


def _remote(row: dict[str, Any]) -> Any:
    from booksync.documents import Address
    from booksync.providers.port import RemoteCustomer

    address = row.get("billing_address")
    return RemoteCustomer(
        id=str(row["id"]),
        display_name=row["display_name"],
        given_name=row.get("given_name"),
        family_name=row.get("family_name"),
        company_name=row.get("company_name"),
        email=row.get("email"),
        phone=row.get("phone"),
        billing_address=Address.model_validate(address) if address else None,
    )


def classifier_results() -> tuple[float, Counter[tuple[str, str]]]:
    """Accuracy, and (label, predicted) counts for the confusion table."""
    from booksync.onboarding.classifier import RulesClassifier

    rows = _load("customers.json")
    predicted = RulesClassifier().classify([_remote(r) for r in rows])
    confusion: Counter[tuple[str, str]] = Counter(
        (row["label"], p.type.value) for row, p in zip(rows, predicted, strict=True)
    )
    right = sum(n for (label, guess), n in confusion.items() if label == guess)
    return right / len(rows), confusion


def duplicate_results() -> tuple[float, float, int]:
    """Precision, recall and the number of pairs."""
    from booksync.documents import Customer
    from booksync.onboarding.duplicates import DuplicateFinder

    pairs = _load("pairs.json")
    tp = fp = fn = 0
    for pair in pairs:
        existing = Customer.model_validate({k: v for k, v in pair["existing"].items() if v is not None})
        found = DuplicateFinder([existing]).match(_remote(pair["provider"])) is not None
        tp += found and pair["duplicate"]
        fp += found and not pair["duplicate"]
        fn += (not found) and pair["duplicate"]
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return precision, recall, len(pairs)


def measure() -> list[Figure]:
    accuracy, confusion = classifier_results()
    misses = ", ".join(
        f"{label}->{guess} {n}" for (label, guess), n in sorted(confusion.items()) if label != guess
    )
    precision, recall, pairs = duplicate_results()
    customers = sum(confusion.values())
    return [
        Figure("classifier.accuracy", round(accuracy, 3), "", Goal(">=", FLOOR),
               note=f"rules classifier, {customers} labelled customers; misses: {misses or 'none'}"),
        Figure("duplicates.precision", round(precision, 3), "", Goal(">=", FLOOR), note=f"{pairs} pairs"),
        Figure("duplicates.recall", round(recall, 3), "", Goal(">=", FLOOR), note=f"{pairs} pairs"),
    ]  # fmt: skip
