"""The fixture stack over HTTP: resources in moto, functions' environments, routes, the 2.0 event, the
JWT authorizer, errors and timeouts, CORS, and the control API."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import pytest
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventV2Model

from local.stack import LocalStack
from tests.runtime.conftest import AUDIENCE, ISSUER

pytestmark = pytest.mark.xdist_group("stack")


def _invocations(stack: LocalStack, function: str) -> int:
    return len(stack.invocations(function))


class TestResources:
    def test_table_with_index_ttl_and_point_in_time_recovery(self, stack: LocalStack) -> None:
        dynamodb = stack.boto3_client("dynamodb")
        name = stack.physical_name("AttemptsTable")
        assert name == "booksync-local-AttemptsTable"
        table = dynamodb.describe_table(TableName=name)["Table"]
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        assert [k["AttributeName"] for k in table["KeySchema"]] == ["pk", "sk"]
        (index,) = table["GlobalSecondaryIndexes"]
        assert index["IndexName"] == "by-count"
        assert index["Projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["batch_size"]}
        ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "ttl")
        backups = dynamodb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
        assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"

    def test_simple_table_keeps_its_declared_name(self, stack: LocalStack) -> None:
        assert stack.physical_name("NamedTable") == "booksync-local-named"
        table = stack.boto3_client("dynamodb").describe_table(TableName="booksync-local-named")["Table"]
        assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]

    def test_queue_with_redrive_to_its_dead_letter_queue(self, stack: LocalStack) -> None:
        sqs = stack.boto3_client("sqs")
        attributes = sqs.get_queue_attributes(QueueUrl=stack.queue_url("JobsQueue"), AttributeNames=["All"])[
            "Attributes"
        ]
        assert attributes["VisibilityTimeout"] == "2"
        assert attributes["MessageRetentionPeriod"] == "3600"
        assert '"maxReceiveCount": 2' in attributes["RedrivePolicy"]
        assert stack.get_att("JobsDeadLetterQueue", "Arn") in attributes["RedrivePolicy"]

    def test_resource_with_false_condition_is_not_created(self, stack: LocalStack) -> None:
        with pytest.raises(KeyError):
            stack.physical_name("ProdOnlyQueue")
        urls = stack.boto3_client("sqs").list_queues().get("QueueUrls", [])
        assert not [url for url in urls if "ProdOnlyQueue" in url]

    def test_key_rotation_alias_topic_alarm_and_parameter(self, stack: LocalStack) -> None:
        kms = stack.boto3_client("kms")
        key_id = stack.ref("TokenKey")
        assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is True
        aliases = {a["AliasName"]: a.get("TargetKeyId") for a in kms.list_aliases()["Aliases"]}
        assert aliases["alias/booksync-local-tokens"] == key_id
        topic_arn = stack.ref("AlarmTopic")
        assert topic_arn in [t["TopicArn"] for t in stack.boto3_client("sns").list_topics()["Topics"]]
        (alarm,) = stack.boto3_client("cloudwatch").describe_alarms(
            AlarmNames=["booksync-local-DeadLetterAlarm"]
        )["MetricAlarms"]
        assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": "booksync-local-JobsDeadLetterQueue"}]
        assert alarm["AlarmActions"] == [topic_arn]
        parameter = stack.boto3_client("ssm").get_parameter(Name="/booksync-local/greeting")["Parameter"]
        assert parameter["Value"] == "hello"


class TestEnvironment:
    def test_template_environment_resolved(self, stack: LocalStack) -> None:
        env = stack.invoke("EchoFunction", {"action": "env"}).payload
        assert env["STAGE"] == "dev"
        assert env["SHARED"] == "from-echo"  # the function's own value beats Globals
        assert env["LOG_LEVEL"] == "DEBUG"  # FindInMap through Globals
        assert env["QUEUE_URL"] == stack.queue_url("JobsQueue")
        assert env["TABLE"] == "booksync-local-AttemptsTable"
        assert env["KEY_ARN"] == stack.get_att("TokenKey", "Arn")
        assert env["JOINED"] == "a-dev-y"
        assert env["SUBBED"] == "hello-booksync-local-JobsQueue-${Literal}"
        assert env["DEV_FLAG"] == "true"
        assert env["API_ENDPOINT"] == stack.api_url
        assert "PROD_ONLY" not in env  # AWS::NoValue
        assert env["AWS_ENDPOINT_URL"] == stack.moto_url
        assert env["AWS_DEFAULT_REGION"] == "us-east-1"
        assert env["AWS_LAMBDA_FUNCTION_NAME"] == "booksync-local-EchoFunction"
        assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
        assert env["AWS_LAMBDA_FUNCTION_TIMEOUT"] == "3"

    def test_functions_do_not_see_each_others_variables(self, stack: LocalStack) -> None:
        echo = stack.invoke("EchoFunction", {"action": "env"}).payload
        tick = stack.invoke("TickFunction", {"action": "env"}).payload
        assert echo["ONLY_ECHO"] == "1"
        assert "ONLY_ECHO" not in tick
        assert tick["SHARED"] == "from-globals"
        assert tick["AWS_LAMBDA_FUNCTION_NAME"] == "booksync-local-TickFunction"

    def test_function_reaches_moto_with_no_configuration(self, stack: LocalStack) -> None:
        record = {
            "messageId": "m-1",
            "body": json.dumps({"id": "direct"}),
            "attributes": {"ApproximateReceiveCount": "1"},
        }
        result = stack.invoke("WorkerFunction", {"Records": [record]})
        assert result.ok, result.error
        assert result.payload == {"batchItemFailures": []}
        # The handler wrote with a plain boto3 resource: AWS_ENDPOINT_URL took it to moto.
        items = stack.boto3_client("dynamodb").query(
            TableName=stack.physical_name("AttemptsTable"),
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": "direct"}},
        )["Items"]
        assert [item["sk"]["S"] for item in items] == ["001#m-1"]


class TestRoutes:
    @pytest.mark.parametrize(
        ("method", "path", "route_key"),
        [
            ("GET", "/items/special", "GET /items/special"),
            ("GET", "/items/7", "GET /items/{id}"),
            ("PUT", "/items/7", "ANY /items/{id}"),
            ("GET", "/public/a/b", "GET /public/{proxy+}"),
            ("GET", "/", "$default"),
            ("GET", "/from-definition", "GET /from-definition"),
        ],
    )
    def test_route_selection(self, api: httpx.Client, method: str, path: str, route_key: str) -> None:
        response = api.request(method, path)
        assert response.status_code == 200, response.text
        assert response.json()["routeKey"] == route_key
        assert response.json()["layer"] == "fixture-layer"
        assert response.headers["apigw-requestid"]

    def test_event_is_payload_format_2_0(self, api: httpx.Client, stack: LocalStack) -> None:
        response = api.post(
            "/shape?tag=a&tag=b&q=x%20y",
            content=b'{"hello": "world"}',
            headers={
                "content-type": "application/json",
                "x-dup": "1",
                "cookie": "a=1; b=2",
                "user-agent": "t/1",
            },
        )
        event = response.json()
        APIGatewayProxyEventV2Model.model_validate(event)
        assert event["routeKey"] == "POST /shape"
        assert event["rawPath"] == "/shape"
        assert event["rawQueryString"] == "tag=a&tag=b&q=x%20y"
        assert event["queryStringParameters"] == {"tag": "a,b", "q": "x y"}
        assert event["cookies"] == ["a=1", "b=2"]
        assert event["headers"]["x-dup"] == "1"
        assert event["body"] == '{"hello": "world"}'
        assert event["isBase64Encoded"] is False
        context = event["requestContext"]
        assert context["http"]["method"] == "POST"
        assert context["http"]["sourceIp"] == "127.0.0.1"
        assert context["http"]["userAgent"] == "t/1"
        assert context["stage"] == "$default"
        assert context["apiId"] == stack.ref("Api")
        assert abs(context["timeEpoch"] / 1000 - time.time()) < 60

    def test_binary_body_arrives_base64_encoded(self, api: httpx.Client) -> None:
        raw = bytes(range(256))
        event = api.post("/shape", content=raw, headers={"content-type": "application/octet-stream"}).json()
        assert event["isBase64Encoded"] is True
        assert base64.b64decode(event["body"]) == raw


class TestResponses:
    def test_status_headers_and_cookies(self, api: httpx.Client) -> None:
        response = api.get("/respond", params={"kind": "full"})
        assert response.status_code == 201
        assert response.text == "created"
        assert response.headers["x-custom"] == "yes"
        assert response.headers.get_list("set-cookie") == ["session=abc; Path=/; HttpOnly", "theme=dark"]

    def test_base64_body_is_sent_as_bytes(self, api: httpx.Client) -> None:
        assert api.get("/respond", params={"kind": "binary"}).content == bytes(range(256))

    def test_result_without_status_code_is_200_json(self, api: httpx.Client) -> None:
        response = api.get("/respond", params={"kind": "string"})
        assert (response.status_code, response.text) == (200, "just text")
        assert response.headers["content-type"] == "application/json"

    def test_malformed_result_is_500(self, api: httpx.Client) -> None:
        response = api.get("/respond", params={"kind": "malformed"})
        assert (response.status_code, response.json()) == (500, {"message": "Internal Server Error"})

    def test_handler_exception_is_500(self, api: httpx.Client, stack: LocalStack) -> None:
        response = api.get("/boom")
        assert (response.status_code, response.json()) == (500, {"message": "Internal Server Error"})
        last = stack.invocations("EchoFunction")[-1]
        assert last.outcome == "error"
        assert last.error is not None
        assert last.error["errorMessage"] == "boom from the handler"

    def test_function_timeout_is_500_and_the_next_call_is_cold(
        self, api: httpx.Client, stack: LocalStack
    ) -> None:
        api.get("/timeout", params={"seconds": 0})
        response = api.get("/timeout", params={"seconds": 3})
        assert (response.status_code, response.json()) == (500, {"message": "Internal Server Error"})
        timed_out = stack.invocations("SlowFunction")[-1]
        assert timed_out.outcome == "timeout"
        assert timed_out.error is not None
        assert "Task timed out after 1.00 seconds" in timed_out.error["errorMessage"]
        assert api.get("/timeout", params={"seconds": 0}).status_code == 200
        assert stack.invocations("SlowFunction")[-1].cold

    def test_integration_timeout_is_503(self, api: httpx.Client) -> None:
        # The route's TimeoutInMillis is 500 and the function sleeps 2.5 s (its Timeout is 3): a 503
        # sooner than the sleep is the gateway's, a margin of 2 s even on a busy machine.
        started = time.monotonic()
        response = api.get("/sleep", params={"seconds": 2.5})
        assert (response.status_code, response.json()) == (503, {"message": "Service Unavailable"})
        assert time.monotonic() - started < 2.5


class TestJwtAuthorizer:
    def test_no_token_is_401_and_the_function_is_not_invoked(
        self, api: httpx.Client, stack: LocalStack
    ) -> None:
        before = _invocations(stack, "EchoFunction")
        response = api.get("/private")
        assert (response.status_code, response.json()) == (401, {"message": "Unauthorized"})
        assert _invocations(stack, "EchoFunction") == before

    @pytest.mark.parametrize(
        "claims",
        [
            {"ttl_seconds": -5},
            {"issuer": "https://someone-else.example/"},
            {"audience": "another-api"},
        ],
    )
    def test_bad_tokens_are_401(self, api: httpx.Client, stack: LocalStack, claims: dict[str, Any]) -> None:
        token = stack.mint_token("acme", "admin", **claims)
        response = api.get("/private", headers={"authorization": f"Bearer {token}"})
        assert response.status_code == 401

    def test_malformed_header_is_401(self, api: httpx.Client) -> None:
        assert api.get("/private", headers={"authorization": "Bearer nonsense"}).status_code == 401

    def test_claims_reach_the_function(self, api: httpx.Client, stack: LocalStack) -> None:
        token = stack.mint_token("acme", role="member", sub="u-1", email="u1@acme.example")
        response = api.get("/private/thing", headers={"authorization": f"Bearer {token}"})
        assert response.status_code == 200
        body = response.json()
        assert body["routeKey"] == "ANY /{proxy+}"
        claims = body["claims"]
        assert (claims["company_id"], claims["role"], claims["sub"], claims["email"]) == (
            "acme",
            "member",
            "u-1",
            "u1@acme.example",
        )
        assert (claims["iss"], claims["aud"]) == (ISSUER, AUDIENCE)
        assert body["scopes"] is None

    def test_route_scopes(self, api: httpx.Client, stack: LocalStack) -> None:
        plain = stack.mint_token("acme")
        assert api.get("/scoped", headers={"authorization": f"Bearer {plain}"}).status_code == 403
        scoped = stack.mint_token("acme", extra_claims={"scope": "books/read"})
        response = api.get("/scoped", headers={"authorization": f"Bearer {scoped}"})
        assert response.status_code == 200
        assert response.json()["scopes"] == ["books/read"]


class TestCors:
    def test_preflight_is_answered_by_the_gateway(self, api: httpx.Client, stack: LocalStack) -> None:
        before = _invocations(stack, "EchoFunction")
        response = api.options(
            "/private", headers={"origin": "https://app.example", "access-control-request-method": "POST"}
        )
        assert response.status_code == 204
        assert response.headers["access-control-allow-origin"] == "https://app.example"
        assert response.headers["access-control-allow-methods"] == "GET,POST"
        assert response.headers["access-control-allow-headers"] == "authorization,content-type"
        assert response.headers["access-control-max-age"] == "600"
        assert _invocations(stack, "EchoFunction") == before

    def test_allowed_origin_only(self, api: httpx.Client) -> None:
        allowed = api.get("/items/1", headers={"origin": "https://app.example"})
        assert allowed.headers["access-control-allow-origin"] == "https://app.example"
        other = api.get("/items/1", headers={"origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


class TestControlApi:
    def test_functions(self, control: httpx.Client) -> None:
        listing = {f["logicalId"]: f for f in control.get("/functions").json()}
        assert set(listing) == {
            "EchoFunction",
            "SlowFunction",
            "WorkerFunction",
            "StrictWorkerFunction",
            "TickFunction",
        }
        assert listing["SlowFunction"]["concurrency"] == 2
        assert listing["SlowFunction"]["timeout"] == 1
        assert "sqs JobsQueue" in listing["WorkerFunction"]["triggers"]

    def test_invoke_raw_event(self, control: httpx.Client) -> None:
        response = control.post("/functions/EchoFunction/invoke", json={"custom": 1})
        assert response.status_code == 200
        assert response.json() == {"event": {"custom": 1}}
        assert "x-amz-function-error" not in response.headers

    def test_invoke_error_has_lambdas_shape(self, control: httpx.Client) -> None:
        response = control.post("/functions/EchoFunction/invoke", json={"action": "raise"})
        assert response.headers["x-amz-function-error"] == "Unhandled"
        error = response.json()
        assert (error["errorType"], error["errorMessage"]) == ("ValueError", "raised on request")
        assert error["stackTrace"]

    def test_unknown_function_is_404(self, control: httpx.Client) -> None:
        assert control.post("/functions/Nope/invoke", json={}).status_code == 404

    def test_fire_schedule_with_input(self, control: httpx.Client) -> None:
        response = control.post("/schedules/TickFunction/Tick/fire")
        assert response.json() == {"ticked": True}

    def test_fire_schedule_without_input_gets_the_scheduled_event(self, stack: LocalStack) -> None:
        event = stack.fire_schedule("TickFunction", "Nightly").payload["event"]
        assert event["detail-type"] == "Scheduled Event"
        assert event["source"] == "aws.scheduler"
        assert event["account"] == "123456789012"
        assert event["resources"] == [
            "arn:aws:scheduler:us-east-1:123456789012:schedule/default/booksync-local-TickFunctionNightly"
        ]
        assert event["detail"] == {}

    def test_invocations_log(self, control: httpx.Client) -> None:
        control.post("/schedules/TickFunction/Tick/fire")
        entries = control.get("/invocations", params={"function": "TickFunction"}).json()
        last = entries[-1]
        assert last["trigger"] == "schedule Tick (on demand)"
        assert last["outcome"] == "success"
        assert last["start"] in ("cold", "warm")
        assert last["durationMs"] >= 0

    def test_routes_and_jwks(self, control: httpx.Client, stack: LocalStack) -> None:
        routes = control.get("/routes").json()["Api"]
        assert routes["url"] == stack.api_url
        assert {"routeKey": "ANY /{proxy+}", "function": "EchoFunction", "authorizer": None} in routes[
            "routes"
        ]
        (key,) = control.get("/.well-known/jwks.json").json()["keys"]
        assert (key["kty"], key["alg"]) == ("RSA", "RS256")
