"""Runs, rejects, repository issues and state, the crawl lock, schema checks and connection errors."""

from __future__ import annotations

import json
import socket

import asyncpg
import orjson
import pytest

from pipeline import errors
from pipeline.domain import Reject, Repository, RunStats
from pipeline.migrate import head_revision
from pipeline.store import Store
from pipeline.writer import RepoOutcome

REPO = Repository("team-a", "web/frontend")


async def fetch(dsn: str, sql: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch(sql)
    finally:
        await conn.close()


async def test_run_is_started_then_finished_with_counters(store: Store, database_url: str) -> None:
    run_id = await store.start_run(["cn-north-4", "ap-southeast-1"], {"concurrency": 8, "mode": "aksk"})
    (running,) = await fetch(database_url, "SELECT * FROM crawl_runs")
    assert (running["id"], running["status"], running["finished_at"]) == (run_id, "running", None)
    assert running["sources"] == ["cn-north-4", "ap-southeast-1"]
    assert json.loads(running["settings"]) == {"concurrency": 8, "mode": "aksk"}

    stats = RunStats(repos_ok=3, repos_failed=1, repos_gone=2, repos_flagged=1, pages=40, requests=44)
    stats.jobs_seen, stats.inserted, stats.updated, stats.unchanged = 900, 500, 100, 300
    stats.rejected, stats.unknown_status = 7, 2
    await store.finish_run(run_id, "partial", stats, "1 repository failed")

    (done,) = await fetch(database_url, "SELECT * FROM crawl_runs")
    assert done["status"] == "partial"
    assert done["finished_at"] >= done["started_at"]
    assert done["error"] == "1 repository failed"
    counters: tuple[str, ...] = (
        "repos_ok",
        "repos_failed",
        "repos_gone",
        "repos_flagged",
        "pages",
        "requests",
    )
    counters += ("jobs_seen", "inserted", "updated", "unchanged", "rejected", "unknown_status")
    assert [done[c] for c in counters] == [3, 1, 2, 1, 40, 44, 900, 500, 100, 300, 7, 2]


async def test_abandoned_runs_of_the_same_configuration_are_closed(store: Store, database_url: str) -> None:
    same = {"sources": [{"endpoint": "https://swr-api.cn-north-4.myhuaweicloud.com", "region": "cn-north-4"}]}
    other = {"sources": [{"endpoint": "https://other.example.com", "region": "cn-north-4"}]}
    dead = await store.start_run(["cn-north-4"], same)
    finished = await store.start_run(["cn-north-4"], same)
    await store.finish_run(finished, "ok", RunStats(), None)
    elsewhere = await store.start_run(["cn-north-4"], other)

    assert await store.close_abandoned_runs(["cn-north-4"], same, stale_beats=6) == [dead]
    rows = {r["id"]: r for r in await fetch(database_url, "SELECT id, status, error FROM crawl_runs")}
    assert rows[dead]["status"] == "failed"
    assert "abandoned" in rows[dead]["error"]
    assert (rows[finished]["status"], rows[elsewhere]["status"]) == ("ok", "running")
    assert await store.close_abandoned_runs(["cn-north-4"], same, stale_beats=6) == []


async def test_rejects_keep_raw_text_even_garbage(store: Store, database_url: str) -> None:
    run_id = await store.start_run(["r"], {})
    rejects = [Reject('{"id": "x"', "truncated JSON"), Reject("bad\x00byte", "NUL in text")]
    await store.record_rejects("r", run_id, REPO, rejects)
    await store.record_rejects("r", run_id, REPO, [])
    rows = await fetch(database_url, "SELECT * FROM sync_job_rejects ORDER BY id")
    assert [(r["run_id"], r["region"], r["namespace"], r["repo_name"]) for r in rows] == [
        (run_id, "r", "team-a", "web/frontend")
    ] * 2
    assert [(r["raw"], r["reason"]) for r in rows] == [
        ('{"id": "x"', "truncated JSON"),
        ("bad\\u0000byte", "NUL in text"),
    ]


async def test_repo_issue_recorded_with_detail(store: Store, database_url: str) -> None:
    run_id = await store.start_run(["r"], {})
    failed = RepoOutcome(
        "r",
        REPO,
        "failed",
        error_code="SVCSTG.SWR.4000",
        message="bad filter",
        attempts=3,
        detail={"offset": 100},
    )
    gone = RepoOutcome("r", Repository("gone", "x"), "gone", message="404", attempts=1)
    await store.record_repo_results(run_id, [failed, gone, RepoOutcome("r", Repository("ok", "y"), "ok")])
    rows = await fetch(database_url, "SELECT * FROM crawl_repo_issues ORDER BY id")
    assert [(r["kind"], r["error_code"], r["message"], r["attempts"]) for r in rows] == [
        ("failed", "SVCSTG.SWR.4000", "bad filter", 3),
        ("gone", None, "404", 1),
    ]
    assert orjson.loads(rows[0]["detail"]) == {"offset": 100}
    assert rows[1]["detail"] is None


async def test_repo_issue_kind_is_checked(store: Store) -> None:
    run_id = await store.start_run(["r"], {})
    with pytest.raises(errors.DatabaseError, match="CheckViolation"):
        await store.record_repo_results(run_id, [RepoOutcome("r", REPO, "exploded", message="?", attempts=1)])


async def test_repo_state_is_one_row_per_repository(store: Store, database_url: str) -> None:
    run1 = await store.start_run(["r"], {})
    await store.record_repo_results(run1, [RepoOutcome("r", REPO, "ok", 120, 120, 9001)])
    run2 = await store.start_run(["r"], {})
    await store.record_repo_results(run2, [RepoOutcome("r", REPO, "failed", None, 40, None)])
    (state,) = await fetch(database_url, "SELECT * FROM crawl_repositories")
    assert (state["last_run_id"], state["last_status"], state["last_total"], state["jobs_seen"]) == (
        run2,
        "failed",
        None,
        40,
    )
    assert state["max_job_id"] == 9001  # a failed crawl does not forget the highest id seen before


async def test_advisory_lock_is_exclusive_across_stores(store: Store, database_url: str) -> None:
    other = await Store.connect(database_url)
    try:
        assert await store.try_lock("crawl:cn-north-4")
        assert not await other.try_lock("crawl:cn-north-4")
        assert await other.try_lock("crawl:ap-southeast-1")
        await other.unlock()
        await store.unlock()
        assert await other.try_lock("crawl:cn-north-4")
        assert not await store.try_lock("crawl:cn-north-4")
    finally:
        await other.close()  # closing releases the lock too
    assert await store.try_lock("crawl:cn-north-4")


async def test_ensure_at_head(store: Store, empty_database_url: str) -> None:
    await store.ensure_at_head(head_revision())
    empty = await Store.connect(empty_database_url)
    try:
        with pytest.raises(errors.SchemaNotAtHead) as caught:
            await empty.ensure_at_head(head_revision())
    finally:
        await empty.close()
    assert f"expected {head_revision()}" in caught.value.message
    assert "none" in caught.value.message
    assert "run `swr-etl migrate`" in caught.value.message


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_unreachable_server_is_reported_without_password() -> None:
    port = closed_port()
    dsn = f"postgresql://etl:Sup3rS3cret@127.0.0.1:{port}/swr"
    with pytest.raises(errors.DatabaseUnavailable) as caught:
        await Store.connect(dsn, connect_timeout=2)
    message = caught.value.message
    assert f"127.0.0.1:{port}/swr" in message
    assert "Sup3rS3cret" not in message
    assert "\n" not in message
    assert caught.value.__cause__ is None  # the driver's exception (with its arguments) is not chained


async def test_wrong_database_is_unavailable(pg_server_dsn: str) -> None:
    dsn = pg_server_dsn.rsplit("/", 1)[0] + "/swr_etl_test_does_not_exist"
    with pytest.raises(errors.DatabaseUnavailable, match="swr_etl_test_does_not_exist"):
        await Store.connect(dsn)
