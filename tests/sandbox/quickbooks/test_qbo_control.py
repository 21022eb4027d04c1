"""The control API: ledger, seeding, a user's edits in QuickBooks, reset, settings, standalone run."""

from __future__ import annotations

import subprocess
import sys

import pytest
from qbo_helpers import fault_of, new_customer, new_invoice, new_item, new_payment, raw

from local.sandboxes.quickbooks.control import ControlError, SandboxControl
from local.sandboxes.quickbooks.testing import QBOClient
from tests.sandbox.starting import APP_FLAGS, REPO_ROOT, standalone


def test_ledger_holds_every_entity_and_counts_api_creates(qbo: QBOClient, control: SandboxControl) -> None:
    customer, item = new_customer(qbo), new_item(qbo)
    new_invoice(qbo, customer["Id"], item["Id"])
    ledger = control.ledger(qbo.connection.realm)
    assert ledger["realm"] == qbo.connection.realm
    assert [c["Id"] for c in ledger["entities"]["Customer"]] == [customer["Id"]]
    assert ledger["entities"]["Invoice"][0]["TotalAmt"] == 300.0
    assert ledger["creates"] == {
        "Customer": 1,
        "Item": 1,
        "Invoice": 1,
        "Payment": 0,
        "Deposit": 0,
        "Account": 0,
        "PaymentMethod": 0,
        "RefundReceipt": 0,
    }
    assert len(ledger["entities"]["Account"]) >= 9


def test_ledger_of_an_unknown_realm_is_404(control: SandboxControl) -> None:
    with pytest.raises(ControlError) as caught:
        control.ledger("no-such-realm")
    assert caught.value.status == 404


def test_seeded_entities_are_the_users_not_the_apps(qbo: QBOClient, control: SandboxControl) -> None:
    created = control.seed(
        qbo.connection.realm,
        {"Customer": [{"DisplayName": "Seeded Customer"}], "Item": [{"Name": "Seeded", "Type": "Category"}]},
    )
    assert created["Customer"][0]["DisplayName"] == "Seeded Customer"
    ledger = control.ledger(qbo.connection.realm)
    assert ledger["creates"]["Customer"] == 0
    assert ledger["user_creates"]["Customer"] == 1
    assert fault_of(qbo.write("Customer", {"DisplayName": "Seeded Customer"}).json())["code"] == "6240"


def test_seeding_follows_intuits_rules(qbo: QBOClient, control: SandboxControl) -> None:
    with pytest.raises(ControlError) as caught:
        control.seed(qbo.connection.realm, {"Customer": [{"DisplayName": "Bad:Name"}]})
    assert caught.value.status == 409
    assert "2040" in caught.value.body


def test_a_users_edit_moves_the_synctoken_so_the_apps_update_is_stale(
    qbo: QBOClient, control: SandboxControl
) -> None:
    customer = new_customer(qbo)
    edited = control.edit_entity(
        qbo.connection.realm, "Customer", str(customer["Id"]), {"Notes": "from the user"}
    )
    assert edited["SyncToken"] == "1"
    stale = qbo.write("Customer", {**customer, "sparse": True, "Notes": "from the app"})
    assert fault_of(stale.json())["code"] == "5010"


def test_a_user_deleting_a_transaction_removes_it(qbo: QBOClient, control: SandboxControl) -> None:
    customer, item = new_customer(qbo), new_item(qbo)
    invoice = new_invoice(qbo, customer["Id"], item["Id"])
    payment = new_payment(qbo, customer["Id"], invoice["Id"], "100.00")
    control.delete_entity(qbo.connection.realm, "Invoice", str(invoice["Id"]))
    assert fault_of(qbo.read("Invoice", str(invoice["Id"])).json())["code"] == "610"
    freed = qbo.read("Payment", str(payment["Id"])).json()["Payment"]
    assert freed["UnappliedAmt"] == 100.0
    assert freed["Line"] == []
    assert control.ledger(qbo.connection.realm)["deleted"]["Invoice"] == [invoice["Id"]]


def test_a_user_deleting_a_customer_makes_it_inactive(qbo: QBOClient, control: SandboxControl) -> None:
    customer = new_customer(qbo)
    control.delete_entity(qbo.connection.realm, "Customer", str(customer["Id"]))
    assert qbo.read("Customer", str(customer["Id"])).json()["Customer"]["Active"] is False


def test_user_actions_on_missing_things_are_404(qbo: QBOClient, control: SandboxControl) -> None:
    with pytest.raises(ControlError) as caught:
        control.delete_entity(qbo.connection.realm, "Customer", "999")
    assert caught.value.status == 404
    with pytest.raises(ControlError):
        control.inactivate_entity(qbo.connection.realm, "Gadget", "1")


def test_realms_and_reset(qbo: QBOClient, control: SandboxControl) -> None:
    assert [r["realm"] for r in control.realms()] == [qbo.connection.realm]
    assert control.create_realm("777") == "777"
    control.reset()
    assert control.realms() == []
    assert qbo.read("Account", "1").status_code == 401  # grants are gone with the companies


def test_settings_change_at_run_time(qbo: QBOClient, control: SandboxControl) -> None:
    config = control.set_config(limits={"requests_per_minute": 1}, send_retry_after=False)
    assert config["limits"]["requests_per_minute"] == 1
    qbo.read("Account", "1")
    throttled = qbo.read("Account", "1")
    assert throttled.status_code == 429
    assert "Retry-After" not in throttled.headers
    with pytest.raises(ControlError):
        control.set_config(clock_scale=2.0)
    with pytest.raises(ControlError):
        control.set_config(honor_request_id="no")


def test_unknown_paths_are_404(control: SandboxControl) -> None:
    assert raw.get(control.base_url + "/nowhere").status_code == 404


def test_standalone_run_serves_the_same_api() -> None:
    with standalone("local.sandboxes.quickbooks", "QuickBooks sandbox", *APP_FLAGS) as url:
        assert raw.get(f"{url}/_sandbox/config").json()["clients"] == ["cli-app"]


def test_standalone_run_refuses_to_start_without_a_client() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "local.sandboxes.quickbooks", "--port", "0"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 2
    assert "--client-id" in result.stderr
