"""The local runtime's IAM evaluation (local/runtime/iam.py): AWS's rules, one promise per test."""

from __future__ import annotations

from typing import Any

import boto3
import botocore.session
import pytest
from botocore import xform_name
from botocore.config import Config
from botocore.exceptions import ClientError

from local.runtime.iam import (
    Enforcer,
    KeyPolicy,
    NamedPolicy,
    Place,
    PolicyError,
    Request,
    RoleFile,
    access_denied,
    evaluate,
    requests_for,
    ssm_decrypt_request,
)

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/booksync-local-sync-role"
TABLE = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/booksync-local-DocumentsTable"
QUEUE = f"arn:aws:sqs:us-east-1:{ACCOUNT}:booksync-local-SyncInvoiceQueue"
KEY_ID = "5f0c6a4e-1111-4222-8333-444455556666"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{KEY_ID}"
PLACE = Place(ACCOUNT, "us-east-1", {KEY_ID: KEY}, {"alias/booksync-dev-tokens": KEY_ID})
CONTEXT = {"company_id": "c1", "provider": "quickbooks", "connection_id": "n1"}


def allow(action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Statement": [{"Effect": "Allow", "Action": action, "Resource": resource, **extra}]}


def decide(request: Request, *policies: dict[str, Any], key_policy: dict[str, Any] | None = None) -> bool:
    return evaluate(
        request, list(policies), principal_arn=ROLE, account_id=ACCOUNT, key_policy=key_policy
    ).allowed


def test_an_allow_is_needed() -> None:
    assert not decide(Request("dynamodb:PutItem", TABLE))
    assert not decide(Request("dynamodb:PutItem", TABLE), allow("dynamodb:GetItem", TABLE))
    assert decide(Request("dynamodb:PutItem", TABLE), allow("dynamodb:PutItem", TABLE))


def test_an_explicit_deny_wins_over_any_allow() -> None:
    deny = {"Statement": [{"Effect": "Deny", "Action": "dynamodb:*", "Resource": "*"}]}
    assert not decide(Request("dynamodb:PutItem", TABLE), allow("dynamodb:PutItem", TABLE), deny)


def test_wildcards_in_actions_ignore_case_and_in_resources_do_not() -> None:
    assert decide(Request("sqs:SendMessage", QUEUE), allow("sqs:sendmessage*", QUEUE))
    assert decide(
        Request("dynamodb:Query", f"{TABLE}/index/pending-index"), allow("dynamodb:Query", f"{TABLE}/index/*")
    )
    assert not decide(Request("dynamodb:Query", f"{TABLE}/index/x"), allow("dynamodb:Query", TABLE))
    assert not decide(Request("dynamodb:Query", TABLE.upper()), allow("dynamodb:Query", TABLE))
    assert decide(
        Request("sqs:SendMessage", QUEUE), allow("sqs:SendMessag?", "arn:aws:sqs:*:*:booksync-local-*")
    )


def test_not_action_and_not_resource() -> None:
    everything_but_delete = {
        "Statement": [{"Effect": "Allow", "NotAction": "dynamodb:Delete*", "Resource": TABLE}]
    }
    assert decide(Request("dynamodb:PutItem", TABLE), everything_but_delete)
    assert not decide(Request("dynamodb:DeleteItem", TABLE), everything_but_delete)
    not_that_table = {"Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "NotResource": TABLE}]}
    assert not decide(Request("dynamodb:PutItem", TABLE), not_that_table)
    assert decide(Request("dynamodb:PutItem", TABLE + "2"), not_that_table)


def kms(action: str, context: dict[str, str] | None = None, **extra: str) -> Request:
    params: dict[str, Any] = {"KeyId": KEY_ID, **extra}
    if context is not None:
        params["EncryptionContext"] = context
    (request,) = requests_for("kms", action.split(":")[1], params, PLACE)
    return request


# The template's TokenKeyUsePolicy condition: exactly the connection's keys, each present.
BOUND = {
    "ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["company_id", "provider", "connection_id"]},
    "Null": {f"kms:EncryptionContext:{key}": "false" for key in ("company_id", "provider", "connection_id")},
}


def test_encryption_context_conditions() -> None:
    policy = allow(["kms:GenerateDataKey", "kms:Decrypt"], KEY, Condition=BOUND)
    assert decide(kms("kms:Decrypt", CONTEXT), policy)
    assert not decide(
        kms("kms:Decrypt", {"company_id": "c1", "provider": "quickbooks"}), policy
    )  # one missing
    assert not decide(kms("kms:Decrypt", {**CONTEXT, "extra": "x"}), policy)  # a key not allowed
    assert not decide(kms("kms:Decrypt"), policy)  # no context at all


def test_string_like_negation_and_if_exists() -> None:
    request = Request("s:A", "*", {"aws:PrincipalArn": ROLE})
    like = allow("s:A", "*", Condition={"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/booksync-*"}})
    assert decide(request, like)
    not_equals = allow("s:A", "*", Condition={"StringNotEquals": {"aws:PrincipalArn": ROLE}})
    assert not decide(request, not_equals)
    assert decide(Request("s:A", "*"), not_equals)  # a negated operator holds when the key is absent
    missing = allow("s:A", "*", Condition={"StringEquals": {"aws:SourceVpc": "vpc-1"}})
    assert not decide(request, missing)
    if_exists = allow("s:A", "*", Condition={"StringEqualsIfExists": {"aws:SourceVpc": "vpc-1"}})
    assert decide(request, if_exists)


def test_an_unknown_condition_operator_is_an_error_not_a_guess() -> None:
    policy = allow("s:A", "*", Condition={"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}})
    with pytest.raises(PolicyError, match="DateGreaterThan"):
        decide(Request("s:A", "*", {"aws:CurrentTime": "2030-01-01T00:00:00Z"}), policy)


def test_an_unknown_operator_is_an_error_even_when_its_key_is_missing() -> None:
    """A Deny whose condition the evaluator cannot read must not be skipped as not applying."""
    deny = {
        "Statement": [
            {
                "Effect": "Deny",
                "Action": "s:A",
                "Resource": "*",
                "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}},
            }
        ]
    }
    with pytest.raises(PolicyError, match="DateGreaterThan"):
        decide(Request("s:A", "*"), allow("s:A", "*"), deny)


def key_policy_naming_account(**condition: Any) -> dict[str, Any]:
    statement = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
        "Resource": "*",
    }
    if condition:
        statement["Condition"] = condition
    return {"Statement": [statement]}


def test_a_key_policy_naming_the_account_needs_the_identity_policy_too() -> None:
    identity = allow("kms:Decrypt", KEY)
    request = Request("kms:Decrypt", KEY, {"aws:PrincipalArn": ROLE})
    assert decide(request, identity, key_policy=key_policy_naming_account())
    assert not decide(request, key_policy=key_policy_naming_account())
    other_role = key_policy_naming_account(ArnEquals={"aws:PrincipalArn": [ROLE + "-other"]})
    assert not decide(request, identity, key_policy=other_role)


def test_a_key_policy_naming_the_role_is_enough_alone() -> None:
    policy = {
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "kms:Decrypt", "Resource": "*"}
        ]
    }
    assert decide(Request("kms:Decrypt", KEY), key_policy=policy)
    assert not decide(Request("kms:Encrypt", KEY), key_policy=policy)


