"""Upstream changes between crawls (old statuses, retention) and --ignore-order."""

from __future__ import annotations

import aiohttp
import orjson

from tests.simulator.conftest import MakeSimulator, get, sync_job_path


def _ids(body: bytes) -> list[int]:
    return [int(job["id"]) for job in orjson.loads(body)]


async def test_ignore_order_serves_ascending_pages_whatever_order_says(
    make_simulator: MakeSimulator, http: aiohttp.ClientSession
) -> None:
    query = "filter=limit::5|offset::0|order::desc"
    async with make_simulator() as honest, make_simulator(ignore_order=True) as ignoring:
        ns, repo = next((ns, r) for ns, r in honest.repositories() if r == "team/app")
        _, _, desc = await get(http, honest.url, sync_job_path(ns, repo, query))
        _, headers, ignored = await get(http, ignoring.url, sync_job_path(ns, repo, query))
        _, _, asc = await get(http, honest.url, sync_job_path(ns, repo, "filter=limit::5|offset::0"))
    assert _ids(desc) == sorted(_ids(desc), reverse=True)
    assert _ids(ignored) == _ids(asc) == sorted(_ids(asc))
    assert headers["Content-Range"].startswith("0-5/")


async def test_old_statuses_change_and_the_oldest_jobs_are_deleted(
    make_simulator: MakeSimulator, http: aiohttp.ClientSession
) -> None:
    async with make_simulator() as sim:
        before = {job["id"]: job for job in sim.ground_truth()}
        changed = sim.change_old_statuses(3)
        assert len(changed) == 3
        after = {job["id"]: job for job in sim.ground_truth()}
        for job_id, old, new in changed:
            assert (before[job_id]["status"], after[job_id]["status"]) == (old, new) and old != new
            assert str(after[job_id]["updatedAt"]) > str(before[job_id]["updatedAt"])
        async with http.post(sim.url + "/_sim/mutate/delete-oldest", json={"per_repo": 2}) as resp:
            deleted = (await resp.json())["deleted"]
        truth = {job["id"] for job in sim.ground_truth()}
        assert deleted and not truth & set(deleted)
        assert len(truth) == len(after) - len(deleted)
        # What remains is still served in order, Content-Range counting it; live ticks still work.
        ns, repo = "acme", "team/app"
        _, headers, body = await get(http, sim.url, sync_job_path(ns, repo, "filter=limit::1000|offset::0"))
        served = _ids(body)
        expected = [j["id"] for j in sim.ground_truth() if (j["namespace"], j["repoName"]) == (ns, repo)]
        assert served == expected
        assert headers["Content-Range"] == f"0-{len(served)}/{len(served)}"
        for _ in range(20):
            sim.live_tick()
        async with http.post(sim.url + "/_sim/mutate/statuses", json={"count": 1}) as resp:
            assert len((await resp.json())["changed"]) == 1
