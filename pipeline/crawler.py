"""Fan out over a source's repositories: each is paged (first page, then the rest concurrently) under the
client's global bound on requests in flight, and its pages go to the writer's bounded queue.

Discovery and the repository workers are tasks of one TaskGroup: a fatal error in any of them (refused
credentials, a bug) cancels the others at once, so nothing is left waiting on a queue nobody serves.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pipeline import discovery
from pipeline.client import SwrClient
from pipeline.client import stopped as stopped_error
from pipeline.domain import JobPage, Reject, Repository, RunStats, SyncJob
from pipeline.errors import (
    ApiError,
    AuthError,
    Interrupted,
    NotFound,
    RepositoryError,
    RetriesExhausted,
    SwrEtlError,
)
from pipeline.incremental import CrawlPlan, Mode, SeenState, StateTracker, Verdict
from pipeline.incremental_pager import scan_newest_first
from pipeline.logs import get_logger
from pipeline.pagination import TOTAL_SHRANK, PagePlanner
from pipeline.settings import HttpSettings, SourceSettings
from pipeline.tasks import owned_tasks
from pipeline.writer import Item, PageBatch, RepoOutcome

log = get_logger(__name__)

# Flags that mean the API's answers could not be trusted (as opposed to data that changed under us).
SUSPICIOUS_FLAGS = frozenset(
    {
        "repeated_page",
        "count_mismatch",
        "short_of_total",
        "request_cap_reached",
        "no_content_range",
        "offset_mismatch",
        "total_unstable",
        "total_shrank",
        "implausible_total",
    }
)
# A repository whose total shrank while it was paged (jobs deleted: later offsets skipped some) is read
# again from offset 0, at most this many times; a pass with a steady total has no gap.
MAX_REREADS = 2
# 404 with this gateway code means our path is wrong, not that the repository is gone.
ROUTE_NOT_FOUND = "APIGW.0101"


def page_problems(page: JobPage) -> list[str]:
    """Inconsistencies between a page's Content-Range and its body."""
    cr = page.content_range
    if cr is None:
        return ["no_content_range"]
    problems = []
    if cr.count != page.item_count:
        problems.append("count_mismatch")
    if cr.offset != page.offset:
        problems.append("offset_mismatch")
    return problems


