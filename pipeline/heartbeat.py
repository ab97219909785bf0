"""The run's heartbeat: its counters written to crawl_runs every few seconds while it goes.

A pod killed by OOM or SIGKILL then leaves a row that says how far it got, and a heartbeat that stops:
the next run (of any configuration) closes a run whose heartbeat is older than STALE_BEATS of its own
intervals (kept in crawl_runs.settings) as abandoned.
"""

from __future__ import annotations

import asyncio
import time

from pipeline.domain import RunStats
from pipeline.errors import DatabaseError
from pipeline.logs import get_logger
from pipeline.store import Store

log = get_logger(__name__)

# Missed beats before a running run counts as dead: a busy database may delay a few, not six.
STALE_BEATS = 6.0
# A write may take this long at most (never less than a second, however short the interval).
MIN_WRITE_TIMEOUT_S = 1.0


async def beat(store: Store, run_id: int, stats: RunStats, interval: float) -> None:
    """Until cancelled: write the counters every ``interval`` seconds; a failed write is logged, not raised.

    The writer reports a lost database and ends the run; the heartbeat only stays out of its way.
    """
    timeout = max(interval, MIN_WRITE_TIMEOUT_S)
    next_beat = time.monotonic()
    while True:
        next_beat += interval
        await asyncio.sleep(max(0.0, next_beat - time.monotonic()))
        try:
            async with asyncio.timeout(timeout):
                await store.heartbeat(run_id, stats)
        except (DatabaseError, TimeoutError) as exc:
            log.warning("heartbeat_failed", error=getattr(exc, "message", None) or "timed out")
        # After a slow write, beat again one interval later rather than catching up in a burst.
        next_beat = max(next_beat, time.monotonic())
