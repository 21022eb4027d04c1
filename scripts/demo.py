"""`make demo`: a business day on the local stack, checked step by step.

Starts moto, the runtime that reads template.yaml and the QuickBooks sandbox; then acts as the
business's app would, over HTTP only, and prints what the sandbox's ledger proves. Exits 0 only
if every check held.
"""

from __future__ import annotations

import html.parser
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

COMPANY = "demo-company"
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


def run(stack: Any) -> Checks:  # noqa: PLR0915 - the scenario reads top to bottom
    checks = Checks()
    token = stack.mint_token(company_id=COMPANY, role="admin")
    api = httpx.Client(base_url=stack.api_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    qbo = httpx.Client(base_url=stack.qbo_url, timeout=10)

    def ledger() -> dict[str, Any]:
        return dict(qbo.get("/_sandbox/ledger", params={"realm": realm}).json())

    def entities(name: str) -> list[dict[str, Any]]:
        return list(ledger().get("entities", {}).get(name, []))

    def drain() -> None:
        stack.drain(timeout=60)

    step("Connect the company to QuickBooks (OAuth authorization code, real redirects)")
    checks.check(
        "an unauthenticated call is refused", httpx.get(f"{stack.api_url}/integrations").status_code == 401
    )
    started = api.post("/integrations/quickbooks/connect")
    checks.check("connect returns Intuit's consent URL", started.status_code == 200, started.text[:120])
    location = consent(started.json()["authorization_url"], REALM)
    query = parse_qs(urlsplit(location).query)
    checks.check(
        "consent redirects back with code, state and realmId",
        {"code", "state", "realmId"} <= set(query),
        location.split("?")[0],
    )
    callback = httpx.get(location, timeout=30)
    back_to_app = callback.headers.get("location", "")
    checks.check(
        "the callback stores the connection and returns to the app",
        callback.status_code == 200
        or (callback.status_code == 302 and "connected=quickbooks" in back_to_app),
        back_to_app or callback.text[:160],
    )
    status = api.get("/integrations").json()[0]
    checks.check(
        "the integration shows Connected",
        status["status_label"] == "Connected",
        f"realm {status['account_id']}",
    )
    realm = str(status["account_id"])

    step("Customer, two items and a DRAFT invoice: nothing syncs")

    def put(path: str, body: dict[str, Any]) -> httpx.Response:
        return api.put(path, json=body)

    checks.check(
        "customer accepted",
        put(
            "/customers/cust-1",
            {
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
            },
        ).status_code
        == 201,
    )
    checks.check(
        "item 1 accepted",
        put(
            "/items/svc-drain", {"name": "Drain cleaning", "unit_price": "150.00", "description": "Main line"}
        ).status_code
        == 201,
    )
    checks.check(
        "item 2 accepted (a tab in its name)",
        put(
            "/items/part-813",
            {"name": "TKO-\t813PB-1500B", "type": "non_inventory", "unit_price": "80.00", "taxable": False},
        ).status_code
        == 201,
    )
    invoice = {
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
    draft = put("/invoices/inv-1001", invoice)
    checks.check("draft accepted, not queued", draft.status_code == 201 and not draft.json()["pending_sync"])
    drain()
    checks.check("QuickBooks has no invoice yet", entities("Invoice") == [])

    step("Send the invoice: it syncs with its customer and items")
    sent = put("/invoices/inv-1001", {**invoice, "status": "SENT"})
    checks.check("sent invoice queued", sent.status_code == 200 and sent.json()["sync_run_id"] is not None)
    drain()
    invoices = entities("Invoice")
    checks.check("one invoice in QuickBooks", len(invoices) == 1)
    checks.check("one customer, two items", len(entities("Customer")) == 1 and len(entities("Item")) == 2)
    names = sorted(i["Name"] for i in entities("Item"))
    checks.check("item name cleaned of the tab", "TKO-813PB-1500B" in names, ", ".join(names))
    total = Decimal(str(invoices[0]["TotalAmt"])) if invoices else Decimal(-1)
    checks.check(
        "invoice total matches (2x150 + 80, 10% off, 5% tax on taxable)",
        total == Decimal("355.50"),
        f"TotalAmt {total}",
    )
    badge = api.get("/invoices/inv-1001/sync-status").json()
    checks.check("badge shows Synced", badge["badge"] == "Synced", f"remote id {badge['remote_id']}")

    step("Record two payments: each syncs once; QuickBooks shows the invoice paid")
    p1 = put(
        "/payments/pay-1",
        {
            "invoice_id": "inv-1001",
            "amount": "200.00",
            "date": "2026-11-21",
            "method": "check",
            "reference": "CHK-5521",
        },
    )
    p2 = put(
        "/payments/pay-2",
        {"invoice_id": "inv-1001", "amount": "155.50", "date": "2026-11-22", "method": "credit_card"},
    )
    checks.check("payments accepted", p1.status_code == 201 and p2.status_code == 201)
    drain()
    payments = entities("Payment")
    checks.check(
        "two payments in QuickBooks", len(payments) == 2, ", ".join(str(p.get("TotalAmt")) for p in payments)
    )
    balance = Decimal(str(entities("Invoice")[0]["Balance"]))
    checks.check("invoice balance 0 (paid)", balance == 0, f"Balance {balance}")

    step("Sync again: nothing new is written")
    before = ledger().get("creates", {})
    resync = api.post("/invoices/inv-1001/sync")
    checks.check("resync accepted (202)", resync.status_code == 202, resync.json().get("message", ""))
    drain()
    after = ledger().get("creates", {})
    checks.check("no new remote objects", before == after, str(after))

    step("The access token expires: exactly one refresh")
    calls_before = qbo.get("/_sandbox/token-calls", params={"realm": realm}).json()
    qbo.post("/_sandbox/tokens/expire", json={"realm": realm})
    put("/invoices/inv-1001", {**invoice, "status": "SENT", "memo": "Paid in full, thank you"})
    drain()
    calls_after = qbo.get("/_sandbox/token-calls", params={"realm": realm}).json()
    refreshes = _count(calls_after, "refresh_token") - _count(calls_before, "refresh_token")
    checks.check("one token refresh", refreshes == 1, f"{refreshes} refresh call(s)")
    memo = (entities("Invoice")[0].get("CustomerMemo") or {}).get("value")
    checks.check("the edit reached QuickBooks", memo == "Paid in full, thank you", str(memo))

    step("The sweep finds nothing left to do")
    result = stack.fire_schedule("SchedulerFunction", "Sweep")
    checks.check("sweep queued nothing", _queued(result) == 0, str(getattr(result, "payload", result))[:160])

    step("Summary, read back from the QuickBooks sandbox's ledger")
    for entity in ("Customer", "Item", "Invoice", "Payment"):
        for obj in entities(entity):
            label = (
                obj.get("DisplayName")
                or obj.get("Name")
                or obj.get("DocNumber")
                or obj.get("PaymentRefNum")
                or ""
            )
            amount = obj.get("TotalAmt", obj.get("UnitPrice", ""))
            print(f"  {entity:<9} Id {obj['Id']:<4} SyncToken {obj.get('SyncToken')}  {label} {amount}")
    return checks


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


def main(start: Callable[[], Any] | None = None) -> int:
    from local.stack import LocalStack, StackOptions

    print("Starting the local stack (moto, runtime from template.yaml, QuickBooks sandbox)...", flush=True)
    began = time.monotonic()
    with LocalStack(StackOptions(template="template.yaml", ports="auto")) as stack:
        print(f"  API {stack.api_url}   QuickBooks sandbox {stack.qbo_url}   AWS (moto) {stack.moto_url}")
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
