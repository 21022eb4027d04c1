"""The README's first hour, run as written (bash, curl) against the local stack: the consent
round trip without a browser, the four documents, and what reached the QuickBooks sandbox."""

from __future__ import annotations

import re
import shutil
import subprocess
from decimal import Decimal

import httpx
import pytest

from local.stack import LocalStack, StackOptions
from tests.integration.test_readme_first_hour import first_hour

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.xdist_group("stack"),
    pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed"),
]


def script(stack: LocalStack, token: str) -> str:
    blocks = re.findall(r"```bash\n(.*?)```", first_hour(), flags=re.DOTALL)
    text = "\n".join(block for block in blocks if not block.startswith("make dev"))
    # The stack runs on free ports here, and its token is minted in-process (make token is
    # tested on its own): everything else runs exactly as the README prints it.
    text, ports = re.subn(
        r"^export API=\S+ QBO=\S+$",
        f"export API={stack.api_url} QBO={stack.sandboxes['quickbooks'].url}",
        text,
        flags=re.M,
    )
    text, minted = re.subn(r"^export TOKEN=\$\(make -s token\)$", f"export TOKEN={token}", text, flags=re.M)
    assert (ports, minted) == (1, 1), "the README's first hour no longer sets API, QBO and TOKEN"
    return "set -euo pipefail\n" + text


def test_the_first_hour_runs_as_written() -> None:
    with LocalStack(StackOptions(template="template.yaml", ports="auto", echo=False)) as stack:
        token = stack.mint_token(company_id="demo-company", role="admin")
        done = subprocess.run(
            ["bash", "-c", script(stack, token)], capture_output=True, text=True, timeout=240, check=False
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert '"status_label":"Connected"' in done.stdout
        stack.drain(timeout=120)
        realm = httpx.get(
            f"{stack.api_url}/integrations/quickbooks", headers={"Authorization": f"Bearer {token}"}
        ).json()["account_id"]
        entities = httpx.get(
            f"{stack.sandboxes['quickbooks'].url}/_sandbox/ledger", params={"realm": realm}
        ).json()["entities"]
    (invoice,) = entities["Invoice"]
    (payment,) = entities["Payment"]
    assert [c["DisplayName"] for c in entities["Customer"]] == ["Harper Plumbing LLC"]
    assert (Decimal(str(invoice["TotalAmt"])), Decimal(str(invoice["Balance"]))) == (
        Decimal("827.14"),
        Decimal("427.14"),
    )
    assert invoice["DueDate"] == "2026-12-31"  # no due_date sent: the company's terms (30 days)
    assert Decimal(str(payment["TotalAmt"])) == Decimal("400.00")
