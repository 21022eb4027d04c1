"""What the runtime runs, read from the template: functions, HTTP APIs and routes, queues, schedules.

Built after the resources exist, so every intrinsic in a function's environment or an event source
resolves to the real local value (a queue's moto URL, a table's name).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path
from typing import Any

from local.runtime.resources import http_api_id
from local.runtime.template import Attributes, Resolver, Resource, Template, TemplateError

IMPLICIT_HTTP_API = "ServerlessHttpApi"
DEFAULT_INTEGRATION_TIMEOUT_MS = 30_000


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    name: str
    arn: str
    code_dir: Path
    handler: str
    runtime: str
    timeout: float
    memory: int
    concurrency: int
    environment: Mapping[str, str]
    layer_dirs: tuple[Path, ...]
    # Top-level modules a makefile-built layer of the template ships (its requirements.in) that
    # this function does not carry: its worker refuses to import them, as Lambda would not find
    # them (locally every package comes from .venv).
    absent_modules: tuple[str, ...] = ()


@dataclass(frozen=True)
class JwtAuthorizerSpec:
    name: str
    issuer: str
    audiences: tuple[str, ...]
    identity_source: str


@dataclass(frozen=True)
class CorsSpec:
    allow_origins: tuple[str, ...] = ("*",)
    allow_methods: tuple[str, ...] = ("*",)
    allow_headers: tuple[str, ...] = ("*",)
    expose_headers: tuple[str, ...] = ()
    max_age: int | None = None
    allow_credentials: bool = False


@dataclass(frozen=True)
class ApiSpec:
    logical_id: str
    api_id: str
    stage: str
    authorizers: Mapping[str, JwtAuthorizerSpec]
    default_authorizer: str | None
    cors: CorsSpec | None
    stage_variables: Mapping[str, str] | None


@dataclass(frozen=True)
class RouteSpec:
    api: str
    method: str  # upper case, or ANY
    path: str  # /items/{id}, /{proxy+}, or $default
    function: str
    event: str
    authorizer: str | None
    scopes: tuple[str, ...]
    timeout_ms: int

    @property
    def route_key(self) -> str:
        return "$default" if self.path == "$default" else f"{self.method} {self.path}"


@dataclass(frozen=True)
class QueueSourceSpec:
    function: str
    event: str
    queue: str  # logical id
    queue_arn: str
    queue_url: str
    batch_size: int
    batching_window: float
    max_concurrency: int | None
    report_batch_item_failures: bool
    enabled: bool


@dataclass(frozen=True)
class ScheduleSpec:
    function: str
    event: str
    kind: str  # Schedule (EventBridge rule) or ScheduleV2 (EventBridge Scheduler)
    expression: str
    input: str | None
    enabled: bool
    name: str
    arn: str
    timezone: str | None


@dataclass(frozen=True)
class StackModel:
    functions: dict[str, FunctionSpec]
    apis: dict[str, ApiSpec]
    routes: list[RouteSpec]
    queue_sources: list[QueueSourceSpec]
    schedules: list[ScheduleSpec]
    warnings: list[str] = field(default_factory=list)


_FUNCTION_HANDLED = frozenset(
    {
        "CodeUri",
        "Handler",
        "Runtime",
        "Timeout",
        "MemorySize",
        "ReservedConcurrentExecutions",
        "Environment",
        "Layers",
        "FunctionName",
        "Events",
        "LoggingConfig",
        "PackageType",
    }
)
# Accepted and not emulated here: deployment, networking, tracing, versions. Role and Policies
# become the function's role, enforced by its workers (local/runtime/roles.py).
_FUNCTION_IGNORED = frozenset(
    {
        "Description",
        "Role",
        "Policies",
        "Tags",
        "Architectures",
        "Tracing",
        "AutoPublishAlias",
        "AutoPublishAliasAllProperties",
        "AutoPublishCodeSha256",
        "DeploymentPreference",
        "DeadLetterQueue",
        "EventInvokeConfig",
        "ProvisionedConcurrencyConfig",
        "VpcConfig",
        "KmsKeyArn",
        "EphemeralStorage",
        "RuntimeManagementConfig",
        "PermissionsBoundary",
        "PropagateTags",
        "RecursiveLoop",
        "CodeSigningConfigArn",
        "AssumeRolePolicyDocument",
        "SnapStart",
        "VersionDescription",
    }
)
_HTTP_API_HANDLED = frozenset({"Auth", "CorsConfiguration", "StageName", "StageVariables", "DefinitionBody"})
# OpenAPI operation keys that are HTTP methods (the rest of a path item is documentation).
_OPENAPI_METHODS = frozenset(
    {"get", "put", "post", "delete", "options", "head", "patch", "x-amazon-apigateway-any-method"}
)
_HTTP_API_IGNORED = frozenset(
    {
        "Name",
        "Description",
        "Tags",
        "FailOnWarnings",
        "AccessLogSettings",
        "DefaultRouteSettings",
        "RouteSettings",
        "DisableExecuteApiEndpoint",
        "PropagateTags",
        "Domain",
    }
)
_EVENT_PROPERTIES: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "HttpApi": (
        frozenset({"ApiId", "Path", "Method", "Auth", "PayloadFormatVersion", "TimeoutInMillis"}),
        frozenset({"RouteSettings"}),
    ),
    "SQS": (
        frozenset(
            {
                "Queue",
                "BatchSize",
                "MaximumBatchingWindowInSeconds",
                "ScalingConfig",
                "FunctionResponseTypes",
                "Enabled",
            }
        ),
        frozenset({"KmsKeyArn", "MetricsConfig"}),
    ),
    "Schedule": (
        frozenset({"Schedule", "Input", "Enabled", "State", "Name"}),
        frozenset({"Description", "RetryPolicy", "DeadLetterConfig"}),
    ),
    "ScheduleV2": (
        frozenset(
            {"ScheduleExpression", "Input", "State", "Name", "GroupName", "ScheduleExpressionTimezone"}
        ),
        frozenset(
            {
                "Description",
                "RetryPolicy",
                "DeadLetterConfig",
                "FlexibleTimeWindow",
                "StartDate",
                "EndDate",
                "KmsKeyArn",
                "OmitName",
                "PermissionsBoundary",
                "RoleArn",
            }
        ),
    ),
}


@dataclass
class ModelBuilder:
    template: Template
    resolver: Resolver
    attributes: Mapping[str, Attributes]
    default_concurrency: int = 4
    warnings: list[str] = field(default_factory=list)

    def build(self) -> StackModel:
        functions: dict[str, FunctionSpec] = {}
        routes: list[RouteSpec] = []
        queues: list[QueueSourceSpec] = []
        schedules: list[ScheduleSpec] = []
        for resource in self._enabled("AWS::Serverless::Function"):
            functions[resource.logical_id] = self._function(resource)
            for event_name, event in (resource.properties.get("Events") or {}).items():
                kind = self._event_kind(resource, event_name, event)
                props = event.get("Properties") or {}
                if kind == "HttpApi":
                    routes.append(self._route(resource, event_name, props))
                elif kind == "SQS":
                    queues.append(
                        self._queue_source(resource, event_name, props, functions[resource.logical_id])
                    )
                else:
                    schedules.append(self._schedule(resource, event_name, kind, props))
        apis = self._apis(routes)
        self._check_routes(routes, apis)
        from_definitions = self._definition_routes(routes, functions)
        self._check_routes(from_definitions, apis)
        routes.extend(from_definitions)
        return StackModel(functions, apis, routes, queues, schedules, self.warnings)

    def _enabled(self, resource_type: str) -> list[Resource]:
        return [r for r in self.template.of_type(resource_type) if self.resolver.enabled(r)]

    def _resolve(self, resource: Resource, key: str, default: Any = None, *path: str) -> Any:
        value = resource.properties.get(key, default)
        return self.resolver.resolve(value, resource.where(key, *path))

    # -- functions

    def _function(self, resource: Resource) -> FunctionSpec:
        for name in resource.properties:
            if name not in _FUNCTION_HANDLED and name not in _FUNCTION_IGNORED:
                raise TemplateError(f"{resource.where(name)}: not supported by the local runtime")
        if self._resolve(resource, "PackageType", "Zip") != "Zip":
            raise TemplateError(f"{resource.where('PackageType')}: only Zip functions run locally")
        runtime = str(self._resolve(resource, "Runtime"))
        if not runtime.startswith("python"):
            raise TemplateError(
                f"{resource.where('Runtime')}: {runtime} functions cannot run locally (Python only)"
            )
        code_uri = self._resolve(resource, "CodeUri")
        if not isinstance(code_uri, str):
            raise TemplateError(f"{resource.where('CodeUri')}: must be a local folder")
        code_dir = (self.template.directory / code_uri).resolve()
        if not code_dir.is_dir():
            raise TemplateError(f"{resource.where('CodeUri')}: {code_dir} is not a folder")
        attributes = self.attributes[resource.logical_id]
        return FunctionSpec(
            logical_id=resource.logical_id,
            name=str(attributes.ref),
            arn=str(attributes.atts["Arn"]),
            code_dir=code_dir,
            handler=str(self._resolve(resource, "Handler")),
            runtime=runtime,
            timeout=float(self._resolve(resource, "Timeout", 3)),
            memory=int(self._resolve(resource, "MemorySize", 128)),
            concurrency=int(
                self._resolve(resource, "ReservedConcurrentExecutions", self.default_concurrency)
            ),
            environment=self._environment(resource),
            layer_dirs=self._layers(resource),
            absent_modules=self._absent_modules(resource),
        )

    def _environment(self, resource: Resource) -> dict[str, str]:
        variables = self._resolve(resource, "Environment", {}).get("Variables") or {}
        environment: dict[str, str] = {}
        for name, value in variables.items():
            if isinstance(value, list | dict) or value is None:
                raise TemplateError(f"{resource.where('Environment', 'Variables', name)}: must be a string")
            environment[name] = ("true" if value else "false") if isinstance(value, bool) else str(value)
        logging = self._resolve(resource, "LoggingConfig", {})
        if logging.get("LogFormat") == "JSON":
            # What Lambda sets for JSON log format; Powertools Logger reads AWS_LAMBDA_LOG_LEVEL.
            environment["AWS_LAMBDA_LOG_FORMAT"] = "JSON"
            environment["AWS_LAMBDA_LOG_LEVEL"] = str(logging.get("ApplicationLogLevel", "INFO")).upper()
        return environment

    def _layers(self, resource: Resource) -> tuple[Path, ...]:
        """Each layer's folder that Lambda would extract to /opt/python."""
        folders: list[Path] = []
        for index, entry in enumerate(resource.properties.get("Layers") or []):
            where = resource.where("Layers", str(index))
            layer_id = entry.get("Ref") if isinstance(entry, dict) and set(entry) == {"Ref"} else None
            layer = self.template.resources.get(layer_id) if isinstance(layer_id, str) else None
            if layer is None or layer.type != "AWS::Serverless::LayerVersion":
                arn = self.resolver.resolve(entry, where)
                self.warnings.append(
                    f"{where}: layer {arn} is not in the template; its packages must come from .venv"
                )
                continue
            folder = self._layer_folder(layer)
            if folder is not None:
                folders.append(folder)
        return tuple(folders)

    def _absent_modules(self, resource: Resource) -> tuple[str, ...]:
        carried = {
            entry.get("Ref")
            for entry in resource.properties.get("Layers") or []
            if isinstance(entry, dict) and set(entry) == {"Ref"}
        }
        absent: set[str] = set()
        for layer in self.template.resources.values():
            if layer.type != "AWS::Serverless::LayerVersion" or layer.logical_id in carried:
                continue
            if layer.metadata.get("BuildMethod") != "makefile":
                continue
            absent |= layer_modules(self._content_dir(layer) / "requirements.in")
        return tuple(sorted(absent))

    def _content_dir(self, layer: Resource) -> Path:
        content = self.resolver.resolve(layer.properties.get("ContentUri"), layer.where("ContentUri"))
        if not isinstance(content, str):
            raise TemplateError(f"{layer.where('ContentUri')}: must be a local folder")
        return (self.template.directory / content).resolve()

    def _layer_folder(self, layer: Resource) -> Path | None:
        folder = self._content_dir(layer)
        # A makefile-built layer of third-party packages alone (no python/ of its own): they come
        # from .venv locally.
        if layer.metadata.get("BuildMethod") == "makefile" and not (folder / "python").is_dir():
            return None
        # With a python BuildMethod, `sam build` puts the folder's contents in python/ itself;
        # without one, the folder ships as is and its python/ subfolder is what /opt/python holds.
        if not str(layer.metadata.get("BuildMethod", "")).startswith("python"):
            folder = folder / "python"
        if not folder.is_dir():
            raise TemplateError(f"{layer.where('ContentUri')}: {folder} is not a folder")
        return folder

    def _event_kind(self, resource: Resource, name: str, event: Any) -> str:
        where = resource.where("Events", name)
        kind = event.get("Type") if isinstance(event, dict) else None
        if kind not in _EVENT_PROPERTIES:
            raise TemplateError(f"{where}: event type {kind} is not supported by the local runtime")
        handled, ignored = _EVENT_PROPERTIES[kind]
        for prop in event.get("Properties") or {}:
            if prop not in handled and prop not in ignored:
                raise TemplateError(f"{where}.Properties.{prop}: not supported by the local runtime")
        return str(kind)

    # -- HTTP

    def _route(self, resource: Resource, event: str, props: Mapping[str, Any]) -> RouteSpec:
        where = resource.where("Events", event, "Properties")
        resolved = self.resolver.resolve({k: v for k, v in props.items() if k != "ApiId"}, where)
        api = IMPLICIT_HTTP_API
        if "ApiId" in props:
            ref = props["ApiId"]
            if not (isinstance(ref, dict) and set(ref) == {"Ref"}):
                raise TemplateError(
                    f"{where}.ApiId: must be !Ref of an AWS::Serverless::HttpApi of this template"
                )
            api = str(ref["Ref"])
        if str(resolved.get("PayloadFormatVersion", "2.0")) != "2.0":
            raise TemplateError(f"{where}.PayloadFormatVersion: only 2.0 is emulated")
        path, method = resolved.get("Path"), resolved.get("Method")
        if path is None and method is None:
            path, method = "$default", "ANY"
        auth = resolved.get("Auth") or {}
        return RouteSpec(
            api=api,
            method=_method(str(method or "ANY")),
            path=str(path),
            function=resource.logical_id,
            event=event,
            authorizer=auth.get("Authorizer"),  # None: the API's default; "NONE": public
            scopes=tuple(auth.get("AuthorizationScopes") or ()),
            timeout_ms=int(resolved.get("TimeoutInMillis", DEFAULT_INTEGRATION_TIMEOUT_MS)),
        )

    def _apis(self, routes: list[RouteSpec]) -> dict[str, ApiSpec]:
        apis = {
            resource.logical_id: self._api(resource) for resource in self._enabled("AWS::Serverless::HttpApi")
        }
        if any(route.api == IMPLICIT_HTTP_API for route in routes):
            apis[IMPLICIT_HTTP_API] = ApiSpec(
                IMPLICIT_HTTP_API, http_api_id(IMPLICIT_HTTP_API), "$default", {}, None, None, None
            )
        return apis

    def _api(self, resource: Resource) -> ApiSpec:
        for name in resource.properties:
            if name not in _HTTP_API_HANDLED and name not in _HTTP_API_IGNORED:
                raise TemplateError(f"{resource.where(name)}: not supported by the local runtime")
        auth = self._resolve(resource, "Auth", {})
        if auth.get("EnableIamAuthorizer"):
            raise TemplateError(
                f"{resource.where('Auth', 'EnableIamAuthorizer')}: IAM authorization is not emulated"
            )
        authorizers = {
            name: _jwt_authorizer(resource.where("Auth", "Authorizers", name), name, spec)
            for name, spec in (auth.get("Authorizers") or {}).items()
        }
        default = auth.get("DefaultAuthorizer")
        if default is not None and default not in authorizers:
            raise TemplateError(f"{resource.where('Auth', 'DefaultAuthorizer')}: {default} is not declared")
        variables = self._resolve(resource, "StageVariables")
        return ApiSpec(
            logical_id=resource.logical_id,
            api_id=str(self.attributes[resource.logical_id].ref),
            stage=str(self._resolve(resource, "StageName", "$default")),
            authorizers=authorizers,
            default_authorizer=default,
            cors=_cors(self._resolve(resource, "CorsConfiguration")),
            stage_variables={str(k): str(v) for k, v in variables.items()} if variables else None,
        )

    def _definition_routes(
        self, declared: list[RouteSpec], functions: Mapping[str, FunctionSpec]
    ) -> list[RouteSpec]:
        """Routes an HttpApi's OpenAPI DefinitionBody adds beyond the functions' HttpApi events.

        SAM keeps the integrations it finds there and gives each path the API's default
        authorizer unless the operation's ``security`` says otherwise; an event for the same
        route key takes precedence (it carries its own Auth).
        """
        by_arn = {spec.arn: spec.logical_id for spec in functions.values()}
        taken = {(route.api, route.route_key) for route in declared}
        added: list[RouteSpec] = []
        for resource in self._enabled("AWS::Serverless::HttpApi"):
            paths = (resource.properties.get("DefinitionBody") or {}).get("paths") or {}
            for path, item in paths.items():
                for method, operation in (item or {}).items():
                    if method.lower() not in _OPENAPI_METHODS:
                        continue
                    where = resource.where("DefinitionBody", "paths", path, method)
                    route = self._openapi_route(resource.logical_id, path, method, operation, by_arn, where)
                    if (route.api, route.route_key) not in taken:
                        taken.add((route.api, route.route_key))
                        added.append(route)
        return added

    def _openapi_route(
        self, api: str, path: str, method: str, operation: Any, by_arn: Mapping[str, str], where: str
    ) -> RouteSpec:
        integration = (
            operation.get("x-amazon-apigateway-integration") if isinstance(operation, dict) else None
        )
        if not isinstance(integration, dict):
            raise TemplateError(f"{where}: only x-amazon-apigateway-integration routes are emulated")
        resolved = self.resolver.resolve(integration, f"{where}.x-amazon-apigateway-integration")
        if str(resolved.get("type", "")).lower() != "aws_proxy":
            raise TemplateError(f"{where}: only aws_proxy (Lambda) integrations are emulated")
        if str(resolved.get("payloadFormatVersion", "")) != "2.0":
            raise TemplateError(f"{where}: only payloadFormatVersion 2.0 is emulated")
        uri = str(resolved.get("uri", ""))
        function_arn = uri.split("/functions/", 1)[-1].removesuffix("/invocations")
        if function_arn not in by_arn:
            raise TemplateError(f"{where}: the integration's function {function_arn} is not in the template")
        security = operation.get("security")
        authorizer, scopes = None, ()
        if security is not None:
            requirement = security[0] if security else {}
            authorizer = next(iter(requirement), "NONE")
            scopes = tuple(requirement.get(authorizer) or ()) if requirement else ()
        return RouteSpec(
            api=api,
            method=_method(method),
            path=path,
            function=by_arn[function_arn],
            event=f"DefinitionBody {method.upper()} {path}",
            authorizer=authorizer,
            scopes=scopes,
            timeout_ms=int(resolved.get("timeoutInMillis", DEFAULT_INTEGRATION_TIMEOUT_MS)),
        )

    def _check_routes(self, routes: list[RouteSpec], apis: Mapping[str, ApiSpec]) -> None:
        seen: dict[tuple[str, str], str] = {}
        for route in routes:
            where = f"Resources.{route.function}.Events.{route.event}"
            api = apis.get(route.api)
            if api is None:
                raise TemplateError(
                    f"{where}.Properties.ApiId: {route.api} is not an HttpApi of this template"
                )
            if route.authorizer not in (None, "NONE") and route.authorizer not in api.authorizers:
                raise TemplateError(f"{where}.Properties.Auth.Authorizer: {route.authorizer} is not declared")
            key = (route.api, route.route_key)
            if key in seen:
                raise TemplateError(f"{where}: route {route.route_key} is already taken by {seen[key]}")
            seen[key] = where

    # -- SQS

    def _queue_source(
        self, resource: Resource, event: str, props: Mapping[str, Any], function: FunctionSpec
    ) -> QueueSourceSpec:
        where = resource.where("Events", event, "Properties")
        resolved = self.resolver.resolve(dict(props), where)
        arn = resolved.get("Queue")
        queue = next(
            (
                lid
                for lid, att in self.attributes.items()
                if att.atts.get("Arn") == arn and "QueueUrl" in att.atts
            ),
            None,
        )
        if queue is None:
            raise TemplateError(f"{where}.Queue: {arn} is not an AWS::SQS::Queue of this template")
        self._check_visibility(queue, function, f"{where}.Queue")
        batch_size = int(resolved.get("BatchSize", 10))
        window = float(resolved.get("MaximumBatchingWindowInSeconds", 0))
        if batch_size > 10 and window < 1:
            raise TemplateError(
                f"{where}.BatchSize: above 10 needs MaximumBatchingWindowInSeconds of at least 1"
            )
        scaling = resolved.get("ScalingConfig") or {}
        return QueueSourceSpec(
            function=resource.logical_id,
            event=event,
            queue=queue,
            queue_arn=str(arn),
            queue_url=str(self.attributes[queue].atts["QueueUrl"]),
            batch_size=batch_size,
            batching_window=window,
            max_concurrency=int(scaling["MaximumConcurrency"]) if "MaximumConcurrency" in scaling else None,
            report_batch_item_failures="ReportBatchItemFailures"
            in (resolved.get("FunctionResponseTypes") or []),
            enabled=_truthy(resolved.get("Enabled", True)),
        )

    def _check_visibility(self, queue: str, function: FunctionSpec, where: str) -> None:
        """Lambda refuses an SQS event source whose queue could redeliver a message mid-invocation."""
        resource = self.template.resources[queue]
        visibility = float(self.resolver.resolve(resource.properties.get("VisibilityTimeout", 30), where))
        if visibility < function.timeout:
            raise TemplateError(
                f"{where}: {queue}'s VisibilityTimeout ({visibility:g} s) is less than "
                f"{function.logical_id}'s Timeout ({function.timeout:g} s); Lambda refuses this event source"
            )

    # -- schedules

    def _schedule(self, resource: Resource, event: str, kind: str, props: Mapping[str, Any]) -> ScheduleSpec:
        resolved = self.resolver.resolve(dict(props), resource.where("Events", event, "Properties"))
        pseudo = self.resolver.pseudo
        rule = str(resolved.get("Name") or f"{pseudo.stack_name}-{resource.logical_id}{event}")
        if kind == "Schedule":
            expression = resolved["Schedule"]
            enabled = _truthy(resolved.get("Enabled", True)) and resolved.get("State", "ENABLED") == "ENABLED"
            arn = f"arn:{pseudo.partition}:events:{pseudo.region}:{pseudo.account_id}:rule/{rule}"
        else:
            expression = resolved["ScheduleExpression"]
            enabled = resolved.get("State", "ENABLED") == "ENABLED"
            group = resolved.get("GroupName", "default")
            arn = (
                f"arn:{pseudo.partition}:scheduler:{pseudo.region}:{pseudo.account_id}:"
                f"schedule/{group}/{rule}"
            )
        payload = resolved.get("Input")
        return ScheduleSpec(
            function=resource.logical_id,
            event=event,
            kind=kind,
            expression=str(expression),
            input=None if payload is None else str(payload),
            enabled=enabled,
            name=rule,
            arn=arn,
            timezone=resolved.get("ScheduleExpressionTimezone"),
        )


