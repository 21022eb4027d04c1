"""The local stack: ``template.yaml`` run on one machine, no Docker, no AWS account.

``python -m local.stack`` (``make dev``) starts moto, creates the template's resources in it, seeds
the SSM parameters of ``local/stack.yaml``, starts the provider sandboxes, the HTTP API gateway, the
SQS pollers, the schedules and the control API, prints their URLs and runs until Ctrl-C/SIGTERM.

Tests and the demo use the same thing in-process::

    with LocalStack(StackOptions(template="template.yaml", ports="auto")) as stack:
        token = stack.mint_token(company_id="demo-company", role="admin")
        httpx.get(f"{stack.api_url}/companies/me", headers={"authorization": f"Bearer {token}"})
        stack.fire_schedule("SchedulerFunction", "Sweep")
        stack.drain(timeout=30)
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, Literal, TextIO

import yaml

from local.runtime.authorizer import JwtAuthorizer
from local.runtime.aws import ACCOUNT_ID, REGION, MotoServer, aws_client, function_aws_environment
from local.runtime.control import ControlApi
from local.runtime.functions import FunctionPool, FunctionRunner, InvocationJournal, InvocationResult
from local.runtime.gateway import HttpApiGateway
from local.runtime.jwt_tokens import (
    LOCAL_AUDIENCE,
    LOCAL_ISSUER,
    Role,
    SigningKey,
    load_or_create_key,
    mint_token,
)
from local.runtime.model import IMPLICIT_HTTP_API, JwtAuthorizerSpec, ModelBuilder, StackModel
from local.runtime.pollers import QueueInfo, QueueMonitor, QueuePoller
from local.runtime.resources import Provisioned, Provisioner, check_resources
from local.runtime.roles import RoleBuilder, check_event_sources, write_roles
from local.runtime.schedules import Scheduler
from local.runtime.template import (
    LOCAL_STACK_NAME,
    Attributes,
    Pseudo,
    Resolver,
    Template,
    TemplateError,
    parameter_values,
)
from local.runtime.web import LOOPBACK, HttpRequest, HttpResponse, LoopbackServer
from local.sandboxes.kit.serving import HostedApp

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = REPO_ROOT / "local" / "stack.yaml"


@dataclass(frozen=True)
class SandboxRow:
    """One provider sandbox the stack runs. ``module`` has ``for_stack(HostedApp)``; ``key`` names
    its port (``BOOKSYNC_<KEY>_PORT``) and the placeholders it gives local/stack.yaml: ``{<key>_url}``,
    ``{<key>_client_id}``, ``{<key>_client_secret}`` and, with a ``webhook_path`` (the provider posts
    to a subscription), ``{<key>_notification_url}`` and ``{<key>_webhook_signature_key}``. The
    ``<name>:`` section of local/stack.yaml may set ``client_id``, ``redirect_path``,
    ``webhook_path`` and ``webhook_signature_key``."""

    name: str  # the provider, as booksync names it; also its local/stack.yaml section
    label: str
    module: str
    key: str
    default_port: int  # 0: a free port
    client_id: str
    redirect_path: str
    secret_prefix: str = ""  # the provider's own secret format (Square: sandbox-sq0csb-...)
    webhook_path: str | None = None
    webhook_signature_key: str | None = None

    @property
    def port_variable(self) -> str:
        return f"BOOKSYNC_{self.key.upper()}_PORT"


# The sandboxes the stack starts, in order. A new provider's sandbox is a row here.
SANDBOXES = (
    SandboxRow(
        "quickbooks",
        "QuickBooks sandbox",
        "local.sandboxes.quickbooks.server",
        key="qbo",
        default_port=8301,
        client_id="booksync-local-qbo",
        redirect_path="/oauth/quickbooks/callback",
    ),
    SandboxRow(
        "square",
        "Square sandbox",
        "local.sandboxes.square.server",
        key="square",
        default_port=0,
        client_id="sandbox-sq0idb-booksync-local",
        redirect_path="/oauth/square/callback",
        secret_prefix="sandbox-sq0csb-",
        webhook_path="/webhooks/square",
        webhook_signature_key="booksync-local-square-key",
    ),
    SandboxRow(
        "xero",
        "Xero sandbox",
        "local.sandboxes.xero.server",
        key="xero",
        default_port=0,
        client_id="booksync-local-xero",
        redirect_path="/oauth/xero/callback",
        webhook_path="/webhooks/xero",
        webhook_signature_key="booksync-local-xero-key",
    ),
    # Wave has no webhooks (apps poll): no webhook_path.
    SandboxRow(
        "wave",
        "Wave sandbox",
        "local.sandboxes.wave.server",
        key="wave",
        default_port=0,
        client_id="booksync-local-wave",
        redirect_path="/oauth/wave/callback",
    ),
    SandboxRow(
        "freshbooks",
        "FreshBooks sandbox",
        "local.sandboxes.freshbooks.server",
        key="freshbooks",
        default_port=0,
        client_id="booksync-local-freshbooks",
        redirect_path="/oauth/freshbooks/callback",
    ),
    # Voyage AI (the billing memory's embeddings) has no OAuth: the row's secret is the API key
    # the sandbox accepts (Voyage's keys start pa-); no redirect.
    SandboxRow(
        "voyage",
        "Voyage sandbox",
        "local.sandboxes.voyage.server",
        key="voyage",
        default_port=0,
        client_id="booksync-local-voyage",
        redirect_path="",
        secret_prefix="pa-",
    ),
)
# The stack's own servers' ports (a sandbox's are its row's: BOOKSYNC_<KEY>_PORT, default_port).
PORT_DEFAULTS = {"moto": 4566, "api": 3000, "control": 3001}
PORT_VARIABLES = {
    "moto": "BOOKSYNC_MOTO_PORT",
    "api": "BOOKSYNC_API_PORT",
    "control": "BOOKSYNC_CONTROL_PORT",
}
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
# Stop order: no new work first, then the workers (which ends running invocations), then AWS.
_STOP_SCHEDULES, _STOP_POLLING, _STOP_SERVERS, _STOP_FUNCTIONS, _STOP_POLLERS, _STOP_SANDBOXES, _STOP_MOTO = (
    range(7)
)
# Where the function workers record each IAM decision (python -m local.iam_report reads it).
IAM_USAGE_VARIABLE = "BOOKSYNC_IAM_USAGE_DIR"
DEFAULT_IAM_USAGE_DIR = REPO_ROOT / ".local" / "iam-usage"


def iam_usage_dir() -> Path:
    """Where the runtime records each IAM decision (``BOOKSYNC_IAM_USAGE_DIR``, else .local/iam-usage)."""
    return Path(os.environ.get(IAM_USAGE_VARIABLE) or DEFAULT_IAM_USAGE_DIR)


class DrainTimeout(TimeoutError):
    """The event sources did not go idle in time; ``pending`` says what was still going on."""

    def __init__(self, pending: Mapping[str, Any]) -> None:
        super().__init__(f"still pending: {json.dumps(pending)}")
        self.pending = dict(pending)


@dataclass
class SandboxRun:
    """A row's sandbox in this stack: its app (the secret new at every start: registered in the
    sandbox and written to SSM, nothing to leak), its URLs and, once started, the sandbox object
    (None with ``sandboxes=False`` or when its module cannot be imported)."""

    row: SandboxRow
    client_id: str
    client_secret: str
    redirect_path: str
    webhook_path: str | None
    webhook_signature_key: str | None
    url: str = ""
    redirect_uri: str = ""
    notification_url: str | None = None
    sandbox: Any = None

    @classmethod
    def of(cls, row: SandboxRow, config: Mapping[str, Any]) -> SandboxRun:
        webhook_key = config.get("webhook_signature_key", row.webhook_signature_key)
        webhook_path = config.get("webhook_path", row.webhook_path)
        return cls(
            row,
            client_id=str(config.get("client_id", row.client_id)),
            client_secret=row.secret_prefix + secrets.token_urlsafe(32),
            redirect_path=str(config.get("redirect_path", row.redirect_path)),
            webhook_path=str(webhook_path) if row.webhook_path else None,
            webhook_signature_key=str(webhook_key) if row.webhook_path and webhook_key else None,
        )

    def placeholders(self) -> dict[str, str]:
        key = self.row.key
        values = {
            f"{key}_url": self.url,
            f"{key}_client_id": self.client_id,
            f"{key}_client_secret": self.client_secret,
        }
        if self.row.webhook_path is not None:
            values[f"{key}_notification_url"] = self.notification_url or ""
            values[f"{key}_webhook_signature_key"] = self.webhook_signature_key or ""
        return values


@dataclass(frozen=True)
class StackOptions:
    template: str | Path = "template.yaml"
    # local/stack.yaml: parameter overrides and SSM parameters; None for none (fixture templates).
    config: str | Path | None = DEFAULT_CONFIG
    # "env": BOOKSYNC_*_PORT or the defaults; "auto": free ports; or a mapping for some of
    # moto/api/control and the sandboxes' keys (qbo, square; the others as "env"). 0 always means a free port.
    ports: Literal["auto", "env"] | Mapping[str, int] = "env"
    # Template parameter overrides applied over the config's (placeholders allowed).
    parameters: Mapping[str, Any] = field(default_factory=dict)
    # Logs (logs/<Function>.log), the JWT key (jwt/), stack.json. Default: <repo>/.local
    state_dir: str | Path | None = None
    sandboxes: bool = True
    # None: BOOKSYNC_SCHEDULE_SCALE, else 1. 0: schedules fire only on demand.
    schedule_scale: float | None = None
    # Print function logs, requests and events on stdout (prefixed with their source).
    echo: bool = True
    stack_name: str = LOCAL_STACK_NAME
    default_concurrency: int = 4


def _resolve_path(value: str | Path) -> Path:
    """Relative to the working directory, else to the repository (so tests can run from anywhere)."""
    path = Path(value)
    if path.is_absolute() or path.exists():
        return path.resolve()
    return (REPO_ROOT / path).resolve()


def _free_port() -> int:
    """A port free now, for servers that must be told a number (the sandbox)."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def fill_placeholders(value: Any, values: Mapping[str, str], where: str) -> Any:
    """Replace {name} in every string of a config value; an unknown name is an error."""
    if isinstance(value, dict):
        return {key: fill_placeholders(item, values, f"{where}.{key}") for key, item in value.items()}
    if isinstance(value, list):
        return [fill_placeholders(item, values, f"{where}[{i}]") for i, item in enumerate(value)]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        if match.group(1) not in values:
            raise TemplateError(
                f"{where}: unknown placeholder {match.group(0)} (known: {', '.join(sorted(values))})"
            )
        return values[match.group(1)]

    return _PLACEHOLDER.sub(substitute, value)


