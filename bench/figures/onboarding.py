"""The post-connection wizard's classifier and duplicate finder on the labelled sets.

``classifier.accuracy``: the share of the customers in tests/data/onboarding/customers.json the
rules classifier types as labelled (Homeowner, Business, Builder). ``duplicates.precision`` and
``duplicates.recall``: over tests/data/onboarding/pairs.json, the pairs the duplicate finder calls
duplicates that are (precision) and the labelled duplicates it finds (recall). The sets are built
by tests/data/onboarding/generate.py, with hard cases the rules are expected to miss.

The same figures on tests/data/onboarding/unseen/ (written apart from the rules, see its README):
``_holdout`` over the rows held out from rule-writing (by a hash of each row's id), ``_tuning``
over the rest. The goals there are the issue's: accuracy >= 0.95, duplicate recall >= 0.95,
precision >= 0.98. ``classifier.accuracy_holdout_llm``: the model classifier on the held-out part,
only when a model endpoint is configured (CLASSIFIER_LLM_URL and CLASSIFIER_LLM_MODEL, the key in
CLASSIFIER_LLM_API_KEY); its note counts the customers the rules answered instead.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

from bench.figure import BenchError, Figure, Goal

DATA = Path(__file__).resolve().parents[2] / "tests" / "data" / "onboarding"
UNSEEN = DATA / "unseen"
FLOOR = 0.85
UNSEEN_ACCURACY, UNSEEN_RECALL, UNSEEN_PRECISION = 0.95, 0.95, 0.98


def part_of(row_id: str) -> str:
    """The unseen set's split (tests/data/onboarding/unseen/README.md): a third held out by id hash."""
    return "holdout" if int(hashlib.sha256(row_id.encode()).hexdigest(), 16) % 3 == 0 else "tuning"


def load(name: str, where: Path = DATA, part: str | None = None) -> list[dict[str, Any]]:
    path = where / name
    if not path.exists():
        raise BenchError(f"missing: {path} (run python {where / 'generate.py'})")
    rows: list[dict[str, Any]] = json.loads(path.read_text())
    return [r for r in rows if part is None or part_of(str(r["id"])) == part]


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


def classifier_results(
    rows: list[dict[str, Any]] | None = None, classifier: Any = None
) -> tuple[float, Counter[tuple[str, str]]]:
    """Accuracy, and (label, predicted) counts for the confusion table (the rules by default)."""
    from booksync.onboarding.classifier import RulesClassifier

    rows = load("customers.json") if rows is None else rows
    predicted = (classifier or RulesClassifier()).classify([_remote(r) for r in rows])
    confusion: Counter[tuple[str, str]] = Counter(
        (row["label"], p.type.value) for row, p in zip(rows, predicted, strict=True)
    )
    right = sum(n for (label, guess), n in confusion.items() if label == guess)
    return right / len(rows), confusion


def duplicate_results(pairs: list[dict[str, Any]] | None = None) -> tuple[float, float, int]:
    """Precision, recall and the number of pairs."""
    from booksync.documents import Customer
    from booksync.onboarding.duplicates import DuplicateFinder

    pairs = load("pairs.json") if pairs is None else pairs
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


def _misses(confusion: Counter[tuple[str, str]]) -> str:
    wrong = sorted((k, n) for k, n in confusion.items() if k[0] != k[1])
    return ", ".join(f"{label}->{guess} {n}" for (label, guess), n in wrong) or "none"


def unseen(part: str) -> list[Figure]:
    """The figures on one part of the unseen set: ``tuning`` or ``holdout``."""
    accuracy, confusion = classifier_results(load("customers.json", UNSEEN, part))
    precision, recall, pairs = duplicate_results(load("pairs.json", UNSEEN, part))
    customers = sum(confusion.values())
    return [
        Figure(f"classifier.accuracy_{part}", round(accuracy, 3), "", Goal(">=", UNSEEN_ACCURACY),
               note=f"unseen set, {part} part, {customers} customers; misses: {_misses(confusion)}"),
        Figure(f"duplicates.precision_{part}", round(precision, 3), "", Goal(">=", UNSEEN_PRECISION),
               note=f"unseen set, {part} part, {pairs} pairs"),
        Figure(f"duplicates.recall_{part}", round(recall, 3), "", Goal(">=", UNSEEN_RECALL),
               note=f"unseen set, {part} part, {pairs} pairs"),
    ]  # fmt: skip


def model_holdout() -> list[Figure]:
    """The model classifier on the held-out part; nothing when no endpoint is configured."""
    url, model = os.environ.get("CLASSIFIER_LLM_URL"), os.environ.get("CLASSIFIER_LLM_MODEL")
    if not url or not model:
        return []
    from booksync.chat import ChatModel
    from booksync.onboarding.llm import LlmClassifier

    llm = LlmClassifier(
        ChatModel(
            url=url,
            model=model,
            api_key=lambda: os.environ.get("CLASSIFIER_LLM_API_KEY"),
            timeout_seconds=float(os.environ.get("CLASSIFIER_LLM_TIMEOUT_SECONDS", "30")),
        )
    )
    rows = load("customers.json", UNSEEN, "holdout")
    answered: list[str] = []

    class Counting:
        def classify(self, customers: Any) -> Any:
            out = llm.classify(customers)
            answered.extend(c.source for c in out)
            return out

    accuracy, confusion = classifier_results(rows, Counting())
    fallbacks = sum(source != "llm" for source in answered)
    return [
        Figure("classifier.accuracy_holdout_llm", round(accuracy, 3), "", Goal(">=", UNSEEN_ACCURACY),
               note=f"model {model}, {len(rows)} held-out customers, {fallbacks} answered by the rules; "
                    f"misses: {_misses(confusion)}"),
    ]  # fmt: skip


def measure() -> list[Figure]:
    accuracy, confusion = classifier_results()
    misses = _misses(confusion)
    precision, recall, pairs = duplicate_results()
    customers = sum(confusion.values())
    return [
        Figure("classifier.accuracy", round(accuracy, 3), "", Goal(">=", FLOOR),
               note=f"rules classifier, {customers} labelled customers; misses: {misses}"),
        Figure("duplicates.precision", round(precision, 3), "", Goal(">=", FLOOR), note=f"{pairs} pairs"),
        Figure("duplicates.recall", round(recall, 3), "", Goal(">=", FLOOR), note=f"{pairs} pairs"),
        *unseen("tuning"),
        *unseen("holdout"),
        *model_holdout(),
    ]  # fmt: skip
