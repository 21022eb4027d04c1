"""SyncCatalogFunction: consumes SyncCatalogQueue (one job per invocation), reporting partial failures.

A job runs until shortly before the invocation's deadline, then saves its cursor and queues its
next step itself; the message it came in on is then done.
"""

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from booksync.batches import SqsBatch
from booksync.logs import route_library_logs
from booksync.observability import metrics
from booksync.settings import CatalogWorkerSettings
from booksync.sync.catalog_jobs import parse_catalog_job
from booksync.wiring import sync_catalog

if TYPE_CHECKING:
    from booksync.sync.catalog import CatalogSync

logger = Logger()
route_library_logs(logger)  # booksync's own log lines carry their context too
SETTINGS = CatalogWorkerSettings.from_env()  # validated at cold start
processor = SqsBatch(logger)  # each failed message is logged once (booksync/batches.py)


@cache
def engine() -> tuple["CatalogSync", Callable[[Any], None]]:
    return sync_catalog(SETTINGS)


@logger.inject_lambda_context
@metrics.log_metrics  # this invocation's metrics, one EMF line on stdout
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    engine()[1](context)

    def record_handler(record: SQSRecord) -> dict[str, Any]:
        job = parse_catalog_job(record.body)
        report = engine()[0].run(job, lambda: context.get_remaining_time_in_millis() / 1000)
        result = {"run_id": report.run_id, "status": report.status, "counts": dict(report.counts)}
        logger.info("catalog job step done", extra=result)
        return result

    response: dict[str, Any] = dict(
        process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    )
    return response
