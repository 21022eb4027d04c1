"""SandboxControl: the QuickBooks sandbox's control API (realms, ledger, tokens, consent page,
webhooks) on the kit's ControlClient."""

from __future__ import annotations

from collections.abc import Mapping
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin

from local.sandboxes.kit.client import SHARED_TLS, ControlClient, ControlError

__all__ = ["SHARED_TLS", "ControlError", "SandboxControl"]


class _ConsentForm(HTMLParser):
    """Reads the consent page's form: its action and every named input's value."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self.decisions: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form" and self.action is None:
            self.action = attributes.get("action", "")
        elif tag == "input" and attributes.get("name"):
            self.fields[attributes["name"]] = attributes.get("value", "")
        elif tag == "button" and attributes.get("name") == "decision":
            self.decisions.add(attributes.get("value", ""))


class SandboxControl(ControlClient):
    ACCOUNT_KEY = "realm"

    # ------------------------------------------------------------ companies

    def ledger(self, realm: str) -> dict[str, Any]:
        ledger: dict[str, Any] = self._call("GET", "/_sandbox/ledger", params={"realm": realm})
        return ledger

    def realms(self) -> list[dict[str, Any]]:
        realms: list[dict[str, Any]] = self._call("GET", "/_sandbox/realms")["realms"]
        return realms

    def create_realm(self, realm: str | None = None) -> str:
        return str(self._call("POST", "/_sandbox/realms", json={"realm": realm} if realm else {})["realm"])

    def set_currency(
        self, realm: str, *, home_currency: str | None = None, multicurrency: bool | None = None
    ) -> dict[str, Any]:
        """The company's currency settings, as its user sets them (Preferences.CurrencyPrefs)."""
        body: dict[str, Any] = {}
        if home_currency is not None:
            body["home_currency"] = home_currency
        if multicurrency is not None:
            body["multicurrency"] = multicurrency
        answer: dict[str, Any] = self._call("POST", f"/_sandbox/realms/{realm}/currency", json=body)
        return answer

    def seed(
        self, realm: str, entities: Mapping[str, list[dict[str, Any]]]
    ) -> dict[str, list[dict[str, Any]]]:
        """Create entities as the company's user would in QuickBooks; answers them by entity."""
        created: dict[str, list[dict[str, Any]]] = self._call(
            "POST", f"/_sandbox/realms/{realm}/seed", json=dict(entities)
        )["created"]
        return created

    def delete_entity(self, realm: str, entity: str, entity_id: str) -> dict[str, Any]:
        """The user deletes it in QuickBooks (list entries such as customers become inactive)."""
        return self._user_action(realm, entity, entity_id, "delete")

    def inactivate_entity(self, realm: str, entity: str, entity_id: str) -> dict[str, Any]:
        return self._user_action(realm, entity, entity_id, "inactivate")

    def edit_entity(
        self, realm: str, entity: str, entity_id: str, changes: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The user edits it in QuickBooks: a sparse update that moves its SyncToken on."""
        return self._user_action(realm, entity, entity_id, "update", dict(changes))

    def _user_action(
        self, realm: str, entity: str, entity_id: str, action: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        path = f"/_sandbox/realms/{realm}/entities/{entity}/{entity_id}/{action}"
        result: dict[str, Any] = self._call("POST", path, json=body or {})
        return result

    # ------------------------------------------------------------ tokens and consent

    def token_calls(self, realm: str) -> dict[str, int]:
        calls = self._call("GET", "/_sandbox/token-calls", params={"realm": realm})
        return {key: int(value) for key, value in calls.items() if key != "realm"}

    def expire_tokens(self, realm: str) -> int:
        return int(self._call("POST", "/_sandbox/tokens/expire", json={"realm": realm})["expired"])

    def revoke_grant(self, realm: str) -> int:
        """As if the user disconnected the app in QuickBooks: both tokens of the grant die."""
        return int(self._call("POST", "/_sandbox/tokens/revoke", json={"realm": realm})["revoked"])

    def issue_tokens(self, client_id: str, realm: str | None = None) -> dict[str, Any]:
        """Tokens for ``client_id`` without the consent round trip (plus ``realmId``)."""
        body = {"client_id": client_id, **({"realm": realm} if realm else {})}
        tokens: dict[str, Any] = self._call("POST", "/_sandbox/tokens/issue", json=body)
        return tokens

    def approve_consent(self, authorize_url: str, realm: str | None = None) -> str:
        """Open the consent page, press Connect, and return the redirect Location (not followed)."""
        return self._consent(authorize_url, "approve", realm)

    def deny_consent(self, authorize_url: str) -> str:
        return self._consent(authorize_url, "deny", None)

    def _consent(self, authorize_url: str, decision: str, realm: str | None) -> str:
        page = self._http.get(authorize_url)
        if page.status_code != 200:
            raise ControlError(page.status_code, page.text)
        form = _ConsentForm()
        form.feed(page.text)
        if form.action is None or decision not in form.decisions:
            raise ControlError(page.status_code, "the consent page has no form to submit")
        fields = {**form.fields, "decision": decision}
        if realm is not None:
            fields["realm"] = realm
        answer = self._http.post(urljoin(str(page.url), form.action), data=fields, follow_redirects=False)
        if answer.status_code != 302:
            raise ControlError(answer.status_code, answer.text)
        return answer.headers["location"]

    # ------------------------------------------------------------ the sandbox itself

    def send_webhook(
        self,
        url: str,
        verifier_token: str,
        changes: list[dict[str, str]],
        *,
        fmt: str = "cloudevents",
    ) -> dict[str, Any]:
        """Have the sandbox deliver signed change notifications to ``url`` (as Intuit does)."""
        body = {"url": url, "verifier_token": verifier_token, "format": fmt, "changes": changes}
        result: dict[str, Any] = self._call("POST", "/_sandbox/webhooks", json=body)
        return result
