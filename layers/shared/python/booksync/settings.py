"""Typed settings, one model per function, validated at cold start (design.md, rule 3).

Every variable is read from the environment. Secrets are named there by the SSM parameter that
holds them (Powertools parameters fetch and cache them on first use); locally a plain variable
may carry the value instead. A credential that is unset, empty or a placeholder is refused with
an error that names the variable, before anything is sent to a provider.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from booksync.errors import ConfigurationError

if TYPE_CHECKING:
    from booksync.chat import ChatModel

_PLACEHOLDER_WORDS = {
    "changeme",
    "change-me",
    "change_me",
    "xxx",
    "undefined",
    "null",
    "none",
    "nil",
    "todo",
    "tbd",
    "placeholder",
    "secret",
    "example",
    "dummy",
}
_PLACEHOLDER_PATTERNS = (
    re.compile(r"^x{3,}$", re.IGNORECASE),
    re.compile(r"^<.*>$"),
    re.compile(r"^\$\{.*\}$"),
    re.compile(r"^\{\{.*\}\}$"),
    re.compile(r"^your[-_ ].*", re.IGNORECASE),
)


def placeholder_reason(value: str | None) -> str | None:
    """Why ``value`` cannot be a real credential, or None when it may be one."""
    if value is None:
        return "is not set"
    stripped = value.strip()
    if not stripped:
        return "is empty"
    if stripped.lower() in _PLACEHOLDER_WORDS or any(p.match(stripped) for p in _PLACEHOLDER_PATTERNS):
        return "holds a placeholder value, not a real credential"
    return None


def require_credential(name: str, value: str | None) -> str:
    reason = placeholder_reason(value)
    if reason:
        raise ConfigurationError(
            f"{name} {reason}.",
            fix=f"Set {name} to the value from the provider's developer portal and redeploy.",
        )
    assert value is not None
    return value.strip()


def secret_credential(
    value_name: str, value: str | None, param_name: str, param: str | None, *, holds: str
) -> str:
    """A secret from the variable ``value_name`` (it wins when set, and is required when no
    parameter is named) or from the SSM SecureString that ``param_name`` names; refused when
    unset, unreadable or a placeholder. ``holds`` says what the parameter should hold."""
    if value is not None or not param:
        return require_credential(value_name, value)
    from aws_lambda_powertools.utilities.parameters import get_parameter

    try:
        secret = get_parameter(param, decrypt=True, max_age=300)
    except Exception as exc:  # the parameter store's own errors name no variable
        raise ConfigurationError(
            f"{param_name} names SSM parameter {param!r}, which could not be read ({type(exc).__name__}).",
            fix=f"Create it as a SecureString holding {holds}.",
        ) from None
    return require_credential(f"SSM parameter {param}", str(secret))


class _Settings(BaseModel):
    # Built on first use: a function validates its own settings class, not the other ten.
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True, defer_build=True)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        env = dict(os.environ if environ is None else environ)
        try:
            return cls.model_validate(env)
        except ValidationError as exc:
            problems = "; ".join(_describe(err) for err in exc.errors())
            raise ConfigurationError(
                f"{cls.__name__}: {problems}",
                fix="Set the named environment variables (template.yaml declares them for each function).",
            ) from None


def _describe(err: Mapping[str, Any]) -> str:
    where = ".".join(str(p) for p in err.get("loc", ()))
    return f"{where} {err.get('msg', 'is invalid')}"


class QuickBooksSettings(_Settings):
    api_base_url: str = Field(alias="QBO_API_BASE_URL", default="https://quickbooks.api.intuit.com")
    auth_url: str = Field(alias="QBO_AUTH_URL", default="https://appcenter.intuit.com/connect/oauth2")
    token_url: str = Field(
        alias="QBO_TOKEN_URL", default="https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
    )
    revoke_url: str = Field(
        alias="QBO_REVOKE_URL", default="https://developer.api.intuit.com/v2/oauth2/tokens/revoke"
    )
    client_id: str | None = Field(alias="QBO_CLIENT_ID", default=None)
    client_secret_param: str | None = Field(alias="QBO_CLIENT_SECRET_PARAM", default=None)
    client_secret_value: str | None = Field(alias="QBO_CLIENT_SECRET", default=None, repr=False)
    minor_version: int = Field(alias="QBO_MINOR_VERSION", default=75, ge=75)

    def credentials(self) -> tuple[str, str]:
        """The client id and secret, refused when unset or placeholders (checked before any redirect)."""
        client_id = require_credential("QBO_CLIENT_ID", self.client_id)
        secret = secret_credential(
            "QBO_CLIENT_SECRET",
            self.client_secret_value,
            "QBO_CLIENT_SECRET_PARAM",
            self.client_secret_param,
            holds="the Intuit app's client secret",
        )
        return client_id, secret


Stage = Literal["dev", "prod"]
# The routes one API function serves (booksync.api.app.ROUTERS).
ApiPart = Literal["whole", "core", "setup"]


class CommonSettings(_Settings):
    stage: Stage = Field(alias="STAGE", default="dev")
    connections_table: str = Field(alias="CONNECTIONS_TABLE", min_length=1)
    documents_table: str = Field(alias="DOCUMENTS_TABLE", min_length=1)
    sync_runs_table: str = Field(alias="SYNC_RUNS_TABLE", min_length=1)
    notifications_table: str = Field(alias="NOTIFICATIONS_TABLE", min_length=1)
    sync_invoice_queue_url: str = Field(alias="SYNC_INVOICE_QUEUE_URL", min_length=1)

    @field_validator("sync_invoice_queue_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be a queue URL")
        return value

    @property
    def is_prod(self) -> bool:
        return self.stage == "prod"


class _ProviderAccess(CommonSettings):
    """Functions that decrypt tokens and call providers."""

    token_key_id: str = Field(alias="TOKEN_KEY_ID", min_length=1)
    # Each provider's own settings, read on first use as its declaration says (providers/registry.py).
    _providers: dict[str, Any] = PrivateAttr(default_factory=dict)

    def provider_settings(self, provider: str) -> Any:
        if provider not in self._providers:
            from booksync.providers.registry import declaration

            self._providers[provider] = declaration(provider).read_settings()
        return self._providers[provider]

    @property
    def quickbooks(self) -> QuickBooksSettings:
        found = self.provider_settings("quickbooks")
        assert isinstance(found, QuickBooksSettings)
        return found

    @property
    def square(self) -> SquareSettings:
        found = self.provider_settings("square")
        assert isinstance(found, SquareSettings)
        return found


class _TokenSettings(_ProviderAccess):
    intents_table: str = Field(alias="INTENTS_TABLE", min_length=1)


def _queue_url(value: str | None) -> str | None:
    if value is not None and not value.startswith(("https://", "http://")):
        raise ValueError("must be a queue URL")
    return value


class _MayQueueCatalog(_Settings):
    # Optional so a stack deployed without the catalog job still does everything else: the API
    # answers that catalog sync is not configured, the sweep has no parked catalog runs to resume.
    sync_catalog_queue_url: str | None = Field(alias="SYNC_CATALOG_QUEUE_URL", default=None)

    @field_validator("sync_catalog_queue_url")
    @classmethod
    def _catalog_queue(cls, value: str | None) -> str | None:
        return _queue_url(value)


class _EmbedFlag(_Settings):
    # The billing memory's feed (README "Billing memory"): off by default.
    rag_billing_embed_enabled: bool = Field(alias="RAG_BILLING_EMBED_ENABLED", default=False)


class _MayEmbedBilling(_EmbedFlag):
    """The billing memory's feed, off by default: on, a document's status change that embeds it
    is marked on its row and sent to EmbedBillingQueue."""

    embed_billing_queue_url: str | None = Field(alias="EMBED_BILLING_QUEUE_URL", default=None)

    @field_validator("embed_billing_queue_url")
    @classmethod
    def _embed_queue(cls, value: str | None) -> str | None:
        return _queue_url(value or None)

    @model_validator(mode="after")
    def _on_needs_its_queue(self) -> Self:
        if self.rag_billing_embed_enabled and self.embed_billing_queue_url is None:
            raise ValueError(
                "EMBED_BILLING_QUEUE_URL must name EmbedBillingQueue while RAG_BILLING_EMBED_ENABLED is on"
            )
        return self


class ApiSettings(_TokenSettings, _MayQueueCatalog, _MayEmbedBilling):
    oauth_states_table: str = Field(alias="OAUTH_STATES_TABLE", min_length=1)
    # The routes this function serves (booksync.api.app.ROUTERS): template.yaml gives ApiFunction
    # "core" and SetupApiFunction "setup" and routes their paths to match; "whole" serves all.
    api_part: ApiPart = Field(alias="API_PART", default="whole")
    public_api_base_url: str = Field(alias="PUBLIC_API_BASE_URL", min_length=1)
    app_return_url: str | None = Field(alias="APP_RETURN_URL", default=None)
    # Square payments kept by the webhook consumer (GET /square/payments/unmatched, match).
    square_activity_table: str | None = Field(alias="SQUARE_ACTIVITY_TABLE", default=None)
    # Square payouts and their deposits (GET /payouts); retries go to the payout deposit queue.
    payouts_table: str | None = Field(alias="PAYOUTS_TABLE", default=None)
    payout_deposit_queue_url: str | None = Field(alias="PAYOUT_DEPOSIT_QUEUE_URL", default=None)
    # The post-connection wizard's customer classifier (README "Post-connection wizard"):
    # "rules" (default) or "llm", an OpenAI-compatible chat-completions endpoint.
    customer_classifier: Literal["rules", "llm"] = Field(alias="CUSTOMER_CLASSIFIER", default="rules")
    classifier_llm_url: str | None = Field(alias="CLASSIFIER_LLM_URL", default=None)
    classifier_llm_model: str | None = Field(alias="CLASSIFIER_LLM_MODEL", default=None)
    classifier_llm_api_key_param: str | None = Field(alias="CLASSIFIER_LLM_API_KEY_PARAM", default=None)
    classifier_llm_api_key: str | None = Field(alias="CLASSIFIER_LLM_API_KEY", default=None, repr=False)
    classifier_llm_timeout_seconds: float = Field(
        alias="CLASSIFIER_LLM_TIMEOUT_SECONDS", default=8.0, gt=0, le=25
    )
    # The billing memory's routes (booksync/api/memory.py) read MemoryTable; unset, they answer
    # that the memory is not configured.
    memory_table: str | None = Field(alias="MEMORY_TABLE", default=None)
    # POST /memory/ask: "composed" (default), an answer booksync composes from the records found
    # and their price facts; "llm", the model at the endpoint above answers from them (the one
    # language-model endpoint of the deployment, booksync/chat.py).
    memory_answers: Literal["composed", "llm"] = Field(alias="MEMORY_ANSWERS", default="composed")

    @model_validator(mode="after")
    def _llm_needs_its_endpoint(self) -> Self:
        if "llm" in (self.customer_classifier, self.memory_answers):
            require_credential("CLASSIFIER_LLM_URL", self.classifier_llm_url)
            require_credential("CLASSIFIER_LLM_MODEL", self.classifier_llm_model)
        return self

    def classifier_api_key(self) -> str | None:
        """The model endpoint's key: SSM (CLASSIFIER_LLM_API_KEY_PARAM) or CLASSIFIER_LLM_API_KEY."""
        if self.classifier_llm_api_key or not self.classifier_llm_api_key_param:
            return self.classifier_llm_api_key
        from aws_lambda_powertools.utilities.parameters import get_parameter

        return str(get_parameter(self.classifier_llm_api_key_param, decrypt=True, max_age=300))

    def chat_model(self) -> ChatModel:
        """The language model the classifier and the memory's answers ask (CLASSIFIER_LLM_*)."""
        from booksync.chat import ChatModel

        return ChatModel(
            url=str(self.classifier_llm_url),
            model=str(self.classifier_llm_model),
            api_key=self.classifier_api_key,
            timeout_seconds=self.classifier_llm_timeout_seconds,
        )

    @field_validator("app_return_url")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None

    def redirect_uri(self, provider: str) -> str:
        return f"{self.public_api_base_url.rstrip('/')}/oauth/{provider}/callback"


