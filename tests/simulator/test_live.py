"""Live mode: jobs appear and advance while serving; stop_live freezes the data."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import aiohttp

from pipeline.domain import FINAL_STATUSES
from pipeline.simulator import SimulatorHandle
from tests.simulator.conftest import MakeSimulator, get, sync_job_path


def _by_id(sim: SimulatorHandle) -> dict[object, dict[str, object]]:
    return {job["id"]: job for job in sim.ground_truth()}


async def _until(condition: Callable[[], bool]) -> None:
    """Wait for the live clock (a real timer) to have changed something, polling every few ms."""
    async with asyncio.timeout(5):
        while not condition():  # noqa: ASYNC110  (the live clock exposes no event: poll it)
            await asyncio.sleep(0.005)


async def test_ticks_create_waiting_jobs_and_advance_pending_ones(make_simulator: MakeSimulator) -> None:
    async with make_simulator() as sim:
        before = _by_id(sim)
        for _ in range(40):
            sim.live_tick()
        after = _by_id(sim)
        new = [job for job_id, job in after.items() if job_id not in before]
        assert new
        assert min(int(str(j["id"])) for j in new) > max(int(str(i)) for i in before)
        moved = [
            i for i, job in before.items() if job["status"] in ("waiting", "running") and after[i] != job
        ]
        assert moved
        for job_id in moved:
            old, now = before[job_id], after[job_id]
            assert str(now["updatedAt"]) >= str(old["updatedAt"])
            assert (old["status"], now["status"]) in {("waiting", "running")} | {
                (s, f) for s in ("waiting", "running") for f in FINAL_STATUSES
            }
        assert sim.stats()["live_jobs_created"] == len(new)


async def test_new_jobs_are_served_at_the_end_of_their_repository(
    make_simulator: MakeSimulator, http: aiohttp.ClientSession
) -> None:
    async with make_simulator() as sim:
        known = set(_by_id(sim))
        while True:
            sim.live_tick()
            fresh = [j for j in sim.ground_truth() if j["id"] not in known]
            if fresh:
                break
        job = fresh[0]
        ns, repo = str(job["namespace"]), str(job["repoName"])
        total = sum(1 for j in sim.ground_truth() if (j["namespace"], j["repoName"]) == (ns, repo))
        _, headers, body = await get(
            http, sim.url, sync_job_path(ns, repo, "filter=limit::1|offset::0|order::desc")
        )
        assert headers["Content-Range"] == f"0-1/{total}"
        assert str(job["id"]).encode() in body
        assert job["status"] == "waiting"


async def test_live_clock_runs_and_stop_live_freezes(make_simulator: MakeSimulator) -> None:
    async with make_simulator(live=True, live_interval_ms=1) as sim:
        start = len(sim.ground_truth())
        await _until(lambda: len(sim.ground_truth()) > start)
        sim.stop_live()
        frozen = sim.ground_truth()
        await asyncio.sleep(0.05)  # several intervals: nothing may change any more
        assert sim.ground_truth() == frozen


async def test_live_switch_over_http(make_simulator: MakeSimulator, http: aiohttp.ClientSession) -> None:
    async with make_simulator(live_interval_ms=1) as sim:
        async with http.post(sim.url + "/_sim/live", json={"enabled": True}) as resp:
            assert await resp.json() == {"enabled": True}
        start = len(sim.ground_truth())
        await _until(lambda: len(sim.ground_truth()) > start)
        async with http.post(sim.url + "/_sim/live", json={"enabled": False}) as resp:
            assert await resp.json() == {"enabled": False}
        async with http.post(sim.url + "/_sim/live/tick") as resp:
            assert (await resp.json())["jobs"] >= start
