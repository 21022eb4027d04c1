"""EmbedBillingFunction: consumes EmbedBillingQueue, reporting partial batch failures."""

from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from booksync.batches import SqsBatch
from booksync.logs import route_library_logs
from booksync.observability import metrics
from booksync.settings import EmbedBillingSettings
from booksync.wiring import embed_worker

if TYPE_CHECKING:
    from booksync.memory.ingest import EmbedWorker

logger = Logger()
route_library_logs(logger)  # booksync's own log lines carry their context too
SETTINGS = EmbedBillingSettings.from_env()  # validated at cold start
processor = SqsBatch(logger)  # each failed message is logged once (booksync/batches.py)


@cache
def worker() -> "EmbedWorker":
    return embed_worker(SETTINGS)


def record_handler(record: SQSRecord) -> int:
    return worker().handle(record.body)


@logger.inject_lambda_context
@metrics.log_metrics  # this invocation's metrics, one EMF line on stdout
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    response: dict[str, Any] = dict(
        process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    )
    return response