class SyncWorkerSettings(_TokenSettings):
    idempotency_table: str = Field(alias="IDEMPOTENCY_TABLE", min_length=1)


class CatalogWorkerSettings(_TokenSettings):
    sync_catalog_queue_url: str = Field(alias="SYNC_CATALOG_QUEUE_URL", min_length=1)

    @field_validator("sync_catalog_queue_url")
    @classmethod
    def _catalog_queue(cls, value: str) -> str:
        return str(_queue_url(value))


class SchedulerSettings(_ProviderAccess, _MayQueueCatalog, _MayEmbedBilling):
    sweep_grace_seconds: int = Field(alias="SWEEP_GRACE_SECONDS", default=60, ge=0)
    # A document's embed mark older than this lost its message (or its send): queued again. Longer
    # than a message takes through its receives at the queue's pace.
    embed_sweep_grace_seconds: int = Field(alias="EMBED_SWEEP_GRACE_SECONDS", default=900, ge=0)
    # Warn admins when a refresh token will lapse within this many days (Intuit's 100-day roll,
    # or the 5-year hard cap that keep-alive refreshes cannot extend).
    refresh_expiry_warning_days: int = Field(alias="REFRESH_EXPIRY_WARNING_DAYS", default=14, ge=1)
    # Waiting Square payouts are sent back to the payout deposit job by the sweep (both or neither).
    payouts_table: str | None = Field(alias="PAYOUTS_TABLE", default=None)
    payout_deposit_queue_url: str | None = Field(alias="PAYOUT_DEPOSIT_QUEUE_URL", default=None)


