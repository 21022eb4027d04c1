"""FreshBooksEventsFunction: consumes FreshBooksEventsQueue: a callback verification is sent back
to FreshBooks and its verifier kept; each linked record an event names is read through its adapter
(the company's tokens, the shared limiter). Reports partial batch failures."""

from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from booksync.batches import SqsBatch
from booksync.logs import route_library_logs
from booksync.providers.http import bind_lambda_deadline
from booksync.settings import ThinEventsSettings
from booksync.wiring import webhook_consumer

if TYPE_CHECKING:
    from booksync.providers.declaration import EventConsumer

PROVIDER = "freshbooks"
logger = Logger()
route_library_logs(logger)  # booksync's own log lines carry their context too
SETTINGS = ThinEventsSettings.from_env()  # validated at cold start
processor = SqsBatch(logger)  # each failed message is logged once (booksync/batches.py)


@cache
def events() -> "EventConsumer":
    return webhook_consumer(PROVIDER, SETTINGS)


def record_handler(record: SQSRecord) -> object:
    return events().handle_message(record.body)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    bind_lambda_deadline(context)  # FreshBooks reads and waits end before this invocation does
    answer = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    return dict(answer)
