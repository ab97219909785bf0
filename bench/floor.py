"""The fetch floor: the crawl's requests made by a bare aiohttp client, with no parsing beyond paging.

Same calls as `swr-etl crawl` (ListNamespaces, ListReposDetails per namespace, then offset 0 of each
repository and its remaining pages concurrently by Content-Range), the same bound on requests in flight,
no records, no database. What the network (and the server) costs; the crawl is measured against it.

    .venv/bin/python -m bench.floor URL [--concurrency 32] [--token swr-sim-static-token]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import time
from dataclasses import dataclass

import aiohttp
import orjson
from yarl import URL

from pipeline import sansio
from pipeline.discovery import REPOS_PAGE_LIMIT
from pipeline.domain import Repository

DEFAULT_TOKEN = "swr-sim-static-token"  # noqa: S105 (the simulator's public static token)


@dataclass(frozen=True)
class FloorResult:
    """What the floor client did."""

    seconds: float
    requests: int
    jobs: int
    repositories: int
    errors: int


class FloorClient:
    """GETs under one semaphore; counts requests and non-200 answers."""

    def __init__(self, session: aiohttp.ClientSession, base: str, concurrency: int) -> None:
        self._session = session
        self._base = base.rstrip("/")
        self._gate = asyncio.Semaphore(concurrency)
        self.requests = 0
        self.errors = 0

    async def get(self, path: str, query: str) -> tuple[bytes, str | None]:
        """Body and Content-Range of one call."""
        url = URL(f"{self._base}{path}?{query}", encoded=True)
        async with self._gate, self._session.get(url) as resp:
            body = await resp.read()
            self.requests += 1
            if resp.status != 200:
                self.errors += 1
            return body, resp.headers.get("Content-Range")


def _total(content_range: str | None) -> int:
    return int(content_range.rpartition("/")[2]) if content_range else 0


def _count(content_range: str | None) -> int:
    return int(content_range.partition("-")[2].partition("/")[0]) if content_range else 0


async def _repositories(client: FloorClient, namespace: str) -> list[Repository]:
    repos: list[Repository] = []
    offset = 0
    while True:
        query = sansio.repos_query(REPOS_PAGE_LIMIT, offset, namespace=namespace)
        body, content_range = await client.get(sansio.REPOS_PATH, query)
        items = orjson.loads(body)
        repos += [Repository(r["namespace"], r["name"]) for r in items if r["namespace"] == namespace]
        offset += len(items)
        if not items or offset >= _total(content_range):
            return repos


async def _job_pages(client: FloorClient, repo: Repository, page_size: int) -> int:
    path = sansio.sync_job_path(repo.namespace, repo.name)

    async def page(offset: int) -> int:
        _, content_range = await client.get(path, sansio.sync_job_query(page_size, offset))
        return _count(content_range)

    first_path_query = sansio.sync_job_query(page_size, 0)
    _, content_range = await client.get(path, first_path_query)
    rest = range(page_size, _total(content_range), page_size)
    counts = await asyncio.gather(*(page(offset) for offset in rest))
    return _count(content_range) + sum(counts)


async def _namespace(client: FloorClient, namespace: str, page_size: int) -> tuple[int, int]:
    repos = await _repositories(client, namespace)
    jobs = await asyncio.gather(*(_job_pages(client, repo, page_size) for repo in repos))
    return len(repos), sum(jobs)


async def fetch_floor(
    base: str, *, concurrency: int = 32, page_size: int = 100, token: str = DEFAULT_TOKEN
) -> FloorResult:
    """Make every request of a crawl as fast as `concurrency` requests in flight allow."""
    started = time.perf_counter()
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers={"X-Auth-Token": token}) as session:
        client = FloorClient(session, base, concurrency)
        query = sansio.encode_query({"filter": sansio.build_filter([("mode", "visible")])})
        body, _ = await client.get(sansio.NAMESPACES_PATH, query)
        namespaces = sorted(n["name"] for n in orjson.loads(body)["namespaces"])
        done = await asyncio.gather(*(_namespace(client, ns, page_size) for ns in namespaces))
    return FloorResult(
        seconds=time.perf_counter() - started,
        requests=client.requests,
        jobs=sum(jobs for _, jobs in done),
        repositories=sum(repos for repos, _ in done),
        errors=client.errors,
    )


def main(argv: list[str] | None = None) -> int:
    """Run the floor against a running simulator (or any SWR) and print what it did."""
    parser = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__)
    parser.add_argument("url", help="base URL, e.g. http://127.0.0.1:8080")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    args = parser.parse_args(argv)
    result = asyncio.run(
        fetch_floor(args.url, concurrency=args.concurrency, page_size=args.page_size, token=args.token)
    )
    print(orjson.dumps(dataclasses.asdict(result)).decode())
    return 0 if result.errors == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
