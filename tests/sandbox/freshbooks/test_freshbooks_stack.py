"""The local stack starts the FreshBooks sandbox with its app registered, and an app can connect
to it and keep a business's books."""

from __future__ import annotations

from pathlib import Path

import pytest

from local.sandboxes.freshbooks.testing import FreshBooksClient, FreshBooksControl
from local.stack import LocalStack
from tests.sandbox.mini_stack import mini_stack


@pytest.mark.xdist_group("stack")
def test_the_stack_runs_the_freshbooks_sandbox(tmp_path: Path) -> None:
    with LocalStack(mini_stack(tmp_path)) as stack:
        run = stack.sandboxes["freshbooks"]
        assert run.sandbox is not None and stack.urls()["freshbooks_url"] == run.url
        assert run.redirect_uri == f"{stack.api_url}/oauth/freshbooks/callback"
        with FreshBooksControl(run.url) as control:
            tokens = control.connect(run.client_id, run.client_secret, run.redirect_uri)
            account_id = control.me(tokens.access_token).json()["response"]["business_memberships"][0][
                "business"
            ]["account_id"]
            fb = FreshBooksClient(run.url, tokens.access_token, account_id)
            assert fb.request("GET", "users/clients").status_code == 200
            fb.close()
