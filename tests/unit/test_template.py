"""Structural checks on template.yaml: the reliability and security rules that cfn-lint and
`sam validate` cannot know about (design.md, docs/architecture.md).

The template is read as written (SAM, before the transform), so these checks see what a
reviewer sees: function events, SAM policy templates, Globals.
"""

from __future__ import annotations

import ast
import json
import re
import tomllib
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "template.yaml"

# docs/architecture.md: routes that are reachable without a JWT. Everything else goes through
# the JWT authorizer.
PUBLIC_ROUTES = {
    ("GET", "/health"),
    ("GET", "/openapi.json"),
    ("GET", "/oauth/{provider}/callback"),
    ("POST", "/webhooks/quickbooks"),
    ("POST", "/webhooks/square"),
    ("POST", "/webhooks/xero"),
    ("POST", "/webhooks/freshbooks"),
}
# Functions that read or write OAuth tokens and so may use TokenKey.
TOKEN_FUNCTIONS = {
    "ApiFunction",
    "SetupApiFunction",
    "SyncInvoiceFunction",
    "SyncCatalogFunction",
    "SchedulerFunction",
    "PayoutDepositFunction",
    "XeroEventsFunction",  # Xero's events are thin: each linked record is read with the tokens
    "FreshBooksEventsFunction",  # as Xero's; and it seals the callbacks' verifiers it keeps
}
# Functions that only open what TokenKey sealed (decrypt, never seal): FreshBooks' receiver reads
# each account's callback verifiers from its connection row.
OPEN_ONLY_FUNCTIONS = {"FreshBooksWebhookFunction"}
# KMS operations that use key material, as opposed to administering the key.
KMS_CRYPTO_ACTIONS = (
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:GenerateDataKeyPair",
    "kms:GenerateDataKeyPairWithoutPlaintext",
    "kms:GenerateMac",
    "kms:VerifyMac",
    "kms:Sign",
    "kms:Verify",
    "kms:DeriveSharedSecret",
)

# docs/architecture.md, "AWS resources": key schema, indexes and TTL attribute of every table.
TABLES: dict[str, dict[str, Any]] = {
    "ConnectionsTable": {
        "keys": [("company_id", "S", "HASH"), ("provider", "S", "RANGE")],
        "indexes": {
            "account-index": [("account_key", "S", "HASH")],
            "refresh-index": [("provider", "S", "HASH"), ("refresh_due_at", "N", "RANGE")],
        },
        "ttl": "ttl",
        "env": "CONNECTIONS_TABLE",
    },
    "DocumentsTable": {
        "keys": [("company_id", "S", "HASH"), ("doc_key", "S", "RANGE")],
        "indexes": {
            "pending-index": [("pending_bucket", "S", "HASH"), ("pending_since", "N", "RANGE")],
            "sent-index": [("company_id", "S", "HASH"), ("sent_at", "N", "RANGE")],
            "embed-index": [("embed_bucket", "S", "HASH"), ("embed_since", "N", "RANGE")],
        },
        "ttl": "ttl",
        "env": "DOCUMENTS_TABLE",
    },
    "IntentsTable": {
        "keys": [("intent_key", "S", "HASH")],
        "indexes": {},
        "ttl": "ttl",
        "env": "INTENTS_TABLE",
    },
    "SyncRunsTable": {
        "keys": [("company_id", "S", "HASH"), ("run_id", "S", "RANGE")],
        "indexes": {"parked-index": [("parked_key", "S", "HASH"), ("run_id", "S", "RANGE")]},
        "ttl": "ttl",
        "env": "SYNC_RUNS_TABLE",
    },
    "OAuthStatesTable": {
        "keys": [("state", "S", "HASH")],
        "indexes": {},
        "ttl": "ttl",
        "env": "OAUTH_STATES_TABLE",
    },
    "NotificationsTable": {
        "keys": [("company_id", "S", "HASH"), ("kind", "S", "RANGE")],
        "indexes": {},
        "ttl": "ttl",
        "env": "NOTIFICATIONS_TABLE",
    },
    "IdempotencyTable": {
        "keys": [("id", "S", "HASH")],
        "indexes": {},
        "ttl": "expiration",
        "env": "IDEMPOTENCY_TABLE",
    },
    "WebhookEventsTable": {
        "keys": [("event_key", "S", "HASH")],
        "indexes": {},
        "ttl": "ttl",
        "env": "WEBHOOK_EVENTS_TABLE",
    },
    "SquareActivityTable": {
        "keys": [("company_id", "S", "HASH"), ("activity_key", "S", "RANGE")],
        "indexes": {},
        "ttl": "ttl",
        "env": "SQUARE_ACTIVITY_TABLE",
    },
    "PayoutsTable": {
        "keys": [("company_id", "S", "HASH"), ("payout_id", "S", "RANGE")],
        "indexes": {"waiting-index": [("waiting_key", "S", "HASH"), ("first_seen_at", "N", "RANGE")]},
        "ttl": "ttl",
        "env": "PAYOUTS_TABLE",
    },
    "MemoryTable": {
        "keys": [("company_id", "S", "HASH"), ("record_key", "S", "RANGE")],
        "indexes": {},
        "ttl": None,  # nothing in the billing memory expires
        "env": "MEMORY_TABLE",
    },
}

