"""PayoutDepositFunction: consumes PayoutDepositQueue (Square payouts), reporting partial batch failures."""

from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from booksync.batches import SqsBatch
from booksync.logs import route_library_logs
from booksync.observability import metrics
from booksync.providers.http import bind_lambda_deadline
from booksync.settings import PayoutDepositSettings
from booksync.wiring import payout_deposits

if TYPE_CHECKING:
    from booksync.payouts.deposits import PayoutDeposits

logger = Logger()
route_library_logs(logger)  # booksync's own log lines carry their context too
SETTINGS = PayoutDepositSettings.from_env()  # validated at cold start
processor = SqsBatch(logger)  # each failed message is logged once (booksync/batches.py)


@cache
def job() -> "PayoutDeposits":
    return payout_deposits(SETTINGS)


def record_handler(record: SQSRecord) -> dict[str, Any]:
    from booksync.payouts.deposits import parse_message  # with the store, on the first message

    # A malformed message raises InvalidRequest: it fails, returns, and after five receives
    # waits in the dead-letter queue (with an alarm) instead of being dropped.
    result = job().handle(parse_message(record.body)).to_json()
    logger.info("payout done", extra={"payout": result})
    return result


@logger.inject_lambda_context
@metrics.log_metrics  # this invocation's metrics, one EMF line on stdout
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    bind_lambda_deadline(context)  # provider calls and waits end before this invocation does
    response: dict[str, Any] = dict(
        process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    )
    return response