class QuickBooksWebhookSettings(_Settings):
    """POST /webhooks/quickbooks: only what verifying and queueing a delivery needs."""

    stage: Stage = Field(alias="STAGE", default="dev")
    queue_url: str = Field(alias="QBO_WEBHOOK_QUEUE_URL", min_length=1)
    # The SSM SecureString holding the Intuit app's webhook Verifier Token; locally the token
    # itself may be given instead. Checked per request (503 in prod when unusable), not here, so
    # a missing token is answered in words rather than by a function that cannot start.
    verifier_param: str | None = Field(alias="QBO_WEBHOOK_VERIFIER_PARAM", default=None)
    verifier_token: str | None = Field(alias="QBO_WEBHOOK_VERIFIER_TOKEN", default=None, repr=False)

    @property
    def is_prod(self) -> bool:
        return self.stage == "prod"


class ThinEventsSettings(_TokenSettings):
    """The consumer of a provider's events queue whose events are thin (Xero, FreshBooks: a
    record's type and id): it reads each record booksync links through the provider's adapter, so
    it decrypts the company's tokens (TOKEN_KEY_ID, the provider's OAuth settings) and shares the
    rate limiter (INTENTS_TABLE)."""

    webhook_events_table: str = Field(alias="WEBHOOK_EVENTS_TABLE", min_length=1)


