"""The local stack starts the Square sandbox with the app and webhook subscription of stack.yaml."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from local.sandboxes.square.testing import connect
from local.stack import LocalStack, StackOptions
from tests.sandbox.mini_stack import MINI, mini_stack


@pytest.mark.xdist_group("stack")
def test_the_stack_runs_the_square_sandbox_wired_to_its_own_endpoints(tmp_path: Path) -> None:
    with LocalStack(mini_stack(tmp_path)) as stack:
        assert stack.sandboxes["square"].url and stack.sandboxes["square"].sandbox is not None
        assert stack.urls()["square_url"] == stack.sandboxes["square"].url
        assert f"Square sandbox{'':<16} {stack.sandboxes['square'].url}" in stack.banner()
        assert httpx.get(f"{stack.sandboxes['square'].url}/v2/locations").status_code == 401
        [subscription] = stack.sandboxes["square"].sandbox.webhooks.subscriptions.values()
        assert subscription.notification_url == f"{stack.api_url}/webhooks/square"
        assert subscription.signature_key == stack.sandboxes["square"].webhook_signature_key
        secret = stack.boto3_client("ssm").get_parameter(
            Name="/booksync/local/square/application-secret", WithDecryption=True
        )["Parameter"]["Value"]
        assert secret == stack.sandboxes["square"].client_secret
        tokens = connect(
            stack.sandboxes["square"].url,
            stack.sandboxes["square"].client_id,
            secret,
            stack.sandboxes["square"].redirect_uri,
        )
        assert tokens.merchant_id
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{stack.sandboxes['square'].url}/v2/locations")


def test_without_sandboxes_the_url_is_still_known(tmp_path: Path) -> None:
    options = StackOptions(
        template=MINI,
        config=None,
        ports="auto",
        state_dir=tmp_path,
        sandboxes=False,
        schedule_scale=0,
        echo=False,
    )
    with LocalStack(options) as stack:
        assert stack.sandboxes["square"].url and stack.sandboxes["square"].sandbox is None
        assert "Square sandbox                 not running" in stack.banner()
