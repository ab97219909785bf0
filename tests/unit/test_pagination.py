"""PagePlanner against a model server: honest paging, server page caps, and every kind of lying header."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.pagination import FEW_REQUESTS, PagePlanner


@dataclass
class Server:
    """A ShowSyncJob model: ids 0..n-1 in asc order, served from any offset, with optional lies."""

    total: int
    cap: int = 10_000  # the server's own page-size maximum
    header: bool = True  # send Content-Range at all
    total_lie: int = 0  # added to the reported total
    grow: int = 0  # items appended after every request (live data)
    grow_limit: int = 10**9  # ... until this many exist
    ignore_offset: bool = False  # always serve the first page
    short_by: dict[int, int] = field(default_factory=dict)  # offset -> items withheld from that page
    count_lie: int = 0  # added to the reported count
    served: Counter[int] = field(default_factory=Counter)  # position -> times served

    def page(self, offset: int, limit: int) -> tuple[list[int], int | None, int | None]:
        start = 0 if self.ignore_offset else offset
        n = max(0, min(limit, self.cap, self.total - start) - self.short_by.get(offset, 0))
        ids = list(range(start, start + n))
        self.served.update(ids)
        total = self.total + self.total_lie if self.header else None
        count = len(ids) + self.count_lie if self.header else None
        self.total = min(self.grow_limit, self.total + self.grow)
        return ids, total, count


@dataclass
class Crawl:
    requests: list[int]
    seen: set[int]
    planner: PagePlanner
    served_pages: int  # pages that brought items


def crawl(
    server: Server, planner: PagePlanner, rng: random.Random | None = None, steps: int = 50_000
) -> Crawl:
    """Drive the planner like the crawler: answer outstanding offsets (in random order if rng is given)."""
    queue = planner.first_offsets()
    requests, seen, served = list(queue), set(), 0
    for _ in range(steps):
        if not queue:
            break
        offset = queue.pop(rng.randrange(len(queue)) if rng else 0)
        ids, total, count = server.page(offset, planner.limit)
        new = [i for i in ids if i not in seen]
        seen.update(ids)
        served += bool(ids)
        more = planner.on_page(offset, len(ids), len(new), total, count=count)
        requests += more
        queue += more
    else:
        pytest.fail("the planner did not terminate")
    assert planner.done
    assert not planner.outstanding
    return Crawl(requests, seen, planner, served)


# --- honest servers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "limit", "cap", "requests"),
    [
        (0, 10, 10_000, [0]),
        (1, 10, 10_000, [0]),
        (10, 10, 10_000, [0]),
        (11, 10, 10_000, [0, 10]),
        (25, 10, 10_000, [0, 10, 20]),
        (25, 10, 7, [0, 7, 14, 21]),  # the server caps pages at 7: plan with 7
        (7, 10, 7, [0]),  # capped page that is also the whole repository
        (8, 10, 7, [0, 7]),
        (100, 100, 1000, [0]),
        (1000, 100, 1000, [0, 100, 200, 300, 400, 500, 600, 700, 800, 900]),
        (5, 1, 10_000, [0, 1, 2, 3, 4]),
    ],
)
def test_honest_server(total: int, limit: int, cap: int, requests: list[int]) -> None:
    server = Server(total, cap=cap)
    result = crawl(server, PagePlanner(limit))
    assert result.requests == requests
    assert result.seen == set(range(total))
    assert all(n == 1 for n in server.served.values())
    assert result.planner.flags == ()
    assert result.planner.requests_made == len(requests)


def test_known_total_plans_every_remaining_page_at_once() -> None:
    planner = PagePlanner(10)
    assert planner.first_offsets() == [0]
    assert not planner.done
    assert planner.on_page(0, 10, 10, 45) == [10, 20, 30, 40]
    assert planner.outstanding == frozenset({10, 20, 30, 40})
    assert planner.on_page(20, 10, 10, 45) == []
    assert not planner.done


@pytest.mark.parametrize(
    ("total", "limit", "cap", "requests"),
    [
        (0, 10, 10_000, [0]),
        (25, 10, 10_000, [0, 10, 20]),  # a short page ends it
        (20, 10, 10_000, [0, 10, 20]),  # an empty page ends it: one request wasted
        (20, 10, 7, [0, 7, 14]),  # a short first page is taken as the server's cap
        (5, 10, 10_000, [0, 5]),  # ... which costs one empty page when it was the whole repository
    ],
)
def test_no_content_range_goes_sequential(total: int, limit: int, cap: int, requests: list[int]) -> None:
    result = crawl(Server(total, cap=cap, header=False), PagePlanner(limit))
    assert result.requests == requests
    assert result.seen == set(range(total))
    assert result.planner.flags == ("no_content_range",)


# --- odd and lying servers ----------------------------------------------------------------------------


def test_short_page_before_the_total_requests_the_gap() -> None:
    server = Server(30, short_by={10: 4})
    result = crawl(server, PagePlanner(10))
    assert result.requests == [0, 10, 20, 16]
    assert result.seen == set(range(30))
    # The gap fill asks for a whole page from 16, so it re-reads [20, 26): deduped, and said.
    assert result.planner.flags == ("overlapping_page",)


def test_gap_fill_does_not_repeat_a_range_already_in_flight() -> None:
    planner = PagePlanner(10)
    planner.first_offsets()
    assert planner.on_page(0, 5, 5, 30) == [5, 10, 15, 20, 25]  # cap 5 learned from the first page
    assert planner.on_page(5, 3, 3, 30) == [8]  # the gap [8, 10) is nobody's
    assert planner.on_page(8, 1, 1, 30) == [9]
    assert planner.on_page(9, 1, 1, 30) == []  # [10, 15) is in flight: no gap to fill


def test_empty_page_before_the_total() -> None:
    result = crawl(Server(25, total_lie=25), PagePlanner(10))
    # 30 and 40 come back empty; 20 comes back short, so its gap [25, 30) is asked for once, and is empty too.
    assert result.requests == [0, 10, 20, 30, 40, 25]
    assert result.seen == set(range(25))
    assert "short_of_total" in result.planner.flags


def test_growing_total_is_followed() -> None:
    server = Server(25, grow=3, grow_limit=40)
    result = crawl(server, PagePlanner(10))
    # Everything up to the last total reported; what was appended after the last answer is the next run's.
    assert result.planner.total == 34
    assert result.seen == set(range(34))
    assert "total_changed" in result.planner.flags
    assert sorted(set(result.requests)) == sorted(result.requests)


def test_growing_total_is_not_chased_forever() -> None:
    server = Server(25, grow=10)  # every answer reports 10 more: each would ask for one more page
    result = crawl(server, PagePlanner(10, max_extensions=3))
    assert "total_unstable" in result.planner.flags
    assert result.planner.requests_made == 3 + 3
    assert result.seen == set(range(len(result.seen)))


def test_shrinking_total_stops_planning_beyond_it() -> None:
    planner = PagePlanner(10)
    planner.first_offsets()
    assert planner.on_page(0, 10, 10, 25) == [10, 20]
    assert planner.on_page(10, 10, 10, 18) == []
    assert planner.on_page(20, 0, 0, 18) == []  # past the new end: not short of it
    assert planner.done
    # Jobs were deleted while paging: the offsets after the deletion skipped some, which the crawler
    # answers by reading the repository again.
    assert planner.flags == ("total_changed", "total_shrank")


def test_repeated_pages_stop() -> None:
    server = Server(50, ignore_offset=True)
    result = crawl(server, PagePlanner(10))
    assert result.requests == [0, 10, 20, 30, 40]
    assert result.planner.flags == ("repeated_page",)


def test_repeated_pages_stop_without_content_range() -> None:
    result = crawl(Server(50, ignore_offset=True, header=False), PagePlanner(10))
    assert result.requests == [0, 10]
    assert result.planner.flags == ("no_content_range", "repeated_page")


def test_count_mismatch_is_flagged() -> None:
    result = crawl(Server(25, count_lie=1), PagePlanner(10))
    assert result.seen == set(range(25))
    assert result.planner.flags == ("count_mismatch",)


def test_a_huge_false_total_costs_about_twice_the_pages_served() -> None:
    result = crawl(Server(30, total_lie=10**6), PagePlanner(10, max_requests=50))
    assert result.planner.requests_made <= 2 * 3 + FEW_REQUESTS
    assert result.planner.flags == ("implausible_total", "short_of_total")
    assert result.seen == set(range(30))


@pytest.mark.parametrize("total", [10**12, 10**18 - 1])
def test_an_absurd_total_is_planned_lazily(total: int) -> None:
    # The offsets up to the total were once built as one list: 10^12 of them raised MemoryError.
    server = Server(2_500, total_lie=total - 2_500)
    result = crawl(server, PagePlanner(100, max_requests=100_000), rng=random.Random(7))
    assert result.seen == set(range(2_500))
    assert result.planner.requests_made <= 2 * 25 + FEW_REQUESTS
    assert {"short_of_total", "implausible_total"} <= set(result.planner.flags)
    assert "request_cap_reached" not in result.planner.flags


def test_pages_in_flight_grow_with_the_pages_that_arrive() -> None:
    planner = PagePlanner(10)
    planner.first_offsets()
    first = planner.on_page(0, 10, 10, 10_000)
    assert first == list(range(10, 10 * (FEW_REQUESTS + 2), 10))  # 2 per page served + a few, minus one
    assert planner.on_page(10, 10, 10, 10_000) == [120, 130]


def test_an_endless_sequential_server_hits_the_ceiling() -> None:
    result = crawl(Server(10**9, header=False), PagePlanner(10, max_requests=20))
    assert result.planner.requests_made == 20
    assert result.planner.flags == ("no_content_range", "request_cap_reached")


@pytest.mark.parametrize(
    ("total", "size", "cap"), [(0, 10, 10), (95, 10, 30), (95, 5, 48), (10**6, 10, 10_000)]
)
def test_default_cap_is_derived_from_the_total(total: int, size: int, cap: int) -> None:
    planner = PagePlanner(10)
    planner.first_offsets()
    planner.on_page(0, min(size, total), min(size, total), total)
    assert planner.cap == cap


def test_misuse_is_refused() -> None:
    planner = PagePlanner(10)
    with pytest.raises(ValueError, match="not requested"):
        planner.on_page(0, 0, 0, 0)
    planner.first_offsets()
    with pytest.raises(RuntimeError, match="twice"):
        planner.first_offsets()
    planner.on_page(0, 10, 10, 20)
    with pytest.raises(ValueError, match="already reported"):
        planner.on_page(0, 10, 10, 20)
    with pytest.raises(ValueError, match="limit"):
        PagePlanner(0)
    with pytest.raises(ValueError, match="max_requests"):
        PagePlanner(10, max_requests=0)


# --- properties ---------------------------------------------------------------------------------------


@settings(max_examples=300)
@given(
    total=st.integers(0, 300),
    limit=st.integers(1, 40),
    cap=st.integers(1, 60),
    header=st.booleans(),
    seed=st.integers(0, 2**32),
)
def test_honest_servers_are_covered_exactly_once(
    total: int, limit: int, cap: int, header: bool, seed: int
) -> None:
    server = Server(total, cap=cap, header=header)
    result = crawl(server, PagePlanner(limit), rng=random.Random(seed))
    assert result.seen == set(range(total))
    assert all(n == 1 for n in server.served.values())  # no position fetched twice
    needed = max(1, -(-total // min(limit, cap)))
    assert needed <= len(result.requests) <= needed + 1  # at most one wasted (empty) request
    if header:
        assert len(result.requests) == needed
        assert result.planner.flags == ()
    assert len(set(result.requests)) == len(result.requests)


@st.composite
def lying_servers(draw: st.DrawFn) -> Server:
    """Any mix of lies: wrong totals and counts, live growth, ignored offsets, short pages, no header."""
    total = draw(st.integers(0, 300))
    return Server(
        total,
        cap=draw(st.integers(1, 60)),
        header=draw(st.booleans()),
        total_lie=draw(st.integers(-total, 3000)),
        grow=draw(st.integers(0, 20)),
        ignore_offset=draw(st.booleans()),
        short_by=draw(st.dictionaries(st.integers(0, 300), st.integers(1, 40), max_size=10)),
        count_lie=draw(st.integers(-3, 3)),
    )


# No deadline: a server that grows forever costs the planner its whole 10,000-request ceiling (~0.2 s).
@settings(max_examples=300, deadline=None)
@given(
    server=lying_servers(),
    limit=st.integers(1, 40),
    max_requests=st.none() | st.integers(1, 500),
    seed=st.integers(0, 2**32),
)
def test_any_server_terminates_within_the_cap(
    server: Server, limit: int, max_requests: int | None, seed: int
) -> None:
    planner = PagePlanner(limit, max_requests=max_requests)
    result = crawl(server, planner, rng=random.Random(seed))
    assert planner.requests_made == len(result.requests) <= planner.cap
    assert planner.requests_made <= 2 * result.served_pages + FEW_REQUESTS  # whatever the header says
    assert planner.requests_made <= (max_requests or 10_000)
    assert len(set(result.requests)) == len(result.requests)  # never the same offset twice