class WebhookSecretsSettings(_Settings):
    """A receiver whose provider signs each connection's deliveries with its own secret (FreshBooks'
    callback verifier): the secret is on the connection row, sealed with the token key."""

    stage: Stage = Field(alias="STAGE", default="dev")
    queue_url: str = Field(alias="WEBHOOK_QUEUE_URL", min_length=1)
    connections_table: str = Field(alias="CONNECTIONS_TABLE", min_length=1)
    token_key_id: str = Field(alias="TOKEN_KEY_ID", min_length=1)

    @property
    def is_prod(self) -> bool:
        return self.stage == "prod"


class QuickBooksEventsSettings(_Settings):
    """The consumer of QuickBooksEventsQueue: dedupes, finds the company, marks documents."""

    stage: Stage = Field(alias="STAGE", default="dev")
    connections_table: str = Field(alias="CONNECTIONS_TABLE", min_length=1)
    documents_table: str = Field(alias="DOCUMENTS_TABLE", min_length=1)
    sync_runs_table: str = Field(alias="SYNC_RUNS_TABLE", min_length=1)
    webhook_events_table: str = Field(alias="WEBHOOK_EVENTS_TABLE", min_length=1)


class SquareSettings(_Settings):
    """The Square app (OAuth and API). The secret lives in SSM; locally it may be a variable."""

    application_id: str | None = Field(alias="SQUARE_APPLICATION_ID", default=None)
    application_secret_param: str | None = Field(alias="SQUARE_APPLICATION_SECRET_PARAM", default=None)
    application_secret_value: str | None = Field(alias="SQUARE_APPLICATION_SECRET", default=None, repr=False)
    api_base_url: str = Field(alias="SQUARE_API_BASE_URL", default="https://connect.squareup.com")
    square_version: str = Field(alias="SQUARE_VERSION", default="2025-08-20", pattern=r"^\d{4}-\d{2}-\d{2}$")
    # "code" (default: Square's flow for server-side apps, multi-use refresh token) or "pkce"
    # (single-use refresh tokens that last 90 days; README "Settings" says when it is worth it).
    oauth_flow: Literal["code", "pkce"] = Field(alias="SQUARE_OAUTH_FLOW", default="code")

    @property
    def uses_pkce(self) -> bool:
        return self.oauth_flow == "pkce"

    def credentials(self) -> tuple[str, str]:
        """The application id and secret, refused when unset or placeholders."""
        app_id = require_credential("SQUARE_APPLICATION_ID", self.application_id)
        secret = secret_credential(
            "SQUARE_APPLICATION_SECRET",
            self.application_secret_value,
            "SQUARE_APPLICATION_SECRET_PARAM",
            self.application_secret_param,
            holds="the Square application's secret",
        )
        return app_id, secret