class SourceCrawler:
    """Crawls one source (endpoint + credentials + selection) into the writer's queue."""

    def __init__(
        self,
        client: SwrClient,
        source: SourceSettings,
        http: HttpSettings,
        *,
        queue: asyncio.Queue[Item],
        stats: RunStats,
        stopping: Callable[[], bool],
        plan: CrawlPlan | None = None,
        may_start: Callable[[], bool] = lambda: True,
    ) -> None:
        self._plan = plan or CrawlPlan()
        self._may_start = may_start  # False once the run's deadline nears: no new repository starts
        self._trackers: dict[Repository, StateTracker] = {}  # repositories in flight
        self._client = client
        self._source = source
        self._http = http
        self._queue = queue
        self._stats = stats
        self._stopping = stopping

    async def run(self) -> None:
        """Discover every repository, then crawl them stalest first; repositories fail alone, a fatal error
        ends every task."""
        found: list[Repository] = []
        with contextlib.suppress(Interrupted):  # stopping: nothing more starts
            await self._discover_into(found)
        # Stalest first, so that runs cut short by their deadline take turns over the whole account.
        scheduled = self._plan.schedule(found)
        workers = self._http.repos_in_flight
        repos: asyncio.Queue[Repository | None] = asyncio.Queue(maxsize=workers)
        async with owned_tasks() as group:
            for _ in range(workers):
                group.create_task(self._worker(repos))
            group.create_task(self._hand_out(scheduled, repos, workers))
        if self._stopping() or not self._may_start():
            return  # repositories were left unasked: refusals of those asked say nothing of the credentials
        if (refusal := self._client.refused_everything()) is not None:
            raise refusal  # every answer was a 403: the credentials may not read SWR at all

    async def _hand_out(
        self, scheduled: list[Repository], repos: asyncio.Queue[Repository | None], workers: int
    ) -> None:
        for repo in scheduled:
            if self._stopping():
                break
            await repos.put(repo)
        for _ in range(workers):
            await repos.put(None)

    async def _discover_into(self, repos: list[Repository]) -> None:
        source, stats = self._source, self._stats
        if source.repositories:
            repos.extend(dict.fromkeys(source.repositories))
            stats.repos_discovered += len(repos)  # an explicit selection is known whole at once
            stats.sources_discovered += 1
            return
        try:
            namespaces = list(source.namespaces) or sorted(await self._client.list_namespaces())
        except RepositoryError as exc:
            stats.sources_discovered += 1  # nothing more will be found
            stats.repos_discovered += 1  # the failed listing is the one item found (and failed)
            await self._record_failure(Repository("*", "*"), exc, kind="failed")
            return
        log.info("namespaces_discovered", region=source.region, count=len(namespaces))
        # Every repository is known before the first starts (stalest first): the namespaces are listed
        # concurrently, under the client's bound, and kept in their order.
        async with owned_tasks() as group:
            listings = [group.create_task(self._repositories_of(ns)) for ns in dict.fromkeys(namespaces)]
        for listing in listings:
            repos.extend(listing.result())
        stats.sources_discovered += 1

    async def _repositories_of(self, namespace: str) -> list[Repository]:
        found: list[Repository] = []
        try:
            async for repo in discovery.repositories_of(self._client, namespace):
                if self._stopping():
                    break
                self._stats.repos_discovered += 1
                found.append(repo)
        except RepositoryError as exc:
            self._stats.repos_discovered += 1  # the failed listing counts as one item found (and failed)
            await self._record_failure(Repository(namespace, "*"), exc, kind=_failure_kind(exc))
        return found

    async def _worker(self, repos: asyncio.Queue[Repository | None]) -> None:
        while (repo := await repos.get()) is not None:
            if self._stopping() or not self._may_start():
                self._stats.skipped_repos += 1
                continue
            await self._crawl_repo(repo)

    async def _crawl_repo(self, repo: Repository) -> None:
        self._trackers[repo] = tracker = self._plan.tracker()
        try:
            outcome = await self._crawl_in_mode(repo, tracker)
        except AuthError:
            raise
        except Interrupted:
            # Stopped before its last page: its committed pages stay, but it is not recorded as crawled.
            self._stats.skipped_repos += 1
            return
        except RepositoryError as exc:
            await self._record_failure(repo, exc, kind=_failure_kind(exc))
            return
        finally:
            del self._trackers[repo]
        # Counted once the writer has it: a crawl cancelled while the queue is full (the deadline) must not
        # count a repository whose outcome is never recorded.
        await self._queue.put(outcome)
        if outcome.status == "ok":
            self._stats.repos_ok += 1
        else:
            self._stats.repos_flagged += 1
            log.warning("repo_flagged", repo=repo.full_name, flags=outcome.message, total=outcome.total)
        log.debug("repo_done", repo=repo.full_name, jobs=outcome.jobs_seen, total=outcome.total)

    async def _crawl_in_mode(self, repo: Repository, tracker: StateTracker) -> RepoOutcome:
        """Incremental when the plan says so and its check holds; otherwise (or after it) in full."""
        mode, reason = self._plan.mode_of(repo)
        state = self._plan.states.get(repo)
        if mode is Mode.INCREMENTAL and state is not None:
            scan = self._plan.scan(state)
            limit = self._http.page_size
            verdict = await scan_newest_first(
                self._client, repo, scan, limit=limit, max_requests=self._http.max_requests_per_repo,
                hand_over=self._hand_over,
            )  # fmt: skip
            if verdict is Verdict.DONE:
                self._stats.repos_incremental += 1
                self._stats.requests_saved += scan.full_crawl_requests(limit) - scan.pages
                seen = tracker.result(previous=state.high_water)
                ids = tracker.ids
                outcome = RepoOutcome(
                    self._source.region, repo, "ok", scan.total, len(ids), max(ids, default=None)
                )
                return _with_state(outcome, seen, full=False, listed=None)
            self._stats.requests_saved -= scan.pages
            reason = scan.reason or verdict.value
            log.info("repo_reread", repo=repo.full_name, reason=reason, verdict=verdict.value)
        outcome = await self._page_through(repo)
        if mode is Mode.INCREMENTAL:
            self._stats.repos_reread += 1
        else:
            self._stats.repos_full += 1
        log.debug("repo_full", repo=repo.full_name, reason=reason)
        # Jobs it no longer lists are gone upstream, unless a record it could not read hid one of them
        # (first crawls skip the comparison: nothing of theirs is stored yet).
        clean = outcome.status == "ok" and not tracker.rejects and state is not None
        return _with_state(
            outcome, tracker.result(), full=True, listed=frozenset(tracker.ids) if clean else None
        )

    async def _page_through(self, repo: Repository) -> RepoOutcome:
        """Read the repository from offset 0; read it again when its total shrank while it was paged."""
        reading = _Reading()
        for reread in range(MAX_REREADS + 1):
            if reread:
                log.info("repo_reread", repo=repo.full_name, reread=reread, total=reading.total)
            planner = PagePlanner(self._http.page_size, max_requests=self._http.max_requests_per_repo)
            problems = await self._read_pass(repo, planner, reading)
            if TOTAL_SHRANK not in planner.flags:
                break
        # The last pass decides: a steady one has no gap, whatever the earlier ones met.
        flags = sorted((problems | set(planner.flags)) & SUSPICIOUS_FLAGS)
        seen = reading.seen
        return RepoOutcome(
            region=self._source.region,
            repo=repo,
            status="flagged" if flags else "ok",
            total=reading.total,
            jobs_seen=len(seen),
            max_job_id=max(seen) if seen else None,
            message=", ".join(flags) if flags else None,
            detail=(
                {"flags": flags, "planner_flags": list(planner.flags), "rereads": reread} if flags else None
            ),
        )

    async def _read_pass(self, repo: Repository, planner: PagePlanner, reading: _Reading) -> set[str]:
        """Fetch the pages the planner asks for until it is done; the page problems met on the way."""
        limit = planner.limit
        tasks: dict[asyncio.Task[JobPage], int] = {}
        problems: set[str] = set()
        passed = _Reading()  # this pass's own ids: a page is new to the planner if new to this pass
        stopped: Interrupted | None = None

        def spawn(offsets: list[int]) -> None:
            nonlocal stopped
            if offsets and self._stopping():
                stopped = stopped or stopped_error()
                return
            for offset in offsets:
                tasks[asyncio.create_task(self._client.fetch_job_page(repo, offset, limit))] = offset

        spawn(planner.first_offsets())
        try:
            while tasks:
                done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    offset = tasks.pop(task)
                    if isinstance(failure := task.exception(), Interrupted):
                        stopped = failure  # the pages already on their way are still taken
                        continue
                    page = task.result()
                    new_jobs, new_rejects = passed.take(page)
                    fresh, rejects = reading.take(page)
                    problems.update(page_problems(page))
                    await self._hand_over(repo, fresh, rejects)
                    cr = page.content_range
                    total, count = (cr.total, cr.count) if cr else (None, None)
                    new_items = len(new_jobs) + len(new_rejects)  # a reject has no usable id: new
                    spawn(planner.on_page(offset, page.item_count, new_items, total, count=count))
        finally:
            # A failed page ends the repository: no further requests for it, and none left behind.
            await _cancel_all(tasks)
        if stopped is not None:
            raise stopped
        return problems

    async def _hand_over(self, repo: Repository, fresh: list[SyncJob], rejects: list[Reject]) -> None:
        stats = self._stats
        stats.pages += 1
        stats.jobs_seen += len(fresh)
        stats.rejected += len(rejects)
        stats.unknown_status += sum(1 for job in fresh if not job.status_known)
        if (tracker := self._trackers.get(repo)) is not None:
            tracker.add(fresh, len(rejects))
        if fresh or rejects:
            await self._queue.put(PageBatch(self._source.region, repo, fresh, rejects))

    async def _record_failure(self, repo: Repository, exc: SwrEtlError, *, kind: str) -> None:
        last = exc.last if isinstance(exc, RetriesExhausted) else exc
        code = last.code if isinstance(last, ApiError) else None
        attempts = exc.attempts if isinstance(exc, RetriesExhausted) else 1
        await self._queue.put(
            RepoOutcome(
                self._source.region, repo, kind, error_code=code, message=exc.message, attempts=attempts
            )
        )  # counted once the writer has it, as a crawled repository is
        if kind == "gone":
            self._stats.repos_gone += 1
            log.info("repo_gone", repo=repo.full_name, error_code=code)
        else:
            self._stats.repos_failed += 1
            log.warning(
                "repo_failed", repo=repo.full_name, error_code=code, error=exc.message, attempts=attempts
            )


