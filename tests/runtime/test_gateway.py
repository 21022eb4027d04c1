"""The HTTP API gateway's parts on their own: route selection, the 2.0 event, the answer, the JWT checks."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
import pytest
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventV2Model

from local.runtime.authorizer import AuthorizationError, JwtAuthorizer
from local.runtime.gateway import EventContext, MalformedResponse, RouteTable, build_event, map_result
from local.runtime.jwt_tokens import load_or_create_key, mint_token
from local.runtime.model import ApiSpec, JwtAuthorizerSpec, RouteSpec
from local.runtime.web import HttpRequest

ISSUER = "https://issuer.test/"
AUDIENCE = "test-api"


def _route(key: str, function: str = "Fn") -> RouteSpec:
    method, _, path = key.partition(" ")
    if key == "$default":
        method, path = "ANY", "$default"
    return RouteSpec("Api", method, path, function, key, None, (), 30_000)


def _request(
    method: str = "GET",
    path: str = "/",
    query: str = "",
    headers: tuple[tuple[str, str], ...] = (),
    body: bytes = b"",
) -> HttpRequest:
    return HttpRequest(
        method, path, query, (("Host", "127.0.0.1:3000"), *headers), body, "127.0.0.1", "HTTP/1.1", 3000
    )


class TestRouteSelection:
    TABLE = RouteTable(
        [
            _route("$default"),
            _route("ANY /{proxy+}"),
            _route("GET /public/{proxy+}"),
            _route("ANY /items/{id}"),
            _route("GET /items/{id}"),
            _route("GET /items/special"),
            _route("GET /{a}/b"),
            _route("GET /a/{b}"),
            _route("POST /items/{id}/notes/{note}"),
        ]
    )

    @pytest.mark.parametrize(
        ("method", "path", "route_key", "params"),
        [
            ("GET", "/items/special", "GET /items/special", {}),  # exact beats {param}
            ("GET", "/items/42", "GET /items/{id}", {"id": "42"}),  # method beats ANY
            ("DELETE", "/items/42", "ANY /items/{id}", {"id": "42"}),
            ("GET", "/public/a/b", "GET /public/{proxy+}", {"proxy": "a/b"}),  # longer greedy prefix first
            ("POST", "/public/a/b", "ANY /{proxy+}", {"proxy": "public/a/b"}),
            ("GET", "/a/b", "GET /a/{b}", {"b": "b"}),  # a literal earlier in the path wins
            ("POST", "/items/1/notes/2", "POST /items/{id}/notes/{note}", {"id": "1", "note": "2"}),
            ("GET", "/items/caf%C3%A9", "GET /items/{id}", {"id": "café"}),  # parameters are decoded
            ("GET", "/", "$default", {}),  # a greedy variable needs at least one segment
        ],
    )
    def test_priority(self, method: str, path: str, route_key: str, params: dict[str, str]) -> None:
        matched = self.TABLE.match(method, path)
        assert matched is not None
        assert (matched[0].route_key, matched[1]) == (route_key, params)

    def test_no_route_without_default(self) -> None:
        table = RouteTable([_route("GET /health")])
        assert table.match("GET", "/nope") is None
        assert table.match("POST", "/health") is None

    def test_greedy_must_be_last(self) -> None:
        with pytest.raises(ValueError, match="greedy"):
            RouteTable([_route("GET /{proxy+}/x")])


class TestEvent:
    API = ApiSpec("Api", "abc123defg", "$default", {}, None, None, None)

    def _event(
        self, request: HttpRequest, route: RouteSpec, params: dict[str, str] | None = None
    ) -> dict[str, Any]:
        moment = datetime(2026, 3, 12, 19, 3, 58, 390000, tzinfo=UTC)
        ctx = EventContext(self.API, route, params or {}, None, "123456789012", "req-1", moment)
        return build_event(request, ctx)

    def test_format_2_0_fields(self) -> None:
        request = _request(
            "POST",
            "/items/42",
            "a=1&a=2&b=x%20y&empty=",
            (
                ("User-Agent", "tests/1"),
                ("X-Multi", "one"),
                ("x-multi", "two"),
                ("Cookie", "c1=v1; c2=v2"),
                ("Content-Type", "application/json"),
            ),
            b'{"k": "v"}',
        )
        event = self._event(request, _route("POST /items/{id}"), {"id": "42"})
        APIGatewayProxyEventV2Model.model_validate(event)
        assert event["version"] == "2.0"
        assert event["routeKey"] == "POST /items/{id}"
        assert event["rawPath"] == "/items/42"
        assert event["rawQueryString"] == "a=1&a=2&b=x%20y&empty="
        assert event["cookies"] == ["c1=v1", "c2=v2"]
        assert "cookie" not in event["headers"]
        assert event["headers"]["x-multi"] == "one,two"
        assert event["headers"]["user-agent"] == "tests/1"
        assert event["headers"]["x-forwarded-for"] == "127.0.0.1"
        assert event["queryStringParameters"] == {"a": "1,2", "b": "x y", "empty": ""}
        assert event["pathParameters"] == {"id": "42"}
        assert event["body"] == '{"k": "v"}'
        assert event["isBase64Encoded"] is False
        context = event["requestContext"]
        assert context["accountId"] == "123456789012"
        assert context["apiId"] == "abc123defg"
        assert context["domainName"] == "127.0.0.1"
        assert context["http"] == {
            "method": "POST",
            "path": "/items/42",
            "protocol": "HTTP/1.1",
            "sourceIp": "127.0.0.1",
            "userAgent": "tests/1",
        }
        assert context["requestId"] == "req-1"
        assert context["routeKey"] == "POST /items/{id}"
        assert context["stage"] == "$default"
        assert context["time"] == "12/Mar/2026:19:03:58 +0000"
        assert context["timeEpoch"] == 1773342238390
        assert "authorizer" not in context

    def test_absent_parts_are_left_out(self) -> None:
        event = self._event(_request("GET", "/health"), _route("GET /health"))
        APIGatewayProxyEventV2Model.model_validate(event)
        for key in ("cookies", "queryStringParameters", "pathParameters", "body", "stageVariables"):
            assert key not in event
        assert event["rawQueryString"] == ""
        assert event["isBase64Encoded"] is False

    @pytest.mark.parametrize(
        ("content_type", "encoded"),
        [
            ("application/octet-stream", True),
            ("application/x-www-form-urlencoded", True),
            (None, True),
            ("text/plain; charset=utf-8", False),
            ("application/vnd.api+json", False),
        ],
    )
    def test_non_text_bodies_are_base64(self, content_type: str | None, encoded: bool) -> None:
        headers = (("Content-Type", content_type),) if content_type else ()
        event = self._event(_request("POST", "/x", headers=headers, body=b"a=1\xff"[:3]), _route("POST /x"))
        assert event["isBase64Encoded"] is encoded
        assert event["body"] == (base64.b64encode(b"a=1").decode() if encoded else "a=1")


class TestResponse:
    def test_full_response(self) -> None:
        response = map_result(
            {
                "statusCode": 201,
                "headers": {"content-type": "text/plain", "x-n": 5},
                "cookies": ["a=1; Path=/", "b=2"],
                "body": "made",
            }
        )
        assert response.status == 201
        assert ("x-n", "5") in response.headers
        assert [v for k, v in response.headers if k == "set-cookie"] == ["a=1; Path=/", "b=2"]
        assert response.body == b"made"

    def test_base64_body_is_decoded(self) -> None:
        raw = bytes(range(256))
        response = map_result(
            {"statusCode": 200, "body": base64.b64encode(raw).decode(), "isBase64Encoded": True}
        )
        assert response.body == raw

    @pytest.mark.parametrize(
        ("payload", "body"), [({"a": 1}, b'{"a": 1}'), ("text", b"text"), (None, b"null")]
    )
    def test_without_status_code_it_is_200_json(self, payload: object, body: bytes) -> None:
        response = map_result(payload)
        assert (response.status, response.body) == (200, body)
        assert ("content-type", "application/json") in response.headers

    @pytest.mark.parametrize("status", ["200", True, 99, 600])
    def test_bad_status_code_is_malformed(self, status: object) -> None:
        with pytest.raises(MalformedResponse):
            map_result({"statusCode": status})


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One key pair for the module: RSA key generation is the slow part of these tests."""
    folder = tmp_path_factory.mktemp("jwt")
    load_or_create_key(folder)
    return folder


