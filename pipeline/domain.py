"""Frozen domain types shared by the crawler, the store and the simulator's introspection."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple, Protocol


class SyncStatus(enum.StrEnum):
    """Documented sync-job statuses; anything else is stored as-is and counted as unknown."""

    WAITING = "waiting"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    TIMEOUT = "timeout"
    CANCEL = "cancel"
    EXISTED = "existed"


KNOWN_STATUSES: frozenset[str] = frozenset(s.value for s in SyncStatus)
FINAL_STATUSES: frozenset[str] = frozenset({"success", "failed", "timeout", "cancel", "existed"})


@dataclass(frozen=True, slots=True, order=True)
class Repository:
    """One SWR repository: a namespace (organization) and a name that may contain '/'."""

    namespace: str
    name: str

    @property
    def full_name(self) -> str:
        return f"{self.namespace}/{self.name}"


class SyncJob(NamedTuple):
    """One image-sync job as the API reports it (field names are the snake_case API names).

    Immutable like the other domain types, but a tuple: in this field order it is also the row the store
    COPYs (no per-job conversion on the hot path of a crawl of hundreds of thousands of jobs). Only what
    identifies and orders a job is required; the API reference marks no field mandatory, so every other
    documented field is None when the record had it null or absent.
    """

    id: int
    namespace: str
    repo_name: str
    tag: str | None
    status: str
    override: bool | None
    remote_region_id: str | None
    remote_namespace: str | None
    domain_id: str | None
    domain_name: str | None
    sync_operator_id: str | None
    sync_operator_name: str | None
    created_at: datetime
    updated_at: datetime | None
    # The record's undocumented fields as the text of one JSON object, keys sorted (None: it had none).
    extra: str | None = None

    @property
    def status_known(self) -> bool:
        return self.status in KNOWN_STATUSES

    @property
    def moved_at(self) -> datetime:
        """When the job last moved as far as the API says: a job without updatedAt never moved."""
        return self.updated_at or self.created_at


@dataclass(frozen=True, slots=True)
class Reject:
    """A record that failed validation: kept with its raw JSON and the reason."""

    raw: str
    reason: str


@dataclass(frozen=True, slots=True)
class ContentRange:
    """`Content-Range: {offset}-{count}/{total}`; count is the number of items on the page."""

    offset: int
    count: int
    total: int


@dataclass(frozen=True, slots=True)
class JobPage:
    """One decoded ShowSyncJob page."""

    offset: int
    limit: int
    jobs: tuple[SyncJob, ...]
    rejects: tuple[Reject, ...]
    item_count: int
    content_range: ContentRange | None


class RequestCounters(Protocol):
    """A source client's live request counters (the client's ClientStats)."""

    @property
    def requests(self) -> int: ...
    @property
    def throttled(self) -> int: ...


@dataclass(slots=True)
class RunStats:
    """Counters of one crawl run (mutable while the run goes on, then written to crawl_runs)."""

    repos_ok: int = 0
    repos_failed: int = 0
    repos_gone: int = 0
    repos_flagged: int = 0
    pages: int = 0
    requests: int = 0
    jobs_seen: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    unknown_status: int = 0
    id_conflicts: int = 0
    skipped_repos: int = 0
    # Discovery's progress: repositories found so far (a failed listing counts as one, failed), and sources
    # whose discovery is complete.
    repos_discovered: int = 0
    sources_discovered: int = 0
    throttled: int = 0  # 429s received, with or without Retry-After
    rate_reached: float = 0.0  # requests/s granted on average to the busiest API of a source
    rate_learned: float | None = None  # requests/s that API's pace ended at (None: never paced)
    repos_full: int = 0  # repositories read in full (new, forced, due, or re-read after an incremental check)
    repos_incremental: int = 0  # repositories whose incremental crawl held (newest pages only)
    repos_reread: int = 0  # incremental crawls whose check failed: the repository was re-read in full
    requests_saved: int = 0  # full crawls' requests the incremental ones did not send (estimate)
    jobs_gone: int = 0  # stored jobs a full crawl no longer found upstream (marked, kept)
    flags: dict[str, int] = field(default_factory=dict)
    # Each source's client counters, read while the run goes on (`requests` is added up only at the end).
    clients: list[RequestCounters] = field(default_factory=list)

    @property
    def repos_done(self) -> int:
        """Repositories whose crawl ended, whatever the outcome."""
        return self.repos_ok + self.repos_failed + self.repos_gone + self.repos_flagged + self.skipped_repos

    def requests_sent(self) -> int:
        """Requests sent so far by every source (live, unlike `requests`)."""
        return sum(c.requests for c in self.clients)

    def throttled_so_far(self) -> int:
        """429 answers so far, every source."""
        return sum(c.throttled for c in self.clients)

    @property
    def repos_left(self) -> int:
        """Repositories found that this run did not finish (a deadline or a stop): the next run's first.

        Counted from discovery, not from the schedule: a deadline or a stop during discovery leaves every
        repository found so far, though none was scheduled."""
        finished = self.repos_ok + self.repos_failed + self.repos_gone + self.repos_flagged
        return max(0, self.repos_discovered - finished)