def test_calls_become_the_requests_aws_evaluates() -> None:
    url = f"http://127.0.0.1:4566/{ACCOUNT}/booksync-local-SyncInvoiceQueue"
    assert requests_for("sqs", "SendMessageBatch", {"QueueUrl": url}, PLACE) == [
        Request("sqs:SendMessage", QUEUE)
    ]
    query = requests_for(
        "dynamodb", "Query", {"TableName": "booksync-local-DocumentsTable", "IndexName": "i"}, PLACE
    )
    assert query == [Request("dynamodb:Query", f"{TABLE}/index/i")]
    transaction = requests_for(
        "dynamodb",
        "TransactWriteItems",
        {"TransactItems": [{"Update": {"TableName": "t1"}}, {"Put": {"TableName": "t2"}}]},
        PLACE,
    )
    assert [r.action for r in transaction] == ["dynamodb:UpdateItem", "dynamodb:PutItem"]
    by_alias = requests_for("kms", "Decrypt", {"KeyId": "alias/booksync-dev-tokens"}, PLACE)
    assert by_alias[0].resource == KEY
    secret = ssm_decrypt_request("/booksync/dev/quickbooks/client-secret", PLACE)
    assert secret.value("kms:viaservice") == "ssm.us-east-1.amazonaws.com"
    assert secret.value("kms:EncryptionContext:PARAMETER_ARN") == (
        f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/booksync/dev/quickbooks/client-secret"
    )


def role(*documents: dict[str, Any], key_policy: dict[str, Any] | None = None) -> RoleFile:
    return RoleFile(
        function="SyncInvoiceFunction",
        role_arn=ROLE,
        place=PLACE,
        policies=tuple(NamedPolicy(f"p{i}", d, d, declared=True) for i, d in enumerate(documents)),
        key_policies={} if key_policy is None else {KEY: KeyPolicy("TokenKey", key_policy)},
        usage_dir=None,
    )