def layer_modules(requirements: Path) -> set[str]:
    """The top-level modules of the distributions a layer's requirements.in names (as .venv
    installs them), e.g. {"numpy"}; none when the file is absent."""
    if not requirements.is_file():
        return set()
    names = set()
    for line in requirements.read_text().splitlines():
        found = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", line.split("#")[0])
        if found:
            names.add(_normal(found.group(1)))
    modules = _modules_of()
    return {module for name in names for module in modules.get(name, {name.replace("-", "_")})}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@cache
def _modules_of() -> dict[str, set[str]]:
    """Distribution name (normalised) -> the top-level modules it installs in this environment."""
    out: dict[str, set[str]] = {}
    for module, distributions in packages_distributions().items():
        for distribution in distributions:
            out.setdefault(_normal(distribution), set()).add(module)
    return out


def _method(method: str) -> str:
    upper = method.upper()
    return "ANY" if upper in ("ANY", "X-AMAZON-APIGATEWAY-ANY-METHOD") else upper


def _truthy(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).lower() == "true"


def _jwt_authorizer(where: str, name: str, spec: Mapping[str, Any]) -> JwtAuthorizerSpec:
    if "FunctionArn" in spec or "JwtConfiguration" not in spec:
        raise TemplateError(f"{where}: only JWT authorizers are emulated")
    config = spec["JwtConfiguration"]
    audiences = config.get("audience") or []
    return JwtAuthorizerSpec(
        name=name,
        issuer=str(config.get("issuer", "")),
        audiences=tuple(str(a) for a in (audiences if isinstance(audiences, list) else [audiences])),
        identity_source=str(spec.get("IdentitySource", "$request.header.Authorization")),
    )


def _cors(config: Any) -> CorsSpec | None:
    if config is None or config is False:
        return None
    if config is True:
        return CorsSpec()
    if isinstance(config, str):
        return CorsSpec(allow_origins=(config.strip("'"),))
    return CorsSpec(
        allow_origins=tuple(config.get("AllowOrigins") or ()),
        allow_methods=tuple(str(m).upper() for m in config.get("AllowMethods") or ()),
        allow_headers=tuple(str(h).lower() for h in config.get("AllowHeaders") or ()),
        expose_headers=tuple(config.get("ExposeHeaders") or ()),
        max_age=int(config["MaxAge"]) if "MaxAge" in config else None,
        allow_credentials=_truthy(config.get("AllowCredentials", False)),
    )
