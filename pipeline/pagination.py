"""Page planning for ShowSyncJob: which offsets to fetch next, given what the pages so far brought.

Pure and synchronous. The crawler asks for offset 0, reports every page with ``on_page`` and fetches the
offsets it gets back (concurrently, under its global bound) until ``done``. The API's largest page size is
undocumented and the server may serve fewer items than ``limit``, so the planner advances by the items that
actually arrived and never trusts ``limit`` alone; a lying Content-Range can only cost a bounded number of
requests, and every oddity it sees is reported in ``flags``.

Offsets are planned lazily, whatever total the header claims: a repository may cost at most 2 requests
per page that brought items, plus a few (``FEW_REQUESTS``), so a total of 10^12 over 30 real jobs costs a
handful of requests and no memory, and an honest repository still has its pages fetched concurrently
(each page that arrives allows two more). An empty page inside the total marks the end of the data.
"""

from __future__ import annotations

import math

__all__ = ["DEFAULT_MAX_EXTENSIONS", "DEFAULT_MAX_REQUESTS", "PagePlanner"]

DEFAULT_MAX_REQUESTS = 10_000
DEFAULT_MAX_EXTENSIONS = 5
FEW_REQUESTS = 10

# Flags, in the order they are first raised.
NO_CONTENT_RANGE = "no_content_range"
COUNT_MISMATCH = "count_mismatch"
TOTAL_CHANGED = "total_changed"
TOTAL_UNSTABLE = "total_unstable"
TOTAL_SHRANK = "total_shrank"  # jobs were deleted while paging: later offsets may have skipped some
IMPLAUSIBLE_TOTAL = "implausible_total"  # more pages than the request ceiling allows
SHORT_OF_TOTAL = "short_of_total"
REPEATED_PAGE = "repeated_page"
OVERLAPPING_PAGE = "overlapping_page"
REQUEST_CAP_REACHED = "request_cap_reached"


