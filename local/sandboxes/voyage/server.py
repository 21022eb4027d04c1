"""VoyageSandbox: Voyage AI's embeddings endpoint on loopback, in a background thread or standalone.

The kit's pipeline (classify, log, fault or serve) around ``POST /v1/embeddings``; the control API
under /_sandbox/ bypasses it. A call is classified by its API key's name (the log's ``key``) and
its ``input_type`` (the entity a fault rule may name: ``document``, ``query`` or ``none``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from local.sandboxes.kit.clock import SandboxClock
from local.sandboxes.kit.control import ControlServe
from local.sandboxes.kit.faults import CallInfo, FaultRule, fault_effect
from local.sandboxes.kit.oauth import bearer_token
from local.sandboxes.kit.pipeline import ProviderSandbox
from local.sandboxes.kit.reqlog import LogShape
from local.sandboxes.kit.serving import HostedApp
from local.sandboxes.kit.wire import Drop, Outcome, Request, Response, json_response
from local.sandboxes.voyage import embeddings, errors
from local.sandboxes.voyage.config import VoyageConfig
from local.sandboxes.voyage.control_api import register_control_routes
from local.sandboxes.voyage.usage import Ledger, Limits

__all__ = ["EMBEDDINGS_PATH", "VoyageConfig", "VoyageSandbox", "for_stack"]

EMBEDDINGS_PATH = "/v1/embeddings"


@dataclass(frozen=True)
class Route:
    control: ControlServe | None = None


class VoyageSandbox(ProviderSandbox[Route]):
    thread_name = "voyage-sandbox"
    provider = "voyage"
    log_shape = LogShape(account_key="key", trace_header="request-id", fault_key="error")

    def __init__(self, host: str = "127.0.0.1", port: int = 0, config: VoyageConfig | None = None) -> None:
        super().__init__(host, port)
        self.config = config or VoyageConfig()
        self.clock = SandboxClock(self.config.clock_scale)
        self.limits = Limits(self.config, self.clock)
        self.ledger = Ledger()
        self.router.add("POST", EMBEDDINGS_PATH, Route())
        register_control_routes(
            self, lambda method, pattern, serve: self.router.add(method, pattern, Route(serve))
        )

    def key_name(self, request: Request) -> str | None:
        """The name of the API key the request carries, None when it carries no known key."""
        key = bearer_token(request.header("authorization"))
        return self.config.api_keys.get(key) if key else None

    # ------------------------------------------------------------ the pipeline's hooks

    def classify(self, route: Route, request: Request, params: dict[str, str]) -> CallInfo:
        return CallInfo(
            kind="api", operation="create", realm=self.key_name(request), entity=_input_type(request)
        )

    def serve(self, route: Route, request: Request, call: CallInfo, params: dict[str, str]) -> Outcome:
        try:
            return self._embed(request)
        except errors.VoyageError as refused:
            return refused.response()

    def _embed(self, request: Request) -> Response:
        key_name = self.key_name(request)
        if key_name is None:
            raise errors.unauthorized()
        asked = embeddings.parse(request.body, self.config)
        counts = embeddings.tokens_of(asked)
        total = sum(counts)
        self.limits.admit(key_name, asked.model, total)
        context = asked.spec.context_length
        data = [
            {
                "object": "embedding",
                "embedding": embeddings.encoded(
                    embeddings.vector(
                        embeddings.truncated(text, context) if count >= context else text,
                        asked.model,
                        asked.dimension,
                    ),
                    asked.output_dtype,
                    asked.encoding_format,
                ),
                "index": index,
            }
            for index, (text, count) in enumerate(zip(asked.inputs, counts, strict=True))
        ]
        self.ledger.bill(key_name, asked, total)
        answer = {"object": "list", "data": data, "model": asked.model, "usage": {"total_tokens": total}}
        return json_response(200, answer)

    def injected(self, rule: FaultRule, call: CallInfo) -> Outcome:
        action = fault_effect(rule)
        if isinstance(action, Drop):
            return action
        if action == "http_429":
            return errors.rate_limited("requests per minute", rule.retry_after).response()
        if action == "http_401":
            return errors.unauthorized().response()
        if action == "http_503":
            return errors.unavailable().response()
        return errors.server_error().response()

    def failure(self) -> Response:
        return errors.server_error().response()

    def not_found(self, request: Request) -> Response:
        return json_response(404, {"detail": "Not Found"}, fault_code="not_found")

    def reset(self) -> None:
        """Back to a fresh start: no calls billed, logged or counted, no fault rules."""
        self.ledger.clear()
        self.log.clear()
        self.faults.clear()
        self.limits.reset()


def _input_type(request: Request) -> str:
    """The call's ``input_type`` (``none`` when null or unreadable), for fault rules and the log."""
    try:
        body: Any = json.loads(request.body.decode("utf-8")) if request.body else None
    except (ValueError, UnicodeDecodeError):
        return "none"
    found = body.get("input_type") if isinstance(body, dict) else None
    return found if isinstance(found, str) else "none"


def for_stack(app: HostedApp) -> VoyageSandbox:
    """The sandbox the local stack runs: the app's secret is the API key it accepts."""
    return VoyageSandbox(
        host=app.host, port=app.port, config=VoyageConfig(api_keys={app.client_secret: "local"})
    )
