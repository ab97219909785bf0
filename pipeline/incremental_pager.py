"""Page one repository newest first (``order::desc``), sequentially, until its scan says stop."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from pipeline.client import SwrClient
from pipeline.domain import Reject, Repository, SyncJob
from pipeline.incremental import NewestFirstScan, Verdict

HandOver = Callable[[Repository, list[SyncJob], list[Reject]], Awaitable[None]]


async def scan_newest_first(
    client: SwrClient,
    repo: Repository,
    scan: NewestFirstScan,
    *,
    limit: int,
    max_requests: int,
    hand_over: HandOver,
) -> Verdict:
    """Fetch pages from offset 0 and hand each over until the scan is done or asks for a full re-read.

    Sequential on purpose: an unchanged repository costs one request, and the next offset depends on
    what the page before it revealed.
    """
    seen: set[int] = set()
    offset = 0
    while True:
        page = await client.fetch_job_page(repo, offset, limit, order="desc")
        fresh = [job for job in page.jobs if job.id not in seen]
        seen.update(job.id for job in fresh)
        await hand_over(repo, fresh, list(page.rejects))
        total = page.content_range.total if page.content_range else None
        verdict = scan.on_page(offset, page.jobs, page.item_count, total)
        if verdict is not Verdict.MORE:
            return verdict
        if scan.pages >= max_requests:
            scan.reason = "request_cap_reached"
            return Verdict.INCONSISTENT
        offset = scan.next_offset
