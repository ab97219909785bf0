"""run_crawl in-process with several sources: one source's fatal failure ends the others' crawls too."""

from __future__ import annotations

import asyncio
from pathlib import Path

from pipeline.run import StopRequest, run_crawl
from pipeline.settings import load_settings
from pipeline.simulator import SimulatorConfig, running_simulator
from tests.e2e.helpers import sources_file

SLOW = SimulatorConfig(port=0, seed=5, namespaces=4, repos_per_namespace=10, latency_ms=40.0)
REFUSING = SimulatorConfig(port=0, seed=5, namespaces=1, repos_per_namespace=1)


def crawl_tasks() -> list[asyncio.Task[object]]:
    """Tasks of a source's crawl still alive."""
    return [t for t in asyncio.all_tasks() if t.get_coro().__qualname__ == "_crawl_source"]  # type: ignore[union-attr]


async def test_a_fatal_source_stops_the_other_sources(database_url: str, tmp_path: Path) -> None:
    async with running_simulator(SLOW) as slow, running_simulator(REFUSING) as refusing:
        regions = [(slow.url, "region-slow", SLOW.token), (refusing.url, "region-bad", "wrong-token")]
        config = sources_file(tmp_path / "regions.toml", *regions)
        settings = load_settings(config_path=str(config), env={"SWR_ETL_DATABASE_URL": database_url})
        outcome = await run_crawl(settings, StopRequest())
        assert outcome.status == "failed" and outcome.exit_code == 1
        assert "authentication failed" in (outcome.error or "")
        assert crawl_tasks() == []  # the slow source was stopped and awaited, not left running
        sent = slow.stats()["requests_total"]
        await asyncio.sleep(0.2)
        assert slow.stats()["requests_total"] == sent  # and sends nothing after the run ended
