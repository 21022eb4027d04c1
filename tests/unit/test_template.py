"""Structural checks on template.yaml: the reliability and security rules that cfn-lint and
`sam validate` cannot know about (design.md, docs/architecture.md).

The template is read as written (SAM, before the transform), so these checks see what a
reviewer sees: function events, SAM policy templates, Globals.
"""

from __future__ import annotations

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
}
# Functions that read or write OAuth tokens and so may use TokenKey.
TOKEN_FUNCTIONS = {
    "ApiFunction",
    "SetupApiFunction",
    "SyncInvoiceFunction",
    "SyncCatalogFunction",
    "SchedulerFunction",
    "PayoutDepositFunction",
}
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
# The API's post-connection setup routes (wizard, account mapping): no Square, no payouts.
FUNCTION_ENV["SetupApiFunction"] = (
    FUNCTION_ENV["ApiFunction"]
    - {"APP_RETURN_URL", "PAYOUTS_TABLE", "PAYOUT_DEPOSIT_QUEUE_URL", "SQUARE_ACTIVITY_TABLE"}
    - {name for name in FUNCTION_ENV["ApiFunction"] if name.startswith("SQUARE_")}
) | {"CUSTOMER_CLASSIFIER", "CLASSIFIER_LLM_URL", "CLASSIFIER_LLM_MODEL", "CLASSIFIER_LLM_API_KEY_PARAM"}
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
# Queue URL variable -> the queue it names (a function may send only to the queues it is told of).
QUEUE_ENV = {
    "SYNC_INVOICE_QUEUE_URL": "SyncInvoiceQueue",
    "SYNC_CATALOG_QUEUE_URL": "SyncCatalogQueue",
    "QBO_WEBHOOK_QUEUE_URL": "QuickBooksEventsQueue",
    "SQUARE_EVENTS_QUEUE_URL": "SquareEventsQueue",
    "PAYOUT_DEPOSIT_QUEUE_URL": "PayoutDepositQueue",
}
ENV_RESOURCE = {spec["env"]: name for name, spec in TABLES.items()} | {
    "QBO_WEBHOOK_QUEUE_URL": "QuickBooksEventsQueue",
    "SQUARE_EVENTS_QUEUE_URL": "SquareEventsQueue",
    "SYNC_INVOICE_QUEUE_URL": "SyncInvoiceQueue",
    "SYNC_CATALOG_QUEUE_URL": "SyncCatalogQueue",
    "PAYOUT_DEPOSIT_QUEUE_URL": "PayoutDepositQueue",
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
    assert env["LOG_LEVEL"] == {"Ref": "LogLevel"}
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "booksync"


def test_shared_layer_is_built_by_its_makefile(template: dict[str, Any]) -> None:
    layer = template["Resources"]["SharedLayer"]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Metadata"]["BuildMethod"] == "makefile"
    props = layer["Properties"]
    assert props["ContentUri"].rstrip("/") == "layers/shared"
    assert props["CompatibleRuntimes"] == ["python3.12"]
    assert props["CompatibleArchitectures"] == ["arm64"]
    makefile = (ROOT / "layers/shared/Makefile").read_text()
    assert re.search(r"^build-SharedLayer:", makefile, re.MULTILINE)
    assert "--platform manylinux2014_aarch64" in makefile
    assert "--python-version 3.12" in makefile


def test_layer_requirements_match_pyproject() -> None:
    """The layer ships pyproject's runtime dependencies (minus boto3, which the runtime has),
    with the same lower bounds."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    declared = {Requirement(line) for line in pyproject["project"]["dependencies"]}
    layer_lines = [
        line.split("#")[0].strip()
        for line in (ROOT / "layers/shared/requirements.txt").read_text().splitlines()
        if line.split("#")[0].strip()
    ]
    layer = {Requirement(line) for line in layer_lines}

    def lower_bounds(reqs: set[Requirement]) -> dict[str, tuple[str | None, frozenset[str]]]:
        out: dict[str, tuple[str | None, frozenset[str]]] = {}
        for req in reqs:
            floor = next((spec.version for spec in req.specifier if spec.operator == ">="), None)
            out[req.name.lower()] = (floor, frozenset(req.extras))
        return out

    expected = {name: v for name, v in lower_bounds(declared).items() if name != "boto3"}
    assert lower_bounds(layer) == expected


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
    assert props["TimeToLiveSpecification"] == {"AttributeName": spec["ttl"], "Enabled": True}


# ---------------------------------------------------------------- IAM: least privilege


def policy_templates(function: dict[str, Any], kind: str) -> set[str]:
    """Logical ids named by a function's SAM policy templates of one kind."""
    names: set[str] = set()
    for policy in function["Properties"].get("Policies", []):
        if isinstance(policy, dict) and kind in policy:
            names |= references(policy[kind])
    return names


def test_dynamodb_access_matches_what_each_function_is_told_about(template: dict[str, Any]) -> None:
    """A function may reach a table only if its environment names it, and no further."""
    for name, function in functions(template).items():
        env = function["Properties"]["Environment"]["Variables"]
        named = {ENV_RESOURCE[v] for v in env if v in ENV_RESOURCE and ENV_RESOURCE[v] in TABLES}
        crud = policy_templates(function, "DynamoDBCrudPolicy")
        read = policy_templates(function, "DynamoDBReadPolicy")
        assert not crud & read, name
        assert crud | read == named, name
    api = template["Resources"]["ApiFunction"]
    assert "IdempotencyTable" not in policy_templates(api, "DynamoDBCrudPolicy") | policy_templates(
        api, "DynamoDBReadPolicy"
    )


def test_queue_senders_are_those_that_know_the_queue(template: dict[str, Any]) -> None:
    for name, function in functions(template).items():
        env = function["Properties"]["Environment"]["Variables"]
        senders = policy_templates(function, "SQSSendMessagePolicy")
        assert senders == {queue for var, queue in QUEUE_ENV.items() if var in env}, name


def test_only_token_functions_read_the_client_secret(template: dict[str, Any]) -> None:
    policy = template["Resources"]["QuickBooksClientSecretReadPolicy"]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    actions = {a for s in statements for a in as_list(s["Action"])}
    assert actions == {"ssm:GetParameter", "kms:Decrypt"}
    for statement in statements:
        if statement["Action"] == "kms:Decrypt":
            assert "kms:ViaService" in statement["Condition"]["StringEquals"]
    for name, function in functions(template).items():
        attached = {"QuickBooksClientSecretReadPolicy"} & references(
            function["Properties"].get("Policies", [])
        )
        env = function["Properties"]["Environment"]["Variables"]
        assert bool(attached) == (name in TOKEN_FUNCTIONS) == ("QBO_CLIENT_SECRET_PARAM" in env), name


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
        principals = references(statement["Principal"])
        if not crypto:
            continue
        assert statement["Effect"] == "Allow"
        assert set(crypto) <= {"kms:GenerateDataKey", "kms:Decrypt"}
        # Ciphertexts are bound to their connection row by the encryption context.
        condition = statement["Condition"]
        assert set(condition["ForAllValues:StringEquals"]["kms:EncryptionContextKeys"]) == {
            "company_id",
            "provider",
            "connection_id",
        }
        assert set(condition["Null"]) == {
            "kms:EncryptionContext:company_id",
            "kms:EncryptionContext:provider",
            "kms:EncryptionContext:connection_id",
        }
        users |= principals
    assert users == {f"{f}Role" for f in TOKEN_FUNCTIONS}
    alias = template["Resources"]["TokenKeyAlias"]["Properties"]
    assert alias["TargetKeyId"] == {"Ref": "TokenKey"}
    assert alias["AliasName"] == {"Fn::Sub": "alias/booksync-${Stage}-tokens"}
    # No identity policy grants the key: the key policy is the only way in.
    for name, resource in template["Resources"].items():
        if name == "TokenKey":
            continue
        props = resource.get("Properties", {})
        for field in ("Policies", "PolicyDocument"):
            assert "TokenKey" not in references(props.get(field, [])), f"{name}.{field} grants TokenKey"
    for name, function in functions(template).items():
        env = function["Properties"]["Environment"]["Variables"]
        assert ("TOKEN_KEY_ID" in env) == (name in TOKEN_FUNCTIONS), name


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


def test_an_alarm_watches_every_dead_letter_queue(template: dict[str, Any]) -> None:
    alarms = resources_of(template, "AWS::CloudWatch::Alarm").values()
    watched: set[str] = set()
    for alarm in alarms:
        props = alarm["Properties"]
        if props.get("Namespace") != "AWS/SQS":
            continue
        assert props["MetricName"] == "ApproximateNumberOfMessagesVisible"
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
    assert config["prod"]["deploy"]["parameters"]["confirm_changeset"] is True