QBO_ENV = {
    "QBO_API_BASE_URL",
    "QBO_AUTH_URL",
    "QBO_TOKEN_URL",
    "QBO_REVOKE_URL",
    "QBO_CLIENT_ID",
    "QBO_CLIENT_SECRET_PARAM",
    "QBO_MINOR_VERSION",
}
# The environment each function is given (beyond Globals), per the issue and the contract.
FUNCTION_ENV: dict[str, set[str]] = {
    "ApiFunction": {
        "POWERTOOLS_SERVICE_NAME",
        "CONNECTIONS_TABLE",
        "DOCUMENTS_TABLE",
        "INTENTS_TABLE",
        "SYNC_RUNS_TABLE",
        "NOTIFICATIONS_TABLE",
        "OAUTH_STATES_TABLE",
        "SYNC_INVOICE_QUEUE_URL",
        "SYNC_CATALOG_QUEUE_URL",
        "TOKEN_KEY_ID",
        "PUBLIC_API_BASE_URL",
        "APP_RETURN_URL",
        *QBO_ENV,
        "SQUARE_APPLICATION_ID",
        "SQUARE_APPLICATION_SECRET_PARAM",
        "SQUARE_API_BASE_URL",
        "SQUARE_VERSION",
        "SQUARE_ACTIVITY_TABLE",
    },
    "SyncInvoiceFunction": {
        "POWERTOOLS_SERVICE_NAME",
        "CONNECTIONS_TABLE",
        "DOCUMENTS_TABLE",
        "INTENTS_TABLE",
        "SYNC_RUNS_TABLE",
        "NOTIFICATIONS_TABLE",
        "IDEMPOTENCY_TABLE",
        "SYNC_INVOICE_QUEUE_URL",
        "TOKEN_KEY_ID",
        *QBO_ENV,
    },
    "SchedulerFunction": {
        "POWERTOOLS_SERVICE_NAME",
        "CONNECTIONS_TABLE",
        "DOCUMENTS_TABLE",
        "SYNC_RUNS_TABLE",
        "NOTIFICATIONS_TABLE",
        "SYNC_INVOICE_QUEUE_URL",
        "TOKEN_KEY_ID",
        *QBO_ENV,
    },
}
FUNCTION_ENV["SyncCatalogFunction"] = {
    "POWERTOOLS_SERVICE_NAME",
    "CONNECTIONS_TABLE",
    "DOCUMENTS_TABLE",
    "INTENTS_TABLE",
    "SYNC_RUNS_TABLE",
    "NOTIFICATIONS_TABLE",
    "SYNC_INVOICE_QUEUE_URL",
    "SYNC_CATALOG_QUEUE_URL",
    "TOKEN_KEY_ID",
    *QBO_ENV,
}
FUNCTION_ENV["QuickBooksWebhookFunction"] = {
    "POWERTOOLS_SERVICE_NAME",
    "QBO_WEBHOOK_QUEUE_URL",
    "QBO_WEBHOOK_VERIFIER_PARAM",
}
FUNCTION_ENV["QuickBooksEventsFunction"] = {
    "POWERTOOLS_SERVICE_NAME",
    "CONNECTIONS_TABLE",
    "DOCUMENTS_TABLE",
    "SYNC_RUNS_TABLE",
    "WEBHOOK_EVENTS_TABLE",
}
FUNCTION_ENV["SquareWebhookFunction"] = {
    "POWERTOOLS_SERVICE_NAME",
    "SQUARE_EVENTS_QUEUE_URL",
    "SQUARE_WEBHOOK_SIGNATURE_KEY_PARAM",
    "SQUARE_WEBHOOK_NOTIFICATION_URL",
}
FUNCTION_ENV["XeroWebhookFunction"] = {
    "POWERTOOLS_SERVICE_NAME",
    "XERO_EVENTS_QUEUE_URL",
    "XERO_WEBHOOK_KEY_PARAM",
}
FUNCTION_ENV["XeroEventsFunction"] = {
    "POWERTOOLS_SERVICE_NAME",
    "CONNECTIONS_TABLE",
    "DOCUMENTS_TABLE",
    "INTENTS_TABLE",
    "SYNC_RUNS_TABLE",
    "NOTIFICATIONS_TABLE",
    "WEBHOOK_EVENTS_TABLE",
    "SYNC_INVOICE_QUEUE_URL",
    "TOKEN_KEY_ID",
}
FUNCTION_ENV["FreshBooksWebhookFunction"] = {
    "POWERTOOLS_SERVICE_NAME",
    "WEBHOOK_QUEUE_URL",
    "CONNECTIONS_TABLE",
    "TOKEN_KEY_ID",
}
FUNCTION_ENV["FreshBooksEventsFunction"] = set(FUNCTION_ENV["XeroEventsFunction"])
FUNCTION_ENV["SquareEventsFunction"] = {
    "POWERTOOLS_SERVICE_NAME",
    "CONNECTIONS_TABLE",
    "DOCUMENTS_TABLE",
    "SYNC_RUNS_TABLE",
    "NOTIFICATIONS_TABLE",
    "WEBHOOK_EVENTS_TABLE",
    "SQUARE_ACTIVITY_TABLE",
    "SYNC_INVOICE_QUEUE_URL",
}
FUNCTION_ENV["PayoutDepositFunction"] = {
    "POWERTOOLS_SERVICE_NAME",
    "CONNECTIONS_TABLE",
    "DOCUMENTS_TABLE",
    "INTENTS_TABLE",
    "SYNC_RUNS_TABLE",
    "NOTIFICATIONS_TABLE",
    "PAYOUTS_TABLE",
    "SYNC_INVOICE_QUEUE_URL",
    "PAYOUT_WAIT_GRACE_HOURS",
    "TOKEN_KEY_ID",
    *QBO_ENV,
    "SQUARE_APPLICATION_ID",
    "SQUARE_APPLICATION_SECRET_PARAM",
    "SQUARE_API_BASE_URL",
    "SQUARE_VERSION",
}
FUNCTION_ENV["SchedulerFunction"] |= {"PAYOUTS_TABLE", "PAYOUT_DEPOSIT_QUEUE_URL", "SYNC_CATALOG_QUEUE_URL"}
FUNCTION_ENV["SquareEventsFunction"] |= {"PAYOUT_DEPOSIT_QUEUE_URL"}
FUNCTION_ENV["ApiFunction"] |= {"PAYOUTS_TABLE", "PAYOUT_DEPOSIT_QUEUE_URL"}
FUNCTION_ENV["ApiFunction"] |= {"API_PART"}
# The billing memory's feed (RagBillingEmbedEnabled): the API marks and queues, the sweep re-queues.
EMBED_FEED_ENV = {"RAG_BILLING_EMBED_ENABLED", "EMBED_BILLING_QUEUE_URL"}
FUNCTION_ENV["ApiFunction"] |= EMBED_FEED_ENV
FUNCTION_ENV["SchedulerFunction"] |= EMBED_FEED_ENV
FUNCTION_ENV["SquareEventsFunction"] |= EMBED_FEED_ENV  # Square payments are recorded there
# The billing memory's Voyage settings (booksync.settings.VoyageSettings), where records or
# questions are embedded.
VOYAGE_ENV = {"VOYAGE_API_KEY_PARAM", "VOYAGE_API_BASE_URL", "VOYAGE_MODEL", "VOYAGE_OUTPUT_DIMENSION"}
FUNCTION_ENV["EmbedBillingFunction"] = {
    "POWERTOOLS_SERVICE_NAME",
    "RAG_BILLING_EMBED_ENABLED",
    "DOCUMENTS_TABLE",
    "MEMORY_TABLE",
    *VOYAGE_ENV,
}
# The API's post-connection setup routes (wizard, account mapping): no Square, no payouts.
FUNCTION_ENV["SetupApiFunction"] = (
    FUNCTION_ENV["ApiFunction"]
    - {"APP_RETURN_URL", "PAYOUTS_TABLE", "PAYOUT_DEPOSIT_QUEUE_URL", "SQUARE_ACTIVITY_TABLE"}
    - EMBED_FEED_ENV
    - {name for name in FUNCTION_ENV["ApiFunction"] if name.startswith("SQUARE_")}
) | {"CUSTOMER_CLASSIFIER", "CLASSIFIER_LLM_URL", "CLASSIFIER_LLM_MODEL", "CLASSIFIER_LLM_API_KEY_PARAM"}
# The billing memory's routes (booksync/api/memory.py) and POST /memory/ask's language model.
FUNCTION_ENV["ApiFunction"] |= {
    "MEMORY_TABLE",
    "MEMORY_ANSWERS",
    *VOYAGE_ENV,  # the embedder that embedded the records embeds the questions
    "CLASSIFIER_LLM_URL",
    "CLASSIFIER_LLM_MODEL",
    "CLASSIFIER_LLM_API_KEY_PARAM",
}
# The Square application, where Square grants are connected (api) or refreshed (api, the payout
# deposit job, the scheduler's keep-alive, which refreshes them when SQUARE_OAUTH_FLOW is pkce).
SQUARE_APP_ENV = {
    "SQUARE_APPLICATION_ID",
    "SQUARE_APPLICATION_SECRET_PARAM",
    "SQUARE_API_BASE_URL",
    "SQUARE_VERSION",
    "SQUARE_OAUTH_FLOW",
}
SQUARE_TOKEN_FUNCTIONS = {"ApiFunction", "PayoutDepositFunction", "SchedulerFunction"}
for _function in SQUARE_TOKEN_FUNCTIONS:
    FUNCTION_ENV[_function] |= SQUARE_APP_ENV
# The Xero app, in every function that calls Xero (connect, sync, Sync Now, setup, keep-alive).
XERO_ENV = {
    "XERO_API_BASE_URL",
    "XERO_AUTH_URL",
    "XERO_TOKEN_URL",
    "XERO_REVOKE_URL",
    "XERO_CONNECTIONS_URL",
    "XERO_CLIENT_ID",
    "XERO_CLIENT_SECRET_PARAM",
    "XERO_DAY_LIMIT",
    "XERO_SALES_TAX_TYPE",
}
for _function in (
    "ApiFunction",
    "SetupApiFunction",
    "SyncInvoiceFunction",
    "SyncCatalogFunction",
    "SchedulerFunction",
    "XeroEventsFunction",
):
    FUNCTION_ENV[_function] |= XERO_ENV
# The FreshBooks app, in every function that calls FreshBooks (connect, sync, Sync Now, setup, the
# sweep's disconnect and token work).
FRESHBOOKS_ENV = {
    "FRESHBOOKS_API_BASE_URL",
    "FRESHBOOKS_AUTH_URL",
    "FRESHBOOKS_TOKEN_URL",
    "FRESHBOOKS_REVOKE_URL",
    "FRESHBOOKS_CLIENT_ID",
    "FRESHBOOKS_CLIENT_SECRET_PARAM",
    "FRESHBOOKS_MAX_CONCURRENT",
    "FRESHBOOKS_REQUESTS_PER_MINUTE",
}
# Every function that calls an accounting provider with a connection's tokens.
ACCOUNTING_TOKEN_FUNCTIONS = {
    "ApiFunction",
    "SetupApiFunction",
    "SyncInvoiceFunction",
    "SyncCatalogFunction",
    "SchedulerFunction",
}
# And FreshBooks' events function: it reads records and activates callbacks with the tokens.
FRESHBOOKS_SECRET_FUNCTIONS = ACCOUNTING_TOKEN_FUNCTIONS | {"FreshBooksEventsFunction"}
for _function in FRESHBOOKS_SECRET_FUNCTIONS:
    FUNCTION_ENV[_function] |= FRESHBOOKS_ENV
