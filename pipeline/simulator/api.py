"""The three SWR calls: ListNamespaces, ListReposDetails and ShowSyncJob, over the simulated dataset."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from pipeline.simulator.config import SimulatorConfig
from pipeline.simulator.dataset import Dataset, delete_oldest
from pipeline.simulator.query import namespaces_query, repos_query, sync_job_query
from pipeline.simulator.records import Repo, format_timestamp, page_body
from pipeline.simulator.responses import json_response


class NotFoundError(LookupError):
    """The namespace or repository does not exist (404 with an SWR body)."""


class BrokenRepositoryError(RuntimeError):
    """A repository chosen by --broken-repos: its sync_job always answers 500."""


class ForbiddenRepositoryError(PermissionError):
    """A repository chosen by --forbidden-repos: its sync_job answers 403 SVCSTG.SWR.4030170."""


def list_namespaces(data: Dataset, raw_query: str) -> web.Response:
    """GET /v2/manage/namespaces: not paged, no Content-Range."""
    fragment, visible = namespaces_query(raw_query)
    items = [
        {"id": ns.id, "name": ns.name, "creator_name": ns.creator_name, "auth": 1 if ns.visible_only else 7}
        for ns in data.namespaces
        if (visible or not ns.visible_only) and (fragment is None or fragment in ns.name)
    ]
    return json_response(200, orjson.dumps({"namespaces": items}))


def list_repos(data: Dataset, raw_query: str, region: str) -> web.Response:
    """GET /v2/manage/repos: fuzzy namespace/name filters, ordering, offset paging with Content-Range."""
    q = repos_query(raw_query)
    if q.namespace in data.forbidden_namespaces:
        raise ForbiddenRepositoryError(f"namespace {q.namespace}")
    matches = [
        r
        for r in data.repos
        if (q.namespace is None or q.namespace in r.namespace)
        and (q.name is None or q.name in r.name)
        and (q.category is None or q.category == r.category)
    ]
    if q.order_column == "updated_time":
        matches.sort(key=lambda r: (_repo_updated_us(r), r.namespace, r.name))
    elif q.order_column == "tag_count":
        matches.sort(key=lambda r: (len(r.tags), r.namespace, r.name))
    else:
        matches.sort(key=lambda r: (r.name, r.namespace))
    if q.order_type == "desc":
        matches.reverse()
    total = len(matches)
    page = [_repo_json(r, region, total) for r in matches[q.offset : q.offset + q.limit]]
    return json_response(200, orjson.dumps(page), {"Content-Range": f"{q.offset}-{len(page)}/{total}"})


def _repo_updated_us(repo: Repo) -> int:
    return max([repo.created_us, *(j.updated_us for j in repo.jobs[-20:])])


def _repo_json(repo: Repo, region: str, total: int) -> dict[str, Any]:
    path = f"{repo.namespace}/{repo.name}"
    return {
        "name": repo.name,
        "namespace": repo.namespace,
        "category": repo.category,
        "description": f"{repo.name} images",
        "size": repo.size,
        "is_public": repo.is_public,
        "num_images": len(repo.tags),
        "num_download": repo.num_download,
        "created_at": format_timestamp(repo.created_us),
        "updated_at": format_timestamp(_repo_updated_us(repo)),
        "path": f"swr.{region}.myhuaweicloud.com/{path}",
        "internal_path": f"100.125.0.198:20202/{path}",
        "domain_name": repo.domain_name,
        "tags": repo.tags,
        "status": False,
        "total_range": total,
    }


class SyncJobPages:
    """ShowSyncJob over the dataset, with the --max-page-size cap, the lying-repository modes, absurd totals
    and jobs deleted between pages."""

    def __init__(self, data: Dataset, config: SimulatorConfig) -> None:
        self.data = data
        self.max_page_size = config.max_page_size
        self.absurd_total = config.absurd_total
        self.deleted_jobs = config.deleted_jobs
        self.ignore_order = config.ignore_order  # whether order::desc is honoured is undocumented
        self.namespace_names = {ns.name for ns in data.namespaces}
        self._lie_counts: dict[tuple[str, str], int] = {}

    def find(self, namespace: str, name: str) -> Repo:
        """The repository, or NotFoundError / BrokenRepositoryError."""
        key = (namespace, name)
        repo = self.data.by_key.get(key)
        if repo is None:
            what = "namespace" if namespace not in self.namespace_names else "repository"
            raise NotFoundError(f"{what} not found: {namespace}/{name}")
        if key in self.data.broken:
            raise BrokenRepositoryError(f"{namespace}/{name}")
        if key in self.data.forbidden or namespace in self.data.forbidden_namespaces:
            raise ForbiddenRepositoryError(f"{namespace}/{name}")
        return repo

    def page(self, repo: Repo, raw_query: str) -> web.Response:
        """One page: body and `Content-Range: offset-count/total` (lying if the repository does)."""
        q = sync_job_query(raw_query)
        limit = q.limit if self.max_page_size is None else min(q.limit, self.max_page_size)
        key = (repo.namespace, repo.name)
        if q.offset > 0 and key in self.data.deleting:  # once, between the first page and the next
            self.data.deleting.discard(key)
            delete_oldest(self.data, repo, self.deleted_jobs)
        raws = repo.raws
        total = len(raws)
        mode = self.data.lying.get((repo.namespace, repo.name)) if self.data.lying else None
        start = 0 if mode == "repeating_pages" else q.offset
        if q.order == "asc" or self.ignore_order:
            items = raws[start : start + limit]
        else:
            end = total - start
            items = raws[max(0, end - limit) : end] if end > 0 else []
            items.reverse()
        count, shown_total = len(items), total
        if mode is not None:
            count, shown_total = self._lie(mode, repo, count, total)
        if key in self.data.absurd:
            shown_total = max(self.absurd_total, q.offset + count)  # still a well-formed header
        return web.Response(
            body=page_body(items),
            content_type="application/json",
            headers={"Content-Range": f"{q.offset}-{count}/{shown_total}"},
        )

    def _lie(self, mode: str, repo: Repo, count: int, total: int) -> tuple[int, int]:
        if mode == "total_too_large":
            return count, total + max(10, total // 2)
        if mode == "count_mismatch":
            return count + 1, total
        if mode == "total_unstable":
            key = (repo.namespace, repo.name)
            n = self._lie_counts.get(key, 0)
            self._lie_counts[key] = n + 1
            return count, max(0, total + n % 3 - 1)
        return count, total  # repeating_pages: the header is honest, the items are not
