"""The tasks that watch a run while it goes: its heartbeat in crawl_runs, its progress display or events.

The run starts them once its row is open and stops them (cancelled and awaited) before it closes the row.
"""

from __future__ import annotations

import asyncio

from pipeline import heartbeat
from pipeline.domain import RunStats
from pipeline.progress import report_progress
from pipeline.settings import Settings
from pipeline.store import Store


def start_monitors(
    settings: Settings, store: Store, run_id: int, stats: RunStats
) -> list[asyncio.Task[None]]:
    """Start the heartbeat and the progress report of run ``run_id``."""
    every = settings.monitoring
    return [
        asyncio.create_task(heartbeat.beat(store, run_id, stats, every.heartbeat_interval), name="heartbeat"),
        asyncio.create_task(
            report_progress(stats, len(settings.sources), every.progress_interval), name="progress"
        ),
    ]


async def stop_monitors(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel the monitors and wait until they are gone (the progress display draws its last figures)."""
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
