"""Repository discovery: every repository of a namespace, through the paged ListReposDetails."""

from __future__ import annotations

from collections.abc import AsyncIterator

from pipeline.client import SwrClient
from pipeline.domain import Repository

# ListReposDetails accepts at most 1000 per page; offsets must be multiples of the limit.
REPOS_PAGE_LIMIT = 1000
# A listing that never ends (a lying total) stops here.
MAX_REPO_PAGES = 10_000


async def repositories_of(client: SwrClient, namespace: str) -> AsyncIterator[Repository]:
    """Every repository of one namespace; the API matches the namespace fuzzily, so match it exactly here."""
    seen: set[Repository] = set()
    offset = 0
    for _ in range(MAX_REPO_PAGES):
        page = await client.list_repos_page(REPOS_PAGE_LIMIT, offset, namespace)
        for repo in page.repositories:
            if repo.namespace == namespace and repo not in seen:
                seen.add(repo)
                yield repo
        # Advance by what arrived (offsets stay multiples of the limit while the server serves full pages).
        offset += page.item_count
        if page.item_count == 0 or (page.total is not None and offset >= page.total):
            return
        if page.total is None and page.item_count < REPOS_PAGE_LIMIT:
            return
