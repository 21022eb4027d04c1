"""ApiFunction and SetupApiFunction: the management and ingestion API (FastAPI behind Mangum),
each serving the routes its API_PART names (template.yaml routes their paths to match)."""

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from booksync.api.app import ApiServices, create_app, lambda_adapter
from booksync.logs import route_library_logs
from booksync.observability import metrics
from booksync.providers.http import bind_lambda_deadline
from booksync.settings import ApiSettings
from booksync.wiring import api_services

logger = Logger()
route_library_logs(logger)  # booksync's own log lines carry their context too
SETTINGS = ApiSettings.from_env()  # validated at cold start


@cache
def services() -> ApiServices:
    return api_services(SETTINGS)


app = create_app(services, SETTINGS.api_part)
_asgi = lambda_adapter(app)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics  # this invocation's metrics, one EMF line on stdout
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    bind_lambda_deadline(context)  # provider calls and waits end before this invocation does
    response: dict[str, Any] = _asgi(event, context)
    return response
