"""The pure side of incremental crawls: mode choice, open-job bound, newest-first stopping, state, order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipeline.domain import Repository, SyncJob
from pipeline.incremental import (
    CrawlPlan,
    Mode,
    NewestFirstScan,
    RepoState,
    StateTracker,
    Verdict,
    choose_mode,
    open_bound,
    stalest_first,
)
from tests.integration.factories import make_job

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)
DAY = timedelta(hours=24)


def job(job_id: int, hours_ago: float, status: str = "success") -> SyncJob:
    """Job ``job_id`` created ``hours_ago`` before NOW."""
    return make_job(job_id, created_at=NOW - hours_ago * H, updated_at=NOW - hours_ago * H, status=status)


def state(**fields: object) -> RepoState:
    """A repository crawled successfully an hour ago (and in full), with ``fields`` overriding."""
    base: dict[str, object] = {"last_success_at": NOW - H, "last_full_at": NOW - H}
    return RepoState(**{**base, **fields})  # type: ignore[arg-type]


KNOWN = {"last_total": 5, "high_water_id": 9, "high_water_created_at": NOW}


@pytest.mark.parametrize(
    ("repo_state", "force", "every", "expected"),
    [
        (None, False, None, (Mode.FULL, "new")),
        (RepoState(last_total=5), False, None, (Mode.FULL, "new")),  # crawled, never successfully
        (state(**KNOWN), True, None, (Mode.FULL, "forced")),
        (state(**KNOWN), False, None, (Mode.INCREMENTAL, "incremental")),
        (state(**KNOWN), False, DAY, (Mode.INCREMENTAL, "incremental")),
        (state(**KNOWN), False, H, (Mode.FULL, "due")),  # the last full crawl is an hour old
        (state(**KNOWN, last_full_at=None), False, DAY, (Mode.FULL, "due")),
        (state(last_total=0), False, None, (Mode.INCREMENTAL, "incremental")),  # empty: every job is new
        (state(last_total=3), False, None, (Mode.FULL, "no_high_water")),  # a state from before 0007
        (state(high_water_id=9, high_water_created_at=NOW), False, None, (Mode.FULL, "no_high_water")),
    ],
)
def test_choose_mode(
    repo_state: RepoState | None, force: bool, every: timedelta | None, expected: tuple[Mode, str]
) -> None:
    assert choose_mode(repo_state, now=NOW, force_full=force, full_every=every) == expected


@pytest.mark.parametrize(
    ("open_jobs", "oldest_hours_ago", "expected_hours_ago"),
    [
        (0, None, None),  # nothing open
        (1, 3.0, 3.0),  # the oldest open job, inside the horizon
        (4, 23.0, 23.0),
        (1, 30.0, None),  # the only open job is stuck: full crawls refresh it
        (3, 30.0, 24.0),  # the oldest is stuck, younger ones may not be: read back to the horizon
    ],
)
def test_open_bound(open_jobs: int, oldest_hours_ago: float | None, expected_hours_ago: float | None) -> None:
    oldest = None if oldest_hours_ago is None else NOW - oldest_hours_ago * H
    repo_state = state(open_jobs=open_jobs, oldest_open_created_at=oldest)
    expected = None if expected_hours_ago is None else NOW - expected_hours_ago * H
    assert open_bound(repo_state, now=NOW, horizon=DAY) == expected


def newest_first(count: int, *, newest_hours_ago: float = 0.0) -> list[SyncJob]:
    """``count`` jobs one hour apart, newest first; ids grow with creation time (id 1 is the oldest)."""
    return [job(count - i, newest_hours_ago + i) for i in range(count)]


def scan_pages(
    scan: NewestFirstScan, jobs: list[SyncJob], limit: int, total: int | None = None
) -> list[Verdict]:
    """Feed ``jobs`` (newest first) page by page until the scan stops; the verdict of each page."""
    verdicts, offset = [], 0
    while True:
        page = jobs[offset : offset + limit]
        verdict = scan.on_page(offset, page, len(page), len(jobs) if total is None else total)
        verdicts.append(verdict)
        if verdict is not Verdict.MORE:
            return verdicts
        offset = scan.next_offset


# 50 jobs stored (ids 1..50, newest id 50 created 10 h ago); pages of 10.
STORED = newest_first(50, newest_hours_ago=10)
HIGH = {"last_total": 50, "high_water_id": 50, "high_water_created_at": NOW - 10 * H}


NEW_3 = [job(53, 1), job(52, 2), job(51, 3), *STORED]
NEW_12 = [*(job(50 + i, (12 - i) / 2) for i in range(12, 0, -1)), *STORED]
SWAPPED = [*STORED[:20], job(99, 29.5), *STORED[20:-1]]  # an old job inserted, the oldest deleted


@pytest.mark.parametrize(
    ("case", "upstream", "bound_hours_ago", "pages", "verdict", "new"),
    [
        ("unchanged: one request", STORED, None, 1, Verdict.DONE, 0),
        ("3 new jobs on top", NEW_3, None, 1, Verdict.DONE, 3),
        ("12 new: the high-water mark is on page 2", NEW_12, None, 2, Verdict.DONE, 12),
        ("an open job 25 h ago: read below it", STORED, 25.0, 2, Verdict.DONE, 0),
        ("an open job 19 h ago, page 1 ends at 19 h: one more page", STORED, 19.0, 2, Verdict.DONE, 0),
        ("a job deleted: the total shrank", STORED[:-1], None, 1, Verdict.INCONSISTENT, 0),
        ("one new, one old deleted", [job(51, 1), *STORED[:-1]], None, 1, Verdict.INCONSISTENT, 1),
        ("an old job inserted below the mark", [*STORED[:20], job(99, 29.5), *STORED[20:]], None, 1,
         Verdict.INCONSISTENT, 0),
        ("one inserted below, one deleted: left to the next full crawl", SWAPPED, None, 1, Verdict.DONE, 0),
        ("the API ignores order::desc", STORED[::-1], None, 1, Verdict.ORDER_IGNORED, 0),
    ],
)  # fmt: skip
def test_newest_first_scan(
    *,
    case: str,
    upstream: list[SyncJob],
    bound_hours_ago: float | None,
    pages: int,
    verdict: Verdict,
    new: int,
) -> None:
    bound = None if bound_hours_ago is None else NOW - bound_hours_ago * H
    scan = NewestFirstScan(state(**HIGH), bound)
    verdicts = scan_pages(scan, upstream, limit=10)
    assert verdicts == [Verdict.MORE] * (pages - 1) + [verdict], case
    assert len(scan.new_ids) == new, case


def test_the_end_of_the_list_stops_the_scan_even_above_the_bound() -> None:
    scan = NewestFirstScan(state(**HIGH), NOW - 1000 * H)
    assert scan_pages(scan, STORED, limit=10) == [Verdict.MORE] * 4 + [Verdict.DONE]
    assert scan.pages == 5
    assert scan.full_crawl_requests(10) == 5


@pytest.mark.parametrize(
    ("pages", "totals", "reason"),
    [
        ([STORED[:10], STORED[:10]], [60, 60], "reordered_between_pages"),  # page 2 not older than page 1
        ([STORED[:10], STORED[10:20]], [60, 61], "total_changed"),
        ([STORED[:10]], [None], "no_content_range"),
        ([STORED[:10], STORED[10:20][::-1]], [60, 60], "not_newest_first"),  # later pages: inconsistent
    ],
)
def test_what_sends_a_repository_to_a_full_reread(
    pages: list[list[SyncJob]], totals: list[int | None], reason: str
) -> None:
    scan = NewestFirstScan(state(**HIGH), NOW)  # a bound that keeps the scan going
    verdict, offset = Verdict.MORE, 0
    for page, total in zip(pages, totals, strict=True):
        verdict = scan.on_page(offset, page, len(page), total)
        offset = scan.next_offset
    assert verdict is Verdict.INCONSISTENT
    assert scan.reason == reason


def test_an_empty_repository_stays_cheap_and_sees_its_first_jobs() -> None:
    assert NewestFirstScan(state(last_total=0), None).on_page(0, [], 0, 0) is Verdict.DONE
    scan = NewestFirstScan(state(last_total=0), None)
    assert scan_pages(scan, newest_first(12), limit=10) == [Verdict.MORE, Verdict.DONE]
    assert len(scan.new_ids) == 12


def test_a_single_job_cannot_reveal_the_order() -> None:
    scan = NewestFirstScan(state(last_total=1, high_water_id=1, high_water_created_at=NOW - H), None)
    assert scan.on_page(0, [job(1, 1)], 1, 1) is Verdict.DONE


def test_tracker_keeps_high_water_and_open_jobs_inside_the_horizon() -> None:
    tracker = StateTracker(now=NOW, horizon=DAY)
    tracker.add([job(7, 1, "waiting"), job(6, 2, "running"), job(5, 3)], rejects=1)
    tracker.add([job(4, 30, "running"), job(6, 2, "success")])  # 4 is stuck; 6 finished meanwhile
    seen = tracker.result()
    assert seen.high_water == (NOW - H, 7)
    assert (seen.open_jobs, seen.oldest_open_created_at) == (1, NOW - H)
    assert tracker.ids == {4, 5, 6, 7}
    assert tracker.rejects == 1
    assert tracker.result(previous=(NOW, 9)).high_water == (NOW, 9)  # an incremental crawl never goes back
    assert StateTracker(now=NOW, horizon=DAY).result() == type(seen)(None, 0, None)


def test_stalest_first() -> None:
    a, b, c, d = (Repository("ns", name) for name in "abcd")
    states = {
        a: state(last_success_at=NOW - H),
        b: state(last_success_at=NOW - 5 * H),
        c: RepoState(last_total=3),  # crawled, never successfully
    }
    assert stalest_first([a, b, c, d, a], states) == [c, d, b, a]
    assert CrawlPlan(states=states, now=NOW).schedule([a, b]) == [b, a]
