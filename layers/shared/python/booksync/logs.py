"""The library's log records reach the function's Powertools Logger.

booksync's modules log with the standard library (``logging.getLogger(__name__)``) and their
context in ``extra``. Lambda's own log handler prints the message only, so ``sync failed`` would
reach CloudWatch without the document, company or reason. Each handler hands its Powertools
Logger to :func:`route_library_logs`, and every ``booksync.*`` record is then written as that
Logger writes: one JSON line with the ``extra`` keys, the Lambda context and the correlation id.
"""

from __future__ import annotations

import logging

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

LIBRARY = "booksync"


def route_library_logs(logger: Logger) -> None:
    # Registered even before any booksync module logs, so its children (created later, by the lazy
    # imports of the handlers' paths) propagate to the handler copied here.
    logging.getLogger(LIBRARY)
    copy_config_to_registered_loggers(source_logger=logger, include={LIBRARY})
