"""Square connected over HTTP with the template's SquareOAuthFlow set to pkce (the local runtime,
ApiFunction in a worker process, moto server, the Square sandbox): the consent URL carries a
PKCE challenge, the callback redeems the code with its verifier, and the grant Square made is a
PKCE one (single-use refresh token with a 90-day expiry)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from local import app_return
from local.sandboxes.square.testing import SquareControl
from local.stack import LocalStack, StackOptions

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("stack")]

ROOT = Path(__file__).resolve().parents[2]
COMPANY = "square-pkce-http"


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    options = StackOptions(
        template=str(ROOT / "template.yaml"), ports="auto", parameters={"SquareOAuthFlow": "pkce"}
    )
    with LocalStack(options) as running:
        yield running


def test_square_connects_with_pkce_when_the_stack_says_so(stack: LocalStack) -> None:
    assert stack.sandboxes["square"].url and stack.sandboxes["square"].sandbox is not None
    token = stack.mint_token(COMPANY, "admin", sub="alice")
    with (
        httpx.Client(base_url=stack.api_url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as api,
        SquareControl(stack.sandboxes["square"].url) as square,
    ):
        merchant = square.add_merchant("Harper Plumbing", ["Main"])
        started = api.post("/integrations/square/connect")
        assert started.status_code == 200, started.text
        url = started.json()["authorization_url"]
        assert len(httpx.URL(url).params["code_challenge"]) == 43
        consent = httpx.get(url + f"&merchant_id={merchant['id']}", timeout=30)
        assert consent.status_code == 302, consent.text
        callback = httpx.get(consent.headers["location"], timeout=30)
        assert callback.status_code in (200, 302), callback.text
        assert app_return.confirm(api, "square", callback).status_code == 200
        described = api.get("/integrations/square").json()
        assert described["status"] == "connected" and described["account_id"] == merchant["id"]
    grants = [
        g for g in stack.sandboxes["square"].sandbox.oauth.grants.values() if g.merchant_id == merchant["id"]
    ]
    assert [grant.pkce for grant in grants] == [True]
