"""Real-world edges through the CLI: refused and expiring credentials, forbidden repositories, absurd
totals, jobs deleted while a repository is paged. Each asserts the exit code, the table against the
simulator's ground truth, and a time or request bound."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
import time

from bench.measure import run_measured
from pipeline.simulator import running_simulator
from tests.e2e.helpers import REGION, assert_table_equals_truth, fetch, run_cli, table_rows, truth_rows
from tests.e2e.resilience import (
    DATASET,
    assert_repos_equal_truth,
    crawl_env,
    issues,
    last_run,
    truth_of,
)
from tests.e2e.summary import summary_of

CONCURRENCY = 32  # the default requests in flight


def events(stderr: str, name: str) -> list[dict[str, object]]:
    """The JSON log events called ``name``."""
    found = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    return [e for e in found if e.get("event") == name]


def pages_bound(truth_jobs: int, page_size: int = 10) -> int:
    """The most requests one repository may cost: about twice its pages, plus a few."""
    return 2 * max(1, -(-truth_jobs // page_size)) + 10


async def test_a_refused_token_with_400_explicit_repositories_exits_1_at_once(database_url: str) -> None:
    # The workers used to die on the auth error while discovery blocked on the full repository queue:
    # the crawl hung until SIGTERM.
    config = dataclasses.replace(DATASET, namespaces=20, repos_per_namespace=20)
    async with running_simulator(config) as sim:
        listed = ",".join(f"{ns}/{repo}" for ns, repo in sim.repositories())
        env = crawl_env(sim, database_url, SWR_ETL_TOKEN="wrong-token", SWR_ETL_REPOSITORIES=listed)  # noqa: S106
        started = time.monotonic()
        result = await run_cli("crawl", env=env, wait_s=30)
        took = time.monotonic() - started
        stats = sim.stats()

    assert len(sim.repositories()) == 400
    assert result.code == 1, result.stderr[-2000:]
    assert took < 10
    [line] = result.stdout.splitlines()
    assert "— token authentication failed (HTTP 401 SVCSTG.SWR.4010000" in line
    assert stats["requests_total"] <= CONCURRENCY + 1  # those already sent, then nothing
    assert await table_rows(database_url, REGION) == {}
    assert (await last_run(database_url))["status"] == "failed"


async def test_a_token_expiring_mid_run_exits_1_promptly_with_earlier_pages_committed(
    database_url: str,
) -> None:
    config = dataclasses.replace(DATASET, repos_per_namespace=40, token_expires_after=150)
    async with running_simulator(config) as sim:
        truth = sim.ground_truth()
        started = time.monotonic()
        result = await run_cli("crawl", env=crawl_env(sim, database_url), wait_s=30)
        took = time.monotonic() - started
        stats = sim.stats()

    assert result.code == 1, result.stderr[-2000:]
    assert took < 10
    assert "— token authentication failed (HTTP 401" in result.stdout
    assert stats["requests_total"] <= 150 + CONCURRENCY + 1
    # What was fetched before the token expired is committed, true, and whole for every repository the
    # run recorded as crawled.
    stored = await table_rows(database_url, REGION)
    true = truth_rows(truth)
    assert stored and all(true[i] == row for i, row in stored.items())
    crawled = await fetch(database_url, "SELECT namespace, repo_name FROM crawl_repositories")
    assert crawled
    whole = truth_rows(truth_of(truth, [(r["namespace"], r["repo_name"]) for r in crawled]))
    assert whole.keys() <= stored.keys()
    run = await last_run(database_url)
    assert run["status"] == "failed" and "token authentication failed" in run["error"]


async def test_three_forbidden_repositories_among_200_fail_alone(database_url: str) -> None:
    config = dataclasses.replace(DATASET, namespaces=10, repos_per_namespace=20, forbidden_repos=3)
    async with running_simulator(config) as sim:
        truth, forbidden = sim.ground_truth(), sim.state.forbidden_repositories()
        started = time.monotonic()
        result = await run_cli("crawl", env=crawl_env(sim, database_url))
        took = time.monotonic() - started
        stats = sim.stats()

    assert result.code == 3, result.stderr[-2000:]
    summary = summary_of(result.stdout)
    assert (summary.status, summary.repositories, summary.failed) == ("partial", 200, 3)
    await assert_repos_equal_truth(database_url, truth, forbidden)
    stored = await table_rows(database_url, REGION)
    assert not {(r["namespace"], r["repo_name"]) for r in stored.values()} & set(forbidden)
    failed = await issues(database_url, summary.run_id, "failed")
    assert failed.keys() == set(forbidden)
    assert {(i["error_code"], i["attempts"]) for i in failed.values()} == {("SVCSTG.SWR.4030170", 1)}
    assert stats["responses_by_status"]["403"] == 3  # neither retried nor refreshed
    assert took < 30


async def test_a_total_of_10_to_the_12_costs_bounded_memory_and_requests(database_url: str) -> None:
    config = dataclasses.replace(DATASET, absurd_total_repos=2, absurd_total=10**12)
    async with running_simulator(config) as sim:
        truth = sim.ground_truth()
        absurd = sim.state.absurd_total_repositories()
        command = [sys.executable, "-m", "pipeline", "crawl"]
        cost = await asyncio.to_thread(run_measured, command, crawl_env(sim, database_url), 60.0)
        stats = sim.stats()

    assert cost.code == 0, cost.stderr[-2000:]
    assert cost.peak_rss_mb < 150, cost.peak_rss_mb
    assert cost.wall_s < 30
    jobs = {repo: len(truth_of(truth, [repo])) for repo in sim.repositories()}
    assert stats["requests_by_endpoint"]["sync_job"] <= sum(pages_bound(n) for n in jobs.values())
    await assert_table_equals_truth(database_url, REGION, truth)  # every served job stored
    flagged = await issues(database_url, 1, "flagged")
    assert flagged.keys() == set(absurd)
    for issue in flagged.values():
        assert {"implausible_total", "short_of_total"} <= set(issue["message"].split(", "))
    totals = await fetch(database_url, "SELECT last_total FROM crawl_repositories WHERE last_total > 2^31")
    assert [r["last_total"] for r in totals] == [10**12, 10**12]


async def test_jobs_deleted_between_pages_are_never_a_gap_reported_ok(database_url: str) -> None:
    config = dataclasses.replace(DATASET, deleting_repos=2, deleted_jobs=3)
    async with running_simulator(config) as sim:
        truth_before = sim.ground_truth()
        deleting = sim.state.deleting_repositories()
        started = time.monotonic()
        result = await run_cli("crawl", env=crawl_env(sim, database_url))
        took = time.monotonic() - started
        truth, deleted, stats = sim.ground_truth(), set(sim.state.deleted_jobs()), sim.stats()

    assert result.code == 0, result.stderr[-2000:]
    assert len(deleted) == 6 and len(truth) == len(truth_before) - 6
    # Every job still there is stored: the shifted offsets skipped three jobs of each repository, which
    # the re-read found. The deleted ones were served (on the first page) and are kept.
    stored = await table_rows(database_url, REGION)
    assert truth_rows(truth).keys() <= stored.keys()
    assert stored.keys() - truth_rows(truth).keys() == deleted
    assert {e["repo"] for e in events(result.stderr, "repo_reread")} == {f"{n}/{r}" for n, r in deleting}
    states = await fetch(database_url, "SELECT namespace, repo_name, last_status FROM crawl_repositories")
    assert {s["last_status"] for s in states} == {"ok"}  # the deleting repositories too, and whole
    jobs = {repo: len(truth_of(truth_before, [repo])) for repo in sim.repositories()}
    rereads = sum(pages_bound(jobs[repo]) for repo in deleting)
    assert stats["requests_by_endpoint"]["sync_job"] <= sum(pages_bound(n) for n in jobs.values()) + rereads
    assert took < 20


async def test_a_forbidden_namespace_fails_alone(database_url: str) -> None:
    config = dataclasses.replace(DATASET, forbidden_namespaces=1)
    async with running_simulator(config) as sim:
        truth, [namespace] = sim.ground_truth(), sim.state.forbidden_namespaces()
        result = await run_cli("crawl", env=crawl_env(sim, database_url))

    assert result.code == 3, result.stderr[-2000:]
    hidden = [(ns, repo) for ns, repo in sim.repositories() if ns == namespace]
    await assert_repos_equal_truth(database_url, truth, hidden)
    failed = await issues(database_url, 1, "failed")
    assert failed.keys() == {(namespace, "*")}
    assert failed[(namespace, "*")]["error_code"] == "SVCSTG.SWR.4030170"


async def test_credentials_without_swr_permission_are_refused_on_discovery(database_url: str) -> None:
    async with running_simulator(dataclasses.replace(DATASET, no_permission=True)) as sim:
        result = await run_cli("crawl", env=crawl_env(sim, database_url))
        stats = sim.stats()

    assert result.code == 1, result.stderr[-2000:]
    [line] = result.stdout.splitlines()
    assert "— token authentication failed (HTTP 403 SVCSTG.SWR.4030170" in line
    assert "may not read SWR" in line
    assert stats["requests_total"] == 1  # ListNamespaces names no resource: its 403 is the credentials'


async def test_a_403_on_every_repository_is_the_credentials(database_url: str) -> None:
    async with running_simulator(dataclasses.replace(DATASET, no_permission=True)) as sim:
        every = ",".join(f"{ns}/{repo}" for ns, repo in sim.repositories())
        few = ",".join(f"{ns}/{repo}" for ns, repo in sim.repositories()[:3])
        many = await run_cli("crawl", env=crawl_env(sim, database_url, SWR_ETL_REPOSITORIES=every))
        requests_for_many = sim.stats()["requests_total"]
        three = await run_cli("crawl", env=crawl_env(sim, database_url, SWR_ETL_REPOSITORIES=few))

    for result in (many, three):
        assert result.code == 1, result.stderr[-2000:]
        assert "— token authentication failed (HTTP 403 SVCSTG.SWR.4030170" in result.stdout
    # Forty repositories: the first ten refusals with no other answer end the run; those already sent
    # still answer.
    assert requests_for_many <= 10 + CONCURRENCY
    assert len(await issues(database_url, 2, "failed")) == 3  # three: each refused, then the verdict