class XeroSettings(_Settings):
    """The Xero app (``providers/xero/declaration.py``). The secret lives in SSM; locally it may be
    a variable."""

    client_id: str | None = Field(alias="XERO_CLIENT_ID", default=None)
    client_secret_param: str | None = Field(alias="XERO_CLIENT_SECRET_PARAM", default=None)
    client_secret_value: str | None = Field(alias="XERO_CLIENT_SECRET", default=None, repr=False)
    auth_url: str = Field(alias="XERO_AUTH_URL", default="https://login.xero.com/identity/connect/authorize")
    token_url: str = Field(alias="XERO_TOKEN_URL", default="https://identity.xero.com/connect/token")
    revoke_url: str = Field(alias="XERO_REVOKE_URL", default="https://identity.xero.com/connect/revocation")
    connections_url: str = Field(alias="XERO_CONNECTIONS_URL", default="https://api.xero.com/connections")
    api_base_url: str = Field(alias="XERO_API_BASE_URL", default="https://api.xero.com/api.xro/2.0")
    # The Accounting API calls Xero allows a tenant a day, by the app's tier since 2026-03-02:
    # 1,000 (Starter) or 5,000 (Core and above) (providers.md 7.1).
    day_limit: int = Field(alias="XERO_DAY_LIMIT", default=5000)
    # The TaxType of a taxable line on an invoice that bears tax (booksync's tax amount is sent
    # with it): the organisation's sales tax rate in Xero.
    sales_tax_type: str = Field(alias="XERO_SALES_TAX_TYPE", default="OUTPUT", min_length=1)
    # Space-separated; apps created since 2026-03-02 must ask for granular scopes (providers.md 7.1).
    scopes: str = Field(
        alias="XERO_SCOPES",
        default="offline_access accounting.contacts accounting.invoices accounting.payments "
        "accounting.settings",
    )
    # "code" (the app authenticates with its secret) or "pkce" (S256; a PKCE app may have no secret).
    oauth_flow: Literal["code", "pkce"] = Field(alias="XERO_OAUTH_FLOW", default="code")

    @field_validator("day_limit")
    @classmethod
    def _tier(cls, value: int) -> int:
        if value not in (1000, 5000):
            raise ValueError("must be 1000 (a Starter app) or 5000 (Core and above)")
        return value

    @property
    def uses_pkce(self) -> bool:
        return self.oauth_flow == "pkce"

    @property
    def scope_list(self) -> tuple[str, ...]:
        return tuple(self.scopes.split())

    def credentials(self) -> tuple[str, str | None]:
        """The client id and secret, refused when unset or placeholders (the secret may be absent
        in the PKCE flow)."""
        client_id = require_credential("XERO_CLIENT_ID", self.client_id)
        if self.uses_pkce and self.client_secret_value is None and not self.client_secret_param:
            return client_id, None
        secret = secret_credential(
            "XERO_CLIENT_SECRET",
            self.client_secret_value,
            "XERO_CLIENT_SECRET_PARAM",
            self.client_secret_param,
            holds="the Xero app's client secret",
        )
        return client_id, secret


