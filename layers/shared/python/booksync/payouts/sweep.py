"""The sweep's share of payouts: every waiting payout goes back to the payout deposit queue.

The message is the one the Square webhook consumer sends, rebuilt from the payout row (its
last Square object), so the job treats a retry exactly as a redelivery.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from booksync.queues import SqsQueue
from booksync.store.models import PayoutModel
from booksync.store.payouts import PayoutRepository

EVENT_OF_STATUS = {"FAILED": "payout.failed", "PAID": "payout.paid"}


def retry_message(row: PayoutModel, *, now: float) -> dict[str, Any]:
    payout = dict(row.payout or {})
    return {
        "company_id": row.company_id,
        "merchant_id": row.merchant_id or "unknown",
        "payout_id": row.payout_id,
        "event_type": EVENT_OF_STATUS.get(str(row.square_status), "payout.sent"),
        "event_id": f"sweep-{int(now)}-{row.payout_id}",
        "payout": payout,
    }


class SqsPayoutQueue(SqsQueue):
    def send(self, message: dict[str, Any]) -> None:
        self.sqs.send_message(QueueUrl=self._url, MessageBody=json.dumps(message))


class PayoutSweep:
    def __init__(
        self,
        *,
        payouts: PayoutRepository,
        send: Callable[[dict[str, Any]], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._payouts = payouts
        self._send = send
        self._clock = clock

    def run(self) -> int:
        """Queue every waiting payout once; returns how many."""
        now = self._clock()
        sent = 0
        for row in self._payouts.waiting():
            self._send(retry_message(row, now=now))
            sent += 1
        return sent