# The Wave app, in every function that calls Wave (connect, sync, Sync Now, setup, keep-alive).
WAVE_ENV = {
    "WAVE_AUTH_URL",
    "WAVE_TOKEN_URL",
    "WAVE_GRAPHQL_URL",
    "WAVE_SCOPES",
    "WAVE_CLIENT_ID",
    "WAVE_CLIENT_SECRET_PARAM",
}
for _function in ACCOUNTING_TOKEN_FUNCTIONS:
    FUNCTION_ENV[_function] |= WAVE_ENV
# Queue URL variable -> the queue it names (a function may send only to the queues it is told of).
QUEUE_ENV = {
    "SYNC_INVOICE_QUEUE_URL": "SyncInvoiceQueue",
    "SYNC_CATALOG_QUEUE_URL": "SyncCatalogQueue",
    "QBO_WEBHOOK_QUEUE_URL": "QuickBooksEventsQueue",
    "SQUARE_EVENTS_QUEUE_URL": "SquareEventsQueue",
    "XERO_EVENTS_QUEUE_URL": "XeroEventsQueue",
    "WEBHOOK_QUEUE_URL": "FreshBooksEventsQueue",
    "PAYOUT_DEPOSIT_QUEUE_URL": "PayoutDepositQueue",
    "EMBED_BILLING_QUEUE_URL": "EmbedBillingQueue",
}
ENV_RESOURCE = {spec["env"]: name for name, spec in TABLES.items()} | {
    "QBO_WEBHOOK_QUEUE_URL": "QuickBooksEventsQueue",
    "SQUARE_EVENTS_QUEUE_URL": "SquareEventsQueue",
    "XERO_EVENTS_QUEUE_URL": "XeroEventsQueue",
    "WEBHOOK_QUEUE_URL": "FreshBooksEventsQueue",
    "SYNC_INVOICE_QUEUE_URL": "SyncInvoiceQueue",
    "SYNC_CATALOG_QUEUE_URL": "SyncCatalogQueue",
    "PAYOUT_DEPOSIT_QUEUE_URL": "PayoutDepositQueue",
    "EMBED_BILLING_QUEUE_URL": "EmbedBillingQueue",
    "TOKEN_KEY_ID": "TokenKey",
}


# ---------------------------------------------------------------- helpers


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    """The template as plain dicts and lists, CloudFormation short tags expanded
    (`!Ref X` -> {"Ref": "X"}, `!GetAtt A.B` -> {"Fn::GetAtt": ["A", "B"]})."""
    template, problems = decode(str(path))
    assert not problems, [str(p) for p in problems]
    assert template is not None
    loaded: dict[str, Any] = json.loads(json.dumps(template))
    return loaded


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def resources_of(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in template["Resources"].items() if res["Type"] == kind}


def functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return resources_of(template, "AWS::Serverless::Function")


def function_setting(
    template: dict[str, Any], function: dict[str, Any], key: str, default: Any = None
) -> Any:
    """A function property as SAM resolves it: the function's own value, else Globals."""
    own = function["Properties"].get(key)
    if own is not None:
        return own
    return template.get("Globals", {}).get("Function", {}).get(key, default)


def events_of(function: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {
        name: event["Properties"]
        for name, event in function["Properties"].get("Events", {}).items()
        if event["Type"] == kind
    }


def references(node: Any) -> set[str]:
    """Logical ids a template fragment points at through Ref, GetAtt or Sub."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                found.add(value[0] if isinstance(value, list) else value.split(".")[0])
            elif key == "Fn::Sub":
                text = value if isinstance(value, str) else value[0]
                found |= {m.split(".")[0] for m in re.findall(r"\$\{([^}!][^}]*)\}", text)}
                if isinstance(value, list):
                    found |= references(value[1])
            else:
                found |= references(value)
    elif isinstance(node, list):
        for item in node:
            found |= references(item)
    return found


def queue_arn_target(value: Any) -> str:
    """The logical id of a queue named by `!GetAtt Queue.Arn`."""
    assert isinstance(value, dict), f"expected !GetAtt <Queue>.Arn, got {value!r}"
    assert "Fn::GetAtt" in value, f"expected !GetAtt <Queue>.Arn, got {value!r}"
    name, attribute = value["Fn::GetAtt"]
    assert attribute == "Arn"
    return str(name)


def dead_letter_queues(template: dict[str, Any]) -> set[str]:
    return {
        queue_arn_target(queue["Properties"]["RedrivePolicy"]["deadLetterTargetArn"])
        for queue in resources_of(template, "AWS::SQS::Queue").values()
        if "RedrivePolicy" in queue.get("Properties", {})
    }


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def http_routes(template: dict[str, Any]) -> dict[tuple[str, str], tuple[str, dict[str, Any]]]:
    routes: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
    for name, function in functions(template).items():
        for props in events_of(function, "HttpApi").values():
            key = (props["Method"].upper(), props["Path"])
            assert key not in routes, f"route {key} declared twice"
            routes[key] = (name, props)
    return routes


# ---------------------------------------------------------------- globals, layer


def test_globals_runtime_arch_tracing_layer(template: dict[str, Any]) -> None:
    glob = template["Globals"]["Function"]
    assert glob["Runtime"] == "python3.12"
    assert glob["Architectures"] == ["arm64"]
    assert glob["Tracing"] == "Active"
    assert glob["MemorySize"] == 512
    assert glob["Layers"] == [{"Ref": "SharedLayer"}]
    env = glob["Environment"]["Variables"]
    assert env["STAGE"] == {"Ref": "Stage"}
    # Powertools' own variable (LOG_LEVEL is only its legacy fallback).
    assert env["POWERTOOLS_LOG_LEVEL"] == {"Ref": "LogLevel"}
    assert "LOG_LEVEL" not in env
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "booksync"


# Layers built by their own Makefile: logical id -> folder. SharedLayer (booksync and the
# dependencies every function needs) is on every function (Globals); MemoryLayer (numpy alone)
# only on the functions whose code imports numpy.
LAYERS = {"SharedLayer": "layers/shared", "MemoryLayer": "layers/memory"}


@pytest.mark.parametrize(("layer_id", "folder"), LAYERS.items())
def test_layers_are_built_by_their_makefiles(template: dict[str, Any], layer_id: str, folder: str) -> None:
    layer = template["Resources"][layer_id]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Metadata"]["BuildMethod"] == "makefile"
    props = layer["Properties"]
    assert props["ContentUri"].rstrip("/") == folder
    assert props["CompatibleRuntimes"] == ["python3.12"]
    assert props["CompatibleArchitectures"] == ["arm64"]
    makefile = (ROOT / folder / "Makefile").read_text()
    assert re.search(rf"^build-{layer_id}:", makefile, re.MULTILINE)
    assert "--platform manylinux2014_aarch64" in makefile
    assert "--python-version 3.12" in makefile


def requirement_lines(path: Path) -> list[str]:
    return [
        line.split("#")[0].strip() for line in path.read_text().splitlines() if line.split("#")[0].strip()
    ]


def test_layer_requirements_match_pyproject() -> None:
    """The layers together ship pyproject's runtime dependencies (minus boto3, which the runtime
    has), with the same lower bounds, each in one layer only."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    declared = {Requirement(line) for line in pyproject["project"]["dependencies"]}
    per_layer = [
        {Requirement(line) for line in requirement_lines(ROOT / folder / "requirements.in")}
        for folder in LAYERS.values()
    ]
    layers = set().union(*per_layer)

    def lower_bounds(reqs: set[Requirement]) -> dict[str, tuple[str | None, frozenset[str]]]:
        out: dict[str, tuple[str | None, frozenset[str]]] = {}
        for req in reqs:
            floor = next((spec.version for spec in req.specifier if spec.operator == ">="), None)
            out[req.name.lower()] = (floor, frozenset(req.extras))
        return out

    expected = {name: v for name, v in lower_bounds(declared).items() if name != "boto3"}
    assert lower_bounds(layers) == expected
    assert sum(map(len, per_layer)) == len(layers)  # none in two layers


