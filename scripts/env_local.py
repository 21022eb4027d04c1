"""Write events/env.local.json: the environment each function has on the local stack, for
`sam local invoke --env-vars` (README: "Running one function").

Read from a running stack's control API (`make dev`, default ports, `BOOKSYNC_SQUARE_PORT=8302`),
so table names, queue URLs, SSM parameter names and sandbox URLs are the stack's own. The KMS key
id changes at every start: its alias, which does not, is written instead.

    python -m scripts.env_local [--control http://127.0.0.1:3001]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import httpx

from local.runtime.template import Pseudo, Resolver, Template

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "events" / "env.local.json"
# The sample deliveries in events/webhooks/ are signed with sample keys, not the stack's: under
# sam local invoke the webhook functions read those (README: put them in moto's SSM first).
SAMPLE_KEYS = {
    "QuickBooksWebhookFunction": {
        "QBO_WEBHOOK_VERIFIER_PARAM": "/booksync/local/samples/quickbooks-webhook-verifier-token",
    },
    "SquareWebhookFunction": {
        "SQUARE_WEBHOOK_SIGNATURE_KEY_PARAM": "/booksync/local/samples/square-webhook-signature-key",
        "SQUARE_WEBHOOK_NOTIFICATION_URL": "https://api.booksync.example/webhooks/square",
    },
    "XeroWebhookFunction": {"XERO_WEBHOOK_KEY_PARAM": "/booksync/local/samples/xero-webhook-key"},
}


def token_key_alias(template_path: Path = ROOT / "template.yaml") -> str:
    """The token key's alias on the local stack: the template's AliasName (it derives it from the
    stack name), resolved with the local stack's name."""
    template = Template.load(template_path)
    (alias,) = template.of_type("AWS::KMS::Alias")
    where = f"Resources.{alias.logical_id}.AliasName"
    return str(Resolver(template, {}, Pseudo(), {}).resolve(alias.properties["AliasName"], where))


def environments(functions: list[dict[str, Any]], moto_url: str) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    alias = token_key_alias()
    for function in sorted(functions, key=lambda f: str(f["logicalId"])):
        variables = dict(function["environment"])
        if "TOKEN_KEY_ID" in variables:
            variables["TOKEN_KEY_ID"] = alias
        variables["AWS_ENDPOINT_URL"] = moto_url
        variables.update(SAMPLE_KEYS.get(str(function["logicalId"]), {}))
        found[str(function["logicalId"])] = dict(sorted(variables.items()))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--control", default="http://127.0.0.1:3001", help="the stack's control API")
    parser.add_argument("--moto", default="http://127.0.0.1:4566", help="the stack's moto")
    args = parser.parse_args(argv)
    functions = httpx.get(f"{args.control}/functions", timeout=10).raise_for_status().json()
    OUT.write_text(json.dumps(environments(functions, args.moto), indent=2) + "\n", encoding="utf-8")
    sys.stdout.write(f"wrote {OUT}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
