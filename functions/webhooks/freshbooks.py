"""FreshBooksWebhookFunction: POST /webhooks/freshbooks. Verify (each account's callbacks with
their own verifiers, read from its connection row and cached), enqueue, answer."""

from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from booksync.logs import route_library_logs
from booksync.settings import WebhookSecretsSettings
from booksync.webhooks.apigw import answered
from booksync.wiring import webhook_receiver

if TYPE_CHECKING:
    from booksync.webhooks.receiver import WebhookReceiver

PROVIDER = "freshbooks"
logger = Logger()
route_library_logs(logger)  # booksync's own log lines carry their context too
SETTINGS = WebhookSecretsSettings.from_env()  # validated at cold start


@cache
def receiver() -> "WebhookReceiver":
    return webhook_receiver(PROVIDER, SETTINGS)


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return answered(receiver(), event)
