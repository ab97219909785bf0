"""record_repo_results: issues and states of many repositories in one transaction, all or nothing."""

from __future__ import annotations

import orjson
import pytest

from pipeline import errors
from pipeline.domain import Repository, RunStats
from pipeline.store import Store
from pipeline.writer import RepoOutcome
from tests.e2e.helpers import fetch


async def test_results_recorded_in_bulk(store: Store, database_url: str) -> None:
    run_id = await store.start_run(["r"], {})
    ok = RepoOutcome("r", Repository("team", "web/app"), "ok", total=120, jobs_seen=120, max_job_id=9001)
    failed = RepoOutcome(
        "r", Repository("team", "broken"), "failed", error_code="SWR.500", message="boom", attempts=6
    )
    flagged = RepoOutcome(
        "r", Repository("team", "liar"), "flagged", total=10, jobs_seen=9, max_job_id=5,
        message="count_mismatch", detail={"flags": ["count_mismatch"]},
    )  # fmt: skip
    await store.record_repo_results(run_id, [ok, failed, flagged])
    states = await fetch(database_url, "SELECT * FROM crawl_repositories ORDER BY repo_name")
    assert [
        (s["repo_name"], s["last_status"], s["last_total"], s["jobs_seen"], s["max_job_id"]) for s in states
    ] == [
        ("broken", "failed", None, 0, None),
        ("liar", "flagged", 10, 9, 5),
        ("web/app", "ok", 120, 120, 9001),
    ]
    issues = await fetch(database_url, "SELECT * FROM crawl_repo_issues ORDER BY repo_name")
    assert [(i["repo_name"], i["kind"], i["error_code"], i["message"], i["attempts"]) for i in issues] == [
        ("broken", "failed", "SWR.500", "boom", 6),
        ("liar", "flagged", None, "count_mismatch", 0),
    ]
    assert orjson.loads(issues[1]["detail"]) == {"flags": ["count_mismatch"]}


async def test_a_bad_result_writes_nothing(store: Store, database_url: str) -> None:
    run_id = await store.start_run(["r"], {})
    good = RepoOutcome("r", Repository("team", "a"), "failed", message="x", attempts=1)
    bad = RepoOutcome("r", Repository("team", "b"), "exploded", message="?", attempts=1)
    with pytest.raises(errors.DatabaseError, match="CheckViolation"):
        await store.record_repo_results(run_id, [good, bad])
    assert await fetch(database_url, "SELECT * FROM crawl_repo_issues") == []
    assert await fetch(database_url, "SELECT * FROM crawl_repositories") == []


async def test_a_repository_twice_in_one_batch_keeps_its_last_result(store: Store, database_url: str) -> None:
    # Two sources of one region can crawl the same repository: the later outcome wins, as row by row,
    # and the highest job id known is kept, as COALESCE did between two row-by-row statements.
    run_id = await store.start_run(["r"], {})
    repo = Repository("team", "web/app")
    first = RepoOutcome("r", repo, "ok", total=5, jobs_seen=5, max_job_id=50)
    second = RepoOutcome("r", repo, "failed", error_code="SWR.500", message="boom", attempts=3)
    await store.record_repo_results(run_id, [first, second])
    (state,) = await fetch(database_url, "SELECT * FROM crawl_repositories")
    assert (state["last_status"], state["last_total"], state["max_job_id"]) == ("failed", None, 50)


async def test_a_later_run_overwrites_state_but_keeps_the_highest_known_id(
    store: Store, database_url: str
) -> None:
    run1 = await store.start_run(["r"], {})
    repo = Repository("team", "web/app")
    await store.record_repo_results(run1, [RepoOutcome("r", repo, "ok", total=5, jobs_seen=5, max_job_id=50)])
    run2 = await store.start_run(["r"], {})
    await store.record_repo_results(run2, [RepoOutcome("r", repo, "failed", message="x", attempts=1)])
    (state,) = await fetch(database_url, "SELECT * FROM crawl_repositories")
    assert (state["last_run_id"], state["last_status"], state["max_job_id"]) == (run2, "failed", 50)


async def test_totals_and_counters_beyond_32_bits_are_stored(store: Store, database_url: str) -> None:
    # An API claiming 10^12 jobs (a lie, or a huge repository) once overflowed crawl_repositories.last_total.
    run_id = await store.start_run(["r"], {})
    huge = RepoOutcome(
        "r", Repository("team", "huge"), "flagged", total=10**12, jobs_seen=2**31 + 5, max_job_id=2**40,
        message="implausible_total", detail={"flags": ["implausible_total"]},
    )  # fmt: skip
    await store.record_repo_results(run_id, [huge])
    (state,) = await fetch(database_url, "SELECT last_total, jobs_seen FROM crawl_repositories")
    assert (state["last_total"], state["jobs_seen"]) == (10**12, 2**31 + 5)
    stats = RunStats(repos_ok=2**31 + 1, repos_flagged=2**32)
    await store.finish_run(run_id, "ok", stats, None)
    (run,) = await fetch(database_url, "SELECT repos_ok, repos_flagged FROM crawl_runs")
    assert (run["repos_ok"], run["repos_flagged"]) == (2**31 + 1, 2**32)
