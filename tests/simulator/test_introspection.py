"""/_sim/ endpoints and the in-process handle agree, and the counters count what happened."""

from __future__ import annotations

import asyncio

import aiohttp

from tests.simulator.conftest import AUTH, MakeSimulator, get, sync_job_path, url

PAGE = sync_job_path("acme", "team/app", "filter=limit::5|offset::0")


async def test_truth_over_http_equals_ground_truth(
    make_simulator: MakeSimulator, http: aiohttp.ClientSession
) -> None:
    async with make_simulator() as sim, http.get(sim.url + "/_sim/truth") as resp:
        assert await resp.json() == sim.ground_truth()


async def test_repositories_lists_every_repository_with_its_faults(
    make_simulator: MakeSimulator, http: aiohttp.ClientSession
) -> None:
    async with make_simulator(broken_repos=1, lying_repos=2) as sim:
        async with http.get(sim.url + "/_sim/repositories") as resp:
            listing = await resp.json()
        repos = listing["repositories"]
        assert [(r["namespace"], r["name"]) for r in repos] == sim.repositories()
        assert [(r["namespace"], r["name"]) for r in repos if r["broken"]] == sim.broken_repositories()
        assert {
            (r["namespace"], r["name"]): r["lying"] for r in repos if r["lying"]
        } == sim.lying_repositories()
        assert listing["summary"]["jobs"] == len(sim.ground_truth()) == sum(r["jobs"] for r in repos)


async def test_stats_count_endpoints_statuses_and_reset(
    make_simulator: MakeSimulator, http: aiohttp.ClientSession
) -> None:
    async with make_simulator() as sim:
        await get(http, sim.url, PAGE)
        await get(http, sim.url, PAGE, {})
        await get(http, sim.url, "/v2/manage/repos")
        await get(http, sim.url, "/nowhere")
        async with http.get(sim.url + "/_sim/stats") as resp:
            stats = await resp.json()
        assert stats == sim.stats()
        assert stats["requests_total"] == 4
        assert stats["requests_by_endpoint"] == {"sync_job": 2, "repos": 1, "unknown": 1}
        assert stats["responses_by_status"] == {"200": 2, "401": 1, "404": 1}
        assert stats["in_flight"] == 0
        async with http.post(sim.url + "/_sim/stats/reset") as resp:
            assert (await resp.json())["requests_total"] == 0
        assert sim.stats()["requests_total"] == 0


async def test_peak_in_flight_counts_concurrent_requests(make_simulator: MakeSimulator) -> None:
    connector = aiohttp.TCPConnector(limit=20)
    async with make_simulator(latency_ms=100) as sim, aiohttp.ClientSession(connector=connector) as http:
        await asyncio.gather(*(get(http, sim.url, PAGE.replace("::5", f"::{5 + i}", 1)) for i in range(10)))
        assert sim.stats()["peak_in_flight"] == 10
        sim.reset_stats()
        assert sim.stats()["peak_in_flight"] == 0


async def test_unknown_sim_endpoint_and_wrong_method(
    make_simulator: MakeSimulator, http: aiohttp.ClientSession
) -> None:
    async with make_simulator() as sim:
        async with http.get(sim.url + "/_sim/nothing") as resp:
            assert resp.status == 404
            assert "X-Request-Id" in resp.headers
        async with http.get(sim.url + "/_sim/live") as resp:
            assert resp.status == 405
        async with http.post(sim.url + "/_sim/live", data=b"[1]") as resp:
            assert resp.status == 400
        async with http.get(url(sim.url, "/v2/manage/namespaces"), headers=AUTH) as resp:
            assert resp.status == 200
        assert sim.stats()["requests_total"] == 1  # /_sim/ calls are not counted
