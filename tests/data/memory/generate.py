"""Builds the billing memory's labelled set (run: python tests/data/memory/generate.py).

history.json: two companies' billing histories as the memory keeps them (BillingRecord.to_dict()):
a home-services company doing plumbing, HVAC, electrical, landscaping and cleaning (the one the
questions are about) and a smaller second company with the same trades and items (for isolation:
its documents must never answer the first's questions). Invoices with realistic line items, unit
prices and unit costs, estimates (some accepted and invoiced after), payments of paid invoices.

questions.json: questions a person asks the assistant about the first company, each labelled
with the keys of the documents it should find (``relevant``), its kind, and a filter where the
question carries one. The labels come from the generated data by rule (every document matching
the question's facts), never from a search. Seeded, so the output is stable; both files are
committed. README.md says how it was made and how it is split.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
COMPANY = "co-summit"
OTHER_COMPANY = "co-harbor"
START = date(2025, 1, 6)
END = date(2026, 11, 27)

# trade -> [(item name, unit, price range, cost share of price, descriptions, job notes)]
Item = tuple[str, str, tuple[float, float], float, list[str], list[str]]
CATALOG: dict[str, list[Item]] = {
    "plumbing": [
        (
            "Water heater installation",
            "each",
            (1250, 2900),
            0.58,
            ["40 gal gas tank", "50 gal electric tank", "tankless, whole house"],
            [
                "old tank leaking at the base",
                "no hot water, pilot assembly failed",
                "upsized for new bathroom",
            ],
        ),
        (
            "Drain cleaning",
            "each",
            (150, 450),
            0.15,
            ["kitchen sink line snaked", "main sewer line hydro-jetted", "bathtub drain cleared"],
            ["grease clog in kitchen line", "roots in the main line at 40 ft", "slow drains throughout"],
        ),
        (
            "Toilet replacement",
            "each",
            (350, 680),
            0.45,
            ["standard two-piece", "comfort height, elongated bowl"],
            ["cracked tank", "running toilet, old flapper valve obsolete"],
        ),
        (
            "Sump pump replacement",
            "each",
            (450, 950),
            0.5,
            ["1/2 HP submersible", "1/3 HP pedestal"],
            ["basement flooded after storm", "float switch stuck"],
        ),
        (
            "Faucet repair",
            "each",
            (120, 260),
            0.25,
            ["kitchen faucet cartridge", "bathroom lavatory faucet"],
            ["dripping faucet", "low flow at kitchen tap"],
        ),
        (
            "Garbage disposal installation",
            "each",
            (220, 420),
            0.5,
            ["3/4 HP continuous feed"],
            ["old disposal jammed and humming"],
        ),
        (
            "PEX repipe",
            "ft",
            (8, 14),
            0.35,
            ["PEX-A supply lines"],
            ["galvanized pipes corroded", "pinhole leaks in copper"],
        ),
        (
            "Gas line installation",
            "each",
            (400, 1200),
            0.4,
            ["black iron to range", "CSST to outdoor grill"],
            ["new gas range in kitchen remodel"],
        ),
        ("Backflow test", "each", (85, 150), 0.1, ["annual certification"], ["city backflow notice"]),
    ],
    "hvac": [
        (
            "AC tune-up",
            "each",
            (89, 149),
            0.2,
            ["cooling season maintenance"],
            ["coil cleaned, refrigerant checked before summer"],
        ),
        (
            "Furnace tune-up",
            "each",
            (89, 149),
            0.2,
            ["heating season maintenance"],
            ["burners cleaned, flame sensor polished"],
        ),
        (
            "Furnace replacement",
            "each",
            (3800, 7500),
            0.6,
            ["80% AFUE 60k BTU", "96% AFUE two-stage"],
            ["heat exchanger cracked", "furnace 25 years old, no heat"],
        ),
        (
            "Central AC installation",
            "each",
            (4500, 9500),
            0.6,
            ["3-ton 16 SEER condenser and coil", "4-ton 18 SEER variable speed"],
            ["old unit on R-22, compressor failed"],
        ),
        (
            "Heat pump repair",
            "each",
            (250, 900),
            0.35,
            ["reversing valve", "defrost board"],
            ["heat pump stuck in defrost", "blowing cold air in heat mode"],
        ),
        (
            "Smart thermostat installation",
            "each",
            (150, 450),
            0.5,
            ["Wi-Fi thermostat with C-wire adapter"],
            ["customer supplied thermostat"],
        ),
        (
            "Refrigerant recharge",
            "lb",
            (60, 120),
            0.3,
            ["R-410A"],
            ["system low on refrigerant, leak search recommended"],
        ),
        (
            "Duct cleaning",
            "each",
            (350, 700),
            0.2,
            ["whole house, 12 vents"],
            ["dust and pet hair in returns"],
        ),
        (
            "Capacitor replacement",
            "each",
            (150, 300),
            0.15,
            ["45/5 MFD dual run capacitor"],
            ["AC not cooling, fan not spinning"],
        ),
        (
            "Mini-split installation",
            "each",
            (2800, 5500),
            0.55,
            ["12k BTU single zone", "two-zone 18k BTU"],
            ["garage converted to office"],
        ),
    ],
    "electrical": [
        (
            "Panel upgrade",
            "each",
            (1800, 4000),
            0.45,
            ["100A to 200A service", "main breaker panel replacement"],
            ["Federal Pacific panel replaced", "adding EV charger"],
        ),
        (
            "Outlet installation",
            "each",
            (120, 250),
            0.3,
            ["duplex receptacle, new circuit"],
            ["outlets for home office"],
        ),
        (
            "GFCI outlet replacement",
            "each",
            (90, 180),
            0.3,
            ["kitchen and bath GFCI"],
            ["GFCI tripping, would not reset"],
        ),
        (
            "Ceiling fan installation",
            "each",
            (150, 350),
            0.3,
            ["fan with light kit, new brace box"],
            ["replaced light fixture with fan"],
        ),
        (
            "EV charger installation",
            "each",
            (800, 2200),
            0.45,
            ["Level 2, 40A circuit", "Level 2, 60A hardwired"],
            ["new electric car", "charger in detached garage"],
        ),
        (
            "Recessed lighting",
            "each",
            (110, 220),
            0.35,
            ["6 in LED can lights"],
            ["kitchen lighting upgrade"],
        ),
        (
            "Whole-house surge protector",
            "each",
            (300, 600),
            0.4,
            ["type 2 at the panel"],
            ["after lightning storm"],
        ),
        (
            "Standby generator installation",
            "each",
            (5000, 12000),
            0.6,
            ["22kW natural gas with transfer switch"],
            ["power outages last winter"],
        ),
        (
            "Electrical troubleshooting",
            "hour",
            (95, 150),
            0.0,
            ["diagnose and repair"],
            ["half the house lost power", "flickering lights in hallway"],
        ),
    ],
    "landscaping": [
        ("Lawn mowing", "visit", (40, 90), 0.3, ["mow, edge and blow"], ["weekly service"]),
        (
            "Mulch installation",
            "yard",
            (60, 110),
            0.4,
            ["hardwood mulch, beds edged"],
            ["spring refresh of beds"],
        ),
        (
            "Sod installation",
            "sq ft",
            (1.2, 2.5),
            0.5,
            ["fescue sod, soil prep"],
            ["front yard regrade after drainage work"],
        ),
        (
            "Tree trimming",
            "each",
            (300, 1500),
            0.2,
            ["oak canopy raise", "dead limb removal"],
            ["branches over the roof"],
        ),
        (
            "Shrub pruning",
            "each",
            (150, 450),
            0.15,
            ["boxwood and hedges shaped"],
            ["overgrown hedges along driveway"],
        ),
        ("Spring cleanup", "each", (250, 600), 0.2, ["beds cleared, debris hauled"], ["winter debris"]),
        (
            "Irrigation repair",
            "each",
            (120, 450),
            0.3,
            ["broken sprinkler heads and valve"],
            ["zone 3 not coming on"],
        ),
        (
            "Sprinkler winterization",
            "each",
            (75, 150),
            0.1,
            ["blowout of all zones"],
            ["before first freeze"],
        ),
        (
            "Paver patio installation",
            "sq ft",
            (15, 30),
            0.5,
            ["concrete pavers on compacted base"],
            ["backyard patio with fire pit"],
        ),
        (
            "Leaf removal",
            "each",
            (150, 400),
            0.15,
            ["fall leaf cleanup and haul away"],
            ["leaves clogging gutters"],
        ),
    ],
    "cleaning": [
        ("Standard house cleaning", "each", (120, 220), 0.35, ["kitchen, baths, floors"], ["biweekly clean"]),
        (
            "Deep cleaning",
            "each",
            (250, 450),
            0.35,
            ["baseboards, inside appliances"],
            ["before holiday guests"],
        ),
        (
            "Move-out cleaning",
            "each",
            (300, 600),
            0.35,
            ["empty home, inside cabinets"],
            ["tenant moved out, landlord job"],
        ),
        ("Carpet cleaning", "room", (40, 75), 0.25, ["hot water extraction"], ["pet stains in living room"]),
        ("Window washing", "window", (6, 12), 0.2, ["inside and out, screens"], ["spring windows"]),
        (
            "Office cleaning",
            "month",
            (600, 1800),
            0.45,
            ["nightly janitorial, 5 days a week"],
            ["monthly contract"],
        ),
        (
            "Post-construction cleaning",
            "each",
            (500, 1500),
            0.35,
            ["drywall dust, windows, floors"],
            ["after kitchen remodel"],
        ),
        ("Upholstery cleaning", "each", (100, 250), 0.25, ["sofa and two chairs"], ["coffee spill on sofa"]),
        ("Pressure washing", "sq ft", (0.25, 0.5), 0.2, ["driveway and walkways"], ["mildew on driveway"]),
    ],
}
QUANTITY: dict[str, tuple[int, int]] = {
    "ft": (60, 300),
    "lb": (2, 6),
    "hour": (1, 4),
    "visit": (4, 4),
    "yard": (3, 15),
    "sq ft": (300, 1800),
    "room": (2, 6),
    "window": (15, 40),
    "month": (1, 1),
    "each": (1, 1),
}
EXTRAS = {  # small lines that ride along with a job
    "plumbing": ("Service call", (79, 129)),
    "hvac": ("Diagnostic fee", (89, 139)),
    "electrical": ("Permit fee", (75, 250)),
    "landscaping": ("Debris haul-away", (45, 120)),
    "cleaning": ("Supplies and travel", (15, 40)),
}

GIVEN = [
    "James",
    "Maria",
    "Robert",
    "Linda",
    "Michael",
    "Susan",
    "David",
    "Karen",
    "Daniel",
    "Nancy",
    "Kevin",
    "Laura",
    "Brian",
    "Emily",
    "Jason",
    "Angela",
    "Marcus",
    "Priya",
    "Tomas",
    "Grace",
    "Omar",
    "Hannah",
    "Luis",
    "Chloe",
    "Derek",
    "Fatima",
    "Wesley",
    "Ingrid",
    "Raj",
    "Yolanda",
]
FAMILY = [
    "Hernandez",
    "Okafor",
    "Lindqvist",
    "Patel",
    "Kowalski",
    "Nguyen",
    "Brennan",
    "Castillo",
    "Whitaker",
    "Moreau",
    "Yamamoto",
    "Delgado",
    "Fitzgerald",
    "Abernathy",
    "Sorensen",
    "Ibarra",
    "Chamberlain",
    "Novak",
    "Ruiz",
    "Thibodeaux",
    "Haddad",
    "Kim",
    "Osei",
    "Pemberton",
    "Vasquez",
]
BUSINESSES = [
    "Maple Street Dental",
    "Riverside Bakery",
    "Oakwood Property Management",
    "Summit Ridge HOA",
    "Blue Heron Cafe",
    "Northgate Veterinary Clinic",
    "Copper Kettle Brewing",
    "Lakeside Montessori",
    "Pinecrest Apartments",
    "Hollis & Grant Law Office",
    "Sunrise Senior Living",
    "Cedar Lane Church",
    "Brightwater Yoga Studio",
    "Ironwood Fitness",
    "Greenleaf Realty",
]
PAY_METHODS = ["Check #{n}", "Card payment", "ACH transfer", "Cash", "Zelle transfer"]


def money(value: float | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


class History:
    def __init__(
        self, rng: random.Random, company: str, prefix: str, customers: list[dict[str, Any]]
    ) -> None:
        self.rng = rng
        self.company = company
        self.prefix = prefix
        self.customers = customers
        self.records: list[dict[str, Any]] = []
        self.next_invoice = 1001
        self.next_estimate = 2001
        self.next_payment = 5001

    def random_date(self) -> date:
        return START + timedelta(days=self.rng.randrange((END - START).days))

    def line(self, trade: str, item: Item, jitter: float = 1.0) -> dict[str, Any]:
        name, unit, (low, high), cost_share, descriptions, _ = item
        qlow, qhigh = QUANTITY[unit]
        quantity = Decimal(self.rng.randint(qlow, qhigh))
        price = money(self.rng.uniform(low, high) * jitter)
        cost = (
            money(price * Decimal(str(cost_share)) * Decimal(str(self.rng.uniform(0.9, 1.1))))
            if cost_share
            else None
        )
        return {
            "item_id": f"{self.prefix}-item-{name.lower().replace(' ', '-').replace('/', '')}",
            "item_name": name,
            "description": self.rng.choice(descriptions),
            "quantity": str(quantity),
            "unit_price": str(price),
            "unit_cost": None if cost is None else str(cost),
            "amount": str(money(quantity * price)),
        }

    def lines(self, trade: str, main: Item) -> tuple[list[dict[str, Any]], str]:
        lines = [self.line(trade, main)]
        if self.rng.random() < 0.45:
            extra, (low, high) = EXTRAS[trade]
            lines.insert(
                0,
                {
                    "item_id": f"{self.prefix}-item-{extra.lower().replace(' ', '-')}",
                    "item_name": extra,
                    "description": "",
                    "quantity": "1",
                    "unit_price": str(money(self.rng.uniform(low, high))),
                    "unit_cost": None,
                    "amount": str(money(self.rng.uniform(low, high))),
                },
            )
            lines[0]["amount"] = lines[0]["unit_price"]
        if self.rng.random() < 0.3:
            other = self.rng.choice([i for i in CATALOG[trade] if i[0] != main[0]])
            lines.append(self.line(trade, other))
        memo = self.rng.choice(main[5]) if self.rng.random() < 0.7 else ""
        return lines, memo

    def record(
        self,
        kind: str,
        doc_id: str,
        number: str,
        status: str,
        customer: dict[str, Any],
        when: date,
        lines: list[dict[str, Any]],
        memo: str,
        total: Decimal | None = None,
        invoice_id: str | None = None,
    ) -> dict[str, Any]:
        record = {
            "company_id": self.company,
            "kind": kind,
            "doc_id": doc_id,
            "number": number,
            "status": status,
            "customer_id": customer["id"],
            "customer_name": customer["name"],
            "date": when.isoformat(),
            "total": str(
                total if total is not None else money(sum(Decimal(line["amount"]) for line in lines))
            ),
            "currency": "USD",
            "lines": lines,
            "memo": memo or None,
            "invoice_id": invoice_id,
        }
        self.records.append(record)
        return record

    def invoice(
        self,
        customer: dict[str, Any],
        when: date,
        trade: str,
        main: Item,
        lines: list[dict[str, Any]] | None = None,
        memo: str = "",
    ) -> dict[str, Any]:
        if lines is None:
            lines, memo = self.lines(trade, main)
        number = self.next_invoice
        self.next_invoice += 1
        paid = when < END - timedelta(days=30) and self.rng.random() < 0.85
        status = "paid" if paid else self.rng.choice(["sent", "sent", "partially_paid"])
        invoice = self.record(
            "invoice", f"inv-{number}", f"INV-{number}", status, customer, when, lines, memo
        )
        if status in ("paid", "partially_paid"):
            total = Decimal(invoice["total"])
            amount = total if status == "paid" else money(total * Decimal("0.5"))
            method = self.rng.choice(PAY_METHODS).format(n=self.rng.randint(1000, 9999))
            pay_no = self.next_payment
            self.next_payment += 1
            self.record(
                "payment",
                f"pay-{pay_no}",
                f"PMT-{pay_no}",
                "recorded",
                customer,
                when + timedelta(days=self.rng.randint(0, 25)),
                [],
                f"{method} for INV-{number}",
                total=amount,
                invoice_id=invoice["doc_id"],
            )
        return invoice

    def estimate(self, customer: dict[str, Any], when: date, trade: str, main: Item) -> None:
        lines, memo = self.lines(trade, main)
        number = self.next_estimate
        self.next_estimate += 1
        status = self.rng.choice(["accepted", "accepted", "declined", "sent"])
        self.record("estimate", f"est-{number}", f"EST-{number}", status, customer, when, lines, memo)
        if status == "accepted":
            self.invoice(customer, when + timedelta(days=self.rng.randint(3, 20)), trade, main, lines, memo)

    def build(self, jobs: int, estimates: int) -> None:
        for _ in range(jobs):
            customer = self.rng.choice(self.customers)
            trade = self.rng.choice(customer["trades"])
            self.invoice(customer, self.random_date(), trade, self.rng.choice(CATALOG[trade]))
        for _ in range(estimates):
            customer = self.rng.choice(self.customers)
            trade = self.rng.choice(customer["trades"])
            big = [i for i in CATALOG[trade] if i[2][1] >= 400] or CATALOG[trade]
            self.estimate(customer, self.random_date(), trade, self.rng.choice(big))
        self.records.sort(key=lambda r: (r["date"], r["kind"], r["doc_id"]))


def customers(rng: random.Random, prefix: str, people: int, businesses: list[str]) -> list[dict[str, Any]]:
    trades = list(CATALOG)
    names = {f"{rng.choice(GIVEN)} {rng.choice(FAMILY)}" for _ in range(people * 3)}
    chosen = sorted(names)[:people]
    rng.shuffle(chosen)
    out = []
    for n, name in enumerate(chosen + businesses):
        out.append(
            {"id": f"{prefix}-cust-{n + 1}", "name": name, "trades": rng.sample(trades, k=rng.randint(1, 3))}
        )
    return out


def has_item(record: dict[str, Any], name: str) -> bool:
    return any(line["item_name"] == name for line in record["lines"])


PHRASES: dict[str, list[str]] = {  # how people ask about an item, beside its own name
    "Water heater installation": ["water heater install", "new water heater"],
    "Drain cleaning": ["clogged drain", "drain snaking"],
    "Toilet replacement": ["replace a toilet", "new toilet"],
    "Sump pump replacement": ["sump pump", "replacing the sump pump"],
    "Furnace replacement": ["new furnace", "furnace install"],
    "Central AC installation": ["central air conditioning install", "new AC unit"],
    "Heat pump repair": ["heat pump fix", "heat pump service"],
    "Panel upgrade": ["electrical panel upgrade", "200 amp service upgrade"],
    "EV charger installation": ["electric car charger", "level 2 charger install"],
    "Standby generator installation": ["whole house generator", "generator install"],
    "Tree trimming": ["trim trees", "tree work"],
    "Paver patio installation": ["paver patio", "patio pavers"],
    "Sod installation": ["new sod", "laying sod"],
    "Deep cleaning": ["deep clean", "deep house clean"],
    "Move-out cleaning": ["move out clean", "cleaning after tenants moved out"],
    "Carpet cleaning": ["carpet shampoo", "clean carpets"],
    "Mini-split installation": ["ductless mini split", "mini split install"],
    "Refrigerant recharge": ["AC recharge", "refrigerant top-up"],
    "Duct cleaning": ["air duct cleaning", "clean the ducts"],
    "Irrigation repair": ["sprinkler repair", "fix irrigation"],
}
# Asked in other words than the documents use (no shared word stem): the lexical embedder is
# expected to miss these; they are kept to show it (README).
PARAPHRASES: dict[str, list[str]] = {
    "Water heater installation": ["hot water tank swap"],
    "Central AC installation": ["new cooling system for the house"],
    "Drain cleaning": ["unblocking pipes"],
    "Lawn mowing": ["grass cutting"],
    "Standard house cleaning": ["maid service"],
}
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def questions(rng: random.Random, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    invoices = [r for r in records if r["kind"] == "invoice"]
    estimates = [r for r in records if r["kind"] == "estimate"]
    payments = [r for r in records if r["kind"] == "payment"]

    def add(kind: str, query: str, relevant: list[dict[str, Any]], flt: dict[str, Any] | None = None) -> None:
        if relevant:
            out.append(
                {
                    "id": f"q-{len(out) + 1:03d}",
                    "kind": kind,
                    "query": query,
                    "filter": flt or {},
                    "relevant": sorted(f"{r['kind']}#{r['doc_id']}" for r in relevant),
                }
            )

    all_items = sorted({item[0] for trade in CATALOG.values() for item in trade})
    for name in all_items:  # what did we charge for X
        # "charged" means invoices: the question carries the filter an assistant's search passes.
        add(
            "item",
            f"What did we charge for {name.lower()}?",
            [r for r in invoices if has_item(r, name)],
            {"kinds": ["invoice"]},
        )
        # a price asked without a kind: invoices and estimates with the item both answer it.
        priced = [r for r in invoices + estimates if has_item(r, name)]
        for phrase in PHRASES.get(name, []):
            add("item_phrase", f"what do we usually get for a {phrase}", priced)
        for phrase in PARAPHRASES.get(name, []):
            add("paraphrase", f"price of a {phrase}", priced)
        quoted = [r for r in estimates if has_item(r, name)]
        if rng.random() < 0.5:
            add("estimate_item", f"estimates we sent for {name.lower()}", quoted, {"kinds": ["estimate"]})
    for record in rng.sample(invoices, 30):  # one job: item, customer, month
        main = (
            record["lines"][-1]["item_name"] if len(record["lines"]) == 1 else record["lines"][1]["item_name"]
        )
        when = date.fromisoformat(record["date"])
        relevant = [
            r
            for r in records
            if r["kind"] in ("invoice", "estimate")
            and r["customer_id"] == record["customer_id"]
            and has_item(r, main)
            and r["date"][:7] == record["date"][:7]
        ]
        add(
            "job",
            f"{main.lower()} for {record['customer_name']} in {MONTHS[when.month - 1]} {when.year}",
            relevant,
        )
    for record in rng.sample(invoices, 15):  # by number
        add("number", f"invoice {record['number']}", [record])
    for record in rng.sample(estimates, 8):
        add("number", f"show me estimate {record['number']}", [record])
    for record in rng.sample(payments, 15):  # a payment of an invoice
        invoice = next(r for r in invoices if r["doc_id"] == record["invoice_id"])
        add(
            "payment",
            f"payment from {record['customer_name']} for {invoice['number']}",
            [r for r in payments if r["invoice_id"] == invoice["doc_id"]],
        )
    notes = sorted({r["memo"] for r in invoices if r["memo"]})
    for note in rng.sample(notes, min(20, len(notes))):  # the job where ...
        add(
            "note",
            f"the job where the {note}" if rng.random() < 0.5 else note,
            [r for r in records if r["kind"] in ("invoice", "estimate") and r["memo"] == note],
        )
    by_customer: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in invoices:
        by_customer[r["customer_id"]].append(r)
    for customer_id in rng.sample(sorted(by_customer), 12):  # a customer's work in a trade, filtered
        docs = by_customer[customer_id]
        item = rng.choice(docs)["lines"][-1]["item_name"]
        add(
            "filtered",
            f"{item.lower()} work",
            [r for r in docs if has_item(r, item)],
            {"customer_id": customer_id, "kinds": ["invoice"]},
        )
    return out


def main() -> None:
    rng = random.Random(20261207)
    summit = History(rng, COMPANY, "summit", customers(rng, "summit", 70, BUSINESSES))
    summit.build(jobs=420, estimates=140)
    harbor = History(rng, OTHER_COMPANY, "harbor", customers(rng, "harbor", 25, BUSINESSES[:4]))
    harbor.build(jobs=110, estimates=30)
    history = summit.records + harbor.records
    (HERE / "history.json").write_text(json.dumps(history, indent=1) + "\n")
    asked = questions(rng, summit.records)
    (HERE / "questions.json").write_text(json.dumps(asked, indent=1) + "\n")
    kinds: dict[tuple[str, str], int] = defaultdict(int)
    for r in history:
        kinds[(r["company_id"], r["kind"])] += 1
    print(dict(kinds), len(asked), "questions")


if __name__ == "__main__":
    main()
