"""`running_simulator`: serve a simulator on a TCP port for the length of an `async with` block."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from pipeline.simulator.app import build_app
from pipeline.simulator.config import SimulatorConfig
from pipeline.simulator.live import LiveRunner
from pipeline.simulator.records import CorruptedRecord
from pipeline.simulator.state import SimulatorState

_FREEZE_FROM_JOBS = 20_000


class SimulatorHandle:
    """A running simulator: its base URL, its state and the views tests and benchmarks read."""

    def __init__(self, url: str, state: SimulatorState, live: LiveRunner) -> None:
        self.url = url
        self.state = state
        self._live = live

    def ground_truth(self) -> list[dict[str, Any]]:
        """Every job as held now, in API JSON shape (corrupted records in their valid form)."""
        return self.state.ground_truth()

    def corrupted_records(self) -> list[CorruptedRecord]:
        """Which jobs are served corrupted: (namespace, repo, position, id, defect)."""
        return self.state.corrupted_records()

    def stats(self) -> dict[str, Any]:
        """Counters: requests per endpoint and status, peak in flight, faults, Retry-After violations."""
        return self.state.stats.snapshot()

    def reset_stats(self) -> None:
        """Zero the counters and forget fault occurrences and Retry-After deadlines."""
        self.state.reset_stats()

    def start_live(self) -> None:
        """Start (or keep running) the live clock."""
        self._live.start()

    def stop_live(self) -> None:
        """Stop the live clock: from now on the data stays as it is."""
        self._live.stop()

    def live_tick(self) -> None:
        """Advance live mode one step now (tests use it instead of waiting for the clock)."""
        self.state.live.tick_now()

    def change_old_statuses(self, count: int) -> list[tuple[int, str, str]]:
        """Flip the status of the oldest job of ``count`` repositories: (id, old, new) of each."""
        return self.state.change_old_statuses(count)

    def delete_oldest(self, per_repo: int) -> list[int]:
        """Delete the ``per_repo`` oldest jobs of every repository (retention): their ids."""
        return self.state.delete_oldest(per_repo)

    def broken_repositories(self) -> list[tuple[str, str]]:
        """Repositories whose sync_job always answers 500."""
        return self.state.broken_repositories()

    def lying_repositories(self) -> dict[tuple[str, str], str]:
        """Repositories whose Content-Range lies, with their mode."""
        return self.state.lying_repositories()

    def repositories(self) -> list[tuple[str, str]]:
        """Every (namespace, repository) with the real '/' in names."""
        return self.state.repositories()


@contextlib.asynccontextmanager
async def running_simulator(
    config: SimulatorConfig, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[SimulatorHandle]:
    """Build the dataset, listen on host:port (0: a free port), yield the handle, then shut down."""
    state = SimulatorState(config)
    # A big dataset lives as long as the server: keep the cyclic GC from walking it again and again.
    frozen = state.data.job_count() >= _FREEZE_FROM_JOBS
    if frozen:
        gc.collect()
        gc.freeze()
    live = LiveRunner(state.live)
    # handler_cancellation: a client that gives up on a slow answer frees its handler, so shutting
    # down never waits out --slow-ms.
    runner = web.AppRunner(
        build_app(state, live),
        access_log=None,
        handle_signals=False,
        handler_cancellation=True,
        shutdown_timeout=1.0,
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port, backlog=1024)
        await site.start()
        bound_port = runner.addresses[0][1]
        shown_host = f"[{host}]" if ":" in host else host
        if config.live:
            live.start()
        yield SimulatorHandle(f"http://{shown_host}:{bound_port}", state, live)
    finally:
        live.stop()
        await runner.cleanup()
        if frozen:
            gc.unfreeze()
