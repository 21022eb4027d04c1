"""The deposit a Square payout becomes, worked out without any I/O.

The bank receives the payout's ``amount_money``. Square lists what makes it up as payout
entries, each with ``gross``, ``fee`` and ``net = gross - fee`` (a refund's gross and fee are
negative). The deposit says the same thing in the books:

- a CHARGE deposits its booksync payment (waiting in Undeposited Funds) whole, at the amount
  booksync sent QuickBooks; what Square collected beyond it (the tip) goes to the tips account;
- every entry's fee, and the entries that are fees themselves, make one negative line to the
  merchant fees account;
- a REFUND is a negative line to the refunds account (its returned fee nets in the fee line);
- payout fees (DEPOSIT_FEE entries, else the payout's ``payout_fee`` list) and every other
  activity (adjustments, disputes, holds, reserves...) get lines of their own.

So the lines add up to the sum of the entries' net amounts less the payout fees. If that is not
the payout amount, nothing is planned and the numbers say where the difference is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from booksync.providers.square.models import Payout, PayoutEntry

ZERO = Decimal("0.00")
CENT = Decimal("0.01")

CHARGE_TYPES = frozenset({"CHARGE"})
REFUND_TYPES = frozenset({"REFUND"})
# Square's own fees on card processing (ActivityType values); their amounts join the fee line.
FEE_TYPES = frozenset({"FEE", "PROCESSING_FEE", "TAX_ON_FEE", "THIRD_PARTY_FEE", "THIRD_PARTY_FEE_REFUND"})
# What moving the money to the bank cost (ActivityType values; else Payout.payout_fee).
PAYOUT_FEE_TYPES = frozenset({"DEPOSIT_FEE", "DEPOSIT_FEE_REVERSED"})

LineKind = Literal["payment", "tip", "fees", "refund", "adjustment", "payout_fee"]


@dataclass(frozen=True)
class PayoutAccounts:
    """The accounts the lines go to (provider ids; None: not chosen in the settings)."""

    bank: str | None
    merchant_fees: str | None
    tips: str | None = None
    refunds: str | None = None
    adjustments: str | None = None
    payout_fees: str | None = None


# The connection setting that names each account (what a waiting payout asks the admin to choose).
SETTING_OF: Mapping[str, str] = {
    "bank": "deposit_bank_account_id",
    "merchant_fees": "merchant_fees_account_id",
    "tips": "tips_account_id",
    "refunds": "refunds_account_id",
    "adjustments": "adjustments_account_id",
    "payout_fees": "payout_fees_account_id",
}
_ACCOUNT_OF: Mapping[LineKind, str] = {
    "tip": "tips",
    "fees": "merchant_fees",
    "refund": "refunds",
    "adjustment": "adjustments",
    "payout_fee": "payout_fees",
}


@dataclass(frozen=True)
class KnownPayment:
    """What booksync knows of one Square payment in the payout."""

    square_payment_id: str
    remote_id: str | None = None  # the provider's Payment id, once it is in the books
    amount: Decimal | None = None  # what that Payment carries (applied to invoices)
    problem: str | None = None  # why it is not in the books (unknown, unmatched, sync failed)


@dataclass(frozen=True)
class KnownRefund:
    """What booksync knows of one Square refund in the payout."""

    square_refund_id: str
    remote_id: str | None = None  # the provider's refund receipt, paid out of Undeposited Funds
    amount: Decimal | None = None
    problem: str | None = None  # why it is not in the books


@dataclass(frozen=True)
class PlannedLine:
    kind: LineKind
    amount: Decimal
    description: str
    payment_id: str | None = None  # provider Payment id (kind "payment")
    account_id: str | None = None
    entries: tuple[str, ...] = ()  # the payout entries it comes from
    refund_id: str | None = None  # provider refund receipt id (kind "refund", when booksync has it)

    def to_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "amount": str(self.amount),
            "description": self.description,
            "payment_id": self.payment_id,
            "account_id": self.account_id,
            "refund_id": self.refund_id,
            "entries": list(self.entries),
        }


@dataclass(frozen=True)
class Planned:
    lines: tuple[PlannedLine, ...]
    amount: Decimal

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO)


@dataclass(frozen=True)
class Waiting:
    waiting_for: tuple[str, ...]


@dataclass(frozen=True)
class NotBalanced:
    lines: tuple[PlannedLine, ...]
    lines_total: Decimal
    amount: Decimal
    explanation: tuple[str, ...]

    @property
    def difference(self) -> Decimal:
        return self.lines_total - self.amount

    @property
    def message(self) -> str:
        said = (
            f"The deposit lines total {self.lines_total}, the payout is {self.amount}: "
            f"difference {self.difference}."
        )
        return " ".join((said, *self.explanation))


@dataclass(frozen=True)
class NotADeposit:
    reason: str


Plan = Planned | Waiting | NotBalanced | NotADeposit


@dataclass
class _Builder:
    accounts: PayoutAccounts
    lines: list[PlannedLine] = field(default_factory=list)
    fees: Decimal = ZERO
    fee_entries: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    missing_accounts: set[str] = field(default_factory=set)
    foreign: bool = False  # an entry in another currency than the payout

    def add(self, kind: LineKind, amount: Decimal, description: str, entry: str, **refs: str | None) -> None:
        if amount == ZERO:
            return
        account = None
        linked = refs.get("payment_id") or refs.get("refund_id")
        if not linked:
            account = getattr(self.accounts, _ACCOUNT_OF[kind])
            if account is None:
                self.missing_accounts.add(_ACCOUNT_OF[kind])
        self.lines.append(
            PlannedLine(
                kind,
                amount,
                description,
                refs.get("payment_id"),
                account,
                entries=(entry,),
                refund_id=refs.get("refund_id"),
            )
        )


def _amounts(entry: PayoutEntry, notes: list[str]) -> tuple[Decimal, Decimal] | None:
    """(gross, fee) of an entry, with any inconsistency in Square's numbers noted."""
    fee = entry.fee.amount if entry.fee is not None else ZERO
    if entry.gross is None and entry.net is None:
        notes.append(f"Entry {entry.id} ({entry.type}) has no amount.")
        return None
    if entry.gross is not None:
        gross = entry.gross.amount
    else:
        assert entry.net is not None  # checked above
        gross = entry.net.amount + fee
    if entry.net is not None and entry.net.amount != gross - fee:
        notes.append(
            f"Entry {entry.id} ({entry.type}): net {entry.net.amount} is not gross {gross} less fee {fee} "
            f"(off by {entry.net.amount - (gross - fee)})."
        )
    return gross, fee


