"""Per-repository crawl results as the store writes them: states for the next run, jobs gone upstream."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, Protocol

from pipeline.domain import Repository
from pipeline.incremental import RepoState
from pipeline.store import queries as q


class RepoResult(Protocol):
    """How one repository's crawl ended (the writer's RepoOutcome), as record_repo_results reads it."""

    @property
    def region(self) -> str: ...
    @property
    def repo(self) -> Repository: ...
    @property
    def status(self) -> str: ...
    @property
    def total(self) -> int | None: ...
    @property
    def jobs_seen(self) -> int: ...
    @property
    def max_job_id(self) -> int | None: ...
    @property
    def error_code(self) -> str | None: ...
    @property
    def message(self) -> str | None: ...
    @property
    def attempts(self) -> int: ...
    @property
    def detail(self) -> dict[str, Any] | None: ...
    @property
    def full(self) -> bool: ...
    @property
    def high_water_id(self) -> int | None: ...
    @property
    def high_water_created_at(self) -> datetime | None: ...
    @property
    def open_jobs(self) -> int | None: ...
    @property
    def oldest_open_created_at(self) -> datetime | None: ...
    @property
    def listed_ids(self) -> Collection[int] | None: ...


def repo_state_of(row: Any) -> tuple[Repository, RepoState]:
    """A FETCH_REPO_STATES row as (repository, state)."""
    return Repository(row["namespace"], row["repo_name"]), RepoState(
        last_total=row["last_total"],
        high_water_id=row["high_water_id"],
        high_water_created_at=row["high_water_created_at"],
        open_jobs=row["open_jobs"],
        oldest_open_created_at=row["oldest_open_created_at"],
        last_full_at=row["last_full_at"],
        last_success_at=row["last_success_at"],
    )


def state_columns(results: Sequence[RepoResult]) -> list[list[Any]]:
    """UPSERT_REPO_STATES' arrays: one row per repository (a single INSERT ... ON CONFLICT cannot touch a
    row twice), merged as row-by-row statements would have left it: the last result wins, the highest
    id known is kept."""
    latest: dict[tuple[str, str, str], tuple[Any, ...]] = {}
    for r in results:
        key = (r.region, r.repo.namespace, r.repo.name)
        max_job_id = r.max_job_id
        if max_job_id is None and key in latest:
            max_job_id = latest[key][5]
        latest[key] = (
            *(*key, r.total, r.jobs_seen, max_job_id, r.status),
            *(r.high_water_id, r.high_water_created_at, r.open_jobs, r.oldest_open_created_at, r.full),
        )
    return [list(column) for column in zip(*latest.values(), strict=True)]


async def mark_gone_upstream(conn: Any, results: Sequence[RepoResult]) -> int:
    """Mark the stored jobs that clean full crawls no longer listed (per region: one statement each)."""
    by_region: dict[str, list[RepoResult]] = {}
    for r in results:
        if r.listed_ids is not None and r.status == "ok":
            by_region.setdefault(r.region, []).append(r)
    marked = 0
    for region, crawled in by_region.items():
        ids = [job_id for r in crawled for job_id in r.listed_ids or ()]
        namespaces, names = [r.repo.namespace for r in crawled], [r.repo.name for r in crawled]
        row = await conn.fetchrow(q.MARK_GONE_UPSTREAM, region, namespaces, names, ids)
        assert row is not None
        marked += int(row["marked"])
    return marked
