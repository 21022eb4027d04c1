"""SchedulerFunction: the five-minute sweep and the token keep-alive (EventBridge schedules)."""

from functools import cache
from typing import TYPE_CHECKING, Any, Literal

from aws_lambda_powertools import Logger
from booksync.logs import route_library_logs
from booksync.observability import metrics
from booksync.providers.http import bind_lambda_deadline
from booksync.settings import SchedulerSettings
from booksync.wiring import catalog_resumer, embed_sweep, keep_alive, payout_sweep, sweep
from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from booksync.memory.ingest import EmbedSweep
    from booksync.payouts.sweep import PayoutSweep
    from booksync.sync.catalog_jobs import CatalogRequests
    from booksync.sync.keepalive import KeepAlive
    from booksync.sync.sweep import Sweep

logger = Logger()
route_library_logs(logger)  # booksync's own log lines carry their context too
SETTINGS = SchedulerSettings.from_env()  # validated at cold start


class ScheduledTask(BaseModel):
    """The schedule's Input (template.yaml); extra EventBridge fields are ignored."""

    model_config = ConfigDict(extra="ignore")
    task: Literal["sweep", "keepalive"]


@cache
def sweeper() -> "Sweep":
    return sweep(SETTINGS)


@cache
def payouts() -> "PayoutSweep | None":
    return payout_sweep(SETTINGS)


@cache
def catalogs() -> "CatalogRequests | None":
    return catalog_resumer(SETTINGS)


@cache
def embeds() -> "EmbedSweep | None":
    return embed_sweep(SETTINGS)


@cache
def keeper() -> "KeepAlive":
    return keep_alive(SETTINGS)


@logger.inject_lambda_context
@metrics.log_metrics  # this invocation's metrics, one EMF line on stdout
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    bind_lambda_deadline(context)  # provider calls and waits end before this invocation does
    task = ScheduledTask.model_validate(event)
    result: dict[str, Any] = {"task": task.task}
    if task.task == "sweep":
        swept = sweeper().run()
        result |= {
            "queued": swept.queued,
            "parked": swept.parked,
            "skipped_auto_sync_off": swept.skipped_auto_sync_off,
            "companies": len(swept.companies),
        }
        waiting = payouts()
        if waiting is not None:
            result["payouts_retried"] = waiting.run()
        parked = catalogs()
        if parked is not None:
            result["catalog_runs_resumed"] = len(parked.resume_left_parked())
        lost = embeds()
        if lost is not None:  # the billing memory's feed is on
            result["embeds_requeued"] = lost.run()
    else:
        kept = keeper().run()
        result |= {
            "refreshed": kept.refreshed,
            "failed": kept.failed,
            "warned": kept.warned,
            "skipped": kept.skipped,
        }
    logger.info(f"{task.task} done", extra=result)
    return result
