"""Frozen results the store hands back: upsert counters and report rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from pipeline.domain import SyncJob


@dataclass(frozen=True, slots=True)
class UpsertResult:
    """What one upsert batch did; the four add up to the number of jobs given."""

    inserted: int
    updated: int
    unchanged: int
    id_conflicts: int = 0  # records whose id is stored under another repository (that row is kept)


@dataclass(frozen=True, slots=True)
class LearnedRate:
    """The requests/second API Gateway granted one API of a source, as the run `run_id` left it."""

    api: str
    rate: float
    run_id: int | None


@dataclass(frozen=True, slots=True)
class StatusCount:
    """Number of jobs in one status."""

    status: str
    count: int


@dataclass(frozen=True, slots=True)
class RegionFailureRate:
    """Failed (failed + timeout) jobs among all jobs syncing to one target region."""

    remote_region_id: str | None
    total: int
    failed: int
    rate: float


@dataclass(frozen=True, slots=True)
class DailyCount:
    """Jobs created on one UTC day in one status."""

    day: date
    status: str
    jobs: int


@dataclass(frozen=True, slots=True)
class RegionDurations:
    """Replication duration percentiles (seconds) of successful jobs syncing to one target region."""

    remote_region_id: str | None
    jobs: int
    p50: float
    p95: float


@dataclass(frozen=True, slots=True)
class RepoFailures:
    """A repository with failed (failed + timeout) jobs."""

    region: str
    namespace: str
    repo_name: str
    failed: int
    total: int


@dataclass(frozen=True, slots=True)
class StuckJob:
    """A waiting or running job that has not been updated for a while."""

    region: str
    job: SyncJob


@dataclass(frozen=True, slots=True)
class RunSummary:
    """One crawl_runs row (the report's latest run)."""

    id: int
    started_at: datetime
    finished_at: datetime | None
    status: str
    sources: tuple[str, ...]
    repos_ok: int
    repos_failed: int
    repos_gone: int
    repos_flagged: int
    pages: int
    requests: int
    jobs_seen: int
    inserted: int
    updated: int
    unchanged: int
    rejected: int
    unknown_status: int
    error: str | None
    repos_full: int = 0
    repos_incremental: int = 0
    repos_reread: int = 0
    repos_left: int = 0
    requests_saved: int = 0
    jobs_gone: int = 0
    id_conflicts: int = 0
    throttled: int = 0  # 429s received (written when the run ends)
    rate_reached: float | None = None  # requests/s granted on average to the busiest API (None: none)
    rate_learned: float | None = None  # requests/s its pace settled at (None: never throttled)
    heartbeat_at: datetime | None = None  # when a running run last wrote its counters


@dataclass(frozen=True, slots=True)
class Report:
    """Everything `swr-etl report` shows: the window's sections, what is stuck now, the all-time line."""

    since: datetime
    until: datetime
    by_status: tuple[StatusCount, ...]
    daily: tuple[DailyCount, ...]
    failure_by_region: tuple[RegionFailureRate, ...]
    durations: tuple[RegionDurations, ...]
    top_failing: tuple[RepoFailures, ...]
    stuck_count: int
    stuck_oldest: tuple[StuckJob, ...]
    latest_run: RunSummary | None
    all_time: tuple[StatusCount, ...]
    first_day: date | None
