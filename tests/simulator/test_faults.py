"""Each fault kind made certain (probability 1.0), the fault repositories, and fault determinism."""

from __future__ import annotations

import time
from collections import Counter

import aiohttp
import orjson
import pytest

from pipeline.domain import KNOWN_STATUSES
from pipeline.simulator.config import FAULT_KINDS, SimulatorConfig
from pipeline.simulator.faults import FaultDecision, FaultPlan
from tests.simulator.conftest import AUTH, MakeSimulator, get, sync_job_path, url

PAGE = sync_job_path("acme", "team/app", "filter=limit::5|offset::0")


async def test_429_with_retry_after_and_gateway_body(
    make_simulator: MakeSimulator, http: aiohttp.ClientSession
) -> None:
    async with make_simulator(fault_429=1.0, retry_after_s=0.5) as sim:
        status, headers, body = await get(http, sim.url, PAGE)
        assert (status, headers["Retry-After"]) == (429, "0.5")
        error = orjson.loads(body)
        assert error["error_code"] == "APIGW.0308"
        assert error["request_id"] == headers["X-Request-Id"]
        assert sim.stats()["faults"] == {"429": 1}


async def test_retry_after_violations_are_counted(
    make_simulator: MakeSimulator, http: aiohttp.ClientSession
) -> None:
    async with make_simulator(fault_429=1.0, retry_after_s=30) as sim:
        await get(http, sim.url, PAGE)
        await get(http, sim.url, PAGE.replace("limit::5", "limit::6"))  # another request: no violation
        assert sim.stats()["retry_after_violations"] == 0
        await get(http, sim.url, PAGE)  # the same request again, 30 s too early
        assert sim.stats()["retry_after_violations"] == 1
    async with make_simulator(fault_429=1.0, retry_after_s=0) as sim:
        _, headers, _ = await get(http, sim.url, PAGE)
        assert headers["Retry-After"] == "0"
        await get(http, sim.url, PAGE)
        assert sim.stats()["retry_after_violations"] == 0


@pytest.mark.parametrize(
    ("flag", "status", "code"),
    [("fault_500", 500, "SVCSTG.SWR.5000001"), ("fault_503", 503, "SVCSTG.SWR.5030001")],
)
async def test_server_errors_carry_swr_bodies(
    make_simulator: MakeSimulator, http: aiohttp.ClientSession, flag: str, status: int, code: str
) -> None:
    async with make_simulator(**{flag: 1.0}) as sim:
        got, _, body = await get(http, sim.url, PAGE)
        assert (got, orjson.loads(body)["error_code"]) == (status, code)


async def test_502_is_html_from_a_proxy(make_simulator: MakeSimulator, http: aiohttp.ClientSession) -> None:
    async with make_simulator(fault_502=1.0) as sim:
        status, headers, body = await get(http, sim.url, PAGE)
        assert status == 502
        assert headers["Content-Type"].startswith("text/html")
        assert body.startswith(b"<html>")


async def test_reset_drops_the_connection_without_an_answer(make_simulator: MakeSimulator) -> None:
    async with make_simulator(fault_reset=1.0) as sim, aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.ClientConnectionError):
            await get(http, sim.url, PAGE)
        stats = sim.stats()
        # aiohttp's client may retry a dropped idempotent request once by itself: every try was reset.
        assert stats["faults"] == {"reset": stats["requests_by_endpoint"]["sync_job"]}
        assert stats["responses_by_status"] == {}


async def test_slow_answer_outlasts_a_client_timeout(make_simulator: MakeSimulator) -> None:
    timeout = aiohttp.ClientTimeout(total=0.2)
    async with (
        make_simulator(fault_slow=1.0, slow_ms=5000) as sim,
        aiohttp.ClientSession(timeout=timeout) as http,
    ):
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            await get(http, sim.url, PAGE)
        assert time.monotonic() - started < 2
        assert sim.stats()["faults"] == {"slow": 1}


async def test_truncated_body(make_simulator: MakeSimulator, http: aiohttp.ClientSession) -> None:
    async with make_simulator(fault_truncate=1.0) as sim:
        status, headers, body = await get(http, sim.url, PAGE)
        assert status == 200
        assert int(headers["Content-Length"]) == len(body)
        with pytest.raises(orjson.JSONDecodeError):
            orjson.loads(body)
        assert headers["Content-Range"].startswith("0-5/")


