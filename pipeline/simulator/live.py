"""Live mode: new `waiting` jobs keep arriving and pending jobs move on while a crawl runs."""

from __future__ import annotations

import asyncio
import random
import time

from pipeline.simulator.config import SimulatorConfig
from pipeline.simulator.dataset import Dataset, apply_job_faults
from pipeline.simulator.records import Job, Repo, encode_inner
from pipeline.simulator.stats import Stats

_ADVANCE_CHANCE = 0.3
_OUTCOMES = (("success", 0.8), ("failed", 0.92), ("timeout", 1.0))


class LiveClock:
    """Each `tick(now_us)` creates up to two jobs and advances pending ones (waiting → running → final)."""

    def __init__(self, config: SimulatorConfig, data: Dataset, stats: Stats) -> None:
        self.config = config
        self.data = data
        self.stats = stats
        self.rng = random.Random(f"{config.seed}/live")

    def tick_now(self) -> None:
        """Advance the world to the wall clock's now."""
        self.tick(time.time_ns() // 1000)

    def tick(self, now_us: int) -> None:
        """Advance the world to `now_us`."""
        rng = self.rng
        still_active = []
        for job in self.data.active:
            if rng.random() < _ADVANCE_CHANCE:
                self._advance(job, now_us)
            if job.status in ("waiting", "running"):
                still_active.append(job)
        self.data.active = still_active
        if self.data.repos:
            for _ in range(rng.randint(0, 2)):
                self._create(rng.choice(self.data.repos), now_us)

    def _advance(self, job: Job, now_us: int) -> None:
        if job.status == "waiting":
            job.status = "running"
        else:
            u = self.rng.random()
            job.status = next(name for name, edge in _OUTCOMES if u < edge)
        job.updated_us = max(now_us, job.updated_us)
        job.repo.raws[job.index] = encode_inner([job])[0]
        self.stats.live_advanced += 1

    def _create(self, repo: Repo, now_us: int) -> None:
        data, rng = self.data, self.rng
        # Ids grow with creation time; createdAt never goes below the repository's newest job.
        created = max(now_us, repo.jobs[-1].created_us) if repo.jobs else now_us
        op_id, op_name = rng.choice(data.operators)
        job = Job(data.next_id, repo, len(repo.jobs), f"v{rng.randint(0, 3)}.{rng.randint(0, 20)}.0",
                  "waiting", rng.random() < 0.3, rng.choice(data.regions), repo.namespace,
                  op_id, op_name, created, created)  # fmt: skip
        data.next_id += 1 + rng.randint(0, 8)
        apply_job_faults(self.config, job)
        repo.jobs.append(job)
        repo.raws.append(encode_inner([job])[0])
        if job.status == "waiting":
            data.active.append(job)
        self.stats.live_created += 1


class LiveRunner:
    """Runs the live clock as a task of the server's event loop."""

    def __init__(self, clock: LiveClock) -> None:
        self.clock = clock
        self.task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    def start(self) -> None:
        """Start ticking every --live-interval-ms (no-op when already running)."""
        if not self.running:
            self.task = asyncio.get_running_loop().create_task(self._run())

    def stop(self) -> None:
        """Stop ticking: the data stays as it is now."""
        if self.task is not None:
            self.task.cancel()
            self.task = None

    async def _run(self) -> None:
        interval = self.clock.config.live_interval_ms / 1000.0
        while True:
            await asyncio.sleep(interval)
            self.clock.tick_now()