@dataclass
class _Reading:
    """What has been read of one repository: job ids, rejects (a repeated page must not store or count its
    rejects twice) and the latest total reported."""

    seen: set[int] = field(default_factory=set)
    seen_rejects: set[str] = field(default_factory=set)
    total: int | None = None

    def take(self, page: JobPage) -> tuple[list[SyncJob], list[Reject]]:
        """The page's jobs and rejects not read before (now read)."""
        fresh = [job for job in page.jobs if job.id not in self.seen]
        self.seen.update(job.id for job in fresh)
        rejects = [r for r in page.rejects if r.raw not in self.seen_rejects]
        self.seen_rejects.update(r.raw for r in rejects)
        if page.content_range is not None:
            self.total = page.content_range.total
        return fresh, rejects


async def _cancel_all(tasks: Iterable[asyncio.Task[Any]]) -> None:
    """Cancel what is still running and wait for it, so no request outlives its repository."""
    pending = list(tasks)
    for task in pending:
        task.cancel()
    # Collects the outcome of each (even of tasks that failed at the same time): no "never retrieved".
    await asyncio.gather(*pending, return_exceptions=True)


def _with_state(
    outcome: RepoOutcome, seen: SeenState, *, full: bool, listed: frozenset[int] | None
) -> RepoOutcome:
    """The outcome with the state the next run plans from."""
    high_water = seen.high_water
    return dataclasses.replace(
        outcome,
        full=full,
        high_water_id=None if high_water is None else high_water[1],
        high_water_created_at=None if high_water is None else high_water[0],
        open_jobs=seen.open_jobs,
        oldest_open_created_at=seen.oldest_open_created_at,
        listed_ids=listed,
    )


def _failure_kind(exc: SwrEtlError) -> str:
    if isinstance(exc, NotFound) and exc.code != ROUTE_NOT_FOUND:
        return "gone"
    return "failed"