def test_a_key_is_known_by_its_aliases_in_its_users_policy() -> None:
    """template.yaml's TokenKeyUsePolicy names the key by alias (kms:ResourceAliases): KMS adds the
    key's aliases to each request on it, so the alias's key passes and another key does not."""
    by_alias = allow(
        "kms:Decrypt",
        f"arn:aws:kms:us-east-1:{ACCOUNT}:key/*",
        Condition={"ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/booksync-dev-tokens"}},
    )
    tokens = role(by_alias, key_policy=key_policy_naming_account())
    assert tokens.decide(Request("kms:Decrypt", KEY)).allowed
    other = KEY.replace(KEY_ID, "0e0e0e0e-1111-4222-8333-444455556666")
    assert not tokens.decide(Request("kms:Decrypt", other)).allowed


def test_a_secure_string_under_ssms_managed_key_needs_no_kms_grant() -> None:
    """alias/aws/ssm's key policy lets any principal of the account use it through SSM."""
    name = "/booksync/dev/quickbooks/client-secret"
    reader = role(allow("ssm:GetParameter", PLACE.parameter_arn(name)))
    through_ssm = ssm_decrypt_request(name, PLACE)
    assert through_ssm.resource == PLACE.ssm_key_arn()
    assert reader.decide(through_ssm).allowed
    # Not directly: the key policy asks kms:ViaService, and no identity policy allows kms:Decrypt.
    direct = Request("kms:Decrypt", PLACE.ssm_key_arn(), {"kms:CallerAccount": ACCOUNT})
    assert not reader.decide(direct).allowed


def test_a_refusal_names_the_missing_identity_policy_when_the_key_policy_delegates() -> None:
    decision = role().decide(Request("kms:Decrypt", KEY))  # the default key policy: IAM decides
    assert not decision.allowed
    assert "because no identity-based policy allows the kms:Decrypt action" in decision.reason
    only_other_role = key_policy_naming_account(ArnEquals={"aws:PrincipalArn": [ROLE + "-other"]})
    refused = role(allow("kms:Decrypt", KEY), key_policy=only_other_role).decide(Request("kms:Decrypt", KEY))
    assert "because no resource-based policy allows the kms:Decrypt action" in refused.reason


@pytest.mark.parametrize(
    ("service", "operation", "params", "code"),
    [
        (
            "dynamodb",
            "PutItem",
            {"TableName": "booksync-local-DocumentsTable", "Item": {}},
            "AccessDeniedException",
        ),
        ("kms", "Decrypt", {"KeyId": KEY_ID, "CiphertextBlob": b"x"}, "AccessDeniedException"),
        ("ssm", "GetParameter", {"Name": "/x"}, "AccessDeniedException"),
        (
            "sqs",
            "ChangeMessageVisibility",
            {"QueueUrl": "http://h/1/q", "ReceiptHandle": "r", "VisibilityTimeout": 5},
            "AccessDenied",
        ),
        (
            "sns",
            "Publish",
            {"TopicArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:t", "Message": "m"},
            "AccessDenied",
        ),
    ],
)
def test_a_refused_call_gets_aws_access_denied_through_botocore(
    service: str, operation: str, params: dict[str, Any], code: str
) -> None:
    """The refusal is AWS's wire error parsed by botocore, whatever the service's protocol."""
    # Nothing listens there: a call that is not refused fails to connect instead (no ClientError).
    client = boto3.client(  # type: ignore[call-overload]
        service,
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1),
    )
    enforcer = Enforcer(role())
    client.meta.events.register("before-parameter-build", enforcer.check)
    client.meta.events.register("before-call", enforcer.refuse)
    with pytest.raises(ClientError) as raised:
        getattr(client, xform_name(operation))(**params)
    error = raised.value.response["Error"]
    assert error["Code"] == code
    assert "is not authorized to perform" in error["Message"]
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] in (400, 403)


def test_access_denied_parses_for_each_protocol() -> None:
    session = botocore.session.get_session()
    for service, operation in [
        ("dynamodb", "GetItem"),
        ("sqs", "SendMessage"),
        ("sns", "Publish"),
        ("s3", "GetObject"),
    ]:
        model = session.get_service_model(service).operation_model(operation)
        http, parsed = access_denied(model, "no")
        assert http.status_code >= 400
        assert parsed["Error"]["Code"] in ("AccessDeniedException", "AccessDenied"), (service, parsed)


def test_the_usage_record_names_resources_by_logical_id() -> None:
    named = RoleFile(
        "F",
        ROLE,
        PLACE,
        (),
        {},
        None,
        {"booksync-local-SyncInvoiceQueue": "{SyncInvoiceQueue.QueueName}", KEY_ID: "{TokenKey}"},
    )
    assert named.symbolize(QUEUE) == "arn:aws:sqs:us-east-1:123456789012:{SyncInvoiceQueue.QueueName}"
    assert named.symbolize(KEY) == "arn:aws:kms:us-east-1:123456789012:key/{TokenKey}"
    # Only whole names: a longer name that merely starts with a known one stays as it is.
    other = QUEUE.replace("SyncInvoiceQueue", "SyncInvoiceQueueDeadLetters")
    assert named.symbolize(other) == other