class PagePlanner:
    """Plans the offsets of one repository's crawl; see the module docstring."""

    def __init__(
        self, limit: int, *, max_requests: int | None = None, max_extensions: int = DEFAULT_MAX_EXTENSIONS
    ) -> None:
        if limit < 1:
            raise ValueError(f"limit must be >= 1, not {limit}")
        if max_requests is not None and max_requests < 1:
            raise ValueError(f"max_requests must be >= 1, not {max_requests}")
        self.limit = limit
        self.ceiling = DEFAULT_MAX_REQUESTS if max_requests is None else max_requests
        self.max_extensions = max_extensions
        self.page_size: int | None = None  # effective page size: limit, or the server's smaller cap
        self.total: int | None = None  # latest total reported
        self.extensions = 0
        self.requests_made = 0
        self._max_total = 0
        self._requested: set[int] = set()
        self._outstanding: set[int] = set()
        self._received: dict[int, int] = {}  # offset -> item count of every page reported
        self._frontier = 0  # end of everything received or planned so far
        self._end: int | None = None  # lowest offset inside the total that came back empty
        self._served_pages = 0  # pages that brought at least one item
        self._pending: list[int] = []  # gap fills wanted while the budget had no room
        self._flags: dict[str, None] = {}  # an ordered set
        self._cap = self.ceiling
        self._cap_derived = False

    # --- what the crawler reads ---------------------------------------------------------------------

    @property
    def outstanding(self) -> frozenset[int]:
        """Offsets handed out and not yet reported."""
        return frozenset(self._outstanding)

    @property
    def done(self) -> bool:
        """Nothing outstanding and nothing more to ask (False before ``first_offsets``)."""
        return self.requests_made > 0 and not self._outstanding

    @property
    def flags(self) -> tuple[str, ...]:
        """Anomalies seen so far, each once, in the order they were first seen."""
        return tuple(self._flags)

    @property
    def cap(self) -> int:
        """Most requests this repository may cost (never lowered below what was already spent)."""
        return self._cap

    # --- what the crawler tells it -----------------------------------------------------------------

    def first_offsets(self) -> list[int]:
        """The first request: offset 0 (its answer reveals the total and the server's page size)."""
        if self.requests_made:
            raise RuntimeError("first_offsets() called twice")
        return self._hand_out([0], extend=False)

    def on_page(
        self, offset: int, item_count: int, new_ids: int, total: int | None, *, count: int | None = None
    ) -> list[int]:
        """Record the page requested at ``offset``; return the offsets to request next (maybe several).

        ``new_ids``: items whose id this run had not seen in this repository yet (count rejected records
        as new: they have no usable id). ``total`` and ``count``: from the page's Content-Range, None when
        it was missing or malformed.
        """
        if offset not in self._outstanding:
            raise ValueError(f"offset {offset} was not requested or was already reported")
        self._outstanding.discard(offset)
        self._received[offset] = item_count
        self._served_pages += item_count > 0
        self._frontier = max(self._frontier, offset + item_count)
        self._note_header(item_count, total, count)
        if self.page_size is None:
            self.page_size = self._first_page_size(offset, item_count)
        elif item_count > self.page_size:
            self.page_size = min(item_count, self.limit)  # the server raised its cap: plan with it
        self._update_cap()
        if item_count and not new_ids:
            self._flag(REPEATED_PAGE)  # the server ignores the offset or serves stale pages: stop here
            return []
        if new_ids < item_count:
            self._flag(OVERLAPPING_PAGE)
        return self._hand_out(self._follow_ups(offset, item_count), extend=item_count > 0)

    # --- internals ---------------------------------------------------------------------------------

    def _note_header(self, item_count: int, total: int | None, count: int | None) -> None:
        if count is not None and count != item_count:
            self._flag(COUNT_MISMATCH)
        if total is None:
            self._flag(NO_CONTENT_RANGE)  # keep the last total we were told, if any
            return
        if self.total is not None and total != self.total:
            self._flag(TOTAL_CHANGED)
            if total < self.total:
                self._flag(TOTAL_SHRANK)
        if total > self._max_total and self.total is not None:
            self.extensions += 1
        self.total = total
        self._max_total = max(self._max_total, total)

    def _update_cap(self) -> None:
        """2 x the pages the largest total needs + 10, within the ceiling; it only grows once derived."""
        if self.total is None:
            return
        pages = math.ceil(self._max_total / (self.page_size or self.limit))
        if pages > self.ceiling:
            self._flag(IMPLAUSIBLE_TOTAL)
        floor = self._cap if self._cap_derived else self.requests_made
        self._cap = min(self.ceiling, max(floor, 2 * pages + 10))
        self._cap_derived = True

    def _first_page_size(self, offset: int, item_count: int) -> int:
        # A first page shorter than limit that is not the end means the server caps pages at that size.
        if 0 < item_count < self.limit and (self.total is None or self.total > offset + item_count):
            return item_count
        return self.limit

    def _follow_ups(self, offset: int, item_count: int) -> list[int]:
        size = self.page_size or self.limit
        if self.total is None:
            # Sequential: a full page means there may be more; an empty or short page is the end.
            return [offset + item_count] if item_count >= size else []
        if item_count == 0:
            if offset < self.total:
                self._flag(SHORT_OF_TOTAL)
                self._end = offset if self._end is None else min(self._end, offset)
            return []
        expected = min(size, self.total - offset)
        if item_count < expected and not self._covered(offset + item_count):
            return [offset + item_count]  # gap fill: the server served less than a page
        return []

    def _extend_to_total(self, frontier: int, size: int) -> range:
        """Offsets from the end of what is received or planned up to the total (or the end an empty page
        showed), one page apart; a lazy range, never materialised beyond what the budget hands out."""
        assert self.total is not None
        end = self.total if self._end is None else min(self.total, self._end)
        if frontier >= end:
            return range(0)
        if self.extensions > self.max_extensions:
            self._flag(TOTAL_UNSTABLE)  # a total that keeps growing is not chased forever
            return range(0)
        return range(frontier, end, size)

    def _covered(self, position: int) -> bool:
        """Whether a page received or in flight already spans ``position``.

        Only pages of at most ``limit`` items are looked for, so the check costs O(limit): a server that
        serves more than asked can at worst cause an extra (bounded) gap fill.
        """
        size = self.page_size or self.limit
        for start in range(max(0, position - self.limit + 1), position + 1):
            if start in self._outstanding and position < start + size:
                return True
            if position < start + self._received.get(start, 0):
                return True
        return False

    def _hand_out(self, offsets: list[int], *, extend: bool) -> list[int]:
        """Hand out what the budget allows: gap fills waiting for room, ``offsets``, then (``extend``) the
        next pages towards the total; what does not fit waits for the pages in flight to make room."""
        room = self._room()
        wanted = [o for o in dict.fromkeys([*self._pending, *offsets]) if o not in self._requested]
        fresh, self._pending = wanted[:room], wanted[room:]
        self._record(fresh)
        if extend and self.total is not None and len(fresh) < room:
            size = self.page_size or self.limit
            more = [o for o in self._extend_to_total(self._frontier, size)[: room - len(fresh)]]
            self._record(more)
            fresh += more
        if not self._outstanding and (self._pending or self._more_to_extend()):
            self._flag(REQUEST_CAP_REACHED)  # nothing in flight will make room: this is where it ends
        return fresh

    def _room(self) -> int:
        """Requests still allowed: within the cap, and at most 2 per page that brought items + a few."""
        budget = min(self.cap, 2 * self._served_pages + FEW_REQUESTS)
        return max(0, budget - self.requests_made)

    def _more_to_extend(self) -> bool:
        if self.total is None or self.extensions > self.max_extensions:
            return False
        return len(self._extend_to_total(self._frontier, self.page_size or self.limit)) > 0

    def _record(self, offsets: list[int]) -> None:
        self._requested.update(offsets)
        self._outstanding.update(offsets)
        self.requests_made += len(offsets)
        if self.page_size is not None:  # offset 0's span is unknown until it answers
            self._frontier = max([self._frontier, *(o + self.page_size for o in offsets)])

    def _flag(self, name: str) -> None:
        self._flags.setdefault(name, None)