class FreshBooksSettings(_Settings):
    """The FreshBooks app (``providers/freshbooks/declaration.py``). The secret lives in SSM;
    locally it may be a variable."""

    client_id: str | None = Field(alias="FRESHBOOKS_CLIENT_ID", default=None)
    client_secret_param: str | None = Field(alias="FRESHBOOKS_CLIENT_SECRET_PARAM", default=None)
    client_secret_value: str | None = Field(alias="FRESHBOOKS_CLIENT_SECRET", default=None, repr=False)
    auth_url: str = Field(alias="FRESHBOOKS_AUTH_URL", default="https://auth.freshbooks.com/oauth/authorize")
    token_url: str = Field(
        alias="FRESHBOOKS_TOKEN_URL", default="https://api.freshbooks.com/auth/oauth/token"
    )
    revoke_url: str = Field(
        alias="FRESHBOOKS_REVOKE_URL", default="https://api.freshbooks.com/auth/oauth/revoke"
    )
    # Identity (/auth/api/v1/users/me) and the accounting resources live under this root.
    api_base_url: str = Field(alias="FRESHBOOKS_API_BASE_URL", default="https://api.freshbooks.com")
    # FreshBooks publishes no rate limits (providers.md 3.5, 7.2): booksync keeps its requests to
    # one business modest, and honours a 429's Retry-After.
    max_concurrent: int = Field(alias="FRESHBOOKS_MAX_CONCURRENT", default=2, ge=1, le=10)
    requests_per_minute: int = Field(alias="FRESHBOOKS_REQUESTS_PER_MINUTE", default=120, ge=1, le=1000)
    # Space-separated ``user:<object>:<read|write>``; empty: the scopes registered for the app.
    scopes: str = Field(
        alias="FRESHBOOKS_SCOPES",
        default="user:profile:read user:clients:read user:clients:write user:billable_items:read "
        "user:billable_items:write user:invoices:read user:invoices:write user:payments:read "
        "user:payments:write user:credit_notes:read user:credit_notes:write user:taxes:read",
    )

    @property
    def scope_list(self) -> tuple[str, ...]:
        return tuple(self.scopes.split())

    def credentials(self) -> tuple[str, str]:
        """The client id and secret, refused when unset or placeholders."""
        client_id = require_credential("FRESHBOOKS_CLIENT_ID", self.client_id)
        secret = secret_credential(
            "FRESHBOOKS_CLIENT_SECRET",
            self.client_secret_value,
            "FRESHBOOKS_CLIENT_SECRET_PARAM",
            self.client_secret_param,
            holds="the FreshBooks app's client secret",
        )
        return client_id, secret


class WaveSettings(_Settings):
    """The Wave app (``providers/wave/``). The secret lives in SSM; locally it may be a variable."""

    client_id: str | None = Field(alias="WAVE_CLIENT_ID", default=None)
    client_secret_param: str | None = Field(alias="WAVE_CLIENT_SECRET_PARAM", default=None)
    client_secret_value: str | None = Field(alias="WAVE_CLIENT_SECRET", default=None, repr=False)
    auth_url: str = Field(alias="WAVE_AUTH_URL", default="https://api.waveapps.com/oauth2/authorize/")
    # The trailing slash is Wave's (providers.md 4).
    token_url: str = Field(alias="WAVE_TOKEN_URL", default="https://api.waveapps.com/oauth2/token/")
    graphql_url: str = Field(alias="WAVE_GRAPHQL_URL", default="https://gql.waveapps.com/graphql/public")
    # Space-separated ``resource:operation`` scopes; write does not imply read (providers.md 4, 7.3).
    scopes: str = Field(
        alias="WAVE_SCOPES",
        default="user:read business:read account:read customer:read customer:write product:read "
        "product:write invoice:read invoice:write sales_tax:read transaction:read transaction:write",
    )
    # Requests in flight at once per business: Wave publishes no limits and answers 429 from about
    # two at once (providers.md 7.3), so one by default.
    max_concurrent: int = Field(alias="WAVE_MAX_CONCURRENT", default=1, ge=1, le=10)

    @field_validator("scopes")
    @classmethod
    def _resource_operation(cls, value: str) -> str:
        odd = [
            scope
            for scope in value.split()
            if not re.fullmatch(r"offline_access|[a-z_]+:(read|write|send|\*)", scope)
        ]
        if odd or not value.split():
            raise ValueError(
                "must be Wave's resource:operation scopes, space-separated (e.g. business:read "
                f"invoice:write){'; not ' + ', '.join(odd) if odd else ''}"
            )
        return value

    @property
    def scope_list(self) -> tuple[str, ...]:
        return tuple(self.scopes.split())

    def credentials(self) -> tuple[str, str]:
        """The client id and secret, refused when unset or placeholders."""
        client_id = require_credential("WAVE_CLIENT_ID", self.client_id)
        secret = secret_credential(
            "WAVE_CLIENT_SECRET",
            self.client_secret_value,
            "WAVE_CLIENT_SECRET_PARAM",
            self.client_secret_param,
            holds="the Wave app's client secret",
        )
        return client_id, secret


