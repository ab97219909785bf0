"""Incremental crawls: which mode a repository gets, and when paging it newest first may stop. Pure.

A repository with a successful earlier crawl is paged with ``order::desc`` from offset 0 and the scan stops
at the first page that reaches jobs at or below the high-water mark (the newest job seen before) and older
than the oldest job still open (waiting/running) inside the open-job horizon: everything newer may have
been created or changed since. Open jobs older than the horizon are stuck; only full crawls refresh them.
Then the total must have grown by exactly the number of new jobs found; anything else (deletions,
retention, reordering, an ignored ``order``) means the repository is re-read in full. The API's default
order, and whether ``order::desc`` is honoured, are undocumented (docs/swr-api.md), hence the checks.
"""

from __future__ import annotations

import enum
import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from pipeline.domain import Repository, SyncJob

OPEN_STATUSES = frozenset({"waiting", "running"})

Key = tuple[datetime, int]  # how the API orders jobs: createdAt, then id


@dataclass(frozen=True, slots=True)
class RepoState:
    """What earlier crawls left of one repository (its crawl_repositories row)."""

    last_total: int | None = None
    high_water_id: int | None = None
    high_water_created_at: datetime | None = None
    open_jobs: int = 0
    oldest_open_created_at: datetime | None = None
    last_full_at: datetime | None = None
    last_success_at: datetime | None = None

    @property
    def high_water(self) -> Key | None:
        if self.high_water_id is None or self.high_water_created_at is None:
            return None
        return (self.high_water_created_at, self.high_water_id)


class Mode(enum.StrEnum):
    """How one repository is crawled."""

    FULL = "full"
    INCREMENTAL = "incremental"


def choose_mode(
    state: RepoState | None, *, now: datetime, force_full: bool, full_every: timedelta | None
) -> tuple[Mode, str]:
    """The mode of one repository and why: new, forced, due (full_every), no_high_water, or incremental."""
    if state is None or state.last_success_at is None:
        return Mode.FULL, "new"
    if force_full:
        return Mode.FULL, "forced"
    if full_every is not None and (state.last_full_at is None or now - state.last_full_at >= full_every):
        return Mode.FULL, "due"
    if state.last_total is None or (state.high_water is None and state.last_total > 0):
        return Mode.FULL, "no_high_water"  # a state from before incremental crawls
    return Mode.INCREMENTAL, "incremental"


def open_bound(state: RepoState, *, now: datetime, horizon: timedelta) -> datetime | None:
    """The createdAt the scan must get below: the oldest job open at the last crawl, inside the horizon."""
    oldest = state.oldest_open_created_at
    if state.open_jobs <= 0 or oldest is None:
        return None
    edge = now - horizon
    if oldest >= edge:
        return oldest
    # The oldest aged out (it is stuck now), but younger open jobs may still be inside the horizon.
    return edge if state.open_jobs > 1 else None


class Verdict(enum.StrEnum):
    """What the scan says after a page."""

    MORE = "more"  # fetch the next page
    DONE = "done"  # the repository is up to date: every change since the last crawl was read
    ORDER_IGNORED = "order_ignored"  # the first page is not newest first: re-read in full
    INCONSISTENT = "inconsistent"  # deletions, retention, reordering or an unknown total: re-read in full