class LocalStack:
    """The whole local runtime; a context manager that starts on enter and stops on exit."""

    def __init__(self, options: StackOptions | None = None) -> None:
        self.options = options or StackOptions()
        self.template_path = _resolve_path(self.options.template)
        self.state_dir = (
            _resolve_path(self.options.state_dir) if self.options.state_dir else REPO_ROOT / ".local"
        )
        self._console: TextIO | None = sys.stdout if self.options.echo else None
        self._print_lock = threading.Lock()
        self._config = self._load_config()
        self.pseudo = Pseudo(region=REGION, account_id=ACCOUNT_ID, stack_name=self.options.stack_name)
        self.attributes: dict[str, Attributes] = {}
        self.role_files: dict[str, Path] = {}  # each function's role, as its workers enforce it
        self.provisioned: dict[str, Provisioned] = {}
        self.warnings: list[str] = []
        # The provider sandboxes, by provider (SANDBOXES): their apps, URLs and running objects.
        self.sandboxes = {row.name: SandboxRun.of(row, self._config.get(row.name) or {}) for row in SANDBOXES}
        self._stops: list[tuple[int, str, Callable[[], None]]] = []
        self._servers: dict[str, LoopbackServer] = {}
        self._moto: MotoServer | None = None
        self._pool: FunctionPool | None = None
        self._scheduler: Scheduler | None = None
        self._pollers: list[QueuePoller] = []
        self._journal = InvocationJournal()
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()
        self._monitor: QueueMonitor | None = None
        self._model: StackModel | None = None
        self._key: SigningKey | None = None
        self._started = False

    # ------------------------------------------------------------------------------------------
    # lifecycle

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> LocalStack:
        if self._started:
            return self
        self._started = True
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        template = Template.load(self.template_path)
        check_resources(template)
        (self.state_dir / "logs").mkdir(parents=True, exist_ok=True)
        self._key = load_or_create_key(self.state_dir / "jwt")
        self._bind_servers(template)
        self._moto = MotoServer(self._port("moto"))
        self._moto.start()
        self._stops.append((_STOP_MOTO, "moto", self._moto.stop))
        for run in self.sandboxes.values():
            self._start_sandbox(run)
        resolver = self._provision(template)
        self._seed_ssm()
        self._model = ModelBuilder(
            template, resolver, self.attributes, self.options.default_concurrency
        ).build()
        self.warnings.extend(self._model.warnings)
        role_files = self._write_roles(template, resolver, self._model)
        self._build_runtime(self._model, role_files)
        self._serve()
        self._write_state()

    def stop(self) -> None:
        """Stop everything started, phase by phase; every step runs even if one fails."""
        for _phase, name, stop in sorted(self._stops, key=lambda step: step[0]):
            try:
                stop()
            except Exception as error:  # keep stopping the rest: ports and workers must be freed
                self._say("stack", f"stopping {name} failed: {error}")
        self._stops.clear()
        with contextlib.suppress(FileNotFoundError):
            (self.state_dir / "stack.json").unlink()
        self._clients.clear()
        self._started = False

    # -- start-up steps

    def _port(self, name: str, setting: tuple[str, int] | None = None) -> int:
        """``setting``: (variable, default) of a sandbox's port; the stack's own servers' otherwise."""
        ports = self.options.ports
        if ports == "auto":
            return 0
        if isinstance(ports, Mapping) and name in ports:
            return int(ports[name])
        variable, default = setting or (PORT_VARIABLES[name], PORT_DEFAULTS[name])
        return int(os.environ.get(variable, default))

    def _bind_servers(self, template: Template) -> None:
        """Bind every port first: the template's parameters need the URLs."""
        control = LoopbackServer(self._port("control"), name="control")
        self._servers["control"] = control
        self._stops.append((_STOP_SERVERS, "control API", control.stop))
        for index, api in enumerate(self._api_names(template)):
            server = LoopbackServer(self._port("api") if index == 0 else 0, name=api)
            self._servers[api] = server
            self._stops.append((_STOP_SERVERS, f"API {api}", server.stop))

    @staticmethod
    def _api_names(template: Template) -> list[str]:
        """Explicit HttpApi resources in template order, then SAM's implicit one if events use it."""
        names = [resource.logical_id for resource in template.of_type("AWS::Serverless::HttpApi")]
        events = [
            event
            for function in template.of_type("AWS::Serverless::Function")
            for event in (function.properties.get("Events") or {}).values()
            if isinstance(event, dict) and event.get("Type") == "HttpApi"
        ]
        if any("ApiId" not in (event.get("Properties") or {}) for event in events):
            names.append(IMPLICIT_HTTP_API)
        return names

    def _start_sandbox(self, run: SandboxRun) -> None:
        row = run.row
        port = self._port(row.key, (row.port_variable, row.default_port)) or _free_port()
        api_url = self._primary_api_url()
        run.url = f"http://{LOOPBACK}:{port}"
        run.redirect_uri = f"{api_url}{run.redirect_path}"
        run.notification_url = f"{api_url}{run.webhook_path}" if run.webhook_path is not None else None
        if not self.options.sandboxes:
            return
        try:
            module = importlib.import_module(row.module)
        except ImportError as error:
            self.warnings.append(
                f"{row.label} NOT running: {row.module} cannot be imported ({error}); "
                f"its URLs point at {run.url}, where nothing answers"
            )
            return
        app = HostedApp(
            LOOPBACK,
            port,
            run.client_id,
            run.client_secret,
            run.redirect_uri,
            run.notification_url,
            run.webhook_signature_key,
        )
        sandbox = module.for_stack(app)
        sandbox.start()
        self._stops.append((_STOP_SANDBOXES, row.label, sandbox.stop))
        run.sandbox = sandbox
        run.url = str(sandbox.url).rstrip("/")

    def placeholders(self) -> dict[str, str]:
        """The values local/stack.yaml may use in braces."""
        return {
            "api_url": self._primary_api_url(),
            "control_url": self.control_url,
            "moto_url": self.moto_url,
            **{name: value for run in self.sandboxes.values() for name, value in run.placeholders().items()},
            "jwt_issuer": LOCAL_ISSUER,
            "jwt_audience": LOCAL_AUDIENCE,
            "stack_name": self.options.stack_name,
            "region": REGION,
            "account_id": ACCOUNT_ID,
        }

    def _parameter_overrides(self, template: Template) -> dict[str, Any]:
        values = self.placeholders()
        configured = fill_placeholders(
            self._config.get("parameters") or {}, values, "local/stack.yaml parameters"
        )
        given = fill_placeholders(dict(self.options.parameters), values, "StackOptions.parameters")
        overrides = {**configured, **given}
        unknown = sorted(set(configured) - set(template.parameters))
        if unknown and self.options.config is not None:
            self.warnings.append(
                f"stack config sets parameters the template does not declare: {', '.join(unknown)}"
            )
        return {name: value for name, value in overrides.items() if name in template.parameters}

    def _provision(self, template: Template) -> Resolver:
        parameters = parameter_values(template, self._parameter_overrides(template))
        resolver = Resolver(template, parameters, self.pseudo, self.attributes)
        api_urls = {name: server.url for name, server in self._servers.items() if name != "control"}
        provisioner = Provisioner(template, resolver, self.boto3_client, self.attributes, api_urls)
        self.provisioned = provisioner.run()
        return resolver

    def _seed_ssm(self) -> None:
        ssm = self.boto3_client("ssm")
        entries = fill_placeholders(
            self._config.get("ssm_parameters") or [], self.placeholders(), "ssm_parameters"
        )
        for entry in entries:
            params = {
                "Name": entry["name"],
                "Value": str(entry["value"]),
                "Type": entry.get("type", "SecureString"),
            }
            if "description" in entry:
                params["Description"] = entry["description"]
            ssm.put_parameter(Overwrite=True, **params)

    def _write_roles(self, template: Template, resolver: Resolver, model: StackModel) -> dict[str, Path]:
        """Each function's role as the template declares it, for its workers to enforce."""
        builder = RoleBuilder(template, resolver, iam_usage_dir())
        roles = {logical_id: builder.role(logical_id) for logical_id in model.functions}
        check_event_sources(roles, model.queue_sources)
        # This stack's own directory, gone when it stops: a worker reads its role when it starts,
        # and another stack sharing the state directory (the next test module's, one left running
        # by `make dev`) resolves the same functions' roles to its own resources (its KMS key).
        (self.state_dir / "iam").mkdir(parents=True, exist_ok=True)
        directory = Path(tempfile.mkdtemp(prefix="stack-", dir=self.state_dir / "iam"))
        self._stops.append((_STOP_MOTO, "role files", lambda: shutil.rmtree(directory, ignore_errors=True)))
        self.role_files = write_roles(roles.values(), directory)
        return self.role_files

    def _build_runtime(self, model: StackModel, role_files: Mapping[str, Path]) -> None:
        aws_environment = function_aws_environment(self.moto_url, REGION)
        runners = {
            logical_id: FunctionRunner(
                spec,
                aws_environment=aws_environment,
                log_dir=self.state_dir / "logs",
                journal=self._journal,
                console=self._console,
                role_file=role_files[logical_id],
            )
            for logical_id, spec in model.functions.items()
        }
        self._pool = pool = FunctionPool(runners)
        self._stops.append((_STOP_FUNCTIONS, "functions", pool.stop))
        assert self._key is not None
        for api_id, api in model.apis.items():
            authorizers = {name: JwtAuthorizer(spec, [self._key]) for name, spec in api.authorizers.items()}
            routes = [route for route in model.routes if route.api == api_id]
            gateway = HttpApiGateway(api, routes, pool, authorizers, ACCOUNT_ID)
            self._servers[api_id].set_app(gateway, self._access_log(api_id))
        queues = [
            QueueInfo(
                logical_id, str(self.attributes[logical_id].ref), str(self.attributes[logical_id].atts["Arn"])
            )
            for logical_id, item in self.provisioned.items()
            if item.type == "AWS::SQS::Queue"
        ]
        pollers = [
            QueuePoller(
                source,
                runners[source.function],
                lambda: self.boto3_client("sqs"),
                REGION,
                self._logger("sqs"),
            )
            for source in model.queue_sources
        ]
        self._monitor = QueueMonitor(queues, pollers, pool, self.boto3_client("sqs"))
        for poller in pollers:
            self._stops.append((_STOP_POLLING, f"poller {poller.source.queue}", poller.signal_stop))
            self._stops.append((_STOP_POLLERS, f"poller {poller.source.queue} threads", poller.join))
        self._pollers = pollers
        self._scheduler = Scheduler(
            model.schedules, pool, ACCOUNT_ID, REGION, self._schedule_scale(), self._logger("schedule")
        )
        self._stops.append((_STOP_SCHEDULES, "schedules", self._scheduler.stop))
        control = ControlApi(
            model, pool, self._scheduler, self._monitor, self._journal, self.jwks, self.api_urls
        )
        self._servers["control"].set_app(control)

    def _schedule_scale(self) -> float:
        if self.options.schedule_scale is not None:
            return self.options.schedule_scale
        return float(os.environ.get("BOOKSYNC_SCHEDULE_SCALE", "1"))

    def _serve(self) -> None:
        for server in self._servers.values():
            server.start()
        for poller in self._pollers:
            poller.start()
        assert self._scheduler is not None
        self._scheduler.start()

    def _write_state(self) -> None:
        state = {"pid": os.getpid(), "template": str(self.template_path), **self.urls()}
        (self.state_dir / "stack.json").write_text(json.dumps(state, indent=2) + "\n")

    # -- output

    def _say(self, source: str, line: str) -> None:
        if self._console is None:
            return
        with self._print_lock:
            self._console.write(f"[{source}] {line}\n")
            self._console.flush()

    def _logger(self, source: str) -> Callable[[str], None]:
        return lambda line: self._say(source, line)

    def _access_log(self, api: str) -> Callable[[HttpRequest, HttpResponse, float], None] | None:
        if self._console is None:
            return None

        def log(request: HttpRequest, response: HttpResponse, seconds: float) -> None:
            query = f"?{request.raw_query}" if request.raw_query else ""
            self._say(
                api,
                f"{request.method} {request.raw_path}{query} -> {response.status} ({seconds * 1000:.0f} ms)",
            )

        return log

    # ------------------------------------------------------------------------------------------
    # what tests and the demo use

    def _server_url(self, name: str) -> str:
        if name not in self._servers:
            raise RuntimeError(f"no {name} server (is the stack started, and does the template declare it?)")
        return self._servers[name].url

    @property
    def api_url(self) -> str:
        """The first HTTP API of the template (BOOKSYNC_API_PORT)."""
        names = [name for name in self._servers if name != "control"]
        if not names:
            raise RuntimeError("the template declares no HTTP API")
        return self._server_url(names[0])

    def _primary_api_url(self) -> str:
        """The first API's URL, or "" for a template without HTTP API (nothing can call it then)."""
        return next(iter(self.api_urls.values()), "")

    @property
    def api_urls(self) -> dict[str, str]:
        return {name: server.url for name, server in self._servers.items() if name != "control"}

    @property
    def control_url(self) -> str:
        return self._server_url("control")

    @property
    def moto_url(self) -> str:
        if self._moto is None:
            raise RuntimeError("moto is not started")
        return self._moto.url

    @property
    def model(self) -> StackModel:
        if self._model is None:
            raise RuntimeError("the stack is not started")
        return self._model

    @property
    def pool(self) -> FunctionPool:
        if self._pool is None:
            raise RuntimeError("the stack is not started")
        return self._pool

    def urls(self) -> dict[str, Any]:
        return {
            "api_urls": self.api_urls,
            "control_url": self.control_url,
            "moto_url": self.moto_url,
            **{f"{run.row.key}_url": run.url for run in self.sandboxes.values()},
        }

    def boto3_client(self, service: str) -> Any:
        """A boto3 client for the stack's moto (dummy credentials, us-east-1).

        One per service, shared: clients are thread-safe, and making one costs a tenth of a second.
        """
        with self._clients_lock:
            if service not in self._clients:
                self._clients[service] = aws_client(self.moto_url, service, REGION)
            return self._clients[service]

    def physical_name(self, logical_id: str) -> str:
        if logical_id not in self.provisioned:
            raise KeyError(f"{logical_id} is not a resource of the local stack")
        return self.provisioned[logical_id].physical_name

    def ref(self, logical_id: str) -> Any:
        """What !Ref gives for a resource (a queue's URL, a table's name, a key's id...)."""
        return self.attributes[logical_id].ref

    def get_att(self, logical_id: str, attribute: str) -> Any:
        return self.attributes[logical_id].atts[attribute]

    def queue_url(self, logical_id: str) -> str:
        return str(self.get_att(logical_id, "QueueUrl"))

    def jwks(self) -> dict[str, Any]:
        assert self._key is not None
        return {"keys": [self._key.jwk()]}

    def _authorizer_spec(self) -> JwtAuthorizerSpec | None:
        apis = list(self.model.apis.values())
        for api in apis:
            if api.default_authorizer:
                return api.authorizers[api.default_authorizer]
        return next((spec for api in apis for spec in api.authorizers.values()), None)

    def mint_token(self, company_id: str, role: Role = "admin", **claims: Any) -> str:
        """A token the stack's JWT authorizer accepts (its issuer and audience, the local key)."""
        spec = self._authorizer_spec()
        claims.setdefault("issuer", spec.issuer if spec else LOCAL_ISSUER)
        claims.setdefault("audience", spec.audiences[0] if spec and spec.audiences else LOCAL_AUDIENCE)
        return mint_token(company_id, role, key_dir=self.state_dir / "jwt", **claims)

    def invoke(self, function: str, event: Any) -> InvocationResult:
        return self.pool[function].invoke(event, "direct invoke")

    def fire_schedule(self, function: str, event: str) -> InvocationResult:
        if self._scheduler is None:
            raise RuntimeError("the stack is not started")
        return self._scheduler.fire(function, event)

    def drain(self, timeout: float = 30.0) -> None:
        """Return once every event-source queue is empty and nothing runs; DrainTimeout otherwise."""
        if self._monitor is None:
            raise RuntimeError("the stack is not started")
        drained, pending = self._monitor.drain(timeout)
        if not drained:
            raise DrainTimeout(pending)

    def queues(self) -> dict[str, Any]:
        if self._monitor is None:
            raise RuntimeError("the stack is not started")
        return self._monitor.status()

    def invocations(self, function: str | None = None) -> list[InvocationResult]:
        """Recent invocations, oldest first."""
        return self._journal.entries(function)

    def worker_pids(self) -> list[int]:
        return [pid for runner in self.pool for pid in runner.worker_pids()]

    def banner(self) -> str:
        """What `make dev` prints once everything is up."""
        model = self.model
        lines = [f"booksync local stack: {self.template_path}"]

        def row(label: str, value: object) -> None:
            lines.append(f"  {label:<30} {value}")

        for name, url in self.api_urls.items():
            row(f"API {name}", url)
        row("control API", self.control_url)
        row("moto (AWS_ENDPOINT_URL)", self.moto_url)
        for run in self.sandboxes.values():
            row(run.row.label, run.url if run.sandbox is not None else "not running")
        row("logs", f"{self.state_dir / 'logs'}/<Function>.log")
        for spec in model.functions.values():
            lines.append(
                f"  function {spec.logical_id} ({spec.handler}, {spec.timeout:g}s, x{spec.concurrency})"
            )
        for route in model.routes:
            auth = route.authorizer or self.model.apis[route.api].default_authorizer or "NONE"
            lines.append(f"    {route.route_key:<32} -> {route.function} (auth {auth})")
        for source in model.queue_sources:
            lines.append(f"    sqs {source.queue} -> {source.function} (batch {source.batch_size})")
        for schedule in model.schedules:
            lines.append(f"    {schedule.expression} -> {schedule.function}/{schedule.event}")
        lines.extend(f"  ! {warning}" for warning in self.warnings)
        lines.append(
            "  token: TOKEN=$(make -s token)   (or python -m local.runtime.jwt_tokens --company demo-company)"
        )
        lines.append("  first requests: README.md, 'The first hour'")
        return "\n".join(lines)

    def _load_config(self) -> dict[str, Any]:
        if self.options.config is None:
            return {}
        path = _resolve_path(self.options.config)
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(document, dict):
            raise TemplateError(f"{path}: expected a mapping")
        return document