async def test_missing_content_range(make_simulator: MakeSimulator, http: aiohttp.ClientSession) -> None:
    async with make_simulator(fault_no_content_range=1.0) as sim:
        status, headers, body = await get(http, sim.url, PAGE)
        assert status == 200
        assert "Content-Range" not in headers
        assert len(orjson.loads(body)) == 5


async def test_added_latency(make_simulator: MakeSimulator, http: aiohttp.ClientSession) -> None:
    async with make_simulator(latency_ms=60) as sim:
        started = time.monotonic()
        assert (await get(http, sim.url, PAGE))[0] == 200
        assert time.monotonic() - started >= 0.03  # at least 0.5 x the mean


async def test_faults_never_touch_auth_failures_or_introspection(
    make_simulator: MakeSimulator, http: aiohttp.ClientSession
) -> None:
    async with make_simulator(fault_500=1.0) as sim:
        assert (await get(http, sim.url, PAGE, {}))[0] == 401
        async with http.get(sim.url + "/_sim/stats") as resp:
            assert resp.status == 200


async def test_broken_repositories_always_answer_500(
    make_simulator: MakeSimulator, http: aiohttp.ClientSession
) -> None:
    async with make_simulator(broken_repos=2) as sim:
        broken = sim.broken_repositories()
        assert len(broken) == 2
        for ns, repo in broken:
            for _ in range(2):
                status, _, body = await get(
                    http, sim.url, sync_job_path(ns, repo, "filter=limit::5|offset::0")
                )
                assert (status, orjson.loads(body)["error_code"]) == (500, "SVCSTG.SWR.5000001")
        healthy = next(r for r in sim.repositories() if r not in broken)
        assert (await get(http, sim.url, sync_job_path(*healthy, "filter=limit::5|offset::0")))[0] == 200
        assert sim.stats()["faults"] == {"broken_repo": 4}


async def test_max_page_size_serves_fewer_items_than_asked(
    make_simulator: MakeSimulator, http: aiohttp.ClientSession
) -> None:
    async with make_simulator(max_page_size=7) as sim:
        _, headers, body = await get(
            http, sim.url, sync_job_path("acme", "team/app", "filter=limit::100|offset::3")
        )
        total = sum(1 for j in sim.ground_truth() if (j["namespace"], j["repoName"]) == ("acme", "team/app"))
        assert len(orjson.loads(body)) == min(7, total - 3)
        assert headers["Content-Range"] == f"3-{min(7, total - 3)}/{total}"


async def test_bad_records_are_served_corrupted_and_listed(
    make_simulator: MakeSimulator, http: aiohttp.ClientSession
) -> None:
    async with make_simulator(bad_records=0.2) as sim:
        corrupted = sim.corrupted_records()
        assert {c.defect for c in corrupted} == {
            "missing_id",
            "non_integer_id",
            "bad_timestamp",
            "wrong_types",
        }
        truth = {j["id"]: j for j in sim.ground_truth()}
        assert all(isinstance(j["id"], int) and isinstance(j["override"], bool) for j in truth.values())
        for record in corrupted[:12]:
            query = f"filter=limit::1|offset::{record.position}"
            _, _, body = await get(http, sim.url, sync_job_path(record.namespace, record.repo, query))
            (served,) = orjson.loads(body)
            valid = truth[record.id]
            assert served != valid
            if record.defect == "missing_id":
                assert "id" not in served
            elif record.defect == "non_integer_id":
                assert not isinstance(served["id"], int)
            elif record.defect == "bad_timestamp":
                assert served["createdAt"] != valid["createdAt"]
            else:
                assert not isinstance(served["override"], bool)
        async with http.get(sim.url + "/_sim/corrupted") as resp:
            assert len(await resp.json()) == len(corrupted)


