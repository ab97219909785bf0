"""Shared pieces of the fault, signal and database-fault suites: fast settings, run rows, truth filters."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pipeline.simulator import SimulatorConfig, SimulatorHandle, running_simulator
from tests.e2e.helpers import REGION, CliResult, fetch, run_cli, sim_env, table_rows, truth_rows

ANCHOR = "2025-06-01T12:00:00Z"
# 40 repositories, ~920 jobs; pages of 10 make ~110 requests, so faults have something to hit.
DATASET = SimulatorConfig(port=0, seed=195, anchor=ANCHOR, namespaces=4, repos_per_namespace=10)
# Retries, timeouts and backoff shrunk so a faulty crawl takes about a second, not minutes.
FAST = {
    "SWR_ETL_PAGE_SIZE": "10",
    "SWR_ETL_BACKOFF_BASE": "0.01",
    "SWR_ETL_BACKOFF_CAP": "0.05",
    "SWR_ETL_READ_TIMEOUT": "0.5",
    "SWR_ETL_TOTAL_TIMEOUT": "5",
}


def crawl_env(sim: SimulatorHandle, database_url: str, **extra: str) -> dict[str, str]:
    """CLI environment crawling ``sim`` (static token) into ``database_url`` with the FAST settings."""
    return sim_env(sim, database_url, **{**FAST, **extra})


@dataclass(frozen=True)
class Crawled:
    """One crawl's exit and output, the simulator's ground truth, and what the simulator counted."""

    result: CliResult
    truth: list[dict[str, Any]]
    stats: dict[str, Any]


async def crawl_once(config: SimulatorConfig, database_url: str, **extra: str) -> Crawled:
    """`swr-etl crawl` (FAST settings, then ``extra``) against a simulator started with ``config``."""
    async with running_simulator(config) as sim:
        truth = sim.ground_truth()
        result = await run_cli("crawl", env=crawl_env(sim, database_url, **extra))
        return Crawled(result, truth, sim.stats())


async def last_run(database_url: str) -> dict[str, Any]:
    """The newest crawl_runs row."""
    rows = await fetch(database_url, "SELECT * FROM crawl_runs ORDER BY id DESC LIMIT 1")
    assert rows, "no run was recorded"
    return dict(rows[0])


async def issues(database_url: str, run_id: int, kind: str) -> dict[tuple[str, str], dict[str, Any]]:
    """crawl_repo_issues of one run and kind, keyed by (namespace, repository)."""
    rows = await fetch(
        database_url, "SELECT * FROM crawl_repo_issues WHERE run_id = $1 AND kind = $2", run_id, kind
    )
    return {(r["namespace"], r["repo_name"]): dict(r) for r in rows}


def truth_without(truth: list[dict[str, Any]], repos: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
    """The ground truth minus every job of ``repos``."""
    excluded = set(repos)
    return [job for job in truth if (job["namespace"], job["repoName"]) not in excluded]


def truth_of(truth: list[dict[str, Any]], repos: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
    """Only the jobs of ``repos``."""
    wanted = set(repos)
    return [job for job in truth if (job["namespace"], job["repoName"]) in wanted]


async def wait_for_line(stream: asyncio.StreamReader | None, needle: str) -> str:
    """Read ``stream`` line by line until one contains ``needle`` (at most 30 s); that line."""
    assert stream is not None
    async with asyncio.timeout(30):
        while line := (await stream.readline()).decode():
            if needle in line:
                return line
    raise AssertionError(f"stream ended before {needle!r}")


async def wait_for_rows(database_url: str, minimum: int = 1) -> int:
    """Poll sync_jobs (at most 30 s) until it holds ``minimum`` rows: the crawl has committed something."""
    async with asyncio.timeout(30):
        while True:
            with contextlib.suppress(OSError):
                count = (await fetch(database_url, "SELECT count(*) AS n FROM sync_jobs"))[0]["n"]
                if count >= minimum:
                    return int(count)
            await asyncio.sleep(0.05)


async def assert_repos_equal_truth(
    database_url: str, truth: list[dict[str, Any]], skip: Iterable[tuple[str, str]]
) -> None:
    """Every repository but ``skip`` is stored exactly as the ground truth has it; ``skip``'s rows are
    ignored (only checked to be true jobs)."""
    skipped = set(skip)
    expected = truth_rows(truth_without(truth, skipped))
    stored = await table_rows(database_url, REGION)
    actual = {i: row for i, row in stored.items() if (row["namespace"], row["repo_name"]) not in skipped}
    assert actual.keys() == expected.keys(), (
        len(actual.keys() - expected.keys()),
        len(expected.keys() - actual.keys()),
    )
    assert actual == expected
    real = truth_rows(truth)
    assert all(real.get(i) == row for i, row in stored.items()), "a stored job differs from every true one"