@pytest.mark.parametrize("folder", LAYERS.values())
def test_layer_is_built_from_a_lock_file_with_hashes(folder: str) -> None:
    """requirements.txt pins every package the layer installs (==, with the hashes of its
    wheels) and each pin satisfies requirements.in's range; the build installs only that."""
    text = (ROOT / folder / "requirements.txt").read_text()
    entries = [
        entry
        for entry in text.replace("\\\n", " ").splitlines()
        if entry and not entry.startswith(("#", " "))
    ]
    pins: dict[str, str] = {}
    for entry in entries:
        requirement = Requirement(entry.split(" --hash")[0].strip())
        (spec,) = requirement.specifier
        assert spec.operator == "==", entry
        assert re.search(r"--hash=sha256:[0-9a-f]{64}", entry), f"{requirement.name} has no hash"
        pins[requirement.name.lower().replace("_", "-")] = spec.version
    for line in requirement_lines(ROOT / folder / "requirements.in"):
        wanted = Requirement(line)
        name = wanted.name.lower().replace("_", "-")
        assert name in pins, f"{name} is not in the lock: make -C {folder} lock"
        assert wanted.specifier.contains(pins[name], prereleases=True), (
            f"{name} {pins[name]} outside {wanted}"
        )
    makefile = (ROOT / folder / "Makefile").read_text()
    assert "--require-hashes --no-deps -r requirements.txt" in makefile


def numpy_importers() -> set[str]:
    """booksync's modules with an import of numpy anywhere (at the top or in a function)."""
    package = ROOT / "layers/shared/python"
    found: set[str] = set()
    for path in (package / "booksync").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(name.split(".")[0] == "numpy" for name in names):
                found.add(".".join(path.relative_to(package).with_suffix("").parts))
    return found


def test_numpy_is_in_the_memory_layer_on_the_functions_that_import_it_and_no_other(
    template: dict[str, Any],
) -> None:
    """numpy (~48 MiB unpacked) is not in the shared layer every function carries: MemoryLayer
    holds it, on the functions whose code imports it and no other. Only the billing memory's
    search and index code imports numpy; it runs in the API function that serves /memory/*
    (its API_PART's routers include booksync.api.memory) and in the function consuming
    EmbedBillingQueue. (The local runtime refuses numpy to the others, as Lambda would.)"""
    from booksync.api.app import ROUTERS

    importers = numpy_importers()
    assert importers, "no module imports numpy: drop MemoryLayer"
    assert all(name.startswith(("booksync.memory.", "booksync.store.memory")) for name in importers), (
        importers
    )
    assert "numpy" in {
        Requirement(line).name for line in requirement_lines(ROOT / "layers/memory/requirements.in")
    }
    for name in ("requirements.in", "requirements.txt"):
        shipped = requirement_lines(ROOT / "layers/shared" / name)
        assert not [line for line in shipped if line.lower().startswith("numpy")], (
            f"numpy in layers/shared/{name}"
        )

    importing: set[str] = set()
    for name, function in functions(template).items():
        props = function["Properties"]
        part = props.get("Environment", {}).get("Variables", {}).get("API_PART")
        serves_memory = (
            props["CodeUri"].rstrip("/") == "functions/api" and "booksync.api.memory" in ROUTERS[part]
        )
        embeds = any(
            queue_arn_target(event["Queue"]) == "EmbedBillingQueue"
            for event in events_of(function, "SQS").values()
        )
        if serves_memory or embeds:
            importing.add(name)
    assert importing == {"ApiFunction", "EmbedBillingFunction"}
    carrying = {
        name
        for name, function in functions(template).items()
        if {"Ref": "MemoryLayer"} in function_setting(template, function, "Layers", [])
    }
    assert carrying == importing
    assert template["Globals"]["Function"]["Layers"] == [{"Ref": "SharedLayer"}]


# ---------------------------------------------------------------- functions and their settings


def test_functions_have_code_handler_and_timeout(template: dict[str, Any]) -> None:
    expected = {
        "ApiFunction": ("functions/api", 29),
        "SetupApiFunction": ("functions/api", 29),
        "SyncInvoiceFunction": ("functions/sync_invoice", 60),
        "SchedulerFunction": ("functions/scheduler", 120),
    }
    found = functions(template)
    assert set(expected) <= set(found)
    for name, (code_uri, timeout) in expected.items():
        props = found[name]["Properties"]
        assert props["CodeUri"].rstrip("/") == code_uri
        assert props["Handler"] == "handler.handler"
        assert props["Timeout"] == timeout


def test_no_function_or_layer_ships_the_providers_specs(template: dict[str, Any]) -> None:
    """specs/ (the providers' contracts, 4.6 MB, read by the tests only) lies outside every folder
    sam build copies into a function or the layer, and holds none of them."""
    specs = (ROOT / "specs").resolve()
    packaged = {
        name: (ROOT / props[key]).resolve()
        for name, resource in template["Resources"].items()
        for props in [resource.get("Properties", {})]
        for key in ("CodeUri", "ContentUri")
        if isinstance(props.get(key), str)
    }
    assert len(packaged) >= 2  # the functions and the layer
    for name, folder in packaged.items():
        assert not specs.is_relative_to(folder), f"{name} ships specs/ ({folder})"
        assert not folder.is_relative_to(specs), f"{name} is built from specs/ ({folder})"


def test_function_environment_follows_the_contract(template: dict[str, Any]) -> None:
    for name, function in functions(template).items():
        env = function["Properties"]["Environment"]["Variables"]
        assert set(env) == FUNCTION_ENV[name], name
        assert isinstance(env["POWERTOOLS_SERVICE_NAME"], str)
        for var, resource in ENV_RESOURCE.items():
            if var in env:
                assert env[var] == {"Ref": resource}, f"{name}.{var}"
        if "QBO_MINOR_VERSION" in env:
            assert env["QBO_MINOR_VERSION"] == "75"


def test_api_public_url_is_the_parameter_or_the_api_itself(template: dict[str, Any]) -> None:
    env = template["Resources"]["ApiFunction"]["Properties"]["Environment"]["Variables"]
    assert env["PUBLIC_API_BASE_URL"] == {
        "Fn::If": [
            "HasPublicApiBaseUrl",
            {"Ref": "PublicApiBaseUrl"},
            {"Fn::GetAtt": ["HttpApi", "ApiEndpoint"]},
        ]
    }
    # Empty would be rejected by the settings model; unset means "no return URL".
    assert env["APP_RETURN_URL"] == {
        "Fn::If": ["HasAppReturnUrl", {"Ref": "AppReturnUrl"}, {"Ref": "AWS::NoValue"}]
    }


def test_every_function_logs_to_a_log_group_with_retention(template: dict[str, Any]) -> None:
    groups = resources_of(template, "AWS::Logs::LogGroup")
    for name, function in functions(template).items():
        log_group = function["Properties"]["LoggingConfig"]["LogGroup"]
        assert log_group["Ref"] in groups, name
        assert "RetentionInDays" in groups[log_group["Ref"]]["Properties"], name


# ---------------------------------------------------------------- queues


def test_every_queue_has_a_dead_letter_queue_after_five_receives(template: dict[str, Any]) -> None:
    queues = resources_of(template, "AWS::SQS::Queue")
    dlqs = dead_letter_queues(template)
    assert dlqs, "no dead-letter queue at all"
    for name, queue in queues.items():
        props = queue["Properties"]
        assert props.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in props, name
        if name in dlqs:
            assert "RedrivePolicy" not in props, f"{name} is a dead-letter queue; it should not redrive"
            assert props["MessageRetentionPeriod"] == 14 * 24 * 3600, name
            continue
        redrive = props.get("RedrivePolicy")
        assert redrive, f"{name} has no dead-letter queue"
        assert int(redrive["maxReceiveCount"]) == 5, name
        assert queue_arn_target(redrive["deadLetterTargetArn"]) in queues