class SquareWebhookSettings(_Settings):
    """POST /webhooks/square: only what verifying and queueing a delivery needs."""

    stage: Stage = Field(alias="STAGE", default="dev")
    queue_url: str = Field(alias="SQUARE_EVENTS_QUEUE_URL", min_length=1)
    # Square signs notification URL + body: the URL must equal the subscription's byte for byte.
    notification_url: str | None = Field(alias="SQUARE_WEBHOOK_NOTIFICATION_URL", default=None)
    # The SSM SecureString holding the subscription's signature key; locally the key itself.
    # Checked per request (503 in prod when unusable), not here, so the answer says what is missing.
    signature_key_param: str | None = Field(alias="SQUARE_WEBHOOK_SIGNATURE_KEY_PARAM", default=None)
    signature_key: str | None = Field(alias="SQUARE_WEBHOOK_SIGNATURE_KEY", default=None, repr=False)

    @property
    def is_prod(self) -> bool:
        return self.stage == "prod"


class SquareEventsSettings(CommonSettings, _MayEmbedBilling):
    """The consumer of SquareEventsQueue: dedupes, records payments and refunds, hands payouts on."""

    webhook_events_table: str = Field(alias="WEBHOOK_EVENTS_TABLE", min_length=1)
    square_activity_table: str = Field(alias="SQUARE_ACTIVITY_TABLE", min_length=1)
    # The payout-deposit job's queue (owned by the payout deposit function).
    payout_deposit_queue_url: str | None = Field(alias="PAYOUT_DEPOSIT_QUEUE_URL", default=None)

    @field_validator("payout_deposit_queue_url")
    @classmethod
    def _payout_queue(cls, value: str | None) -> str | None:
        return _queue_url(value or None)


class PayoutDepositSettings(_TokenSettings):
    """PayoutDepositFunction: Square payouts become QuickBooks deposits (booksync/payouts/)."""

    payouts_table: str = Field(alias="PAYOUTS_TABLE", min_length=1)
    # A payout still waiting (for a payment, a setting, a reconnection) this long notifies admins.
    payout_wait_grace_hours: float = Field(alias="PAYOUT_WAIT_GRACE_HOURS", default=24, ge=0)


# The dimensions Voyage's current models offer (``output_dimension``, providers.md 7.4).
VOYAGE_DIMENSIONS = (256, 512, 1024, 2048)