class NewestFirstScan:
    """Follows one repository's ``order::desc`` pages and says when to stop (see the module docstring)."""

    def __init__(self, state: RepoState, bound: datetime | None) -> None:
        self.state = state
        self.bound = bound
        self.new_ids: set[int] = set()
        self.total: int | None = None
        self.next_offset = 0
        self.pages = 0
        self.reason: str | None = None  # why the verdict was ORDER_IGNORED or INCONSISTENT
        self._oldest: Key | None = None  # the oldest job of the pages so far

    def on_page(self, offset: int, jobs: Sequence[SyncJob], item_count: int, total: int | None) -> Verdict:
        """Take the page requested at ``offset`` (its valid jobs, items received, Content-Range total)."""
        first = self.pages == 0
        self.pages += 1
        keys = [(job.created_at, job.id) for job in jobs]
        if any(a < b for a, b in itertools.pairwise(keys)):
            return self._fail(Verdict.ORDER_IGNORED if first else Verdict.INCONSISTENT, "not_newest_first")
        if self._oldest is not None and keys and keys[0] > self._oldest:
            return self._fail(Verdict.INCONSISTENT, "reordered_between_pages")
        if total is None:
            return self._fail(Verdict.INCONSISTENT, "no_content_range")
        if self.total is not None and total != self.total:
            return self._fail(Verdict.INCONSISTENT, "total_changed")
        self.total = total
        high_water = self.state.high_water
        self.new_ids.update(
            job.id for job, key in zip(jobs, keys, strict=True) if high_water is None or key > high_water
        )
        self._oldest = keys[-1] if keys else self._oldest
        self.next_offset = offset + item_count
        if item_count == 0 or self.next_offset >= total or self._reached():
            return self._check()
        return Verdict.MORE

    def full_crawl_requests(self, limit: int) -> int:
        """What a full crawl of this repository would have cost: one request per page, at least one."""
        return max(1, math.ceil((self.total or 0) / limit))

    def _reached(self) -> bool:
        high_water, oldest = self.state.high_water, self._oldest
        if high_water is None or oldest is None or oldest > high_water:
            return False
        return self.bound is None or oldest[0] < self.bound

    def _check(self) -> Verdict:
        """The total grew by exactly the new jobs found, or something else changed below the scan."""
        if self.state.last_total is None or self.total != self.state.last_total + len(self.new_ids):
            return self._fail(Verdict.INCONSISTENT, "total_mismatch")
        return Verdict.DONE

    def _fail(self, verdict: Verdict, reason: str) -> Verdict:
        self.reason = reason
        return verdict


@dataclass(frozen=True, slots=True)
class SeenState:
    """The state a crawl leaves: high-water mark and the open jobs inside the horizon."""

    high_water: Key | None
    open_jobs: int
    oldest_open_created_at: datetime | None


class StateTracker:
    """Accumulates what one repository's crawl handed over (ids, high-water mark, open jobs)."""

    def __init__(self, *, now: datetime, horizon: timedelta) -> None:
        self._edge = now - horizon
        self.ids: set[int] = set()
        self.rejects = 0
        self._high_water: Key | None = None
        self._open: dict[int, datetime] = {}  # open job id -> createdAt (a later page may close it)

    def add(self, jobs: Iterable[SyncJob], rejects: int = 0) -> None:
        """Record one handed-over page."""
        self.rejects += rejects
        for job in jobs:
            self.ids.add(job.id)
            key = (job.created_at, job.id)
            if self._high_water is None or key > self._high_water:
                self._high_water = key
            if job.status in OPEN_STATUSES and job.created_at >= self._edge:
                self._open[job.id] = job.created_at
            else:
                self._open.pop(job.id, None)

    def result(self, previous: Key | None = None) -> SeenState:
        """The state to store; ``previous``: a high-water mark an incremental crawl keeps at least."""
        high_water = self._high_water
        if previous is not None and (high_water is None or previous > high_water):
            high_water = previous
        return SeenState(high_water, len(self._open), min(self._open.values(), default=None))


@dataclass(frozen=True)
class CrawlPlan:
    """One run's view of a source's repositories: their states, the run's clock and the mode settings."""

    states: Mapping[Repository, RepoState] = field(default_factory=dict)
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    force_full: bool = False
    full_every: timedelta | None = None
    horizon: timedelta = timedelta(hours=24)

    def mode_of(self, repo: Repository) -> tuple[Mode, str]:
        """The repository's mode and why (see choose_mode)."""
        state = self.states.get(repo)
        return choose_mode(state, now=self.now, force_full=self.force_full, full_every=self.full_every)

    def scan(self, state: RepoState) -> NewestFirstScan:
        """A newest-first scan of a repository in this state."""
        return NewestFirstScan(state, open_bound(state, now=self.now, horizon=self.horizon))

    def tracker(self) -> StateTracker:
        """A fresh tracker of what one repository's crawl hands over."""
        return StateTracker(now=self.now, horizon=self.horizon)

    def schedule(self, repos: Iterable[Repository]) -> list[Repository]:
        """The repositories in the order this run crawls them (stalest first)."""
        return stalest_first(repos, self.states)


def stalest_first(repos: Iterable[Repository], states: Mapping[Repository, RepoState]) -> list[Repository]:
    """Never crawled successfully first (in the given order), then the oldest successful crawl first: runs
    cut short by a deadline resume where the last one stopped, and together cover every repository."""

    def success(repo: Repository) -> datetime | None:
        state = states.get(repo)
        return None if state is None else state.last_success_at

    unique = list(dict.fromkeys(repos))
    never = [repo for repo in unique if success(repo) is None]
    crawled = [repo for repo in unique if success(repo) is not None]
    return never + sorted(crawled, key=lambda repo: (success(repo), repo))