def plan(
    payout: Payout,
    entries: Iterable[PayoutEntry],
    payments: Mapping[str, KnownPayment],
    accounts: PayoutAccounts,
    refunds: Mapping[str, KnownRefund] | None = None,
) -> Plan:
    """The deposit for ``payout``, or what it waits for, or why it cannot add up."""
    amount = payout.amount.amount
    if amount <= ZERO:
        return NotADeposit(
            f"Payout {payout.id} takes {-amount} {payout.amount.currency} from the bank: "
            "a withdrawal is not a deposit; record it in QuickBooks by hand."
        )
    b = _Builder(accounts)
    entries = list(entries)
    for entry in entries:
        if entry.gross is not None and entry.gross.currency != payout.amount.currency:
            b.foreign = True
            currency = payout.amount.currency
            b.notes.append(f"Entry {entry.id} is in {entry.gross.currency}, the payout in {currency}.")
        _entry(b, entry, payments, refunds or {})
    if not any(e.type in PAYOUT_FEE_TYPES for e in entries):
        for fee in payout.payout_fees:
            b.add("payout_fee", -fee.amount.amount, f"Square payout fee ({fee.type or 'fee'})", payout.id)
    if b.fees != ZERO:
        b.add("fees", -b.fees, "Square processing fees", ",".join(b.fee_entries))
    if accounts.bank is None:
        b.missing_accounts.add("bank")
    b.waiting.extend(
        f"choose the {name.replace('_', ' ')} account in settings ({SETTING_OF[name]})"
        for name in sorted(b.missing_accounts)
    )
    if b.waiting:
        return Waiting(tuple(b.waiting))
    lines = tuple(b.lines)
    total = sum((line.amount for line in lines), ZERO)
    if total != amount or b.foreign:
        return NotBalanced(lines, total, amount, tuple(b.notes) or (_breakdown(lines, len(entries)),))
    return Planned(lines, amount)