class VoyageSettings(_Settings):
    """Voyage AI embeddings for the billing memory (``memory/voyage.py``). The API key lives in an
    SSM SecureString named by VOYAGE_API_KEY_PARAM; locally VOYAGE_API_KEY may carry it. Neither
    named: no Voyage (the local embedder serves)."""

    api_key_param: str | None = Field(alias="VOYAGE_API_KEY_PARAM", default=None)
    api_key_value: str | None = Field(alias="VOYAGE_API_KEY", default=None, repr=False)
    # voyage-4-lite: $0.02 per million tokens, 1M tokens per request (providers.md 7.4).
    model: str = Field(alias="VOYAGE_MODEL", default="voyage-4-lite", pattern=r"^voyage-[a-z0-9.-]+$")
    output_dimension: int = Field(alias="VOYAGE_OUTPUT_DIMENSION", default=1024)
    api_base_url: str = Field(alias="VOYAGE_API_BASE_URL", default="https://api.voyageai.com/v1")

    @field_validator("output_dimension")
    @classmethod
    def _offered(cls, value: int) -> int:
        if value not in VOYAGE_DIMENSIONS:
            raise ValueError(f"must be one Voyage offers: {', '.join(map(str, VOYAGE_DIMENSIONS))}")
        return value

    @field_validator("api_key_param")
    @classmethod
    def _blank_param(cls, value: str | None) -> str | None:
        # A template parameter left empty names no parameter.
        return value.strip() or None if value is not None else None

    @model_validator(mode="after")
    def _key_in_variable(self) -> Self:
        # A key given in the environment is checked at cold start; one in SSM on first use.
        if self.api_key_value is not None:
            require_credential("VOYAGE_API_KEY", self.api_key_value)
        return self

    @property
    def key_named(self) -> bool:
        """Whether a Voyage key is configured at all (else the local embedder serves)."""
        return self.api_key_value is not None or self.api_key_param is not None

    @property
    def key_source(self) -> str:
        """Where the key is read from, for messages that say how to fix it."""
        if self.api_key_value is not None or self.api_key_param is None:
            return "the variable VOYAGE_API_KEY"
        return f"the SSM SecureString {self.api_key_param} (VOYAGE_API_KEY_PARAM)"

    def api_key(self) -> str:
        """The key, refused by name when unset, unreadable or a placeholder."""
        return secret_credential(
            "VOYAGE_API_KEY",
            self.api_key_value,
            "VOYAGE_API_KEY_PARAM",
            self.api_key_param,
            holds="a Voyage AI API key (dash.voyageai.com > API keys)",
        )


# A vector bucket's name (S3 Vectors' naming rules: 3-63 lowercase letters, digits and hyphens,
# starting and ending with a letter or digit).
_VECTOR_BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")


class VectorStoreSettings(_Settings):
    """Where the billing memory keeps its vectors (``memory/choice.py``): ``dynamodb`` (the
    default: MemoryTable), ``s3vectors`` (every company in Amazon S3 Vectors, one index each) or
    ``auto`` (DynamoDB until a company holds MEMORY_S3VECTORS_MOVE_AT vectors, then S3 Vectors).
    The two last need MEMORY_S3VECTORS_BUCKET, an existing vector bucket."""

    store: Literal["dynamodb", "s3vectors", "auto"] = Field(alias="MEMORY_VECTOR_STORE", default="dynamodb")
    s3vectors_bucket: str | None = Field(alias="MEMORY_S3VECTORS_BUCKET", default=None)
    s3vectors_move_at: int = Field(alias="MEMORY_S3VECTORS_MOVE_AT", default=10_000, ge=1)
    # Locally and in tests: the S3 Vectors stand-in (local/sandboxes/s3vectors/). Unset: AWS's.
    s3vectors_endpoint_url: str | None = Field(alias="MEMORY_S3VECTORS_ENDPOINT_URL", default=None)

    @field_validator("s3vectors_bucket", "s3vectors_endpoint_url")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        # A template parameter left empty names nothing.
        return value.strip() or None if value is not None else None

    @field_validator("s3vectors_bucket")
    @classmethod
    def _bucket_name(cls, value: str | None) -> str | None:
        if value is not None and not _VECTOR_BUCKET.match(value):
            raise ValueError(
                "is not a vector bucket name (3 to 63 lowercase letters, digits and hyphens, "
                f"starting and ending with a letter or digit): {value!r}"
            )
        return value

    @model_validator(mode="after")
    def _bucket_when_s3vectors(self) -> Self:
        if self.store != "dynamodb" and self.s3vectors_bucket is None:
            raise ValueError(
                f"MEMORY_VECTOR_STORE={self.store} needs MEMORY_S3VECTORS_BUCKET, the vector bucket's name "
                "(template parameter MemoryVectorBucketName); or set MEMORY_VECTOR_STORE=dynamodb"
            )
        return self


class EmbedBillingSettings(_EmbedFlag):
    """EmbedBillingFunction: embeds the documents EmbedBillingQueue names into the company's
    billing memory (MemoryTable); Voyage when its key is named (VoyageSettings), else the local
    embedder. Off (RAG_BILLING_EMBED_ENABLED), a message embeds nothing."""

    stage: Stage = Field(alias="STAGE", default="dev")
    documents_table: str = Field(alias="DOCUMENTS_TABLE", min_length=1)
    memory_table: str = Field(alias="MEMORY_TABLE", min_length=1)
