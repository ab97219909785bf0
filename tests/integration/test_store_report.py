"""report(): exact numbers on a small known dataset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pipeline.domain import RunStats
from pipeline.store import RegionFailureRate, RepoFailures, StatusCount, Store
from tests.integration.factories import make_job


async def load_dataset(store: Store) -> tuple[int, int]:
    """11 jobs over two regions; two stuck (3 h and 2 h without an update)."""
    now = datetime.now(UTC)
    run1 = await store.start_run(["r1", "r2"], {})
    await store.finish_run(run1, "ok", RunStats(), None)
    run2 = await store.start_run(["r1", "r2"], {})
    web = {"namespace": "team-a", "repo_name": "web"}
    api = {"namespace": "team-a", "repo_name": "api"}
    db = {"namespace": "team-b", "repo_name": "db", "remote_region_id": "ap-southeast-1"}
    stale = {"created_at": now - timedelta(hours=4)}
    await store.upsert_jobs(
        "r1",
        run2,
        [
            make_job(1, status="success", **web),
            make_job(2, status="failed", **web),
            make_job(3, status="timeout", **web),
            make_job(4, status="success", **web),
            make_job(5, status="failed", **api),
            make_job(6, status="waiting", updated_at=now - timedelta(hours=3), **api, **stale),
            make_job(7, status="running", updated_at=now - timedelta(minutes=5), **api, **stale),
            make_job(8, status="existed", **db),
            make_job(9, status="cancel", **db),
        ],
    )
    x = {"namespace": "team-c", "repo_name": "x", "remote_region_id": "ap-southeast-1"}
    await store.upsert_jobs(
        "r2",
        run2,
        [
            make_job(1, status="failed", **x),
            make_job(2, status="waiting", updated_at=now - timedelta(hours=2), **x, **stale),
        ],
    )
    await store.finish_run(run2, "ok", RunStats(inserted=11, jobs_seen=11), None)
    return run1, run2


async def test_report_on_known_dataset(store: Store) -> None:
    _, run2 = await load_dataset(store)
    report = await store.report(stuck_after=timedelta(hours=1), top=2)

    assert report.by_status == (
        StatusCount("failed", 3),
        StatusCount("success", 2),
        StatusCount("waiting", 2),
        StatusCount("cancel", 1),
        StatusCount("existed", 1),
        StatusCount("running", 1),
        StatusCount("timeout", 1),
    )
    assert report.failure_by_region == (
        RegionFailureRate("cn-south-1", total=7, failed=3, rate=3 / 7),
        RegionFailureRate("ap-southeast-1", total=4, failed=1, rate=0.25),
    )
    assert report.top_failing == (
        RepoFailures("r1", "team-a", "web", failed=2, total=4),
        RepoFailures("r1", "team-a", "api", failed=1, total=3),
    )
    assert report.stuck_count == 2
    assert [(s.region, s.job.id) for s in report.stuck_oldest] == [("r1", 6), ("r2", 2)]
    assert report.latest_run is not None
    assert (report.latest_run.id, report.latest_run.status, report.latest_run.inserted) == (run2, "ok", 11)
    assert report.latest_run.sources == ("r1", "r2")


async def test_report_thresholds(store: Store) -> None:
    await load_dataset(store)
    report = await store.report(stuck_after=timedelta(hours=2, minutes=30), top=10)
    assert report.stuck_count == 1
    assert len(report.top_failing) == 3
    assert report.top_failing[2] == RepoFailures("r2", "team-c", "x", failed=1, total=2)


async def test_report_on_empty_database(store: Store) -> None:
    report = await store.report()
    assert (report.by_status, report.failure_by_region, report.top_failing, report.stuck_oldest) == ((),) * 4
    assert report.stuck_count == 0
    assert report.latest_run is None