def test_queue_visibility_is_at_least_six_times_its_consumers_timeout(template: dict[str, Any]) -> None:
    queues = resources_of(template, "AWS::SQS::Queue")
    consumers = 0
    for name, function in functions(template).items():
        timeout = int(function_setting(template, function, "Timeout", 3))
        for props in events_of(function, "SQS").values():
            queue = queue_arn_target(props["Queue"])
            visibility = int(queues[queue]["Properties"].get("VisibilityTimeout", 30))
            assert visibility >= 6 * timeout, f"{queue}: {visibility}s < 6 x {name} timeout {timeout}s"
            consumers += 1
    assert consumers, "no SQS consumer found"


def test_every_sqs_event_reports_partial_batch_failures(template: dict[str, Any]) -> None:
    events = [props for f in functions(template).values() for props in events_of(f, "SQS").values()]
    assert events
    for props in events:
        assert "ReportBatchItemFailures" in props.get("FunctionResponseTypes", [])


def test_sync_invoice_event_source_settings(template: dict[str, Any]) -> None:
    (props,) = events_of(template["Resources"]["SyncInvoiceFunction"], "SQS").values()
    assert queue_arn_target(props["Queue"]) == "SyncInvoiceQueue"
    assert props["BatchSize"] == 5
    assert props["MaximumBatchingWindowInSeconds"] == 1
    assert props["ScalingConfig"] == {"MaximumConcurrency": 10}


def test_sync_catalog_event_source_settings(template: dict[str, Any]) -> None:
    (props,) = events_of(template["Resources"]["SyncCatalogFunction"], "SQS").values()
    assert queue_arn_target(props["Queue"]) == "SyncCatalogQueue"
    # One job per invocation: it uses the whole invocation's time and the realm's limits.
    assert props["BatchSize"] == 1


def test_no_dead_letter_queue_is_consumed_by_a_function(template: dict[str, Any]) -> None:
    """Parked work is looked at by a person (and redriven), never burned through automatically."""
    dlqs = dead_letter_queues(template)
    for function in functions(template).values():
        for props in events_of(function, "SQS").values():
            assert queue_arn_target(props["Queue"]) not in dlqs


# ---------------------------------------------------------------- tables


def test_every_table_is_on_demand_with_pitr_sse_and_retained(template: dict[str, Any]) -> None:
    tables = resources_of(template, "AWS::DynamoDB::Table")
    assert set(tables) == set(TABLES)
    for name, table in tables.items():
        props = table["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST", name
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True, name
        assert props["SSESpecification"]["SSEEnabled"] is True, name
        assert table["DeletionPolicy"] == "Retain", name
        assert table["UpdateReplacePolicy"] == "Retain", name
        assert props["DeletionProtectionEnabled"] is True, name


@pytest.mark.parametrize("name", sorted(TABLES))
def test_table_keys_indexes_and_ttl_follow_the_contract(template: dict[str, Any], name: str) -> None:
    spec = TABLES[name]
    props = template["Resources"][name]["Properties"]
    types = {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]}

    def schema(key_schema: list[dict[str, str]]) -> list[tuple[str, str, str]]:
        return [(k["AttributeName"], types[k["AttributeName"]], k["KeyType"]) for k in key_schema]

    assert schema(props["KeySchema"]) == spec["keys"]
    indexes = {i["IndexName"]: i for i in props.get("GlobalSecondaryIndexes", [])}
    assert set(indexes) == set(spec["indexes"])
    for index_name, keys in spec["indexes"].items():
        assert schema(indexes[index_name]["KeySchema"]) == keys, index_name
    if "account-index" in indexes:
        assert indexes["account-index"]["Projection"]["ProjectionType"] == "ALL"
    # DynamoDB rejects attribute definitions that no key uses.
    used = {k["AttributeName"] for k in props["KeySchema"]} | {
        k["AttributeName"] for i in indexes.values() for k in i["KeySchema"]
    }
    assert set(types) == used
    if spec["ttl"] is None:
        assert "TimeToLiveSpecification" not in props
    else:
        assert props["TimeToLiveSpecification"] == {"AttributeName": spec["ttl"], "Enabled": True}


# ---------------------------------------------------------------- IAM: least privilege


def policy_templates(function: dict[str, Any], kind: str) -> set[str]:
    """Logical ids named by a function's SAM policy templates of one kind."""
    names: set[str] = set()
    for policy in function["Properties"].get("Policies", []):
        if isinstance(policy, dict) and kind in policy:
            names |= references(policy[kind])
    return names


def dynamodb_tables(function: dict[str, Any]) -> set[str]:
    """Tables a function's inline statements grant DynamoDB actions on (logical ids)."""
    names: set[str] = set()
    for policy in function["Properties"].get("Policies", []):
        for statement in policy.get("Statement", []) if isinstance(policy, dict) else []:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if any(str(action).startswith("dynamodb:") for action in actions):
                names |= references(statement["Resource"]) & set(TABLES)
    return names


def test_dynamodb_access_only_to_tables_each_function_is_told_about(template: dict[str, Any]) -> None:
    """A function may reach a table only if its environment names it (it may be told of one whose
    rows it never touches: its settings read them all), and never the sync worker's idempotency
    records unless it is the worker."""
    for name, function in functions(template).items():
        env = function["Properties"]["Environment"]["Variables"]
        named = {ENV_RESOURCE[v] for v in env if v in ENV_RESOURCE and ENV_RESOURCE[v] in TABLES}
        assert dynamodb_tables(function) <= named, name
    reaching = {name for name, function in functions(template).items() if dynamodb_tables(function)}
    # Every function but the three webhook receivers one secret signs for every account.
    assert len(reaching) == 12
    idempotency = {
        name for name, f in functions(template).items() if "IdempotencyTable" in dynamodb_tables(f)
    }
    assert idempotency == {"SyncInvoiceFunction"}


def test_queue_senders_are_those_that_know_the_queue(template: dict[str, Any]) -> None:
    for name, function in functions(template).items():
        env = function["Properties"]["Environment"]["Variables"]
        senders = policy_templates(function, "SQSSendMessagePolicy")
        assert senders == {queue for var, queue in QUEUE_ENV.items() if var in env}, name


def test_only_token_functions_read_the_client_secret(template: dict[str, Any]) -> None:
    policy = template["Resources"]["QuickBooksClientSecretReadPolicy"]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    actions = {a for s in statements for a in as_list(s["Action"])}
    # No kms:Decrypt: SSM's AWS managed key (alias/aws/ssm) lets the account use it through SSM.
    assert actions == {"ssm:GetParameter"}
    for statement in statements:
        if statement["Action"] == "kms:Decrypt":
            assert "kms:ViaService" in statement["Condition"]["StringEquals"]
    for name, function in functions(template).items():
        attached = {"QuickBooksClientSecretReadPolicy"} & references(
            function["Properties"].get("Policies", [])
        )
        env = function["Properties"]["Environment"]["Variables"]
        # XeroEventsFunction holds tokens for Xero only.
        quickbooks_token_function = name in TOKEN_FUNCTIONS - {
            "XeroEventsFunction",
            "FreshBooksEventsFunction",
        }
        assert bool(attached) == quickbooks_token_function == ("QBO_CLIENT_SECRET_PARAM" in env), name


def test_square_token_functions_read_the_square_secret_and_share_one_oauth_flow(
    template: dict[str, Any],
) -> None:
    flow = template["Parameters"]["SquareOAuthFlow"]
    assert (flow["Default"], flow["AllowedValues"]) == ("code", ["code", "pkce"])
    for name, function in functions(template).items():
        env = function["Properties"]["Environment"]["Variables"]
        attached = {"SquareApplicationSecretReadPolicy"} & references(
            function["Properties"].get("Policies", [])
        )
        assert bool(attached) == (name in SQUARE_TOKEN_FUNCTIONS) == ("SQUARE_OAUTH_FLOW" in env), name
        if name in SQUARE_TOKEN_FUNCTIONS:
            assert env["SQUARE_OAUTH_FLOW"] == {"Ref": "SquareOAuthFlow"}, name


