"""S3VectorsSandbox: a stand-in for Amazon S3 Vectors (the ``s3vectors`` service) on loopback.

Each request is ``POST /<Operation>`` with a JSON body (botocore's rest-json, as boto3's
``s3vectors`` client sends it to its ``endpoint_url``). The kit's pipeline (classify, log, fault
or serve) runs around it; then, in order: the request must be signed for ``s3vectors`` (SigV4's
credential scope; the signature itself is not verified), its body must match the operation's
input shape in botocore's model (else a ValidationException naming each field), the service's
own rules apply (``vectors.py``), and the answer must match the operation's output shape, or the
error's shape and be one the operation declares. An answer that does not is never sent: the
client gets an InternalServerException saying so, and the sandbox logs it as its own bug.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from local.sandboxes.kit.control import ControlServe, add_control_routes, shared_routes
from local.sandboxes.kit.faults import CallInfo, FaultRule, fault_effect
from local.sandboxes.kit.pipeline import CONTROL_PREFIX, ProviderSandbox
from local.sandboxes.kit.reqlog import LogShape
from local.sandboxes.kit.wire import Drop, Outcome, Request, Response
from local.sandboxes.kit.wire import json_response as control_json
from local.sandboxes.s3vectors import model
from local.sandboxes.s3vectors.vectors import MAX_PAYLOAD_BYTES, ServiceError, VectorService, invalid

__all__ = ["OPERATIONS", "S3VectorsSandbox"]

log = logging.getLogger("booksync.sandbox.s3vectors")

Handler = Callable[[VectorService, dict[str, Any]], dict[str, Any]]
# The operations the stand-in serves (the model has more: policies, tags, index modes).
OPERATIONS: dict[str, tuple[str, Handler]] = {
    "CreateVectorBucket": ("bucket", VectorService.create_vector_bucket),
    "GetVectorBucket": ("bucket", VectorService.get_vector_bucket),
    "DeleteVectorBucket": ("bucket", VectorService.delete_vector_bucket),
    "CreateIndex": ("index", VectorService.create_index),
    "GetIndex": ("index", VectorService.get_index),
    "ListIndexes": ("index", VectorService.list_indexes),
    "DeleteIndex": ("index", VectorService.delete_index),
    "PutVectors": ("vector", VectorService.put_vectors),
    "GetVectors": ("vector", VectorService.get_vectors),
    "ListVectors": ("vector", VectorService.list_vectors),
    "DeleteVectors": ("vector", VectorService.delete_vectors),
    "QueryVectors": ("vector", VectorService.query_vectors),
}
_WRITES = {"create": ("Create", "Put"), "delete": ("Delete",)}


@dataclass(frozen=True)
class Route:
    operation: str | None = None
    control: ControlServe | None = None


class S3VectorsSandbox(ProviderSandbox[Route]):
    thread_name = "s3vectors-sandbox"
    provider = "s3vectors"
    # The request log's account is the index a call names (else its bucket).
    log_shape = LogShape(account_key="index", trace_header="x-amzn-requestid", fault_key="error_type")

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, region: str = "us-east-1", account: str = "123456789012"
    ) -> None:
        super().__init__(host, port)
        self.region = region
        self.service = VectorService(region, account, time.time)
        # Answers the stand-in refused to send because they did not match the model (its own bugs).
        self.refused_answers: list[str] = []
        for name in OPERATIONS:
            self.router.add("POST", f"/{name}", Route(operation=name))
        add = self.router.add
        add_control_routes(
            lambda method, pattern, serve: add(method, pattern, Route(control=serve)),
            [
                *shared_routes(self.faults, self.log),
                ("POST", "/_sandbox/reset", self._reset),
                ("GET", "/_sandbox/state", self._state),
            ],
        )

    # ------------------------------------------------------------ the pipeline's parts

    def not_found(self, request: Request) -> Response:
        if request.path.startswith(CONTROL_PREFIX):
            return control_json(404, {"error": f"no control route {request.method} {request.path}"})
        known = ", ".join(OPERATIONS)
        return _error("ValidationException", f"no operation {request.method} {request.path}; served: {known}")

    def classify(self, route: Route, request: Request, params: dict[str, str]) -> CallInfo:
        name = str(route.operation)
        body = _body(request)
        where = body.get("indexName") or body.get("indexArn") or body.get("vectorBucketName")
        operation = next((op for op, verbs in _WRITES.items() if name.startswith(verbs)), "read")
        if name.startswith(("Query", "List")):
            operation = "query"
        return CallInfo("api", operation, str(where) if where is not None else None, OPERATIONS[name][0])

    def serve(self, route: Route, request: Request, call: CallInfo, params: dict[str, str]) -> Outcome:
        operation = model.operation(str(route.operation))
        try:
            _authenticate(request)
            if len(request.body) > MAX_PAYLOAD_BYTES:
                raise invalid(
                    f"the request payload is {len(request.body)} bytes; at most {MAX_PAYLOAD_BYTES} (20 MiB)"
                )
            body = _parse(request)
            problems = model.check(operation.input, body)
            if problems:
                raise ServiceError(
                    "ValidationException",
                    f"the request does not match {operation.input}: "
                    + "; ".join(f"{p.path} {p.message}" for p in problems),
                    [p.public() for p in problems],
                )
            with self.service.lock:
                answer = OPERATIONS[operation.name][1](self.service, body)
        except ServiceError as error:
            return self._answer_error(operation, error)
        problems = model.check(operation.output, answer)
        if problems:
            return self._refuse(operation, operation.output, problems)
        return Response(200, _dumps(answer), {"Content-Type": "application/json"})

    def injected(self, rule: FaultRule, call: CallInfo) -> Outcome:
        action = fault_effect(rule)
        if isinstance(action, Drop):
            return action
        if action == "http_429":
            return _error("TooManyRequestsException", "rate exceeded (injected)")
        if action == "http_401":
            return _error("AccessDeniedException", "access denied (injected)")
        if action == "http_503":
            return _error("ServiceUnavailableException", "service unavailable (injected)")
        return _error("InternalServerException", "internal error (injected)")

    def failure(self) -> Response:
        return _error("InternalServerException", "the stand-in failed on this request (see its log)")

    # ------------------------------------------------------------ answers

    def _answer_error(self, operation: model.Operation, error: ServiceError) -> Response:
        if error.code not in operation.errors:
            problem = model.Problem("error", f"{error.code} is not an error {operation.name} declares")
            return self._refuse(operation, error.code, [problem])
        problems = model.check(error.code, error.body())
        if problems:
            return self._refuse(operation, error.code, problems)
        return _error(error.code, error.message, error.body())

    def _refuse(self, operation: model.Operation, shape: str, problems: list[model.Problem]) -> Response:
        said = "; ".join(f"{p.path} {p.message}" for p in problems)
        message = f"the stand-in's answer to {operation.name} does not match {shape}: {said}"
        log.error("%s", message)
        self.refused_answers.append(message)
        return _error("InternalServerException", message)

    # ------------------------------------------------------------ control

    def _reset(self, request: Request) -> object:
        self.service.reset()
        self.faults.clear()
        self.log.clear()
        self.refused_answers.clear()
        return {"reset": True}

    def _state(self, request: Request) -> object:
        """Every bucket's indexes with their dimension, metric and number of vectors."""
        with self.service.lock:
            return {
                "buckets": {
                    bucket.name: {
                        index.name: {
                            "dimension": index.dimension,
                            "metric": index.metric,
                            "vectors": len(index.vectors),
                        }
                        for index in bucket.indexes.values()
                    }
                    for bucket in self.service.buckets.values()
                },
                "refused_answers": list(self.refused_answers),
            }


def _error(code: str, message: str, body: dict[str, Any] | None = None) -> Response:
    """An error as rest-json carries it: the shape's name in ``x-amzn-errortype``, its members in the body."""
    return Response(
        model.error_status(code),
        _dumps(body if body is not None else {"message": message}),
        {"Content-Type": "application/json", "x-amzn-errortype": code},
        fault_code=code,
    )


def _authenticate(request: Request) -> None:
    authorization = request.header("authorization") or ""
    scope = f"/{model.SERVICE}/aws4_request"
    if not authorization.startswith("AWS4-HMAC-SHA256 ") or scope not in authorization:
        raise ServiceError(
            "AccessDeniedException", f"requests must be signed with SigV4 for the service {model.SERVICE}"
        )


def _parse(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(request.body.decode("utf-8")) if request.body else {}
    except (ValueError, UnicodeDecodeError):
        raise invalid("the body is not JSON") from None
    if not isinstance(body, dict):
        raise invalid("the body must be a JSON object")
    return body


def _body(request: Request) -> dict[str, Any]:
    try:
        return _parse(request)
    except ServiceError:
        return {}


def _dumps(payload: object) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode("utf-8")
