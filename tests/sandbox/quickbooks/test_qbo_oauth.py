"""Intuit OAuth 2.0 as the sandbox answers it: consent, code exchange, rotation, revocation."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from qbo_helpers import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, SandboxFactory, fault_of, raw

from local.sandboxes.quickbooks.control import ControlError, SandboxControl
from local.sandboxes.quickbooks.server import QuickBooksSandbox
from local.sandboxes.quickbooks.testing import (
    Connection,
    QBOClient,
    authorize_url,
    basic_auth,
    connect,
    redirect_params,
)
from tests.threads import run_threads

INVALID_REFRESH = {"error": "invalid_grant", "error_description": "Incorrect or invalid refresh token"}


def token_call(sandbox: QuickBooksSandbox, data: dict[str, str], auth: str | None = None) -> httpx.Response:
    headers = {"Authorization": auth or basic_auth(CLIENT_ID, CLIENT_SECRET), "Accept": "application/json"}
    return raw.post(f"{sandbox.url}/oauth2/v1/tokens/bearer", data=data, headers=headers)


def code_for(control: SandboxControl, sandbox: QuickBooksSandbox, realm: str | None = None) -> dict[str, str]:
    location = control.approve_consent(authorize_url(sandbox.url, CLIENT_ID, REDIRECT_URI), realm=realm)
    assert location.startswith(REDIRECT_URI + "?")
    return redirect_params(location)


def exchange(sandbox: QuickBooksSandbox, code: str, redirect_uri: str = REDIRECT_URI) -> httpx.Response:
    return token_call(
        sandbox, {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    )


def refresh(sandbox: QuickBooksSandbox, refresh_token: str) -> httpx.Response:
    return token_call(sandbox, {"grant_type": "refresh_token", "refresh_token": refresh_token})


def test_consent_page_is_one_form_with_the_request_and_two_decisions(sandbox: QuickBooksSandbox) -> None:
    page = raw.get(authorize_url(sandbox.url, CLIENT_ID, REDIRECT_URI, state="s-1"))
    assert page.status_code == 200
    html = page.text
    assert html.count("<form") == 1
    assert '<form method="post" action="/connect/oauth2/consent">' in html
    for value in (CLIENT_ID, "s-1", "com.intuit.quickbooks.accounting", 'name="realm"'):
        assert value in html
    assert 'name="decision" value="approve"' in html
    assert 'name="decision" value="deny"' in html


def test_code_flow_gives_tokens_that_open_the_company(
    sandbox: QuickBooksSandbox, control: SandboxControl
) -> None:
    params = code_for(control, sandbox)
    assert params["state"] == "state-1"
    assert params["realmId"].isdigit()
    answer = exchange(sandbox, params["code"])
    assert answer.status_code == 200
    tokens = answer.json()
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 3600
    assert tokens["x_refresh_token_expires_in"] == 8726400
    client = QBOClient(
        sandbox.url, Connection(params["realmId"], tokens["access_token"], tokens["refresh_token"])
    )
    assert client.read("Account", "1").status_code == 200
    client.close()


def test_the_realm_on_the_consent_form_is_the_one_connected(
    sandbox: QuickBooksSandbox, control: SandboxControl
) -> None:
    params = code_for(control, sandbox, realm="4620816365044851490")
    assert params["realmId"] == "4620816365044851490"
    assert any(r["realm"] == "4620816365044851490" for r in control.realms())


def test_deny_redirects_with_access_denied(sandbox: QuickBooksSandbox, control: SandboxControl) -> None:
    location = control.deny_consent(authorize_url(sandbox.url, CLIENT_ID, REDIRECT_URI, state="keep-me"))
    assert redirect_params(location) == {"error": "access_denied", "state": "keep-me"}


@pytest.mark.parametrize(
    ("client_id", "redirect_uri"),
    [
        ("someone-else", REDIRECT_URI),
        (CLIENT_ID, REDIRECT_URI + "/"),
        (CLIENT_ID, REDIRECT_URI.replace("callback", "Callback")),
        (CLIENT_ID, REDIRECT_URI.replace("127.0.0.1:3000", "127.0.0.1:3001")),
        (CLIENT_ID, REDIRECT_URI + "?x=1"),
    ],
)
def test_unknown_client_or_inexact_redirect_uri_is_an_error_page_without_redirect(
    sandbox: QuickBooksSandbox, control: SandboxControl, client_id: str, redirect_uri: str
) -> None:
    url = authorize_url(sandbox.url, client_id, redirect_uri)
    page = raw.get(url)
    assert page.status_code == 400
    assert "location" not in page.headers
    with pytest.raises(ControlError):
        control.approve_consent(url)


def test_a_forged_consent_post_is_refused_too(sandbox: QuickBooksSandbox) -> None:
    form = {
        "client_id": CLIENT_ID,
        "redirect_uri": "https://attacker.example/cb",
        "scope": "com.intuit.quickbooks.accounting",
        "state": "s",
        "response_type": "code",
        "decision": "approve",
    }
    answer = raw.post(f"{sandbox.url}/connect/oauth2/consent", data=form)
    assert answer.status_code == 400
    assert "location" not in answer.headers


def test_a_code_works_once(sandbox: QuickBooksSandbox, control: SandboxControl) -> None:
    code = code_for(control, sandbox)["code"]
    assert exchange(sandbox, code).status_code == 200
    again = exchange(sandbox, code)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_a_code_needs_the_redirect_uri_it_was_issued_for(
    sandbox: QuickBooksSandbox, control: SandboxControl
) -> None:
    code = code_for(control, sandbox)["code"]
    assert exchange(sandbox, code, redirect_uri=REDIRECT_URI + "/other").json()["error"] == "invalid_grant"


def test_a_code_expires_after_ten_minutes(start_sandbox: SandboxFactory) -> None:
    sandbox = start_sandbox(clock_scale=3000.0)  # ten sandbox minutes pass in 0.2 s
    with SandboxControl(sandbox.url) as control:
        code = code_for(control, sandbox)["code"]
    time.sleep(0.3)
    assert exchange(sandbox, code).json()["error"] == "invalid_grant"


def test_bad_client_credentials_are_invalid_client(
    sandbox: QuickBooksSandbox, control: SandboxControl
) -> None:
    code = code_for(control, sandbox)["code"]
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    answer = token_call(sandbox, data, auth=basic_auth(CLIENT_ID, "wrong"))
    assert answer.status_code == 401
    assert answer.json() == {"error": "invalid_client"}
    assert token_call(sandbox, data, auth="Basic !!!notbase64").status_code == 401


def test_client_secret_post_is_accepted(sandbox: QuickBooksSandbox, control: SandboxControl) -> None:
    code = code_for(control, sandbox)["code"]
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    answer = raw.post(f"{sandbox.url}/oauth2/v1/tokens/bearer", data=data)
    assert answer.status_code == 200


def test_refresh_rotates_and_the_used_token_dies(sandbox: QuickBooksSandbox, connection: Connection) -> None:
    first = refresh(sandbox, connection.refresh_token)
    assert first.status_code == 200
    rotated = first.json()["refresh_token"]
    assert rotated != connection.refresh_token
    assert first.json()["access_token"] != connection.access_token
    used = refresh(sandbox, connection.refresh_token)
    assert used.status_code == 400
    assert used.json() == INVALID_REFRESH
    assert refresh(sandbox, rotated).status_code == 200


def test_unknown_refresh_token_is_invalid_grant(sandbox: QuickBooksSandbox) -> None:
    answer = refresh(sandbox, "AB11-never-issued")
    assert (answer.status_code, answer.json()) == (400, INVALID_REFRESH)


def test_two_refreshes_racing_with_one_token_leave_one_winner(
    sandbox: QuickBooksSandbox, connection: Connection
) -> None:
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def race() -> None:
        barrier.wait()
        statuses.append(refresh(sandbox, connection.refresh_token).status_code)

    run_threads(race, race)
    assert sorted(statuses) == [200, 400]


def test_refresh_token_expires_after_its_lifetime(start_sandbox: SandboxFactory) -> None:
    sandbox = start_sandbox(refresh_token_lifetime_s=300)
    connection = connect(sandbox.url, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)
    sandbox.clock.advance(301)  # the sandbox's clock: no wall-clock window to miss when busy
    assert refresh(sandbox, connection.refresh_token).json() == INVALID_REFRESH


def test_revoke_kills_both_tokens(sandbox: QuickBooksSandbox, connection: Connection, qbo: QBOClient) -> None:
    answer = raw.post(
        f"{sandbox.url}/oauth2/v1/tokens/revoke",
        json={"token": connection.refresh_token},
        headers={"Authorization": basic_auth(CLIENT_ID, CLIENT_SECRET)},
    )
    assert answer.status_code == 200
    assert qbo.read("Account", "1").status_code == 401
    assert refresh(sandbox, connection.refresh_token).json() == INVALID_REFRESH


def test_revoke_needs_the_client_credentials(sandbox: QuickBooksSandbox, connection: Connection) -> None:
    answer = raw.post(f"{sandbox.url}/v2/oauth2/tokens/revoke", json={"token": connection.refresh_token})
    assert answer.status_code == 401
    assert refresh(sandbox, connection.refresh_token).status_code == 200


def test_user_disconnect_revokes_the_grant(
    sandbox: QuickBooksSandbox, control: SandboxControl, connection: Connection, qbo: QBOClient
) -> None:
    assert control.revoke_grant(connection.realm) == 1
    denied = qbo.read("Account", "1")
    assert denied.status_code == 401
    assert fault_of(denied.json())["code"] == "3200"
    assert refresh(sandbox, connection.refresh_token).json() == INVALID_REFRESH


def test_expired_access_token_is_401_authentication_fault_until_refreshed(
    sandbox: QuickBooksSandbox, control: SandboxControl, connection: Connection, qbo: QBOClient
) -> None:
    control.expire_tokens(connection.realm)
    denied = qbo.read("Account", "1")
    assert denied.status_code == 401
    body = denied.json()
    assert body["Fault"]["type"] == "AUTHENTICATION"
    error = fault_of(body)
    assert error["code"] == "3200"
    assert error["Message"] == "message=AuthenticationFailed; errorCode=003200; statusCode=401"
    assert str(error["Detail"]).startswith("Token expired")
    qbo.use_token(refresh(sandbox, connection.refresh_token).json()["access_token"])
    assert qbo.read("Account", "1").status_code == 200


def test_access_token_dies_at_the_end_of_its_lifetime(start_sandbox: SandboxFactory) -> None:
    sandbox = start_sandbox(access_token_lifetime_s=3600)
    client = QBOClient(sandbox.url, connect(sandbox.url, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI))
    assert client.read("Account", "1").status_code == 200
    sandbox.clock.advance(3590)  # the sandbox's clock, not the wall's: no window to miss when busy
    assert client.read("Account", "1").status_code == 200
    sandbox.clock.advance(11)
    assert client.read("Account", "1").status_code == 401
    client.close()


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer not-a-token", "Basic abc"])
def test_missing_or_unknown_bearer_is_401(
    sandbox: QuickBooksSandbox, connection: Connection, header: str | None
) -> None:
    headers = {"Authorization": header} if header else {}
    answer = raw.get(f"{sandbox.url}/v3/company/{connection.realm}/account/1", headers=headers)
    assert answer.status_code == 401
    assert fault_of(answer.json())["code"] == "3200"


@pytest.mark.parametrize("path", ["account/1", "companyinfo/{realm}"])
def test_token_of_another_company_is_403(
    sandbox: QuickBooksSandbox, connection: Connection, path: str
) -> None:
    other = connect(sandbox.url, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)
    assert other.realm != connection.realm
    answer = raw.get(
        f"{sandbox.url}/v3/company/{connection.realm}/{path.format(realm=connection.realm)}",
        headers={"Authorization": f"Bearer {other.access_token}"},
    )
    assert answer.status_code == 403
    error = fault_of(answer.json())
    assert error["code"] == "3100"
    assert "errorCode=003100" in str(error["Message"])


def test_the_companys_own_token_reads_its_company_info(
    sandbox: QuickBooksSandbox, connection: Connection
) -> None:
    answer = raw.get(
        f"{sandbox.url}/v3/company/{connection.realm}/companyinfo/{connection.realm}",
        headers={"Authorization": f"Bearer {connection.access_token}", "Accept": "application/json"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["CompanyInfo"]["CompanyName"] == f"Sandbox Company {connection.realm}"


def test_token_calls_are_counted_per_realm_and_grant_type(
    sandbox: QuickBooksSandbox, control: SandboxControl, connection: Connection
) -> None:
    rotated = refresh(sandbox, connection.refresh_token).json()["refresh_token"]
    refresh(sandbox, connection.refresh_token)  # the used one: invalid_grant, still counted
    refresh(sandbox, rotated)
    calls = control.token_calls(connection.realm)
    assert calls["authorization_code"] == 1
    assert calls["refresh_token"] == 3
    assert calls["invalid_grant"] == 1
    assert calls["total"] == 4
    assert control.token_calls("no-such-realm")["total"] == 0


def test_issue_tokens_shortcut_connects_without_consent(
    sandbox: QuickBooksSandbox, control: SandboxControl
) -> None:
    tokens = control.issue_tokens(CLIENT_ID, realm="123145725197624")
    client = QBOClient(
        sandbox.url, Connection("123145725197624", tokens["access_token"], tokens["refresh_token"])
    )
    assert client.read("Account", "1").status_code == 200
    assert control.token_calls("123145725197624")["total"] == 0
    client.close()