@pytest.mark.parametrize(
    ("policy", "variable"),
    [
        ("XeroClientSecretReadPolicy", "XERO_CLIENT_SECRET_PARAM"),
        ("FreshBooksClientSecretReadPolicy", "FRESHBOOKS_CLIENT_SECRET_PARAM"),
        ("WaveClientSecretReadPolicy", "WAVE_CLIENT_SECRET_PARAM"),
    ],
)
def test_an_app_secret_is_read_only_where_its_parameter_is_named(
    template: dict[str, Any], policy: str, variable: str
) -> None:
    """A function reads a provider app's secret exactly where its environment names the parameter
    (a missing grant fails at run time; an extra one hands a receiver the secret), and nothing else."""
    statements = template["Resources"][policy]["Properties"]["PolicyDocument"]["Statement"]
    assert {statement["Action"] for statement in statements} == {"ssm:GetParameter"}, policy
    for name, function in functions(template).items():
        env = function["Properties"]["Environment"]["Variables"]
        attached = {policy} & references(function["Properties"].get("Policies", []))
        assert bool(attached) == (variable in env), (name, policy)


def test_freshbooks_token_functions_read_the_freshbooks_secret(template: dict[str, Any]) -> None:
    for name, function in functions(template).items():
        env = function["Properties"]["Environment"]["Variables"]
        attached = {"FreshBooksClientSecretReadPolicy"} & references(
            function["Properties"].get("Policies", [])
        )
        assert (
            bool(attached)
            == (name in FRESHBOOKS_SECRET_FUNCTIONS)
            == ("FRESHBOOKS_CLIENT_SECRET_PARAM" in env)
        ), name