# ----------------------------------------------------------------------------------------------
# python -m local.stack


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local.stack", description="Run template.yaml locally.")
    parser.add_argument("--template", default="template.yaml")
    parser.add_argument("--config", default=str(DEFAULT_CONFIG), help="stack config; 'none' for none")
    parser.add_argument("--ports", choices=("env", "auto"), default="env")
    parser.add_argument("--state-dir", help="default .local/ in the repository")
    parser.add_argument("--no-sandboxes", action="store_true", help="do not start provider sandboxes")
    parser.add_argument("--schedule-scale", type=float, help="default BOOKSYNC_SCHEDULE_SCALE or 1")
    parser.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE", help="template parameter"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _arguments(argv)
    options = StackOptions(
        template=args.template,
        config=None if args.config == "none" else args.config,
        ports=args.ports,
        parameters=dict(item.split("=", 1) for item in args.param),
        state_dir=args.state_dir,
        sandboxes=not args.no_sandboxes,
        schedule_scale=args.schedule_scale,
    )
    stopping = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    stack = LocalStack(options)
    try:
        stack.start()
    except (TemplateError, OSError) as error:
        sys.stderr.write(f"local stack did not start: {error}\n")
        return 2
    sys.stdout.write(stack.banner() + "\nReady. Ctrl-C stops everything.\n")
    sys.stdout.flush()
    while not stopping.wait(0.2):
        pass
    sys.stdout.write("Stopping...\n")
    stack.stop()
    sys.stdout.write("Stopped.\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