async def test_unknown_statuses_are_data(make_simulator: MakeSimulator, http: aiohttp.ClientSession) -> None:
    async with make_simulator(unknown_status=0.1) as sim:
        unknown = [j for j in sim.ground_truth() if j["status"] not in KNOWN_STATUSES]
        assert unknown
        job = unknown[0]
        _, _, body = await get(
            http,
            sim.url,
            sync_job_path(str(job["namespace"]), str(job["repoName"]), "filter=limit::1000|offset::0"),
        )
        assert job in orjson.loads(body)


async def test_lying_repositories_one_per_mode(
    make_simulator: MakeSimulator, http: aiohttp.ClientSession
) -> None:
    async with make_simulator(lying_repos=4) as sim:
        lying = sim.lying_repositories()
        by_mode = {mode: repo for repo, mode in lying.items()}
        assert set(by_mode) == {"total_too_large", "count_mismatch", "total_unstable", "repeating_pages"}
        real = Counter((j["namespace"], j["repoName"]) for j in sim.ground_truth())

        async def page(
            repo: tuple[str, str], offset: int, limit: int = 2
        ) -> tuple[list[object], tuple[int, ...]]:
            _, headers, body = await get(
                http, sim.url, sync_job_path(*repo, f"filter=limit::{limit}|offset::{offset}")
            )
            start, rest = headers["Content-Range"].split("-")
            count, total = rest.split("/")
            return orjson.loads(body), (int(start), int(count), int(total))

        repo = by_mode["total_too_large"]
        items, (_, _, total) = await page(repo, 0)
        assert total > real[repo]
        assert (await page(repo, real[repo]))[0] == []
        repo = by_mode["count_mismatch"]
        items, (_, count, total) = await page(repo, 0)
        assert (count, total) == (len(items) + 1, real[repo])
        repo = by_mode["total_unstable"]
        totals = {(await page(repo, 0))[1][2] for _ in range(3)}
        assert len(totals) == 3
        repo = by_mode["repeating_pages"]
        assert (await page(repo, 0))[0] == (await page(repo, 2))[0] == (await page(repo, 4))[0]


def test_fault_rate_spreads_evenly_over_every_kind() -> None:
    config = SimulatorConfig(fault_rate=0.8, fault_500=0.1)
    assert config.fault_probability("500") == pytest.approx(0.2)
    assert all(config.fault_probability(k) == pytest.approx(0.1) for k in FAULT_KINDS if k != "500")
    plan = FaultPlan(config)
    seen: Counter[str] = Counter()
    for i in range(2000):
        decision = plan.decide(f"GET /x?{i}")
        seen.update([decision.blocking] if decision.blocking else [])
        seen.update(
            k
            for k, on in (("truncate", decision.truncate), ("no_content_range", decision.drop_content_range))
            if on
        )
    assert set(seen) == set(FAULT_KINDS)


def test_fault_decisions_do_not_depend_on_interleaving() -> None:
    config = SimulatorConfig(seed=9, fault_rate=0.9, latency_ms=10)
    one, two = FaultPlan(config), FaultPlan(config)
    keys = [f"GET /k{i % 7}" for i in range(60)]
    first: dict[str, list[FaultDecision]] = {}
    for key in keys:
        first.setdefault(key, []).append(one.decide(key))
    second: dict[str, list[FaultDecision]] = {}
    for key in reversed(keys):
        second.setdefault(key, []).append(two.decide(key))
    assert first == second
    other_seed = FaultPlan(SimulatorConfig(seed=10, fault_rate=0.9, latency_ms=10))
    assert [other_seed.decide(k) for k in keys] != [d for k in keys for d in first[k]][: len(keys)]


async def test_same_seed_same_faults_over_http(
    make_simulator: MakeSimulator, http: aiohttp.ClientSession
) -> None:
    outcomes = []
    for _ in range(2):
        async with make_simulator(fault_500=0.5, fault_429=0.3, retry_after_s=0) as sim:
            outcomes.append([(await get(http, sim.url, PAGE))[0] for _ in range(12)])
    assert outcomes[0] == outcomes[1]
    assert len(set(outcomes[0])) > 1


async def test_unauthenticated_request_url_helper_sends_exact_bytes(
    make_simulator: MakeSimulator, http: aiohttp.ClientSession
) -> None:
    async with make_simulator() as sim, http.get(url(sim.url, "/v2/manage/namespaces"), headers=AUTH) as resp:
        assert resp.status == 200