ACCOUNT_ROOT = {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
ENCRYPTION_CONTEXT_KEYS = {"company_id", "provider", "connection_id"}


def assert_bound_to_connection_row(condition: dict[str, Any]) -> None:
    """Ciphertexts are bound to their connection row by the encryption context."""
    assert set(condition["ForAllValues:StringEquals"]["kms:EncryptionContextKeys"]) == ENCRYPTION_CONTEXT_KEYS
    assert condition["Null"] == {f"kms:EncryptionContext:{k}": "false" for k in ENCRYPTION_CONTEXT_KEYS}


def key_statements(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    statements = template["Resources"]["TokenKey"]["Properties"]["KeyPolicy"]["Statement"]
    return {statement["Sid"]: statement for statement in statements}


def test_token_key_rotates_and_only_token_functions_use_it(template: dict[str, Any]) -> None:
    key = template["Resources"]["TokenKey"]
    props = key["Properties"]
    assert props["EnableKeyRotation"] is True
    users: set[str] = set()
    for statement in props["KeyPolicy"]["Statement"]:
        # A wildcard such as kms:* or kms:Generate* counts for every operation it covers.
        crypto = [
            a for a in as_list(statement["Action"]) if any(fnmatchcase(op, a) for op in KMS_CRYPTO_ACTIONS)
        ]
        if not crypto:
            continue
        assert statement["Effect"] == "Allow"
        assert set(crypto) <= {"kms:GenerateDataKey", "kms:Decrypt"}
        assert_bound_to_connection_row(statement["Condition"])
        users |= references(statement["Condition"]["ArnEquals"]["aws:PrincipalArn"])
    assert users == {f"{f}Role" for f in TOKEN_FUNCTIONS | OPEN_ONLY_FUNCTIONS}
    # The identity half: one managed policy, attached to exactly the token functions.
    (statement,) = template["Resources"]["TokenKeyUsePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert set(as_list(statement["Action"])) == {"kms:GenerateDataKey", "kms:Decrypt"}
    # The key by its own alias, not its ARN: the key policy names the roles and the roles carry this
    # policy, so !GetAtt TokenKey.Arn here would be a circular dependency (test_no_circular_dependency).
    assert statement["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/*"
    }
    alias = template["Resources"]["TokenKeyAlias"]["Properties"]["AliasName"]
    assert statement["Condition"]["ForAnyValue:StringEquals"] == {"kms:ResourceAliases": alias}
    assert_bound_to_connection_row(statement["Condition"])
    for name, resource in template["Resources"].items():
        if name in ("TokenKey", "TokenKeyAlias", "TokenKeyUsePolicy"):
            continue
        props = resource.get("Properties", {})
        for field in ("Policies", "PolicyDocument"):
            assert "TokenKey" not in references(props.get(field, [])), f"{name}.{field} grants TokenKey"
    for name, function in functions(template).items():
        env = function["Properties"]["Environment"]["Variables"]
        attached = "TokenKeyUsePolicy" in references(function["Properties"]["Policies"])
        assert ("TOKEN_KEY_ID" in env) == (name in TOKEN_FUNCTIONS | OPEN_ONLY_FUNCTIONS), name
        assert attached == (name in TOKEN_FUNCTIONS), name
        if name in OPEN_ONLY_FUNCTIONS:  # decrypt only, through the same alias, bound the same way
            (opens,) = [
                st
                for policy in function["Properties"]["Policies"]
                if isinstance(policy, dict)
                for st in policy.get("Statement", [])
                if any(str(a).startswith("kms:") for a in as_list(st["Action"]))
            ]
            assert as_list(opens["Action"]) == ["kms:Decrypt"], name
            assert opens["Condition"]["ForAnyValue:StringEquals"] == {"kms:ResourceAliases": alias}
            assert_bound_to_connection_row(opens["Condition"])


def test_token_key_policy_names_no_role_as_principal(template: dict[str, Any]) -> None:
    """Roles created in the same deploy may not be visible to KMS yet, and KMS refuses a key
    policy naming a principal it cannot see: every statement's principal is the account, and
    the roles are named in an aws:PrincipalArn condition instead."""
    for sid, statement in key_statements(template).items():
        assert statement["Principal"] == {"AWS": ACCOUNT_ROOT}, sid
    (use,) = [s for s in key_statements(template).values() if "kms:Decrypt" in as_list(s["Action"])]
    assert set(use["Condition"]["ArnEquals"]) == {"aws:PrincipalArn"}


def test_the_key_administrator_cannot_grant_itself_decrypt(template: dict[str, Any]) -> None:
    statements = key_statements(template)
    admin = as_list(statements["AccountAdministersKey"]["Action"])
    for forbidden in ("kms:CreateGrant", "kms:PutKeyPolicy", "kms:Decrypt", "kms:GenerateDataKey"):
        assert not [a for a in admin if fnmatchcase(forbidden, a)], f"{forbidden} in the admin statement"
    # KMS requires the key's creator to keep PutKeyPolicy: only through CloudFormation.
    (policy_changes,) = [s for s in statements.values() if "kms:PutKeyPolicy" in as_list(s["Action"])]
    assert as_list(policy_changes["Action"]) == ["kms:PutKeyPolicy"]
    assert policy_changes["Condition"] == {
        "ForAnyValue:StringEquals": {"aws:CalledVia": {"Fn::Sub": "cloudformation.${AWS::URLSuffix}"}}
    }
    granting = [
        s for s in statements.values() for a in as_list(s["Action"]) if fnmatchcase("kms:CreateGrant", a)
    ]
    assert not granting


def test_token_key_alias_is_unique_per_stack(template: dict[str, Any]) -> None:
    alias = template["Resources"]["TokenKeyAlias"]["Properties"]
    assert alias["TargetKeyId"] == {"Ref": "TokenKey"}
    assert "${AWS::StackName}" in alias["AliasName"]["Fn::Sub"]


# ---------------------------------------------------------------- HTTP API


def test_http_api_has_a_jwt_default_authorizer_and_access_logs(template: dict[str, Any]) -> None:
    api = template["Resources"]["HttpApi"]
    assert api["Type"] == "AWS::Serverless::HttpApi"
    auth = api["Properties"]["Auth"]
    assert auth["DefaultAuthorizer"] == "JwtAuthorizer"
    jwt = auth["Authorizers"]["JwtAuthorizer"]
    assert jwt["IdentitySource"] == "$request.header.Authorization"
    assert jwt["JwtConfiguration"]["issuer"] == {"Ref": "JwtIssuer"}
    assert jwt["JwtConfiguration"]["audience"] == [{"Ref": "JwtAudience"}]
    assert api["Properties"]["StageName"] == "$default"
    destination = api["Properties"]["AccessLogSettings"]["DestinationArn"]
    (group,) = references(destination)
    assert template["Resources"][group]["Type"] == "AWS::Logs::LogGroup"


def test_jwt_guards_every_route_but_the_public_ones(template: dict[str, Any]) -> None:
    routes = http_routes(template)
    assert ("ANY", "/{proxy+}") in routes
    for route, (_function, props) in routes.items():
        authorizer = props.get("Auth", {}).get("Authorizer", "JwtAuthorizer")
        if route in PUBLIC_ROUTES:
            assert authorizer == "NONE", f"{route} is public by contract"
        else:
            assert authorizer == "JwtAuthorizer", f"{route} must require a JWT"
        assert props["ApiId"] == {"Ref": "HttpApi"}


def test_api_function_routes(template: dict[str, Any]) -> None:
    routes = {route for route, (fn, _props) in http_routes(template).items() if fn == "ApiFunction"}
    assert routes == {
        ("GET", "/health"),
        ("GET", "/openapi.json"),
        ("GET", "/oauth/{provider}/callback"),
        ("ANY", "/{proxy+}"),
    }


BY_NAME = ("ApiFunction", "SetupApiFunction")


def test_setup_api_function_serves_the_setup_screens(template: dict[str, Any]) -> None:
    routes = {route for route, (fn, _props) in http_routes(template).items() if fn == "SetupApiFunction"}
    assert routes == {
        ("ANY", "/integrations/{provider}/wizard"),
        ("ANY", "/integrations/{provider}/wizard/{proxy+}"),
        ("ANY", "/integrations/{provider}/accounts"),
        ("ANY", "/integrations/{provider}/account-mapping"),
        ("ANY", "/integrations/{provider}/account-mapping/{proxy+}"),
    }
    parts = {name: template["Resources"][name]["Properties"]["Environment"]["Variables"] for name in BY_NAME}
    assert {name: env["API_PART"] for name, env in parts.items()} == {
        "ApiFunction": "core",
        "SetupApiFunction": "setup",
    }


def test_http_api_definition_wires_api_function_by_name(template: dict[str, Any]) -> None:
    """The API functions' environment names the API's URL, so the API must not reference them
    (that would be a dependency cycle CloudFormation refuses, which neither cfn-lint nor
    `sam validate` reports). Their routes are therefore listed in the API's DefinitionBody with
    an integration URI built from each function's fixed name, and must match its Events."""
    paths = template["Resources"]["HttpApi"]["Properties"]["DefinitionBody"]["paths"]
    in_body: dict[str, set[tuple[str, str]]] = {name: set() for name in BY_NAME}
    names = {}
    for name in BY_NAME:
        props = template["Resources"][name]["Properties"]
        assert "HttpApi" in references(props["Environment"]), name
        names[f":function:{props['FunctionName']['Fn::Sub']}/invocations"] = name
    for path, methods in paths.items():
        for method, operation in methods.items():
            verb = "ANY" if method == "x-amazon-apigateway-any-method" else method.upper()
            integration = operation["x-amazon-apigateway-integration"]
            assert integration["type"] == "aws_proxy"
            assert integration["payloadFormatVersion"] == "2.0"
            uri = integration["uri"]["Fn::Sub"]
            [function] = [name for suffix, name in names.items() if uri.endswith(suffix)]
            assert not set(BY_NAME) & references(integration)
            in_body[function].add((verb, path))
    for name in BY_NAME:
        declared = {route for route, (fn, _p) in http_routes(template).items() if fn == name}
        assert in_body[name] == declared, name
    # No other function may be wired through the body by name: SAM wires them itself.
    assert not references(paths) - {"AWS::Partition", "AWS::Region", "AWS::AccountId", "AWS::StackName"}


def test_no_function_depends_on_an_api_that_invokes_it(template: dict[str, Any]) -> None:
    """SAM adds `${Function.Arn}` to the API body for each route not already in it."""
    body_routes = set()
    paths = template["Resources"]["HttpApi"]["Properties"].get("DefinitionBody", {}).get("paths", {})
    for path, methods in paths.items():
        for method in methods:
            body_routes.add(("ANY" if method == "x-amazon-apigateway-any-method" else method.upper(), path))
    for name, function in functions(template).items():
        wired_by_sam = {
            (p["Method"].upper(), p["Path"]) for p in events_of(function, "HttpApi").values()
        } - body_routes
        if wired_by_sam:
            # Events name the API (ApiId) but SAM turns them into API resources: not a dependency.
            own = {key: value for key, value in function["Properties"].items() if key != "Events"}
            assert "HttpApi" not in references(own), name


# ---------------------------------------------------------------- schedules and alarms


def test_scheduler_sweeps_every_five_minutes(template: dict[str, Any]) -> None:
    schedules = events_of(template["Resources"]["SchedulerFunction"], "Schedule")
    assert schedules["Sweep"]["Schedule"] == "rate(5 minutes)"
    assert json.loads(schedules["KeepAlive"]["Input"]) == {"task": "keepalive"}
    assert json.loads(schedules["Sweep"]["Input"]) == {"task": "sweep"}


def test_scheduled_runs_are_never_retried_into_the_next_run(template: dict[str, Any]) -> None:
    """Neither EventBridge (a failed delivery) nor Lambda (a failed asynchronous invocation,
    retried twice by default) runs a schedule again, and an event older than the sweep's
    period is dropped: a retry could overlap the next run."""
    scheduler = template["Resources"]["SchedulerFunction"]
    schedules = events_of(scheduler, "Schedule")
    assert schedules
    for name, props in schedules.items():
        retry = props["RetryPolicy"]
        assert retry["MaximumRetryAttempts"] == 0, name
        assert retry["MaximumEventAgeInSeconds"] < 300, name
    invoke = scheduler["Properties"]["EventInvokeConfig"]
    assert invoke["MaximumRetryAttempts"] == 0
    assert invoke["MaximumEventAgeInSeconds"] < 300


def test_an_alarm_watches_every_dead_letter_queue(template: dict[str, Any]) -> None:
    alarms = resources_of(template, "AWS::CloudWatch::Alarm").values()
    watched: set[str] = set()
    for alarm in alarms:
        props = alarm["Properties"]
        if (props.get("Namespace"), props.get("MetricName")) != (
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
        ):
            continue
        assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert props["Threshold"] == 1
        assert props["Period"] * props["EvaluationPeriods"] <= 300
        assert {"Ref": "AlarmTopic"} in props["AlarmActions"]
        (dimension,) = props["Dimensions"]
        assert dimension["Name"] == "QueueName"
        assert dimension["Value"]["Fn::GetAtt"][1] == "QueueName"
        watched.add(dimension["Value"]["Fn::GetAtt"][0])
    assert watched == dead_letter_queues(template)
    topic = template["Resources"]["AlarmTopic"]
    assert topic["Type"] == "AWS::SNS::Topic"
    subscription = template["Resources"]["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert subscription["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}


def test_outputs(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]
    for name in ("ApiUrl", "QuickBooksRedirectUri", "SyncInvoiceQueueUrl", "TokenKeyArn"):
        assert name in outputs
    for table in TABLES:
        assert outputs[f"{table}Name"]["Value"] == {"Ref": table}
    assert outputs["QuickBooksRedirectUri"]["Value"]["Fn::Sub"][0] == "${Base}/oauth/quickbooks/callback"


def test_samconfig_profiles() -> None:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    for env, stack in (("default", "booksync-dev"), ("dev", "booksync-dev"), ("prod", "booksync-prod")):
        assert config[env]["global"]["parameters"]["stack_name"] == stack
        deploy = config[env]["deploy"]["parameters"]
        assert deploy["capabilities"] == "CAPABILITY_IAM"
        assert deploy["resolve_s3"] is True
        stage = "prod" if env == "prod" else "dev"
        assert f"Stage={stage}" in deploy["parameter_overrides"].split()
        # Region and tags per stage: a stack is created where its profile says, tagged for its stage.
        assert config[env]["global"]["parameters"]["region"]
        assert deploy["tags"].split() == ["project=booksync", f"stage={stage}"]
    assert config["prod"]["deploy"]["parameters"]["confirm_changeset"] is True


# ---------------------------------------------------------------- issue 13: ready for a first deploy

SYNC_QUEUES = {"SyncInvoiceQueue", "SyncCatalogQueue"}  # re-created by the sweep / the run's row


def alarms_on(template: dict[str, Any], namespace: str, metric: str) -> dict[str, dict[str, Any]]:
    return {
        name: alarm["Properties"]
        for name, alarm in resources_of(template, "AWS::CloudWatch::Alarm").items()
        if (alarm["Properties"].get("Namespace"), alarm["Properties"].get("MetricName"))
        == (namespace, metric)
    }


def assert_notifies(props: dict[str, Any]) -> None:
    assert {"Ref": "AlarmTopic"} in props["AlarmActions"]
    assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert props["TreatMissingData"] == "notBreaching"
    assert props["Period"] * props["EvaluationPeriods"] <= 300


def test_sync_invoice_may_delay_its_message_by_retry_after(template: dict[str, Any]) -> None:
    """sync/jobs.py changes a 429'd message's visibility to the provider's Retry-After."""
    statements = [
        statement
        for policy in template["Resources"]["SyncInvoiceFunction"]["Properties"]["Policies"]
        if isinstance(policy, dict) and "Statement" in policy
        for statement in policy["Statement"]
    ]
    allowed = {
        queue_arn_target(s["Resource"])
        for s in statements
        if s["Effect"] == "Allow" and "sqs:ChangeMessageVisibility" in as_list(s["Action"])
    }
    assert allowed == {"SyncInvoiceQueue"}


def test_catalog_function_allows_its_own_recursion(template: dict[str, Any]) -> None:
    """It queues its next step on its own trigger queue: Lambda would stop the chain after
    about 16 hops. The run's step cap bounds it instead (tests/integration/test_sync_catalog.py)."""
    assert template["Resources"]["SyncCatalogFunction"]["Properties"]["RecursiveLoop"] == "Allow"
    for name, function in functions(template).items():
        if name != "SyncCatalogFunction":
            assert "RecursiveLoop" not in function["Properties"], name


def test_every_route_is_throttled_and_webhooks_tighter(template: dict[str, Any]) -> None:
    default = template["Resources"]["HttpApi"]["Properties"]["DefaultRouteSettings"]
    assert 0 < default["ThrottlingRateLimit"] <= default["ThrottlingBurstLimit"]
    webhooks = {
        route: props
        for route, (_f, props) in http_routes(template).items()
        if route[1].startswith("/webhooks/")
    }
    assert set(webhooks) == {
        ("POST", "/webhooks/quickbooks"),
        ("POST", "/webhooks/square"),
        ("POST", "/webhooks/xero"),
        ("POST", "/webhooks/freshbooks"),
    }
    for route, props in webhooks.items():
        limits = props["RouteSettings"]
        assert 0 < limits["ThrottlingRateLimit"] < default["ThrottlingRateLimit"], route
        assert 0 < limits["ThrottlingBurstLimit"] < default["ThrottlingBurstLimit"], route


def test_webhook_floods_cannot_starve_the_sync_workers(template: dict[str, Any]) -> None:
    """The receivers run on reserved concurrency (a cap taken from nobody else), and their
    queues' consumers scale out no further than a few workers."""
    receivers = {fn for route, (fn, _p) in http_routes(template).items() if route[1].startswith("/webhooks/")}
    assert receivers == {
        "QuickBooksWebhookFunction",
        "SquareWebhookFunction",
        "XeroWebhookFunction",
        "FreshBooksWebhookFunction",
    }
    for name in receivers:
        reserved = template["Resources"][name]["Properties"]["ReservedConcurrentExecutions"]
        assert 1 <= reserved <= 10, name
    for name, function in functions(template).items():
        for props in events_of(function, "SQS").values():
            if queue_arn_target(props["Queue"]) in {
                "QuickBooksEventsQueue",
                "SquareEventsQueue",
                "XeroEventsQueue",
                "FreshBooksEventsQueue",
            }:
                assert 2 <= props["ScalingConfig"]["MaximumConcurrency"] <= 10, name


def test_concurrency_caps_are_stated_as_flood_guards() -> None:
    """Every MaximumConcurrency is shared by all customers: its comment says it is a flood
    guard and not the provider's per-company limit (the per-connection limiter is issue 14)."""
    lines = TEMPLATE_PATH.read_text().splitlines()
    caps = [i for i, line in enumerate(lines) if "MaximumConcurrency:" in line]
    assert caps
    for index in caps:
        comment = " ".join(
            line.strip() for line in lines[max(0, index - 8) : index] if line.strip().startswith("#")
        )
        assert "flood guard" in comment, f"template.yaml line {index + 1}: say the cap is a flood guard"
    assert "issue 14" in TEMPLATE_PATH.read_text()


def test_webhook_and_dead_letter_queues_are_retained(template: dict[str, Any]) -> None:
    """Their contents (provider deliveries, payout events, parked failures) exist nowhere else."""
    queues = resources_of(template, "AWS::SQS::Queue")
    assert set(queues) >= SYNC_QUEUES
    for name, queue in queues.items():
        expected = "Delete" if name in SYNC_QUEUES else "Retain"
        assert (queue["DeletionPolicy"], queue["UpdateReplacePolicy"]) == (expected, expected), name
    assert dead_letter_queues(template).isdisjoint(SYNC_QUEUES)


def test_an_age_alarm_watches_every_source_queue(template: dict[str, Any]) -> None:
    """A consumer that reports partial failures never raises Lambda's Errors: the age of the
    oldest message shows it, within minutes (at most 30), and not on a message's first failure:
    the threshold is above the queue's visibility timeout, the age a message has when it comes back
    after one failed receive. A queue whose visibility is already 30 minutes (the catalog's steps)
    pages at twice that, on a second failure."""
    queues = resources_of(template, "AWS::SQS::Queue")
    sources = set(queues) - dead_letter_queues(template)
    watched: set[str] = set()
    for name, props in alarms_on(template, "AWS/SQS", "ApproximateAgeOfOldestMessage").items():
        assert_notifies(props)
        assert props["Statistic"] == "Maximum", name
        (dimension,) = props["Dimensions"]
        assert dimension["Name"] == "QueueName"
        queue, attribute = dimension["Value"]["Fn::GetAtt"]
        assert attribute == "QueueName"
        visibility = int(queues[queue]["Properties"]["VisibilityTimeout"])
        assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold", name
        assert visibility < props["Threshold"] <= max(1800, 2 * visibility), name
        watched.add(queue)
    assert watched == sources


def test_scheduler_errors_raise_an_alarm(template: dict[str, Any]) -> None:
    (props,) = alarms_on(template, "AWS/Lambda", "Errors").values()
    assert_notifies(props)
    assert props["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "SchedulerFunction"}}]
    assert (props["Statistic"], props["Threshold"]) == ("Sum", 1)


def test_api_5xx_raise_an_alarm(template: dict[str, Any]) -> None:
    (props,) = alarms_on(template, "AWS/ApiGateway", "5xx").values()
    assert_notifies(props)
    assert props["Dimensions"] == [{"Name": "ApiId", "Value": {"Ref": "HttpApi"}}]
    assert props["Statistic"] == "Sum"


def test_prod_cannot_deploy_without_an_alarm_email(template: dict[str, Any]) -> None:
    rule = template["Rules"]["ProdHasAlarmEmail"]
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}
    (assertion,) = rule["Assertions"]
    assert assertion["Assert"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}
    assert "AlarmEmail" in assertion["AssertDescription"]


def test_cors_allows_the_business_app_origin_only(template: dict[str, Any]) -> None:
    cors = template["Resources"]["HttpApi"]["Properties"]["CorsConfiguration"]
    assert cors["AllowOrigins"] == {"Fn::If": ["HasAppOrigin", [{"Ref": "AppOrigin"}], []]}
    assert "authorization" in cors["AllowHeaders"]
    assert "*" not in cors["AllowMethods"]
    assert not cors.get("AllowCredentials", False)  # bearer tokens, no cookies
    pattern = template["Parameters"]["AppOrigin"]["AllowedPattern"]
    assert re.fullmatch(pattern, "https://app.example.com")
    assert not re.fullmatch(pattern, "https://app.example.com/")
    assert not re.fullmatch(pattern, "*")
