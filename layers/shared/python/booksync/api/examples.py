"""An example body for every operation that takes one, in the OpenAPI document.

They are the bodies of the sample events in ``events/api/`` (named after the file; a test keeps
both equal and sends every example through the API), so what ``sam local invoke`` replays and what
the document shows are one thing.
"""

from __future__ import annotations

from typing import Any

EXAMPLES: dict[str, dict[str, dict[str, Any]]] = {
    "PUT /customers/{doc_id}": {
        "put_customer": {
            "id": "cust-1001",
            "display_name": "Harper Plumbing LLC",
            "given_name": "Dana",
            "family_name": "Reyes",
            "company_name": "Harper Plumbing LLC",
            "email": "billing@harperplumbing.example",
            "phone": "+1 512-555-0143",
            "billing_address": {
                "line1": "4100 Riverside Dr",
                "line2": "Suite 210",
                "city": "Austin",
                "region": "TX",
                "postal_code": "78741",
                "country": "US",
            },
        }
    },
    "PUT /items/{doc_id}": {
        "put_item_labor": {
            "id": "item-301",
            "name": "Labor (hours)",
            "type": "service",
            "unit_price": "95.00",
            "description": "Plumber's labor, per hour",
            "taxable": False,
        },
        "put_item": {
            "id": "item-302",
            "name": "50 gal water heater",
            "type": "non_inventory",
            "unit_price": "849.00",
            "unit_cost": "610.00",
            "description": "Rheem 50 gal electric water heater, installed",
            "sku": "WH-50G-RH",
            "taxable": True,
        },
    },
    "PUT /invoices/{doc_id}": {
        "put_invoice": {
            "id": "inv-2001",
            "customer_id": "cust-1001",
            "number": "1042",
            "status": "SENT",
            "issue_date": "2026-11-20",
            "due_date": "2026-12-20",
            "lines": [
                {
                    "item_id": "item-301",
                    "description": "Water heater replacement, labor (hours)",
                    "quantity": "3.5",
                    "unit_price": "95.00",
                    "taxable": False,
                },
                {
                    "item_id": "item-302",
                    "description": "50 gal water heater",
                    "quantity": "1",
                    "unit_price": "849.00",
                    "taxable": True,
                },
            ],
            "discount": {"kind": "percent", "value": "10"},
            "tax_rate_percent": "8.25",
            "memo": "Job #J-7781, 4100 Riverside Dr. Thank you for your business.",
            "currency": "USD",
        }
    },
    "PUT /estimates/{doc_id}": {
        "put_estimate": {
            "id": "est-3001",
            "customer_id": "cust-1001",
            "number": "E-311",
            "status": "SENT",
            "issue_date": "2026-11-10",
            "valid_until": "2026-12-10",
            "lines": [
                {
                    "item_id": "item-301",
                    "description": "Water heater replacement, labor (hours)",
                    "quantity": "4",
                    "unit_price": "95.00",
                    "unit_cost": "48.00",
                    "taxable": False,
                },
                {
                    "item_id": "item-302",
                    "description": "50 gal water heater",
                    "quantity": "1",
                    "unit_price": "849.00",
                    "unit_cost": "610.00",
                    "taxable": True,
                },
            ],
            "tax_rate_percent": "8.25",
            "memo": "Quote for job #J-7781, 4100 Riverside Dr. Valid 30 days.",
            "currency": "USD",
        }
    },
    "PUT /payments/{doc_id}": {
        "put_payment": {
            "id": "pay-5001",
            "invoice_id": "inv-2001",
            "amount": "1126.39",
            "date": "2026-11-21",
            "method": "credit_card",
            "reference": "sq-8KQ2V1",
            "memo": "Paid in full at the door",
        },
        "put_payment_two_invoices": {
            "id": "pay-5002",
            "applications": [
                {"invoice_id": "inv-2001", "amount": "500.00"},
                {"invoice_id": "inv-2002", "amount": "250.00"},
            ],
            "amount": "750.00",
            "date": "2026-11-21",
            "method": "check",
            "reference": "4417",
        },
    },
    "PUT /refunds/{doc_id}": {
        "put_refund": {
            "id": "square-rf-7Hk2",
            "payment_id": "pay-5001",
            "amount": "126.39",
            "date": "2026-11-22",
            "reason": "Returned part",
            "reference": "sq-rf-7Hk2",
        }
    },
    "PATCH /integrations/{provider}/settings": {
        "update_settings_default_income_account": {"default_income_account_id": "1", "auto_sync_items": True},
        "update_settings_payout_deposits": {
            "auto_sync_deposits": True,
            "deposit_bank_account_id": "35",
            "merchant_fees_account_id": "60",
            "tips_account_id": "85",
            "payout_fees_account_id": "60",
        },
    },
    "POST /integrations/{provider}/organisation": {
        "choose_organisation": {"organisation_id": "a3f1c9e2-7b4d-4e0a-9c55-2d8e6b1f0a47"}
    },
    "POST /integrations/{provider}/sync": {"sync_catalog": {"kinds": ["customers", "items", "invoices"]}},
    "PUT /integrations/{provider}/account-mapping/items/{item_id}": {
        "map_item_income_account": {"account_id": "79"}
    },
    "PUT /integrations/{provider}/account-mapping/payment-account": {
        "set_payment_account": {"account_id": "35"}
    },
    "POST /integrations/{provider}/account-mapping/apply-to-unmapped": {
        "apply_income_account_to_unmapped": {"account_id": "1"}
    },
    "POST /integrations/{provider}/wizard/customers/import": {
        "wizard_import_customers": {
            "customers": [
                {"remote_id": "58", "type": "Builder"},
                {"remote_id": "61", "type": "Homeowner"},
                {"remote_id": "64", "type": "Business"},
            ]
        }
    },
    "POST /integrations/{provider}/wizard/items/import": {
        "wizard_import_items": {
            "items": [{"remote_id": "19", "income_account_id": "79"}, {"remote_id": "23"}]
        }
    },
    "POST /oauth/{provider}/complete": {
        "oauth_quickbooks_complete": {
            "consent": "V2h5IGFyZSB5b3UgcmVhZGluZyB0aGlzPyBTdGF0ZQ"
            ".Q29uc2VudCBzZWNyZXQgZm9yIHRoZSBzYW1wbGUgZXZlbnQ"
        }
    },
    "POST /square/payments/{square_payment_id}/match": {"match_square_payment": {"invoice_id": "inv-1001"}},
    "POST /memory/search": {
        "memory_search": {
            "query": "water heater install",
            "top_k": 5,
            "filters": {
                "kinds": ["invoice", "estimate"],
                "date_from": "2026-01-01",
                "currency": "USD",
                "min_total": "500.00",
            },
        }
    },
    "POST /memory/ask": {
        "memory_ask": {"question": "What did we charge for a water heater install?", "top_k": 8}
    },
}
