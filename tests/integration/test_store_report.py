"""report(): exact numbers on a small known dataset, over a window and all time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pipeline.domain import RunStats
from pipeline.store import RegionFailureRate, RepoFailures, StatusCount, Store
from tests.integration.factories import T0, make_job


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
    stats = RunStats(
        inserted=11, jobs_seen=11, requests=30, throttled=4, rate_reached=21.5, rate_learned=18.0,
        repos_discovered=5, repos_ok=3, repos_incremental=2, repos_reread=1, repos_full=1, requests_saved=9,
        jobs_gone=2, id_conflicts=1,
    )  # fmt: skip
    await store.finish_run(run2, "ok", stats, None)
    return run1, run2


SINCE_EVER = datetime(2000, 1, 1, tzinfo=UTC)


def until_now() -> datetime:
    return datetime.now(UTC)


async def test_report_on_known_dataset(store: Store) -> None:
    _, run2 = await load_dataset(store)
    report = await store.report(since=SINCE_EVER, until=until_now(), stuck_after=timedelta(hours=1), top=2)

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
    run = report.latest_run  # its 429s, rates and modes (repos_left: 5 planned, 3 ended)
    assert (run.requests, run.throttled, run.rate_reached, run.rate_learned, run.id_conflicts) == (
        30, 4, 21.5, 18.0, 1
    )  # fmt: skip
    assert (run.repos_incremental, run.repos_reread, run.repos_full, run.repos_left) == (2, 1, 1, 2)
    assert (run.requests_saved, run.jobs_gone) == (9, 2) and run.heartbeat_at is not None


async def test_report_thresholds(store: Store) -> None:
    await load_dataset(store)
    report = await store.report(
        since=SINCE_EVER, until=until_now(), stuck_after=timedelta(hours=2, minutes=30), top=10
    )
    assert report.stuck_count == 1
    assert len(report.top_failing) == 3
    assert report.top_failing[2] == RepoFailures("r2", "team-c", "x", failed=1, total=2)


async def test_the_window_bounds_its_sections_and_the_all_time_line_does_not(store: Store) -> None:
    """Only jobs with since <= created_at < until are counted in the window; all time counts them all."""
    await load_dataset(store)  # jobs 6 and 7 of r1 and 2 of r2 were created 4 hours ago, the rest at T0
    now = datetime.now(UTC)
    created_4h_ago = await store.report(since=now - timedelta(hours=5), until=now)
    assert created_4h_ago.by_status == (StatusCount("waiting", 2), StatusCount("running", 1))
    assert created_4h_ago.failure_by_region == (
        RegionFailureRate("cn-south-1", total=2, failed=0, rate=0.0),
        RegionFailureRate("ap-southeast-1", total=1, failed=0, rate=0.0),
    )
    assert created_4h_ago.top_failing == () and created_4h_ago.durations == ()
    assert [(d.status, d.jobs) for d in created_4h_ago.daily] == [("running", 1), ("waiting", 2)]
    assert created_4h_ago.stuck_count == 2  # stuck is about now, whenever the job was created
    assert sum(s.count for s in created_4h_ago.all_time) == 11
    assert created_4h_ago.first_day == T0.date()

    at_t0 = await store.report(since=T0, until=T0 + timedelta(seconds=1))
    assert sum(s.count for s in at_t0.by_status) == 8
    [durations] = [d for d in at_t0.durations if d.remote_region_id == "cn-south-1"]
    assert (durations.jobs, durations.p50, durations.p95) == (2, 0.0, 0.0)
    just_after = await store.report(since=T0 + timedelta(microseconds=1), until=now - timedelta(hours=5))
    assert just_after.by_status == ()  # since is inclusive, until exclusive


async def test_report_on_empty_database(store: Store) -> None:
    report = await store.report(since=SINCE_EVER, until=until_now())
    assert (report.by_status, report.failure_by_region, report.top_failing, report.stuck_oldest) == ((),) * 4
    assert (report.daily, report.durations, report.all_time) == ((),) * 3
    assert report.stuck_count == 0
    assert report.latest_run is None and report.first_day is None
