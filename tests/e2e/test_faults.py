"""Fault suite: `swr-etl crawl` (a subprocess) against a hostile simulator, into a real PostgreSQL.

Faults are a function of (seed, request): each scenario meets the same faults on every run.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Awaitable, Callable

import pytest

from pipeline.domain import KNOWN_STATUSES
from pipeline.simulator import running_simulator
from tests.e2e.helpers import REGION, assert_table_equals_truth, fetch, run_cli
from tests.e2e.resilience import (
    DATASET,
    assert_repos_equal_truth,
    crawl_env,
    crawl_once,
    issues,
    last_run,
    truth_of,
    truth_without,
)

FAULT_KINDS = ("429", "500", "502", "503", "reset", "slow", "truncate", "no_content_range")
# What the crawler records for each kind of corruption the simulator serves.
REJECT_REASONS = {
    "missing_id": "id: missing",
    "non_integer_id": "id: not an integer",
    "bad_timestamp": "createdAt: not RFC 3339",
    "wrong_types": "namespace: not a string",
}


@pytest.fixture
async def fault_free_database_url(new_database: Callable[[], Awaitable[str]]) -> str:
    """A second fresh migrated database, for the fault-free baseline crawl."""
    return await new_database()


async def test_ten_percent_faults_and_broken_repositories(
    database_url: str, fault_free_database_url: str
) -> None:
    async with running_simulator(DATASET) as clean:
        baseline = await run_cli("crawl", env=crawl_env(clean, fault_free_database_url))
        assert baseline.code == 0, baseline.stderr
        fault_free_requests = clean.stats()["requests_total"]

    hostile = dataclasses.replace(DATASET, fault_rate=0.1, broken_repos=3, retry_after_s=0.05)
    async with running_simulator(hostile) as sim:
        truth, broken = sim.ground_truth(), set(sim.broken_repositories())
        started = time.monotonic()
        result = await run_cli("crawl", env=crawl_env(sim, database_url))
        elapsed = time.monotonic() - started
        stats = sim.stats()

    assert result.code == 3, result.stderr
    assert result.stdout.startswith(f"run 1 partial: {len(sim.repositories())} repositories (3 failed")
    # Every kind of fault was met (the slow ones cost a 0.5 s read timeout, not the simulator's 30 s).
    assert all(stats["faults"].get(kind, 0) > 0 for kind in FAULT_KINDS), str(stats["faults"])
    assert elapsed < 20
    assert stats["retry_after_violations"] == 0
    assert stats["requests_total"] <= 1.4 * fault_free_requests, (stats, fault_free_requests)

    await assert_table_equals_truth(database_url, REGION, truth_without(truth, broken))
    failed = await issues(database_url, 1, "failed")
    assert failed.keys() == broken
    for issue in failed.values():
        # The last answer is recorded: the broken repository's 500, or a fault that hit the last attempt.
        assert issue["error_code"] in {"SVCSTG.SWR.5000001", "SVCSTG.SWR.5030001", "APIGW.0308", None}
        assert issue["attempts"] == 6  # the default retry budget, then the crawl went on
        assert issue["message"].startswith("gave up after 6 attempts: ")
    run = await last_run(database_url)
    assert (run["status"], run["repos_failed"], run["error"]) == ("partial", 3, None)
    # Every request the simulator saw is one the client made, backed off and counted (no hidden re-sends).
    assert run["requests"] == stats["requests_total"]


async def test_thirty_percent_429_completes_without_retry_after_violations(database_url: str) -> None:
    config = dataclasses.replace(DATASET, fault_429=0.3, retry_after_s=0.05)
    crawled = await crawl_once(config, database_url, SWR_ETL_RETRY_ATTEMPTS="10")
    stats = crawled.stats

    assert crawled.result.code == 0, crawled.result.stderr
    await assert_table_equals_truth(database_url, REGION, crawled.truth)
    throttled = stats["responses_by_status"]["429"]
    assert throttled >= 0.2 * stats["requests_total"]
    assert stats["retry_after_violations"] == 0
    # Retries are no more throttled than first attempts: 30% of requests, not a storm of 429s.
    assert throttled <= 0.4 * stats["requests_total"]


async def test_a_rate_limited_gateway_converges_without_losing_jobs(database_url: str) -> None:
    # API Gateway's throttling: beyond 40 calls/s, 429 APIGW.0308 with no Retry-After. The crawl, at 32
    # in flight, must slow down by itself (halving on 429, pausing for a backoff) and still land every job:
    # answers that come back 429 while others get through are not charged to a repository's retries.
    # The simulator answers at once, so only pauses can bring the rate down: backoff is 0.1 s here (the
    # default is 0.5 s; FAST's 0.01 s would make every pause shorter than the bucket's refill of one call).
    # Two attempts per request: counting every 429 against them would fail repositories.
    config = dataclasses.replace(DATASET, rate_limit=40)
    tight = {"SWR_ETL_BACKOFF_BASE": "0.1", "SWR_ETL_BACKOFF_CAP": "1", "SWR_ETL_RETRY_ATTEMPTS": "2"}
    crawled = await crawl_once(config, database_url, **tight)
    stats = crawled.stats

    assert crawled.result.code == 0, crawled.result.stderr
    await assert_table_equals_truth(database_url, REGION, crawled.truth)
    throttled = stats["rate_limited"]
    assert throttled > 0  # the limit was reached
    assert stats["responses_by_status"]["429"] == throttled and stats["faults"] == {}
    run = await last_run(database_url)
    assert run["requests"] == stats["requests_total"]
    # The crawler throttles itself rather than spending its requests on 429s.
    assert throttled <= 0.5 * stats["requests_total"], stats


async def test_a_gateway_refusing_everything_is_given_up_on_after_the_retry_budget(database_url: str) -> None:
    # Nothing gets through, so every 429 is charged: the crawl does not wait forever for a dead API.
    selected = ("acme/team/app", "edge/notifier")
    config = dataclasses.replace(DATASET, fault_429=1.0, retry_after_s=0)
    crawled = await crawl_once(config, database_url, SWR_ETL_REPOSITORIES=",".join(selected))

    assert crawled.result.code == 1, crawled.result.stderr
    assert crawled.stats["responses_by_status"] == {"429": 2 * 6}  # the default 6 attempts per repository
    failed = await issues(database_url, 1, "failed")
    assert sorted(f"{ns}/{repo}" for ns, repo in failed) == sorted(selected)
    assert all(issue["attempts"] == 6 and issue["error_code"] == "APIGW.0308" for issue in failed.values())


async def test_a_client_rate_cap_below_the_gateways_limit_meets_no_429(database_url: str) -> None:
    config = dataclasses.replace(DATASET, rate_limit=80)
    crawled = await crawl_once(config, database_url, SWR_ETL_RATE_LIMIT="70")

    assert crawled.result.code == 0, crawled.result.stderr
    await assert_table_equals_truth(database_url, REGION, crawled.truth)
    assert crawled.stats["rate_limited"] == 0 and "429" not in crawled.stats["responses_by_status"]


async def test_bad_records_are_kept_aside_and_unknown_statuses_stored(database_url: str) -> None:
    config = dataclasses.replace(DATASET, bad_records=0.05, unknown_status=0.05)
    async with running_simulator(config) as sim:
        truth, corrupted = sim.ground_truth(), sim.corrupted_records()
        result = await run_cli("crawl", env=crawl_env(sim, database_url))

    assert result.code == 0, result.stderr
    assert {c.defect for c in corrupted} == set(REJECT_REASONS)
    # The rest of each page landed: everything but the corrupted records, unknown statuses as they came.
    bad_ids = {c.id for c in corrupted}
    await assert_table_equals_truth(database_url, REGION, [j for j in truth if j["id"] not in bad_ids])
    unknown = [j for j in truth if j["status"] not in KNOWN_STATUSES and j["id"] not in bad_ids]
    assert unknown

    rejects = await fetch(database_url, "SELECT * FROM sync_job_rejects WHERE run_id = 1")
    assert len(rejects) == len(corrupted)
    expected = sorted((c.namespace, c.repo, REJECT_REASONS[c.defect]) for c in corrupted)
    got = sorted((r["namespace"], r["repo_name"], r["reason"].split(":")[0] + ":") for r in rejects)
    assert got == [(ns, repo, reason.split(":")[0] + ":") for ns, repo, reason in expected]
    for reject in rejects:
        assert any(reject["reason"].startswith(reason) for reason in REJECT_REASONS.values())
        raw = json.loads(reject["raw"])  # the record as served, kept whole
        assert raw.get("id") is None or raw["id"] in bad_ids or raw["id"] in {f"{i}x" for i in bad_ids}

    run = await last_run(database_url)
    assert (run["status"], run["rejected"], run["unknown_status"]) == ("ok", len(corrupted), len(unknown))
    assert f"{len(corrupted)} rejected, {len(unknown)} unknown status" in result.stdout


async def test_lying_content_range_terminates_and_flags(database_url: str) -> None:
    config = dataclasses.replace(DATASET, lying_repos=4, fault_no_content_range=0.1)
    async with running_simulator(config) as sim:
        truth, lying = sim.ground_truth(), sim.lying_repositories()
        started = time.monotonic()
        result = await run_cli("crawl", env=crawl_env(sim, database_url))
        elapsed = time.monotonic() - started
        stats = sim.stats()

    assert result.code == 0, result.stderr
    assert set(lying.values()) == {"total_too_large", "count_mismatch", "total_unstable", "repeating_pages"}
    flagged = await issues(database_url, 1, "flagged")
    assert lying.keys() <= flagged.keys()
    assert stats["faults"]["no_content_range"] > 0
    # Bounded: each repository costs at most ~2x its pages (+10), whatever its Content-Range says.
    jobs = {repo: len(truth_of(truth, [repo])) for repo in sim.repositories()}
    bound = sum(2 * max(1, -(-n // 10)) + 10 for n in jobs.values()) + 1 + 4
    assert stats["requests_total"] <= bound and elapsed < 20
    # What the lying repositories served is kept (and never invented); every other repository is whole.
    await assert_repos_equal_truth(database_url, truth, lying)
    stored = {r["id"] for r in await fetch(database_url, "SELECT id FROM sync_jobs")}
    lying_ids = {j["id"] for j in truth_of(truth, lying)}
    assert stored & lying_ids  # kept what they served
    assert stored <= {j["id"] for j in truth}  # and nothing invented
    for repo, mode in lying.items():
        assert flagged[repo]["message"], mode
    run = await last_run(database_url)
    assert run["status"] == "ok" and run["repos_flagged"] == len(flagged)


async def test_missing_repository_is_gone_but_a_wrong_route_fails(database_url: str) -> None:
    async with running_simulator(DATASET) as sim:
        env = crawl_env(sim, database_url, SWR_ETL_REPOSITORIES="acme/team/app,acme/no-such-repo")
        gone = await run_cli("crawl", env=env)
        # A path the gateway does not know (404 APIGW.0101) is our mistake, not a vanished repository.
        wrong = await run_cli("crawl", env={**env, "SWR_ETL_ENDPOINT": sim.url + "/wrong-prefix"})

    assert gone.code == 0, gone.stderr
    assert "(0 failed, 1 gone, 0 flagged)" in gone.stdout
    assert (await issues(database_url, 1, "gone")).keys() == {("acme", "no-such-repo")}
    assert wrong.code == 1, wrong.stderr  # nothing at all could be crawled: failed, not partial
    assert "no repository could be crawled" in wrong.stdout
    failed = await issues(database_url, 2, "failed")
    assert failed.keys() == {("acme", "team/app"), ("acme", "no-such-repo")}
    assert {i["error_code"] for i in failed.values()} == {"APIGW.0101"}
    assert all(i["attempts"] == 1 for i in failed.values())  # a 404 is not retried
