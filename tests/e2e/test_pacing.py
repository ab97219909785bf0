"""API Gateway's rate learned with no setting: `swr-etl crawl` against the simulator's `--rate-limit`.

The simulator throttles each API with a token bucket holding one second of calls (429 APIGW.0308, no
Retry-After). A crawl that knows nothing of the limit pays once for finding it (the requests in flight when
the bucket first runs dry come back 429), then runs just under it. Wall-clock bounds carry headroom for a
loaded machine; bench/pacing.py measures the same precisely (README, Performance).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from pipeline.simulator import SimulatorHandle, running_simulator
from tests.e2e.helpers import REGION, assert_table_equals_truth, fetch, run_cli
from tests.e2e.resilience import DATASET, crawl_env, last_run
from tests.e2e.summary import Summary, summary_of

CONCURRENCY = 8  # requests in flight: the one-off cost of finding the limit, in 429s, is about this many
STARTUP_S = 1.0  # headroom (a loaded machine): the run's seconds hold its connections and schema check


async def crawl(sim: SimulatorHandle, database_url: str, page_size: int, **extra: str) -> tuple[Summary, Any]:
    """One `swr-etl crawl` against a full bucket; its summary and what the simulator counted."""
    sim.reset_stats()  # counters zeroed and every API's bucket full again, as after a quiet while
    env = crawl_env(sim, database_url, SWR_ETL_PAGE_SIZE=str(page_size), SWR_ETL_CONCURRENCY=str(CONCURRENCY))
    result = await run_cli("crawl", env={**env, **extra})
    assert result.code == 0, result.stderr
    return summary_of(result.stdout), sim.stats()


def bucket_minimum_s(stats: dict[str, Any], limit: float) -> float:
    """The token bucket's own minimum for the ShowSyncJob calls it granted: a second's worth is free."""
    granted = int(stats["requests_by_endpoint"]["sync_job"]) - int(stats["rate_limited"])
    return max(0.0, granted - limit) / limit


@pytest.mark.parametrize(("limit", "page_size"), [(50.0, 6), (100.0, 3), (200.0, 2)])
async def test_with_no_rate_setting_a_crawl_runs_at_the_gateways_limit_with_few_429s(
    database_url: str, limit: float, page_size: int
) -> None:
    async with running_simulator(dataclasses.replace(DATASET, rate_limit=limit)) as sim:
        truth = sim.ground_truth()
        summary, stats = await crawl(sim, database_url, page_size)

    await assert_table_equals_truth(database_url, REGION, truth)
    requests = stats["requests_total"]
    # Finding the limit costs the requests in flight when the bucket first ran dry, and a few more while
    # the first measure (which holds the bucket's burst) is refined; after that, <= 2%. (Before the pace,
    # the same crawls were refused 23-60% of their requests.)
    assert stats["rate_limited"] <= 2 * CONCURRENCY + 0.02 * requests, (stats["rate_limited"], requests)
    assert summary.seconds <= 1.1 * bucket_minimum_s(stats, limit) + STARTUP_S, summary
    assert summary.throttled == stats["rate_limited"]
    # Near the limit (a crawl of a second or two may end while its pace still comes down to it from above).
    assert summary.rate_learned is not None and 0.9 * limit <= summary.rate_learned <= 1.1 * limit
    run = await last_run(database_url)
    assert run["throttled"] == stats["rate_limited"] == run["requests"] - stats["responses_by_status"]["200"]
    assert (run["rate_learned"], round(run["rate_reached"], 1)) == (
        pytest.approx(summary.rate_learned, abs=0.05),
        summary.rate_reached,
    )


async def test_the_next_run_starts_at_the_learned_rate_and_a_quota_share_keeps_under_it(
    database_url: str,
) -> None:
    limit = 100.0
    async with running_simulator(dataclasses.replace(DATASET, rate_limit=limit)) as sim:
        truth = sim.ground_truth()
        first, first_stats = await crawl(sim, database_url, 5)
        remembered = await fetch(database_url, "SELECT source, api, rate, run_id FROM crawl_rates")
        second, second_stats = await crawl(sim, database_url, 5)
        shared, shared_stats = await crawl(sim, database_url, 5, SWR_ETL_MAX_QUOTA_SHARE="0.5")

    await assert_table_equals_truth(database_url, REGION, truth)
    # The first run learned ShowSyncJob's rate (ListReposDetails, a few calls, never met its own bucket).
    assert [(r["source"], r["api"], r["run_id"]) for r in remembered] == [
        (f"swr-etl:{REGION}:{sim.url}", "ShowSyncJob", first.run_id)
    ]
    assert 0.9 * limit <= remembered[0]["rate"] <= 1.1 * limit
    assert first_stats["rate_limited"] > 0
    assert second_stats["rate_limited"] < first_stats["rate_limited"]
    assert second.rate_reached >= 0.9 * limit
    # Half the rate learned, and not one 429.
    assert shared_stats["rate_limited"] == 0 and shared.throttled == 0
    assert 0.4 * limit <= shared.rate_reached <= 0.55 * limit
    assert shared.seconds >= 1.6 * second.seconds - STARTUP_S
