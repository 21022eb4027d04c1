"""QuickBooksWebhookFunction: POST /webhooks/quickbooks. Verify, enqueue, answer (no tables)."""

from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from booksync.logs import route_library_logs
from booksync.settings import QuickBooksWebhookSettings
from booksync.webhooks.apigw import header, raw_body, response
from booksync.wiring import quickbooks_webhook_receiver

if TYPE_CHECKING:
    from booksync.webhooks.quickbooks import QuickBooksWebhookReceiver

logger = Logger()
route_library_logs(logger)  # booksync's own log lines carry their context too
SETTINGS = QuickBooksWebhookSettings.from_env()  # validated at cold start


@cache
def receiver() -> "QuickBooksWebhookReceiver":
    return quickbooks_webhook_receiver(SETTINGS)


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    answer = receiver().receive(raw_body(event), header(event, receiver().texts.signature_header))
    return response(answer)
