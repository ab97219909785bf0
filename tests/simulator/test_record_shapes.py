"""Record shapes the API reference allows: sparse records, undocumented fields, ids two repositories share."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import aiohttp
import orjson

from pipeline.simulator.records import OPTIONAL_KEYS
from tests.simulator.conftest import MakeSimulator, get, sync_job_path

DOCUMENTED = {"id", "namespace", "repoName", "status", "createdAt", *OPTIONAL_KEYS}


async def served_jobs(
    http: aiohttp.ClientSession, url: str, namespace: str, repo: str
) -> list[dict[str, Any]]:
    _, _, body = await get(http, url, sync_job_path(namespace, repo, "filter=limit::5000|offset::0"))
    jobs: list[dict[str, Any]] = orjson.loads(body)
    return jobs


def by_repository(truth: list[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    repos: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for job in truth:
        repos[(job["namespace"], job["repoName"])].append(job)
    return repos


async def test_sparse_records_lack_optional_fields_in_truth_and_on_the_wire(
    make_simulator: MakeSimulator, http: aiohttp.ClientSession
) -> None:
    async with make_simulator(sparse_records=0.2) as sim:
        truth = sim.ground_truth()
        sparse = [j for j in truth if set(j) != DOCUMENTED or None in j.values()]
        assert 0.1 < len(sparse) / len(truth) < 0.3
        absent = [j for j in sparse if set(j) < DOCUMENTED]
        nulls = [j for j in sparse if None in j.values()]
        assert absent and nulls
        for job in sparse:
            lacking = (DOCUMENTED - set(job)) | {k for k, v in job.items() if v is None}
            assert 1 <= len(lacking) <= 3 and lacking <= set(OPTIONAL_KEYS)
        repos = by_repository(truth)
        for key in list(repos)[:10]:
            assert await served_jobs(http, sim.url, *key) == repos[key]  # served as the truth holds them


async def test_undocumented_fields_are_served_and_in_truth(
    make_simulator: MakeSimulator, http: aiohttp.ClientSession
) -> None:
    async with make_simulator(extra_fields=0.5) as sim:
        truth = sim.ground_truth()
        extra = [j for j in truth if set(j) - DOCUMENTED]
        assert 0.4 < len(extra) / len(truth) < 0.6
        assert {k for j in extra for k in set(j) - DOCUMENTED} == {
            "syncAuto",
            "trigger",
            "priority",
            "jobRegion",
        }
        job = extra[0]
        assert job in await served_jobs(http, sim.url, job["namespace"], job["repoName"])


async def test_shared_ids_are_served_by_two_repositories(
    make_simulator: MakeSimulator, http: aiohttp.ClientSession
) -> None:
    async with make_simulator(shared_ids=3) as sim:
        holders: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for job in sim.ground_truth():
            holders[job["id"]].append(job)
        shared = {i: jobs for i, jobs in holders.items() if len(jobs) > 1}
        assert 1 <= len(shared) <= 3
        for jobs in shared.values():
            assert len({(j["namespace"], j["repoName"]) for j in jobs}) == len(jobs)
            for job in jobs:
                served = await served_jobs(http, sim.url, job["namespace"], job["repoName"])
                assert job in served
                assert served == sorted(served, key=lambda j: (j["createdAt"], j["id"]))
