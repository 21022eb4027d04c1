"""SchedulerFunction: the five-minute sweep (EventBridge schedule)."""

from functools import cache
from typing import TYPE_CHECKING, Any, Literal

from aws_lambda_powertools import Logger
from booksync.settings import SchedulerSettings
from booksync.wiring import sweep
from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from booksync.sync.sweep import Sweep

logger = Logger()
SETTINGS = SchedulerSettings.from_env()  # validated at cold start


class ScheduledTask(BaseModel):
    """The schedule's Input (template.yaml); extra EventBridge fields are ignored."""

    model_config = ConfigDict(extra="ignore")
    task: Literal["sweep"]


@cache
def sweeper() -> "Sweep":
    return sweep(SETTINGS)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    task = ScheduledTask.model_validate(event)
    report = sweeper().run()
    result = {
        "task": task.task,
        "queued": report.queued,
        "parked": report.parked,
        "skipped_auto_sync_off": report.skipped_auto_sync_off,
        "companies": len(report.companies),
    }
    logger.info("sweep done", extra=result)
    return result