class TestJwtAuthorizer:
    def _authorizer(self, keys: Path) -> JwtAuthorizer:
        spec = JwtAuthorizerSpec("Jwt", ISSUER, (AUDIENCE, "other"), "$request.header.Authorization")
        return JwtAuthorizer(spec, [load_or_create_key(keys)])

    def _token(self, keys: Path, **kwargs: object) -> str:
        return mint_token("acme", "member", issuer=ISSUER, audience=AUDIENCE, key_dir=keys, **kwargs)  # type: ignore[arg-type]

    def _authorize(self, keys: Path, header: str | None, scopes: tuple[str, ...] = ()) -> dict[str, str]:
        headers = (("Authorization", header),) if header is not None else ()
        return self._authorizer(keys).authorize(_request(headers=headers), scopes).claims

    def test_valid_token_gives_string_claims(self, keys: Path) -> None:
        token = self._token(keys, extra_claims={"groups": ["a", "b"], "flag": True, "meta": {"k": 1}})
        claims = self._authorize(keys, f"Bearer {token}")
        assert claims["company_id"] == "acme"
        assert claims["role"] == "member"
        assert claims["sub"] == "demo-user"
        assert claims["email"] == "demo-user@acme.example"
        assert claims["iss"] == ISSUER
        assert claims["exp"].isdigit()
        assert claims["groups"] == "[a b]"
        assert claims["flag"] == "true"
        assert claims["meta"] == "map[k:1]"

    def test_bearer_prefix_is_optional(self, keys: Path) -> None:
        assert self._authorize(keys, self._token(keys))["company_id"] == "acme"

    @pytest.mark.parametrize(
        ("make_header", "reason"),
        [
            (lambda _t, _k: None, "no token"),
            (lambda _t, _k: "Bearer ", "no token"),
            (lambda _t, _k: "Bearer not.a.jwt", "malformed"),
            (
                lambda t, _k: "Bearer " + t[:-4] + ("AAAA" if not t.endswith("AAAA") else "BBBB"),
                "invalid token",
            ),
        ],
    )
    def test_refused_tokens(self, keys: Path, make_header: object, reason: str) -> None:
        header = make_header(self._token(keys), keys)  # type: ignore[operator]
        with pytest.raises(AuthorizationError, match=reason) as refused:
            self._authorize(keys, header)
        assert refused.value.status == 401

    @pytest.mark.parametrize(
        ("kwargs", "reason"),
        [
            ({"ttl_seconds": -10}, "expired"),
            ({"issuer": "https://elsewhere/"}, "issuer"),
            ({"audience": "someone-else"}, "audience"),
            # A callable: evaluated when the test runs, not at collection (CI may run it minutes later).
            ({"extra_claims": {"nbf": lambda: int(time.time()) + 600}}, "not valid yet"),
            ({"extra_claims": {"exp": None}}, "expired"),
        ],
    )
    def test_claims_checks(self, keys: Path, kwargs: dict[str, Any], reason: str) -> None:
        extra = {
            name: value() if callable(value) else value
            for name, value in kwargs.get("extra_claims", {}).items()
        }
        kwargs = {**kwargs, "extra_claims": extra}
        token = mint_token("acme", key_dir=keys, **{"issuer": ISSUER, "audience": AUDIENCE, **kwargs})
        with pytest.raises(AuthorizationError, match=reason):
            self._authorize(keys, f"Bearer {token}")

    def test_other_key_is_refused_even_with_the_right_kid(self, keys: Path, tmp_path: Path) -> None:
        stranger = load_or_create_key(tmp_path / "stranger")
        claims = {"iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 60, "company_id": "acme"}
        mine = load_or_create_key(keys)
        forged = jwt.encode(claims, stranger.private_key, algorithm="RS256", headers={"kid": mine.kid})
        with pytest.raises(AuthorizationError, match="invalid token"):
            self._authorize(keys, f"Bearer {forged}")
        unknown = jwt.encode(claims, stranger.private_key, algorithm="RS256", headers={"kid": stranger.kid})
        with pytest.raises(AuthorizationError, match="kid"):
            self._authorize(keys, f"Bearer {unknown}")

    def test_hs256_with_the_public_key_is_refused(self, keys: Path) -> None:
        claims = {"iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 60}
        kid = load_or_create_key(keys).kid
        token = jwt.encode(
            claims, "a-guessed-shared-secret-32-bytes!", algorithm="HS256", headers={"kid": kid}
        )
        with pytest.raises(AuthorizationError, match="invalid token"):
            self._authorize(keys, f"Bearer {token}")

    def test_route_scopes_need_one_token_scope(self, keys: Path) -> None:
        authorizer = self._authorizer(keys)
        scoped = self._token(keys, extra_claims={"scope": "books/read books/write"})
        result = authorizer.authorize(
            _request(headers=(("Authorization", f"Bearer {scoped}"),)), ("books/read",)
        )
        assert result.scopes == ["books/read", "books/write"]
        plain = self._token(keys)
        with pytest.raises(AuthorizationError) as refused:
            authorizer.authorize(_request(headers=(("Authorization", f"Bearer {plain}"),)), ("books/read",))
        assert refused.value.status == 403
        # Without route scopes, API Gateway reports none.
        assert (
            authorizer.authorize(_request(headers=(("Authorization", f"Bearer {scoped}"),)), ()).scopes
            is None
        )


def test_token_cli_mints_what_the_authorizer_accepts(keys: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from local.runtime.jwt_tokens import LOCAL_AUDIENCE, LOCAL_ISSUER, main

    assert main(["--company", "demo-company", "--role", "member", "--key-dir", str(keys)]) == 0
    token = capsys.readouterr().out.strip()
    spec = JwtAuthorizerSpec("Jwt", LOCAL_ISSUER, (LOCAL_AUDIENCE,), "$request.header.Authorization")
    request = _request(headers=(("Authorization", f"Bearer {token}"),))
    claims = JwtAuthorizer(spec, [load_or_create_key(keys)]).authorize(request, ()).claims
    assert (claims["company_id"], claims["role"], claims["sub"]) == ("demo-company", "member", "demo-user")
    with pytest.raises(SystemExit):
        main(["--company", "x", "--role", "owner", "--key-dir", str(keys)])