def _entry(
    b: _Builder, entry: PayoutEntry, payments: Mapping[str, KnownPayment], refunds: Mapping[str, KnownRefund]
) -> None:
    amounts = _amounts(entry, b.notes)
    if amounts is None:
        return
    gross, fee = amounts
    if entry.type in FEE_TYPES:
        # A fee entry's whole net is a fee: Square's fee and any gross it carries.
        b.fees += fee - gross
        b.fee_entries.append(entry.id)
        return
    if fee != ZERO:
        b.fees += fee
        b.fee_entries.append(entry.id)
    if entry.type in CHARGE_TYPES and entry.payment_id:
        _charge(b, entry, gross, payments.get(entry.payment_id))
    elif entry.type in REFUND_TYPES:
        _refund(b, entry, gross, refunds.get(entry.refund_id or ""))
    elif entry.type in PAYOUT_FEE_TYPES:
        b.add("payout_fee", gross, f"Square payout fee ({entry.type})", entry.id)
    else:
        b.add("adjustment", gross, f"Square {entry.type.lower().replace('_', ' ')} {entry.id}", entry.id)


def _charge(b: _Builder, entry: PayoutEntry, gross: Decimal, known: KnownPayment | None) -> None:
    square_id = str(entry.payment_id)
    if known is None or known.remote_id is None or known.amount is None:
        reason = known.problem if known is not None and known.problem else "not recorded in booksync"
        b.waiting.append(f"payment {square_id} ({reason})")
        return
    b.add("payment", known.amount, f"Square payment {square_id}", entry.id, payment_id=known.remote_id)
    tip = gross - known.amount
    if tip < ZERO:
        b.notes.append(
            f"Payment {square_id}: Square collected {gross}, less than the {known.amount} "
            f"booksync recorded (off by {tip})."
        )
        return
    b.add("tip", tip, f"Tip on Square payment {square_id}", entry.id)


def _refund(b: _Builder, entry: PayoutEntry, gross: Decimal, known: KnownRefund | None) -> None:
    """The refund receipt booksync made nets whole out of Undeposited Funds; a refund booksync
    never recorded goes to the refunds account (or waits for it to be chosen, or recorded)."""
    of = f" of payment {entry.payment_id}" if entry.payment_id else ""
    description = f"Square refund {entry.refund_id or entry.id}{of}"
    if known is not None and known.remote_id is not None and known.amount is not None:
        b.add("refund", -known.amount, description, entry.id, refund_id=known.remote_id)
        if -known.amount != gross:
            b.notes.append(
                f"Refund {known.square_refund_id}: Square took {-gross}, booksync recorded {known.amount}."
            )
        return
    if known is not None and known.problem and b.accounts.refunds is None:
        b.waiting.append(f"refund {known.square_refund_id} ({known.problem})")
        return
    b.add("refund", gross, description, entry.id)


def _breakdown(lines: tuple[PlannedLine, ...], entries: int) -> str:
    by_kind: dict[str, Decimal] = {}
    for line in lines:
        by_kind[line.kind] = by_kind.get(line.kind, ZERO) + line.amount
    parts = ", ".join(f"{kind} {total}" for kind, total in by_kind.items()) or "no lines"
    return (
        f"From {entries} payout entries: {parts}. Square's entries do not make up the payout "
        "amount; an entry may be missing from Square's list."
    )
