"""A database holding demo data for the reporting tests: the simulator's jobs crawled by `swr-etl crawl`,
twice, with jobs moving on in between (so the status history has changes)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from pipeline.simulator import SimulatorConfig, running_simulator
from tests.e2e.helpers import run_cli, sim_env

# Anchored at the current time: recent jobs fall in a window ending now, and some are stuck.
DEMO = SimulatorConfig(port=0, seed=11, namespaces=4, repos_per_namespace=10, heavy_repos=1)


async def crawl_demo_data(database_url: str) -> None:
    """Crawl a small simulated tenant, anchored now, into `database_url` (migrated); then let recent jobs
    move on (waiting → running → a final status) and crawl again."""
    config = replace(DEMO, anchor=datetime.now(UTC).isoformat())
    async with running_simulator(config) as sim:
        for crawl in range(2):
            if crawl:
                for _ in range(20):
                    sim.live_tick()
            crawled = await run_cli("crawl", env=sim_env(sim, database_url))
            assert crawled.code == 0, crawled.stderr
