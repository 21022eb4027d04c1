"""`make demo`: a business day on the local stack, checked step by step.

Starts moto, the runtime that reads template.yaml and the QuickBooks sandbox; then acts as the
business's app would, over HTTP only, and prints what the sandbox's ledger proves. Exits 0 only
if every check held. The functions' own log lines (the runtime's START/END/REPORT included) go to
.local/logs/<Function>.log; `--verbose` or DEMO_VERBOSE=1 prints them here too.
"""

from __future__ import annotations

import html.parser
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

from local import app_return

COMPANY = "demo-company"
MEMORY_COMPANY = "demo-memory-company"
# The stack as the demo deploys it: the billing memory's feed on (RagBillingEmbedEnabled).
STACK_PARAMETERS = {"RagBillingEmbedEnabled": "true"}
REALM = "9341453050071426"


@dataclass
class Checks:
    results: list[tuple[str, bool, str]] = field(default_factory=list)

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        self.results.append((name, ok, detail))
        mark = "ok  " if ok else "FAIL"
        print(f"  [{mark}] {name}" + (f" — {detail}" if detail else ""), flush=True)
        return ok

    @property
    def all_ok(self) -> bool:
        return all(ok for _, ok, _ in self.results)


class _Form(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self.action = a.get("action") or ""
        if tag == "input" and a.get("name") and a.get("type") != "submit":
            self.fields[str(a["name"])] = a.get("value") or ""


def consent(authorize_url: str, realm: str) -> str:
    """What a person does on Intuit's consent screen: open it, press Connect. Returns the redirect."""
    with httpx.Client(follow_redirects=False, timeout=10) as browser:
        page = browser.get(authorize_url)
        page.raise_for_status()
        form = _Form()
        form.feed(page.text)
        fields = {**form.fields, "decision": "approve"}
        for name in ("realm", "realmId", "realm_id"):
            if name in fields:
                fields[name] = realm  # the QuickBooks company the user picks
        answer = browser.post(urljoin(authorize_url, form.action), data=fields)
        if answer.status_code != 302:
            raise RuntimeError(f"consent did not redirect ({answer.status_code}): {answer.text[:200]}")
        return answer.headers["location"]


def step(title: str) -> None:
    print(f"\n== {title}", flush=True)


def money(value: Any) -> str:
    """An amount as a person writes it: 355.50, not Decimal('355.5') or 355.5."""
    return f"{Decimal(str(value)):.2f}"


def short(text: str, limit: int = 100) -> str:
    """One line, cut at a word with an ellipsis, so a detail never runs on or breaks mid-word."""
    line = " ".join(str(text).split())
    if len(line) <= limit:
        return line
    cut = line.rfind(" ", 0, limit)
    # No space to cut at (one long word, a URL, an id): cut at the limit itself.
    cut = cut if cut > 0 else limit
    return line[:cut].rstrip(",;:") + " …"


@dataclass
class Scenario:
    """What every chapter of the demo shares: the stack, the clients, the checks."""

    stack: Any
    checks: Checks
    api: httpx.Client
    qbo: httpx.Client
    realm: str = ""
    expected_income: dict[str, str | None] = field(default_factory=dict)

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        return self.checks.check(name, ok, detail)

    def put(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return self.api.put(path, json=body)

    def ledger(self) -> dict[str, Any]:
        return dict(self.qbo.get("/_sandbox/ledger", params={"realm": self.realm}).json())

    def entities(self, name: str) -> list[dict[str, Any]]:
        return list(self.ledger().get("entities", {}).get(name, []))

    def drain(self) -> None:
        self.stack.drain(timeout=60)

    def consent_and_callback(self, started: httpx.Response) -> str:
        """Follow a connect/reconnect answer through Intuit's consent and booksync's callback."""
        location = consent(started.json()["authorization_url"], REALM)
        done = app_return.confirm(self.api, "quickbooks", httpx.get(location, timeout=30))
        return short(done.text)

    def status(self, provider: str = "quickbooks") -> dict[str, Any]:
        return dict(self.api.get(f"/integrations/{provider}").json())


INVOICE: dict[str, Any] = {
    "customer_id": "cust-1",
    "number": "INV-1001",
    "status": "DRAFT",
    "issue_date": "2026-11-20",
    "due_date": "2026-12-20",
    "memo": "Thanks for your business",
    "lines": [
        {"item_id": "svc-drain", "quantity": "2", "unit_price": "150.00"},
        {"item_id": "part-813", "quantity": "1", "unit_price": "80.00", "taxable": False},
    ],
    "discount": {"kind": "percent", "value": "10"},
    "tax_rate_percent": "5",
}
CHAPTERS: list[Callable[[Scenario], None]] = []


def chapter(fn: Callable[[Scenario], None]) -> Callable[[Scenario], None]:
    CHAPTERS.append(fn)
    return fn


def company_api(stack: Any, company_id: str) -> httpx.Client:
    """The business's app calling booksync's API as an admin of ``company_id``."""
    token = stack.mint_token(company_id=company_id, role="admin")
    return httpx.Client(base_url=stack.api_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def run(stack: Any) -> Checks:
    scenario = Scenario(
        stack=stack,
        checks=Checks(),
        api=company_api(stack, COMPANY),
        qbo=httpx.Client(base_url=stack.sandboxes["quickbooks"].url, timeout=10),
    )
    for play in CHAPTERS:
        play(scenario)
    return scenario.checks


@chapter
def connect_quickbooks(s: Scenario) -> None:
    step("Connect the company to QuickBooks (OAuth authorization code, real redirects)")
    s.check(
        "an unauthenticated call is refused (401, as expected)",
        httpx.get(f"{s.stack.api_url}/integrations").status_code == 401,
    )
    started = s.api.post("/integrations/quickbooks/connect")
    consent_url = str(started.json().get("authorization_url", "")) if started.status_code == 200 else ""
    s.check(
        "connect returns Intuit's consent URL", bool(consent_url), consent_url.split("?")[0] or started.text
    )
    location = consent(started.json()["authorization_url"], REALM)
    query = parse_qs(urlsplit(location).query)
    s.check(
        "consent redirects back with code, state and realmId",
        {"code", "state", "realmId"} <= set(query),
        location.split("?")[0],
    )
    callback = httpx.get(location, timeout=30)
    back_to_app = callback.headers.get("location", "")
    s.check(
        "the callback returns to the app with a one-time consent, connecting nothing yet",
        callback.status_code == 302 and "consent=" in back_to_app and s.status()["status"] != "connected",
        back_to_app.split("?")[0] or short(callback.text),
    )
    done = app_return.confirm(s.api, "quickbooks", callback)
    s.check(
        "the app confirms it with its user's token: connected to that user's company",
        done.status_code == 200 and done.json().get("account_id") == REALM,
        short(done.text),
    )
    status = s.status()
    s.check(
        "the integration shows Connected",
        status["status_label"] == "Connected",
        f"realm {status['account_id']}",
    )
    s.realm = str(status["account_id"])


GRACE = {
    "display_name": "Grace Hopper",
    "email": "grace@example.com",
    "phone": "555-0100",
    "billing_address": {
        "line1": "1 Harbor Way",
        "city": "Arlington",
        "region": "VA",
        "postal_code": "22201",
        "country": "US",
    },
}
EXISTING_BOOKS = {
    "Customer": [
        {
            "DisplayName": "Summit Construction LLC",
            "PrimaryEmailAddr": {"Address": "office@summitbuilds.com"},
            "BillAddr": {"Line1": "500 Congress Ave", "Line2": "Suite 300", "City": "Austin"},
        },
        {
            "DisplayName": "Jane Doe",
            "GivenName": "Jane",
            "FamilyName": "Doe",
            "PrimaryEmailAddr": {"Address": "jane.doe@gmail.com"},
            "BillAddr": {"Line1": "14 Maple Street", "City": "Austin"},
        },
        {"DisplayName": "GRACE HOPPER", "PrimaryEmailAddr": {"Address": "Grace@Example.com"}},
        {"DisplayName": "Riverside Dental Group", "PrimaryEmailAddr": {"Address": "ap@riversidedental.com"}},
    ],
}


def wizard_customers(api: httpx.Client, provider: str) -> dict[str, dict[str, Any]]:
    """The wizard's customers step, by name, printed as the admin sees it."""
    listing = api.get(
        f"/integrations/{provider}/wizard/customers", params={"page": 1, "page_size": 50}
    ).json()
    rows = {row["name"]: row for row in listing["customers"]}
    for name, row in rows.items():
        print(f"    {name:<26} {row['suggested_type']:<9} {row['status']:<14} {row['reason']}")
    return rows


@chapter
def post_connection_wizard(s: Scenario) -> None:
    step("The post-connection wizard: QuickBooks' customers and items come into the app")
    services = {a["name"]: a["id"] for a in s.api.get("/integrations/quickbooks/accounts?type=income").json()}
    heater = {"Name": "Water heater install", "Type": "Service", "Sku": "WH-1", "UnitPrice": 1299}
    books = {**EXISTING_BOOKS, "Item": [{**heater, "IncomeAccountRef": {"value": services["Services"]}}]}
    s.qbo.post(f"/_sandbox/realms/{s.realm}/seed", json=books).raise_for_status()
    s.check("the app's own customer exists", s.put("/customers/cust-1", GRACE).status_code == 201)
    wizard = s.api.get("/integrations/quickbooks/wizard").json()
    s.check(
        "the callback opened the wizard", wizard["steps"]["customers"]["status"] == "open", wizard["next"]
    )
    rows = wizard_customers(s.api, "quickbooks")
    s.check(
        "each customer classified with its reason",
        (rows["Summit Construction LLC"]["suggested_type"], rows["Jane Doe"]["suggested_type"])
        == ("Builder", "Homeowner"),
    )
    grace = rows["GRACE HOPPER"]
    s.check(
        "the app's Grace Hopper is found: Already exists, not preselected",
        grace["status"] == "Already exists" and not grace["preselected"],
        "matched by " + ", ".join((grace.get("match") or {}).get("matched") or ["nothing"]),
    )
    chosen = [
        {"remote_id": row["remote_id"], "type": row["suggested_type"]}
        for row in rows.values()
        if row["preselected"]
    ]
    imported = s.api.post(
        "/integrations/quickbooks/wizard/customers/import", json={"customers": chosen}
    ).json()
    again = s.api.post("/integrations/quickbooks/wizard/customers/import", json={"customers": chosen}).json()
    s.check(
        "the new ones are imported once, with the types chosen",
        imported["counts"]["added"] == 3 and again["counts"]["added"] == 0,
        f"added {imported['counts']['added']}, then {again['counts']['added']}",
    )
    items = s.api.get("/integrations/quickbooks/wizard/items", params={"page": 1, "page_size": 50}).json()[
        "items"
    ]
    picks = [
        {"remote_id": i["remote_id"], "income_account_id": services["Services"]}
        for i in items
        if i["preselected"]
    ]
    s.api.post("/integrations/quickbooks/wizard/items/import", json={"items": picks}).raise_for_status()
    summary = s.api.get("/integrations/quickbooks/wizard/summary").json()
    s.check(
        "the summary: customers added, items imported, auto-sync on",
        (summary["customers_added"], summary["items_imported"], summary["auto_sync_on"]) == (3, 1, True),
        f"customers added {summary['customers_added']}, items imported {summary['items_imported']}, "
        f"auto-sync {'on' if summary['auto_sync_on'] else 'off'}",
    )
    s.drain()
    s.check("nothing was written to QuickBooks", s.ledger().get("creates", {}).get("Customer", 0) == 0)


@chapter
def draft_then_sent(s: Scenario) -> None:
    step("Customer, two items and a DRAFT invoice: nothing syncs")
    drain_item = {"name": "Drain cleaning", "unit_price": "150.00", "description": "Main line"}
    s.check("item 1 accepted", s.put("/items/svc-drain", drain_item).status_code == 201)
    part = {"name": "TKO-\t813PB-1500B", "type": "non_inventory", "unit_price": "80.00", "taxable": False}
    s.check("item 2 accepted (a tab in its name)", s.put("/items/part-813", part).status_code == 201)
    draft = s.put("/invoices/inv-1001", INVOICE)
    s.check("draft accepted, not queued", draft.status_code == 201 and not draft.json()["pending_sync"])
    s.drain()
    s.check("QuickBooks has no invoice yet", s.entities("Invoice") == [])


@chapter
def account_mapping(s: Scenario) -> None:
    step("Account mapping before the first sync: each item's income account")
    income = s.api.get("/integrations/quickbooks/accounts", params={"type": "income"}).json()
    by_name = {a["name"]: a["id"] for a in income}
    s.check("QuickBooks' income accounts are listed", "Services" in by_name, ", ".join(sorted(by_name)))
    product = by_name.get("Sales of Product Income", "")
    mapped = s.api.put(
        "/integrations/quickbooks/account-mapping/items/part-813", json={"account_id": product}
    )
    s.check(
        "the part is mapped to Sales of Product Income",
        mapped.status_code == 200,
        f"{mapped.json().get('name')!r}: {mapped.json().get('account_name')}"
        if mapped.status_code == 200
        else short(mapped.text),
    )
    bulk = s.api.post(
        "/integrations/quickbooks/account-mapping/apply-to-unmapped",
        json={"account_id": by_name.get("Services")},
    )
    counts = s.api.get("/integrations/quickbooks/account-mapping").json()["counts"]
    s.check(
        "Apply to Unmapped leaves none unmapped",
        bulk.status_code == 200 and counts["unmapped"] == 0,
        str(counts),
    )
    s.expected_income = {"Drain cleaning": by_name.get("Services"), "TKO-813PB-1500B": product}


@chapter
def send_invoice(s: Scenario) -> None:
    step("Send the invoice: it syncs with its customer and items")
    sent = s.put("/invoices/inv-1001", {**INVOICE, "status": "SENT"})
    s.check("sent invoice queued", sent.status_code == 200 and sent.json()["sync_run_id"] is not None)
    s.drain()
    invoices = s.entities("Invoice")
    s.check("one invoice in QuickBooks", len(invoices) == 1)
    creates = s.ledger().get("creates", {})
    s.check(
        "Grace Hopper linked to the customer QuickBooks had; two items created",
        (creates.get("Customer"), creates.get("Item")) == (0, 2),
        str(creates),
    )
    names = sorted(i["Name"] for i in s.entities("Item"))
    s.check("item name cleaned of the tab", "TKO-813PB-1500B" in names, ", ".join(names))
    posted = {
        i["Name"]: (i.get("IncomeAccountRef") or {}).get("value")
        for i in s.entities("Item")
        if i["Name"] in s.expected_income
    }
    s.check("each item posts to its mapped income account", posted == s.expected_income, str(posted))
    total = Decimal(str(invoices[0]["TotalAmt"])) if invoices else Decimal(-1)
    s.check(
        "invoice total matches (2x150 + 80, 10% off, 5% tax on taxable)",
        total == Decimal("355.50"),
        f"TotalAmt {money(total)}",
    )
    badge = s.api.get("/invoices/inv-1001/sync-status").json()
    s.check("badge shows Synced", badge["badge"] == "Synced", f"remote id {badge['remote_id']}")


@chapter
def payments_and_late_payment(s: Scenario) -> None:
    step("Record two payments: each syncs once")
    p1 = s.put(
        "/payments/pay-1",
        {
            "invoice_id": "inv-1001",
            "amount": "200.00",
            "date": "2026-11-21",
            "method": "check",
            "reference": "CHK-5521",
        },
    )
    p2 = s.put(
        "/payments/pay-2",
        {"invoice_id": "inv-1001", "amount": "100.00", "date": "2026-11-22", "method": "credit_card"},
    )
    s.check("payments accepted", p1.status_code == 201 and p2.status_code == 201)
    s.drain()
    payments = s.entities("Payment")
    s.check(
        "two payments in QuickBooks",
        len(payments) == 2,
        ", ".join(money(p.get("TotalAmt")) for p in payments),
    )
    balance = Decimal(str(s.entities("Invoice")[0]["Balance"]))
    s.check("invoice balance 55.50 left", balance == Decimal("55.50"), f"Balance {money(balance)}")

    step("Sync again: nothing new is written")
    before = s.ledger().get("creates", {})
    resync = s.api.post("/invoices/inv-1001/sync")
    s.check("resync accepted (202)", resync.status_code == 202, resync.json().get("message", ""))
    s.drain()
    s.check("no new remote objects", before == s.ledger().get("creates", {}), str(s.ledger().get("creates")))

    step("A late payment while payment auto-sync is off; Resync pushes it; the invoice is paid")
    s.api.patch("/integrations/quickbooks/settings", json={"auto_sync_payments": False}).raise_for_status()
    late = s.put(
        "/payments/pay-3",
        {"invoice_id": "inv-1001", "amount": "55.50", "date": "2026-11-23", "method": "cash"},
    )
    s.check("late payment stored, not queued", late.status_code == 201 and late.json()["sync_run_id"] is None)
    s.drain()
    s.check("QuickBooks still has two payments", len(s.entities("Payment")) == 2)
    s.api.post("/invoices/inv-1001/sync").raise_for_status()
    s.drain()
    s.check("resync pushed the late payment", len(s.entities("Payment")) == 3)
    balance = Decimal(str(s.entities("Invoice")[0]["Balance"]))
    s.check("invoice balance 0 (paid)", balance == 0, f"Balance {money(balance)}")
    s.api.patch("/integrations/quickbooks/settings", json={"auto_sync_payments": True}).raise_for_status()


@chapter
def split_payment_and_refund(s: Scenario) -> None:
    step("One check pays two invoices; part of it is refunded")
    lines = [{"item_id": "svc-drain", "quantity": "1", "unit_price": "150.00"}]
    for number in ("1002", "1003"):
        invoice = {"customer_id": "cust-1", "number": f"INV-{number}", "status": "SENT", "lines": lines}
        s.put(f"/invoices/inv-{number}", {**invoice, "issue_date": "2026-11-21"})
    applications = [
        {"invoice_id": "inv-1002", "amount": "150.00"},
        {"invoice_id": "inv-1003", "amount": "150.00"},
    ]
    check = {"applications": applications, "amount": "300.00", "date": "2026-11-22", "method": "check"}
    s.check("a payment across two invoices is accepted", s.put("/payments/pay-4", check).status_code == 201)
    s.drain()
    split = [p for p in s.entities("Payment") if Decimal(str(p["TotalAmt"])) == Decimal("300.00")]
    s.check("one QuickBooks Payment with a line per invoice", len(split) == 1 and len(split[0]["Line"]) == 2)
    balances = [
        Decimal(str(i["Balance"]))
        for i in s.entities("Invoice")
        if i["DocNumber"] in ("INV-1002", "INV-1003")
    ]
    s.check("both invoices paid", balances == [0, 0], "balances " + ", ".join(map(money, balances)))
    refund = {"payment_id": "pay-4", "amount": "50.00", "date": "2026-11-23", "reason": "Goodwill"}
    s.check("a refund of 50.00 is accepted", s.put("/refunds/ref-1", refund).status_code == 201)
    s.drain()
    receipts = s.entities("RefundReceipt")
    s.check(
        "QuickBooks shows one refund receipt of 50.00",
        [Decimal(str(r["TotalAmt"])) for r in receipts] == [Decimal("50.00")],
        ", ".join(money(r.get("TotalAmt")) for r in receipts),
    )


@chapter
def token_expiry(s: Scenario) -> None:
    step("The access token expires: exactly one refresh")
    calls_before = s.qbo.get("/_sandbox/token-calls", params={"realm": s.realm}).json()
    s.qbo.post("/_sandbox/tokens/expire", json={"realm": s.realm})
    s.put("/invoices/inv-1001", {**INVOICE, "status": "SENT", "memo": "Paid in full, thank you"})
    s.drain()
    calls_after = s.qbo.get("/_sandbox/token-calls", params={"realm": s.realm}).json()
    refreshes = _count(calls_after, "refresh_token") - _count(calls_before, "refresh_token")
    s.check("one token refresh", refreshes == 1, f"{refreshes} refresh call(s)")
    memo = (s.entities("Invoice")[0].get("CustomerMemo") or {}).get("value")
    s.check("the edit reached QuickBooks", memo == "Paid in full, thank you", str(memo))


@chapter
def catalog_sync(s: Scenario) -> None:
    step("Sync Now for customers and items: the Batch API, progress in Sync History")
    for n in range(1, 46):
        s.put(
            f"/items/cat-{n:03d}",
            {"name": f"Fitting {n:03d}", "unit_price": f"{n}.25", "type": "non_inventory"},
        )
    for n in range(1, 6):
        s.put(
            f"/customers/cat-cust-{n}",
            {"display_name": f"Catalog Customer {n}", "email": f"c{n}@example.org"},
        )
    s.qbo.delete("/_sandbox/requests")
    started = s.api.post("/integrations/quickbooks/sync", json={"kinds": ["customers", "items"]})
    s.check(
        "Sync Now answers 202 with a run id",
        started.status_code == 202,
        f"run {started.json().get('run_id')}" if started.status_code == 202 else short(started.text),
    )
    s.drain()
    run_id = started.json()["run_id"]
    run = s.api.get(f"/sync-runs/{run_id}").json()
    counts = run.get("counts", {})
    s.check("the catalog run succeeded", run["status"] == "succeeded", f"{run['status']} {counts}")
    items = {i["Name"] for i in s.entities("Item")}
    s.check("all 45 new items are in QuickBooks", all(f"Fitting {n:03d}" in items for n in range(1, 46)))
    log = s.qbo.get("/_sandbox/requests", params={"realm": s.realm}).json()
    entries = log.get("requests", log) if isinstance(log, dict) else log
    batches = [r for r in entries if "/batch" in str(r.get("path", ""))]
    s.check(
        "sent through the Batch API, 30 operations a request",
        len(batches) >= 2,
        f"{len(batches)} batch requests",
    )


@chapter
def reconnect_after_revoke(s: Scenario) -> None:
    step("The user revokes booksync in QuickBooks: work is parked, admins are told, reconnect resumes it")
    print("  (the sync failures of this step are expected: the grant is revoked on purpose)", flush=True)
    s.qbo.post("/_sandbox/tokens/revoke", json={"realm": s.realm}).raise_for_status()
    s.qbo.post("/_sandbox/tokens/expire", json={"realm": s.realm})
    s.put("/invoices/inv-1001", {**INVOICE, "status": "SENT", "memo": "Edited while disconnected"})
    s.drain()
    status = s.status()
    s.check("the integration shows Needs Reconnection", status["status_label"] == "Needs Reconnection")
    s.check(
        "Reconnect is offered on the card",
        "reconnect" in status.get("actions", []),
        str(status.get("actions")),
    )
    badge = s.api.get("/invoices/inv-1001/sync-status").json()
    error = badge.get("error") or {}
    s.check(
        "the invoice shows Blocked",
        badge["badge"] == "Blocked",
        f"expected: {short(error.get('message', ''), 90)}" if isinstance(error, dict) else short(str(error)),
    )
    bell = [n for n in s.api.get("/notifications").json() if not n["resolved_at"]]
    s.check("one notification for the admin", len(bell) == 1, bell[0]["title"] if bell else "none")
    back = s.consent_and_callback(s.api.post("/integrations/quickbooks/reconnect"))
    s.check("reconnect in one call", s.status()["status_label"] == "Connected", back.split("?")[0])
    s.stack.fire_schedule("SchedulerFunction", "Sweep")
    s.drain()
    memo = (s.entities("Invoice")[0].get("CustomerMemo") or {}).get("value")
    s.check("the parked edit reached QuickBooks by itself", memo == "Edited while disconnected", str(memo))
    open_ones = [n for n in s.api.get("/notifications").json() if not n["resolved_at"]]
    s.check(
        "the notification is resolved",
        open_ones == [],
        "none open" if not open_ones else "; ".join(n["title"] for n in open_ones),
    )


@chapter
def square_payments_and_payout(s: Scenario) -> None:
    from local.sandboxes.square.testing import SquareControl

    step("Square: customers pay two invoices by card; the payout becomes one QuickBooks deposit")
    with SquareControl(s.stack.sandboxes["square"].url) as square:
        merchant = square.add_merchant("Harper Plumbing", ["Main"])
        started = s.api.post("/integrations/square/connect")
        consent_page = httpx.get(
            f"{started.json()['authorization_url']}&merchant_id={merchant['id']}", timeout=30
        )
        app_return.confirm(s.api, "square", httpx.get(consent_page.headers.get("location", ""), timeout=30))
        s.check("Square connected, its location recorded", s.status("square")["status_label"] == "Connected")
        _payout_accounts(s)
        s.put("/customers/cust-2", {"display_name": "Alan Turing", "email": "alan@example.com"})
        for number, quantity in (("2001", "1"), ("2002", "2")):
            lines = [{"item_id": "svc-drain", "quantity": quantity, "unit_price": "150.00"}]
            invoice = {"customer_id": "cust-2", "number": f"INV-{number}", "status": "SENT"}
            s.put(f"/invoices/inv-{number}", {**invoice, "issue_date": "2026-11-21", "lines": lines})
        s.drain()
        square.pay(merchant["id"], 15000, tip=1500, reference_id="inv-2001", note="Drain cleaning")
        square.pay(merchant["id"], 30000, reference_id="inv-2002")
        s.drain()
        balances = {
            i["DocNumber"]: Decimal(str(i["Balance"]))
            for i in s.entities("Invoice")
            if i["DocNumber"] in ("INV-2001", "INV-2002")
        }
        s.check(
            "both invoices show paid in QuickBooks",
            balances == {"INV-2001": 0, "INV-2002": 0},
            ", ".join(f"{k} balance {money(v)}" for k, v in sorted(balances.items())),
        )
        payout = square.payout(merchant["id"])["payout"]
        s.drain()
    net = Decimal(payout["amount_money"]["amount"]) / 100
    shown = s.api.get(f"/payouts/{payout['id']}").json()
    s.check(
        "payout.sent made a deposit",
        shown["status"] == "deposited",
        " ".join(filter(None, [str(shown["status"]), shown.get("reason")])),
    )
    deposits = s.entities("Deposit")
    total = Decimal(str(deposits[0]["TotalAmt"])) if len(deposits) == 1 else Decimal(-1)
    s.check(
        "one deposit, its total equals the payout's net amount",
        total == net,
        f"deposit {money(total)}, payout {money(net)}",
    )
    for line in shown.get("lines", []):
        print(f"    {money(line.get('amount')):>9}  {line.get('description') or line.get('kind') or ''}")
    arriving = payout.get("arrival_date")
    print(f"    {money(total):>9}  total; payout {payout['id']} net {money(net)} arriving {arriving}")


def _payout_accounts(s: Scenario) -> None:
    """The accounts the deposit needs: the bank, Merchant Service Fees, and a liability for tips."""
    seeded = s.qbo.post(
        f"/_sandbox/realms/{s.realm}/seed",
        json={"Account": [{"Name": "Tips Payable", "AccountType": "Other Current Liability"}]},
    )
    seeded.raise_for_status()
    chart = {a["Name"]: a["Id"] for a in s.entities("Account")}
    settings = {
        "deposit_bank_account_id": chart["Checking"],
        "merchant_fees_account_id": chart["Merchant Service Fees"],
        "tips_account_id": chart["Tips Payable"],
    }
    saved = s.api.patch("/integrations/quickbooks/settings", json=settings)
    s.check(
        "payout accounts chosen in QuickBooks settings",
        saved.status_code == 200,
        "bank Checking, fees Merchant Service Fees, tips Tips Payable"
        if saved.status_code == 200
        else short(saved.text),
    )


XERO_COMPANY = "demo-xero-company"
# What the Xero organisation's user typed into Xero before connecting booksync (the wizard's rows).
XERO_CONTACTS = [
    {"Name": "Summit Construction LLC", "EmailAddress": "office@summitbuilds.com"},
    {"Name": "Jane Doe", "FirstName": "Jane", "LastName": "Doe", "EmailAddress": "jane.doe@gmail.com"},
    # As the app has her (Xero's adapter finds a contact by its exact name, not by its e-mail).
    {"Name": "Grace Hopper", "EmailAddress": "Grace@Example.com"},
]
XERO_INVOICE: dict[str, Any] = {
    "customer_id": "x-cust-1",
    "number": "X-1001",
    "status": "SENT",
    "issue_date": "2026-11-20",
    "due_date": "2026-12-20",
    "lines": [{"item_id": "x-svc-drain", "quantity": "2", "unit_price": "150.00"}],
}


@dataclass
class BusinessDemo:
    """A chapter's business (a company of its own) connected to its books in a sandbox: what the
    chapters of Xero and FreshBooks ask alike."""

    s: Scenario
    api: httpx.Client
    control: Any  # the sandbox's control client
    provider: str = ""
    account: str = ""  # the organisation or business chosen in the demo

    def status(self) -> dict[str, Any]:
        return dict(self.api.get(f"/integrations/{self.provider}").json())

    def connected_to_chosen(self, answer: httpx.Response) -> bool:
        """``answer`` succeeded and the books are Connected to the one chosen in the demo."""
        status = self.status()
        return answer.status_code == 200 and (status["status_label"], status["account_id"]) == (
            "Connected",
            self.account,
        )

    def needs_reconnection(self) -> tuple[bool, str]:
        """The card shows Needs Reconnection with Reconnect offered (and what it shows)."""
        status = self.status()
        return (
            status["status_label"] == "Needs Reconnection" and "reconnect" in status.get("actions", []),
            f"{status['status_label']}, actions {status.get('actions')}",
        )

    def open_notifications(self) -> list[dict[str, Any]]:
        return [n for n in self.api.get("/notifications").json() if not n["resolved_at"]]

    def blocked_and_told(self, invoice_id: str) -> tuple[bool, str]:
        """The invoice's badge reads Blocked and the admin has one notification."""
        badge = self.api.get(f"/invoices/{invoice_id}/sync-status").json()
        bell = self.open_notifications()
        return (
            badge["badge"] == "Blocked" and len(bell) == 1,
            f"{badge['badge']}; " + (bell[0]["title"] if bell else "no notification"),
        )

    def resolved(self) -> tuple[bool, str]:
        """No notification left open."""
        open_ones = self.open_notifications()
        return open_ones == [], "; ".join(n["title"] for n in open_ones) or "none open"

    def settle(self) -> None:
        """Let the stack finish what it was given."""
        self.s.drain()

    def store_draft(
        self, prefix: str, invoice: dict[str, Any], remote: Callable[[], list[Any]]
    ) -> tuple[bool, str]:
        """The business's app stores Grace Hopper, the two items and the DRAFT ``invoice`` (ids
        ``<prefix>cust-1``, ``<prefix>svc-drain``, ``<prefix>part-813``, ``<prefix>inv-1001``),
        then settles: all four accepted and ``remote`` (the books' invoices) still empty."""
        drain_item = {"name": "Drain cleaning", "unit_price": "150.00", "description": "Main line"}
        part = {"name": "TKO-813PB-1500B", "type": "non_inventory", "unit_price": "80.00", "taxable": False}
        stored = [
            self.api.put(f"/customers/{prefix}cust-1", json=GRACE).status_code,
            self.api.put(f"/items/{prefix}svc-drain", json=drain_item).status_code,
            self.api.put(f"/items/{prefix}part-813", json=part).status_code,
            self.api.put(f"/invoices/{prefix}inv-1001", json=invoice).status_code,
        ]
        self.settle()
        there = remote()
        accepted = stored == [201] * 4
        return accepted and there == [], f"stored {stored}, {len(there)} invoice(s) there"

    def send(self, invoice_id: str, invoice: dict[str, Any]) -> tuple[bool, str]:
        """The app marks the invoice SENT: accepted and queued for its sync."""
        sent = self.api.put(f"/invoices/{invoice_id}", json={**invoice, "status": "SENT"})
        queued = sent.status_code == 200 and sent.json()["sync_run_id"] is not None
        return queued, "" if queued else short(sent.text)


@dataclass
class XeroDemo(BusinessDemo):
    """The Xero chapter's business and its organisations in the sandbox (``control``: XeroControl)."""

    provider: str = "xero"

    def books(self, name: str) -> list[dict[str, Any]]:
        """Objects of the chosen organisation's ledger (``invoices``, ``payments``...)."""
        return list(self.control.ledger(self.account)[name])

    def invoice(self) -> dict[str, Any]:
        found = [i for i in self.books("invoices") if i["InvoiceNumber"] == XERO_INVOICE["number"]]
        return found[0] if len(found) == 1 else {}

    def consent(self, started: httpx.Response, tenants: list[str] | None) -> httpx.Response:
        """The user on Xero's consent page ticks ``tenants`` (None: every organisation) and
        allows; the browser follows the redirect to booksync's callback."""
        location = self.control.consent_at(started.json()["authorization_url"], tenants)
        return httpx.get(location, timeout=30)


@chapter
def xero(s: Scenario) -> None:
    from local.sandboxes.xero.testing import XeroControl

    with XeroControl(s.stack.sandboxes["xero"].url) as control:
        x = XeroDemo(s, company_api(s.stack, XERO_COMPANY), control)
        _xero_connect(x)
        _xero_wizard(x)
        _xero_send(x)
        _xero_revoke_and_reconnect(x)
        _xero_paid(x)


def _xero_connect(x: XeroDemo) -> None:
    step("Xero: a business on Xero connects; its user holds two organisations and picks one")
    s = x.s
    organisations = {o["name"]: o["tenant_id"] for o in x.control.organisations()}
    started = x.api.post("/integrations/xero/connect")
    s.check(
        "connect returns Xero's consent URL",
        started.status_code == 200
        and "/identity/connect/authorize" in started.json().get("authorization_url", ""),
        short(started.text),
    )
    callback = x.consent(started, None)  # both organisations ticked
    done = app_return.confirm(x.api, "xero", callback)
    status = x.status()
    offered = sorted(o.get("name") or "" for o in status.get("organisations", []))
    s.check(
        "a consent for two organisations waits for the choice: Choose Organisation",
        done.status_code == 200
        and status["status_label"] == "Choose Organisation"
        and offered == sorted(organisations),
        ", ".join(offered) or short(done.text),
    )
    x.account = organisations["Demo Company (US)"]
    chosen = x.api.post("/integrations/xero/organisation", json={"organisation_id": x.account})
    s.check(
        "the admin picks Demo Company (US): Connected to that organisation",
        x.connected_to_chosen(chosen),
        f"tenant {x.status().get('account_id')}" if chosen.status_code == 200 else short(chosen.text),
    )


def _xero_wizard(x: XeroDemo) -> None:
    step("Xero: the wizard brings Xero's contacts and items into the app")
    from local.sandboxes.xero.testing import XeroClient

    s = x.s
    # The organisation's user typed these into Xero, through an app of their own.
    x.control.register_client("demo-xero-typist", "typist-secret", ["https://typist.example/cb"])
    typed = x.control.connect("demo-xero-typist", "typist-secret", "https://typist.example/cb", [x.account])
    typist = XeroClient(x.control.base_url, typed.access_token, x.account)
    try:
        typist.request("PUT", "/Contacts", json={"Contacts": XERO_CONTACTS}).raise_for_status()
        heater = {
            "Code": "WH-1",
            "Name": "Water heater install",
            "SalesDetails": {"UnitPrice": 1299, "AccountCode": "200"},
        }
        typist.request("PUT", "/Items", json={"Items": [heater]}).raise_for_status()
    finally:
        typist.close()
    s.check(
        "the Xero business's own customer exists",
        x.api.put("/customers/x-cust-1", json=GRACE).status_code == 201,
    )
    wizard = x.api.get("/integrations/xero/wizard").json()
    s.check(
        "choosing the organisation opened Xero's wizard",
        wizard["steps"]["customers"]["status"] == "open",
        wizard["next"],
    )
    rows = wizard_customers(x.api, "xero")
    s.check(
        "Xero's contacts classified, the app's Grace Hopper found as Already exists",
        (rows["Summit Construction LLC"]["suggested_type"], rows["Jane Doe"]["suggested_type"])
        == ("Builder", "Homeowner")
        and rows["Grace Hopper"]["status"] == "Already exists",
        ", ".join(f"{n}: {r['status']}" for n, r in rows.items()),
    )
    chosen = [
        {"remote_id": r["remote_id"], "type": r["suggested_type"]} for r in rows.values() if r["preselected"]
    ]
    imported = x.api.post("/integrations/xero/wizard/customers/import", json={"customers": chosen}).json()
    sales = {
        a["name"]: a["id"] for a in x.api.get("/integrations/xero/accounts", params={"type": "income"}).json()
    }
    items = x.api.get("/integrations/xero/wizard/items", params={"page": 1, "page_size": 50}).json()["items"]
    picks = [
        {"remote_id": i["remote_id"], "income_account_id": sales["Sales"]} for i in items if i["preselected"]
    ]
    x.api.post("/integrations/xero/wizard/items/import", json={"items": picks}).raise_for_status()
    summary = x.api.get("/integrations/xero/wizard/summary").json()
    s.check(
        "Xero's wizard summary: two contacts added, one item imported",
        (imported["counts"]["added"], summary["customers_added"], summary["items_imported"]) == (2, 2, 1),
        f"customers added {summary['customers_added']}, items imported {summary['items_imported']}",
    )
    s.drain()
    contacts, items = x.books("contacts"), x.books("items")
    s.check(
        "nothing was written to Xero",
        (len(contacts), len(items)) == (len(XERO_CONTACTS), 1),
        f"contacts {', '.join(c['Name'] for c in contacts)}; {len(items)} item(s)",
    )


def _xero_send(x: XeroDemo) -> None:
    step("Xero: an invoice is sent; it reaches the chosen organisation, on the contact Xero had")
    s = x.s
    x.api.put(
        "/items/x-svc-drain", json={"name": "Drain cleaning", "unit_price": "150.00"}
    ).raise_for_status()
    sent = x.api.put("/invoices/x-inv-1001", json=XERO_INVOICE)
    s.check(
        "the Xero business's invoice is queued",
        sent.status_code == 201 and sent.json()["sync_run_id"] is not None,
    )
    s.drain()
    invoice = x.invoice()
    grace = [c["ContactID"] for c in x.books("contacts") if c["Name"] == "Grace Hopper"]
    s.check(
        "one invoice in Xero, AUTHORISED, on the contact Xero had, total 300.00",
        invoice.get("Status") == "AUTHORISED"
        and (invoice.get("Contact") or {}).get("ContactID") in grace
        and Decimal(str(invoice.get("Total"))) == Decimal("300.00"),
        f"{invoice.get('Status')} total {money(invoice.get('Total', -1))}",
    )
    others = [o["tenant_id"] for o in x.control.organisations() if o["tenant_id"] != x.account]
    s.check("the other organisation got nothing", all(x.control.ledger(t)["invoices"] == [] for t in others))


def _xero_revoke_and_reconnect(x: XeroDemo) -> None:
    step("Xero: the user disconnects booksync in Xero; the edit is parked; reconnect resumes it")
    print("  (the sync failures of this step are expected: the grant is revoked on purpose)", flush=True)
    s = x.s
    for organisation in x.control.organisations():  # the app removed from both: the grant ends
        x.control.call("POST", f"/organisations/{organisation['tenant_id']}/disconnect")
    x.control.call("POST", "/tokens/expire", {})
    edited = {**XERO_INVOICE, "lines": [{**XERO_INVOICE["lines"][0], "quantity": "3"}]}
    x.api.put("/invoices/x-inv-1001", json=edited).raise_for_status()
    s.drain()
    s.check("Xero shows Needs Reconnection, Reconnect offered", *x.needs_reconnection())
    s.check("the Xero invoice shows Blocked; one notification", *x.blocked_and_told("x-inv-1001"))
    # Both organisations ticked again: the one chosen before is kept, no choice asked again.
    back = app_return.confirm(x.api, "xero", x.consent(x.api.post("/integrations/xero/reconnect"), None))
    s.check(
        "Xero reconnected: the organisation chosen before is kept",
        x.connected_to_chosen(back),
        short(back.text),
    )
    s.stack.fire_schedule("SchedulerFunction", "Sweep")
    s.drain()
    total = x.invoice().get("Total", -1)
    s.check(
        "the parked edit reached Xero by itself (3 x 150.00)",
        Decimal(str(total)) == Decimal("450.00"),
        f"Total {money(total)}",
    )
    s.check("Xero's notification is resolved", *x.resolved())


def _xero_paid(x: XeroDemo) -> None:
    step("Xero: the customer pays in full; the payment waits for its account, then the invoice is PAID")
    s = x.s
    paid = x.api.put(
        "/payments/x-pay-1",
        json={"invoice_id": "x-inv-1001", "amount": "450.00", "date": "2026-11-25", "method": "check"},
    )
    s.drain()
    waiting = (x.status().get("payment_account") or {}).get("waiting_for")
    s.check(
        "the payment waits: no account chosen for payments in Xero yet",
        paid.status_code == 201 and x.books("payments") == [] and bool(waiting),
        short(str(waiting)) if waiting else short(paid.text),
    )
    able = x.api.get("/integrations/xero/accounts", params={"type": "payments"}).json()
    bank = next((a["id"] for a in able if a["name"] == "Business Bank Account"), "")
    saved = x.api.put("/integrations/xero/account-mapping/payment-account", json={"account_id": bank})
    s.check(
        "payments go into Business Bank Account (Account mapping)",
        saved.status_code == 200,
        ", ".join(a["name"] for a in able) if saved.status_code == 200 else short(saved.text),
    )
    s.drain()
    payments = x.books("payments")
    s.check(
        "the waiting payment reached Xero by itself, into Business Bank Account",
        [(Decimal(str(p["Amount"])), p["Account"]["Code"]) for p in payments] == [(Decimal("450.00"), "090")],
        ", ".join(f"{money(p['Amount'])} to {p['Account']['Code']}" for p in payments) or "none",
    )
    invoice = x.invoice()
    s.check(
        "the invoice reads PAID in Xero's ledger",
        invoice.get("Status") == "PAID" and Decimal(str(invoice.get("AmountDue"))) == 0,
        f"{invoice.get('Status')}, amount due {money(invoice.get('AmountDue', -1))}",
    )


FRESHBOOKS_COMPANY = "demo-freshbooks-company"
FRESHBOOKS_INVOICE: dict[str, Any] = {
    "customer_id": "fb-cust-1",
    "number": "FB-1001",
    "status": "DRAFT",
    "issue_date": "2026-11-20",
    "due_date": "2026-12-20",
    "memo": "Thanks for your business",
    "lines": [
        {"item_id": "fb-svc-drain", "quantity": "2", "unit_price": "150.00"},
        {"item_id": "fb-part-813", "quantity": "1", "unit_price": "80.00", "taxable": False},
    ],
    "discount": {"kind": "percent", "value": "10"},
    "tax_rate_percent": "5",
}


@dataclass
class FreshBooksDemo(BusinessDemo):
    """The FreshBooks chapter's business and its businesses in the sandbox (``control``:
    FreshBooksControl)."""

    provider: str = "freshbooks"

    def consent(self, started: httpx.Response) -> httpx.Response:
        """The FreshBooks user logs in on the authorize page and allows; the browser follows the
        redirect to booksync's callback."""
        return httpx.get(self.control.consent_at(started.json()["authorization_url"]), timeout=30)

    def settle(self) -> None:
        """Drain the stack, then let FreshBooks post the callbacks those syncs set off (booksync's
        own writes announced back to it) and drain what they queued."""
        for _ in range(2):
            self.s.drain()
            self.control.call("POST", "/callbacks/wait", {"seconds": 20})
        self.s.drain()

    def books(self, name: str, *, deleted: bool = False) -> list[dict[str, Any]]:
        """Records of the chosen business's books (``clients``, ``invoices``...), active ones
        unless ``deleted`` (vis_state 1 only)."""
        wanted = 1 if deleted else 0
        return [r for r in self.control.ledger(self.account)[name] if r.get("vis_state", 0) == wanted]

    def invoice(self, number: str = "FB-1001") -> dict[str, Any]:
        found = [i for i in self.books("invoices") if i["invoice_number"] == number]
        return found[0] if len(found) == 1 else {}


def _amount(record: dict[str, Any], name: str) -> Decimal:
    """A FreshBooks money field ({"amount": "12.00", "code": "USD"}) as a Decimal; -1 if absent."""
    return Decimal(str((record.get(name) or {}).get("amount", "-1")))


@chapter
def freshbooks(s: Scenario) -> None:
    from local.sandboxes.freshbooks.testing import FreshBooksControl

    with FreshBooksControl(s.stack.sandboxes["freshbooks"].url) as control:
        f = FreshBooksDemo(s, company_api(s.stack, FRESHBOOKS_COMPANY), control)
        _freshbooks_connect(f)
        _freshbooks_send(f)
        _freshbooks_paid(f)
        _freshbooks_deleted_there(f)
        _freshbooks_revoke_and_reconnect(f)


def _freshbooks_connect(f: FreshBooksDemo) -> None:
    step("FreshBooks: a business on FreshBooks connects; its user has two businesses and picks one")
    s = f.s
    f.control.add_business("Harbor Rentals")
    businesses = {b["name"]: b["account_id"] for b in f.control.businesses()}
    started = f.api.post("/integrations/freshbooks/connect")
    s.check(
        "connect returns FreshBooks' authorize URL",
        started.status_code == 200 and "/oauth/authorize" in started.json().get("authorization_url", ""),
        short(started.text),
    )
    done = app_return.confirm(f.api, "freshbooks", f.consent(started))
    status = f.status()
    offered = sorted(o.get("name") or "" for o in status.get("organisations", []))
    s.check(
        "a user with two FreshBooks businesses is asked to choose: Choose Organisation",
        done.status_code == 200
        and status["status_label"] == "Choose Organisation"
        and offered == sorted(businesses),
        ", ".join(offered) or short(done.text),
    )
    f.account = businesses["Harbor Rentals"]
    chosen = f.api.post("/integrations/freshbooks/organisation", json={"organisation_id": f.account})
    s.check(
        "the admin picks Harbor Rentals: Connected to that business",
        f.connected_to_chosen(chosen),
        f"account {f.status().get('account_id')}" if chosen.status_code == 200 else short(chosen.text),
    )
    f.settle()
    callbacks = [c for c in f.control.call("GET", "/callbacks")["callbacks"] if c["account_id"] == f.account]
    s.check(
        "booksync registered its FreshBooks callbacks and completed the verification",
        bool(callbacks) and all(c["verified"] for c in callbacks),
        ", ".join(f"{c['event']} {'verified' if c['verified'] else 'unverified'}" for c in callbacks)
        or "none",
    )


def _freshbooks_send(f: FreshBooksDemo) -> None:
    step("FreshBooks: customer, items, a DRAFT invoice (nothing syncs), then SENT; then an edit")
    s = f.s
    s.check(
        "the FreshBooks business's DRAFT invoice stays out of FreshBooks",
        *f.store_draft("fb-", FRESHBOOKS_INVOICE, lambda: f.books("invoices")),
    )
    s.check("the FreshBooks invoice marked SENT is queued", *f.send("fb-inv-1001", FRESHBOOKS_INVOICE))
    f.settle()
    clients = [f"{c.get('organization')} <{c.get('email')}>" for c in f.books("clients")]
    items = sorted(i["name"] for i in f.books("items"))
    s.check(
        "FreshBooks has the client and both items",
        len(clients) == 1 and items == ["Drain cleaning", "TKO-813PB-1500B"],
        f"client {', '.join(clients)}; items {', '.join(items)}",
    )
    invoice = f.invoice()
    s.check(
        "one invoice in FreshBooks, sent (never left a draft), total 355.50 (10% off, 5% tax)",
        invoice.get("v3_status") == "sent" and _amount(invoice, "amount") == Decimal("355.50"),
        f"{invoice.get('v3_status')} amount {money(_amount(invoice, 'amount'))}",
    )
    others = [b["account_id"] for b in f.control.businesses() if b["account_id"] != f.account]
    s.check(
        "the other FreshBooks business got nothing",
        all(f.control.ledger(a)["invoices"] == [] for a in others),
    )
    badge = f.api.get("/invoices/fb-inv-1001/sync-status").json()
    s.check(
        "the FreshBooks invoice's badge shows Synced",
        badge["badge"] == "Synced",
        f"remote id {badge['remote_id']}",
    )
    edited = {**FRESHBOOKS_INVOICE, "status": "SENT", "memo": "Second visit included"}
    f.api.put("/invoices/fb-inv-1001", json=edited).raise_for_status()
    f.settle()
    invoice = f.invoice()
    s.check(
        "the edit reached the same FreshBooks invoice (its notes), no second invoice",
        invoice.get("notes") == "Second visit included" and len(f.books("invoices")) == 1,
        f"notes {invoice.get('notes')!r}, {len(f.books('invoices'))} invoice(s)",
    )


def _freshbooks_paid(f: FreshBooksDemo) -> None:
    step("FreshBooks: two payments; the invoice reads partial, then paid, by FreshBooks' own status")
    s = f.s
    first = {"invoice_id": "fb-inv-1001", "amount": "200.00", "date": "2026-11-21", "method": "check"}
    f.api.put("/payments/fb-pay-1", json=first).raise_for_status()
    f.settle()
    invoice = f.invoice()
    s.check(
        "after 200.00 the FreshBooks invoice reads partial, 155.50 outstanding",
        invoice.get("payment_status") == "partial" and _amount(invoice, "outstanding") == Decimal("155.50"),
        f"{invoice.get('payment_status')}, outstanding {money(_amount(invoice, 'outstanding'))}",
    )
    rest = {"invoice_id": "fb-inv-1001", "amount": "155.50", "date": "2026-11-22", "method": "cash"}
    f.api.put("/payments/fb-pay-2", json=rest).raise_for_status()
    f.settle()
    payments = [_amount(p, "amount") for p in f.books("payments")]
    invoice = f.invoice()
    s.check(
        "two FreshBooks payments, each once; the invoice reads paid",
        sorted(payments) == [Decimal("155.50"), Decimal("200.00")]
        and invoice.get("v3_status") == "paid"
        and _amount(invoice, "outstanding") == 0,
        f"payments {', '.join(map(money, payments))}; {invoice.get('v3_status')}",
    )


def _freshbooks_deleted_there(f: FreshBooksDemo) -> None:
    step("FreshBooks: an invoice deleted in FreshBooks is recreated on the next sync")
    s = f.s
    lines = [{"item_id": "fb-svc-drain", "quantity": "1", "unit_price": "150.00"}]
    second = {"customer_id": "fb-cust-1", "number": "FB-1002", "status": "SENT", "issue_date": "2026-11-21"}
    f.api.put("/invoices/fb-inv-1002", json={**second, "lines": lines}).raise_for_status()
    f.settle()
    first_id = f.invoice("FB-1002").get("id")
    f.control.user_delete(f.account, "invoices", int(first_id or 0))
    f.settle()  # FreshBooks' callback says invoice.delete; booksync reads it gone
    badge = f.api.get("/invoices/fb-inv-1002/sync-status").json()
    s.check(
        "the delete made in FreshBooks reached booksync by its callback",
        first_id is not None and f.invoice("FB-1002") == {} and badge.get("pending") is True,
        f"badge {badge.get('badge')}, pending {badge.get('pending')}",
    )
    resync = f.api.post("/invoices/fb-inv-1002/sync")  # the sweep would, once its grace is over
    f.settle()
    again = f.invoice("FB-1002")
    s.check(
        "the next sync (Resync) recreated it in FreshBooks, sent: a new invoice",
        resync.status_code == 202 and again.get("v3_status") == "sent" and again.get("id") != first_id,
        f"id {first_id} deleted, now {again.get('id')} {again.get('v3_status')}",
    )


def _freshbooks_revoke_and_reconnect(f: FreshBooksDemo) -> None:
    step("FreshBooks: the user disconnects booksync in FreshBooks; the edit is parked; reconnect resumes it")
    print("  (the sync failures of this step are expected: the grant is revoked on purpose)", flush=True)
    s = f.s
    f.control.disconnect(f.account)
    f.control.expire_tokens()
    edited = {**FRESHBOOKS_INVOICE, "status": "SENT", "memo": "Edited while disconnected"}
    f.api.put("/invoices/fb-inv-1001", json=edited).raise_for_status()
    f.settle()
    s.check("FreshBooks shows Needs Reconnection, Reconnect offered", *f.needs_reconnection())
    s.check("the FreshBooks invoice shows Blocked; one notification", *f.blocked_and_told("fb-inv-1001"))
    back = app_return.confirm(
        f.api, "freshbooks", f.consent(f.api.post("/integrations/freshbooks/reconnect"))
    )
    s.check(
        "FreshBooks reconnected: the business chosen before is kept",
        f.connected_to_chosen(back),
        short(back.text),
    )
    s.stack.fire_schedule("SchedulerFunction", "Sweep")
    f.settle()
    s.check(
        "the parked edit reached FreshBooks by itself",
        f.invoice().get("notes") == "Edited while disconnected",
        f"notes {f.invoice().get('notes')!r}",
    )
    s.check("FreshBooks' notification is resolved", *f.resolved())


WAVE_COMPANY = "demo-wave-company"
WAVE_INVOICE: dict[str, Any] = {
    **FRESHBOOKS_INVOICE,
    "customer_id": "w-cust-1",
    "number": "W-1001",
    "lines": [
        {"item_id": "w-svc-drain", "quantity": "2", "unit_price": "150.00"},
        {"item_id": "w-part-813", "quantity": "1", "unit_price": "80.00", "taxable": False},
    ],
}
WAVE_SALES_TAX = """mutation($input: SalesTaxCreateInput!) {
  salesTaxCreate(input: $input) { didSucceed salesTax { id } }
}"""


@dataclass
class WaveDemo(BusinessDemo):
    """The Wave chapter's business and its Wave businesses in the sandbox (``control``: WaveControl)."""

    provider: str = "wave"

    def consent(self, started: httpx.Response, business: str) -> httpx.Response:
        """The Wave user picks ``business`` on the authorize page (Wave grants one business a
        consent) and allows; the browser follows the redirect to booksync's callback."""
        return httpx.get(self.control.consent_at(started.json()["authorization_url"], business), timeout=30)

    def books(self, name: str) -> list[dict[str, Any]]:
        """Records of the chosen business's ledger (``invoices``, ``payments``...)."""
        return list(self.control.ledger(self.account)[name])

    def invoice(self, number: str = "W-1001") -> dict[str, Any]:
        found = [i for i in self.books("invoices") if i["invoiceNumber"] == number]
        return found[0] if len(found) == 1 else {}


@chapter
def wave(s: Scenario) -> None:
    from local.sandboxes.wave.testing import WaveControl

    with WaveControl(s.stack.sandboxes["wave"].url) as control:
        w = WaveDemo(s, company_api(s.stack, WAVE_COMPANY), control)
        _wave_connect(w)
        _wave_send(w)
        _wave_revoke_and_reconnect(w)
        _wave_paid_and_refund(w)


def _wave_connect(w: WaveDemo) -> None:
    step("Wave: a business on Wave connects (one business a consent); payments need their account")
    s = w.s
    starter = w.control.business_id("Side Project (Starter)")
    refused = w.consent(w.api.post("/integrations/wave/connect"), starter)
    status = w.status()
    reason = str(status.get("needs_reconnection_reason") or "")
    s.check(
        "a business on Wave's free plan is refused: the card says why and what to do",
        status["status_label"] == "Not Connected"
        and "business_plan_required" in reason
        and "USD or CAD" in reason,
        short(reason or refused.text),
    )
    w.account = w.control.business_id("Maple Design Studio")
    started = w.api.post("/integrations/wave/connect")
    s.check(
        "connect returns Wave's authorize URL",
        started.status_code == 200 and "/oauth2/authorize/" in started.json().get("authorization_url", ""),
        started.json()["authorization_url"].split("?")[0]
        if started.status_code == 200
        else short(started.text),
    )
    done = app_return.confirm(w.api, "wave", w.consent(started, w.account))
    s.check(
        "the user picks Maple Design Studio: Connected to that business, the refusal gone",
        w.connected_to_chosen(done) and w.status().get("needs_reconnection_reason") is None,
        "Maple Design Studio" if done.status_code == 200 else short(done.text),
    )
    waiting = (w.status().get("payment_account") or {}).get("waiting_for")
    able = w.api.get("/integrations/wave/accounts", params={"type": "payments"}).json()
    checking = next((a["id"] for a in able if a["name"] == "Business Checking"), "")
    saved = w.api.put("/integrations/wave/account-mapping/payment-account", json={"account_id": checking})
    s.check(
        "Wave names no account for payments: the admin chooses Business Checking",
        bool(waiting)
        and saved.status_code == 200
        and saved.json().get("account_name") == "Business Checking",
        ", ".join(a["name"] for a in able) if saved.status_code == 200 else short(saved.text),
    )


def _wave_send(w: WaveDemo) -> None:
    step("Wave: customer, items, a DRAFT invoice (nothing syncs), then SENT; then an edit")
    s = w.s
    # The business charges a 5% sales tax, set up in Wave by its owner.
    tax = {"businessId": w.account, "name": "Sales Tax", "abbreviation": "ST", "rate": "0.05"}
    w.control.in_wave(w.account, WAVE_SALES_TAX, {"input": tax})
    s.check(
        "the Wave business's DRAFT invoice never reaches Wave",
        *w.store_draft("w-", WAVE_INVOICE, lambda: w.books("invoices")),
    )
    s.check("the Wave invoice marked SENT is queued", *w.send("w-inv-1001", WAVE_INVOICE))
    s.drain()
    customers = [f"{c.get('name')} <{c.get('email')}>" for c in w.books("customers")]
    products = sorted(p["name"] for p in w.books("products"))
    s.check(
        "Wave has the customer and both products",
        len(customers) == 1 and products == ["Drain cleaning", "TKO-813PB-1500B"],
        f"customer {', '.join(customers)}; products {', '.join(products)}",
    )
    invoice = w.invoice()
    s.check(
        "one invoice in Wave, approved and marked sent, total 355.50 (10% off, 5% tax)",
        invoice.get("status") == "SENT"
        and bool(invoice.get("lastSentVia"))
        and Decimal(str(invoice.get("total", -1))) == Decimal("355.50"),
        f"{invoice.get('status')} via {invoice.get('lastSentVia')}, total {money(invoice.get('total', -1))}",
    )
    others = [b["id"] for b in w.control.businesses() if b["id"] != w.account]
    s.check(
        "the user's other Wave businesses got nothing",
        all(w.control.ledger(b)["invoices"] == [] for b in others),
    )
    edited = {**WAVE_INVOICE, "status": "SENT", "memo": "Second visit included"}
    w.api.put("/invoices/w-inv-1001", json=edited).raise_for_status()
    s.drain()
    invoice = w.invoice()
    s.check(
        "the edit reached the same Wave invoice (its memo), still sent, no second invoice",
        invoice.get("memo") == "Second visit included"
        and invoice.get("status") == "SENT"
        and len(w.books("invoices")) == 1,
        f"memo {invoice.get('memo')!r}, {invoice.get('status')}, {len(w.books('invoices'))} invoice(s)",
    )


def _wave_revoke_and_reconnect(w: WaveDemo) -> None:
    step("Wave: the user removes booksync in Wave; the edit is parked; reconnect resumes it")
    print("  (the sync failures of this step are expected: the grant is ended on purpose)", flush=True)
    s = w.s
    w.control.disconnect(w.account)
    w.control.expire_tokens()
    edited = {**WAVE_INVOICE, "status": "SENT", "memo": "Edited while disconnected"}
    w.api.put("/invoices/w-inv-1001", json=edited).raise_for_status()
    s.drain()
    s.check("Wave shows Needs Reconnection, Reconnect offered", *w.needs_reconnection())
    s.check("the Wave invoice shows Blocked; one notification", *w.blocked_and_told("w-inv-1001"))
    back = app_return.confirm(w.api, "wave", w.consent(w.api.post("/integrations/wave/reconnect"), w.account))
    s.check(
        "Wave reconnected to the same business",
        w.connected_to_chosen(back),
        "Maple Design Studio" if back.status_code == 200 else short(back.text),
    )
    s.stack.fire_schedule("SchedulerFunction", "Sweep")
    s.drain()
    s.check(
        "the parked edit reached Wave by itself",
        w.invoice().get("memo") == "Edited while disconnected",
        f"memo {w.invoice().get('memo')!r}",
    )
    s.check("Wave's notification is resolved", *w.resolved())


def _wave_paid_and_refund(w: WaveDemo) -> None:
    step("Wave: the customer pays in full; the invoice is PAID in Wave; a refund Wave cannot take")
    s = w.s
    paid = {"invoice_id": "w-inv-1001", "amount": "355.50", "date": "2026-11-21", "method": "check"}
    w.api.put("/payments/w-pay-1", json=paid).raise_for_status()
    s.drain()
    resync = w.api.post("/invoices/w-inv-1001/sync")  # asked again: still one payment
    s.drain()
    payments = w.books("payments")
    checking = next(a["id"] for a in w.books("accounts") if a["name"] == "Business Checking")
    invoice = w.invoice()
    s.check(
        "one Wave payment of 355.50 into Business Checking (a Resync adds none); the invoice is PAID",
        resync.status_code == 202
        and [(Decimal(p["amount"]), p["paymentAccountId"]) for p in payments]
        == [(Decimal("355.50"), checking)]
        and (invoice.get("status"), Decimal(str(invoice.get("amountDue", -1)))) == ("PAID", Decimal(0)),
        f"payments {', '.join(money(p['amount']) for p in payments) or 'none'}; "
        f"{invoice.get('status')}, amount due {money(invoice.get('amountDue', -1))}",
    )
    refund = {"payment_id": "w-pay-1", "amount": "50.00", "date": "2026-11-23", "reason": "Goodwill"}
    accepted = w.api.put("/refunds/w-ref-1", json=refund)
    s.drain()
    said = "Recording refunds is not supported by Wave"
    kept = w.api.get("/refunds/w-ref-1")
    sync = (kept.json().get("sync") or {}) if kept.status_code == 200 else {}
    s.check(
        "the refund is kept and said not supported by Wave, on the document",
        accepted.status_code == 201 and said in str(sync),
        f"{sync.get('badge')}: {(sync.get('error') or {}).get('message')}" if sync else short(kept.text),
    )
    runs = w.api.get("/sync-runs").json()
    runs = runs.get("runs", runs) if isinstance(runs, dict) else runs
    notes = [n for r in runs for n in r.get("notes") or [] if n.get("document") == "refund w-ref-1"]
    s.check(
        "Sync History says it too; nothing sent to Wave, the invoice still PAID",
        bool(notes)
        and all(said in n.get("message", "") for n in notes)
        and len(w.books("payments")) == 1
        and w.invoice().get("status") == "PAID",
        short(notes[0].get("message", "")) if notes else "no note in history",
    )


def billing_history(
    put: Callable[[str, dict[str, Any]], object], prices: list[tuple[str, str]], first_number: int
) -> dict[str, Any]:
    """A business's billing history for the memory: a customer (c-1), the item wh (Water heater
    install, unit cost 1000.00) and an invoice SENT per (month of 2026, unit price), numbered
    INV-<first_number> on (ids inv-<number>). Returns the last invoice's body."""
    put("/customers/c-1", {"display_name": "Maple Street Dental"})
    put("/items/wh", {"name": "Water heater install", "unit_price": "1450.00", "unit_cost": "1000.00"})
    invoice: dict[str, Any] = {}
    for number, (month, price) in enumerate(prices, start=first_number):
        invoice = {
            "customer_id": "c-1",
            "number": f"INV-{number}",
            "status": "SENT",
            "issue_date": f"2026-{month}-04",
            "lines": [{"item_id": "wh", "unit_price": price}],
        }
        put(f"/invoices/inv-{number}", invoice)
    return invoice


@chapter
def billing_memory(s: Scenario) -> None:
    step("Billing memory: sent invoices, an estimate and a payment remembered; pricing questions answered")
    api = company_api(s.stack, MEMORY_COMPANY)

    refused: list[str] = []

    def put(path: str, body: dict[str, Any]) -> None:
        answer = api.put(path, json=body)
        if answer.status_code not in (200, 201):
            refused.append(f"{path}: {short(answer.text)}")

    invoice = billing_history(
        put, [("03", "1400.00"), ("06", "1450.00"), ("09", "1450.00"), ("11", "1500.00")], 2041
    )
    draft = {
        **invoice,
        "number": "INV-2049",
        "status": "DRAFT",
        "lines": [{"item_id": "wh", "unit_price": "1.00"}],
    }
    put("/invoices/draft", draft)
    estimate = {**invoice, "number": "EST-77", "lines": [{"item_id": "wh", "unit_price": "1550.00"}]}
    put("/estimates/est-77", estimate)
    put("/payments/pay-1", {"invoice_id": "inv-2044", "amount": "1500.00", "date": "2026-11-20"})
    s.check("memory: the documents are accepted", not refused, "; ".join(refused))
    s.stack.drain(timeout=60)
    found = api.post("/memory/search", json={"query": "water heater install", "top_k": 10}).json()
    numbers = {h["number"] for h in found.get("hits", [])}
    kinds = {h["kind"] for h in found.get("hits", [])}
    print(f"  search 'water heater install': {', '.join(sorted(n for n in numbers if n))}")
    s.check(
        "memory: the sent invoices, the estimate and the payment are found, the draft is not",
        {"INV-2041", "INV-2042", "INV-2043", "INV-2044", "EST-77"} <= numbers
        and "payment" in kinds
        and "INV-2049" not in numbers,
        str(sorted(n for n in numbers if n)),
    )
    facts = api.get("/memory/prices", params={"item": "wh"}).json()
    usd = (facts.get("by_currency") or [{}])[0]
    s.check(
        "memory: prices counted from the invoice lines (4 charges, median 1450.00, markup 45.0%)",
        (usd.get("times_charged"), usd.get("median_unit_price"), usd.get("typical_markup_percent"))
        == (4, "1450.00", "45.0"),
        short(str(facts.get("message"))),
    )
    asked: dict[str, tuple[dict[str, Any], list[Any]]] = {}
    for question in (
        "What did we charge for a water-heater install?",
        "What's our typical markup on water heater installs?",
    ):
        answer = api.post("/memory/ask", json={"question": question}).json()
        cited = [c.get("number") for c in answer.get("citations", [])]
        print(f"  Q: {question}\n  A: {answer.get('answer')}\n     cited: {', '.join(map(str, cited))}")
        asked[question] = (answer, cited)
    first, cited = asked["What did we charge for a water-heater install?"]
    s.check(
        "memory: the pricing answer says what was charged and cites the last invoice",
        str(first.get("answer", "")).startswith(
            "You charged for Water heater install 4 times since March 2026"
        )
        and cited[:1] == ["INV-2044"],
        short(str(first.get("answer"))),
    )
    markup, _ = asked["What's our typical markup on water heater installs?"]
    s.check(
        "memory: the markup answer gives the typical markup over cost",
        "Typical markup over cost: 45.0%." in str(markup.get("answer", "")),
        short(str(markup.get("answer"))),
    )


@chapter
def billing_memory_backfill(s: Scenario) -> None:
    step("make backfill-embeddings --dry-run over that business: all of it is already remembered")
    done = _backfill_dry_run(s.stack, MEMORY_COMPANY)
    print("\n".join(f"  | {line}" for line in done.stdout.splitlines()))
    s.check(
        "memory: the backfill's dry run finds the sent invoices and the estimate embedded, sends nothing",
        done.returncode == 0
        and "Found 5 records to remember: 4 invoices (4 sent); 1 estimate (1 sent)." in done.stdout
        and "to embed: 0 in 0 request(s)" in done.stdout
        and "Dry run: nothing was sent." in done.stdout,
        f"exit {done.returncode}" + (f": {short(done.stderr, 160)}" if done.returncode else ""),
    )


def _backfill_dry_run(stack: Any, company_id: str) -> subprocess.CompletedProcess[str]:
    """``make backfill-embeddings`` with --dry-run, in the embed function's own environment (its
    tables, flag, embedder and vector store) against the stack's moto."""
    from local.runtime.aws import function_aws_environment

    env = {**os.environ, **stack.model.functions["EmbedBillingFunction"].environment}
    env.update(function_aws_environment(stack.moto_url))
    command = [sys.executable, "-m", "scripts.backfill_embeddings", "--company", company_id, "--dry-run"]
    command += ["--documents-table", env["DOCUMENTS_TABLE"], "--memory-table", env["MEMORY_TABLE"]]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)


@chapter
def sweep_is_quiet(s: Scenario) -> None:
    step("The sweep finds nothing left to do")
    result = s.stack.fire_schedule("SchedulerFunction", "Sweep")
    s.check("sweep queued nothing", _queued(result) == 0, f"queued {_queued(result)}")


@chapter
def summary(s: Scenario) -> None:
    step("Summary, read back from the QuickBooks sandbox's ledger")
    for entity in ("Customer", "Item", "Invoice", "Payment", "Deposit"):
        objects = s.entities(entity)
        for obj in objects[:6]:
            label = (
                obj.get("DisplayName")
                or obj.get("Name")
                or obj.get("DocNumber")
                or obj.get("PaymentRefNum")
                or ""
            )
            amount = obj.get("TotalAmt", obj.get("UnitPrice"))
            shown = "  ".join(filter(None, [label, money(amount) if amount is not None else ""]))
            print(f"  {entity:<9} Id {obj['Id']:<4} SyncToken {obj.get('SyncToken')}  {shown}")
        if len(objects) > 6:
            print(f"  {entity:<9} ... and {len(objects) - 6} more")


def _count(calls: dict[str, Any], grant: str) -> int:
    by_grant = calls.get("by_grant", calls)
    return int(by_grant.get(grant, 0)) if isinstance(by_grant, dict) else 0


def _queued(result: Any) -> int:
    result = getattr(result, "payload", result)
    if isinstance(result, dict):
        payload = result.get("result", result)
        if isinstance(payload, dict):
            return int(payload.get("queued", -1))
    return -1


def main(argv: list[str] | None = None) -> int:
    from local.stack import LocalStack, StackOptions

    args = sys.argv[1:] if argv is None else argv
    verbose = "--verbose" in args or os.environ.get("DEMO_VERBOSE", "") not in ("", "0")
    print("Starting the local stack (moto, runtime from template.yaml, QuickBooks sandbox)...", flush=True)
    began = time.monotonic()
    options = StackOptions(template="template.yaml", ports="auto", echo=verbose, parameters=STACK_PARAMETERS)
    with LocalStack(options) as stack:
        qbo_url = stack.sandboxes["quickbooks"].url
        print(f"  API {stack.api_url}   QuickBooks sandbox {qbo_url}   AWS (moto) {stack.moto_url}")
        if not verbose:
            logs = stack.state_dir / "logs"
            print(f"  function logs: {logs}/<Function>.log (--verbose or DEMO_VERBOSE=1 prints them here)")
        try:
            checks = run(stack)
        except Exception as exc:  # a crash is a failed check, reported plainly
            print(f"\nThe demo stopped: {type(exc).__name__}: {exc}")
            return 1
    passed = sum(ok for _, ok, _ in checks.results)
    print(f"\n{passed} of {len(checks.results)} checks held in {time.monotonic() - began:.1f}s.")
    return 0 if checks.all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
