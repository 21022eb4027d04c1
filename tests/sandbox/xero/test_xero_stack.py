"""The local stack starts the Xero sandbox with its app registered, its spec check on and its
webhook posting to the stack's own /webhooks/xero, and an app can connect to it."""

from __future__ import annotations

from pathlib import Path

import pytest

from local.sandboxes.xero.testing import XeroClient, XeroControl
from local.stack import LocalStack
from tests.sandbox.mini_stack import mini_stack


@pytest.mark.xdist_group("stack")
def test_the_stack_runs_the_xero_sandbox_wired_to_its_own_endpoints(tmp_path: Path) -> None:
    with LocalStack(mini_stack(tmp_path)) as stack:
        run = stack.sandboxes["xero"]
        assert run.sandbox is not None and stack.urls()["xero_url"] == run.url
        assert f"Xero sandbox{'':<18} {run.url}" in stack.banner()
        assert run.redirect_uri == f"{stack.api_url}/oauth/xero/callback"
        webhook = run.sandbox.webhooks.webhook
        assert (webhook.url, webhook.key) == (f"{stack.api_url}/webhooks/xero", run.webhook_signature_key)
        with XeroControl(run.url) as control:
            assert control.config()["check_spec"] is True
            tokens = control.connect(run.client_id, run.client_secret, run.redirect_uri)
            xero = XeroClient(run.url, tokens.access_token, tokens.tenant_ids[0])
            assert xero.request("GET", "/Organisation").status_code == 200
            xero.close()
            assert control.call("GET", "/spec")["problems"] == []
