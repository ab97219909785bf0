"""Each endpoint's documented contract, over real HTTP against the simulator."""

from __future__ import annotations

import aiohttp
import orjson
import pytest

from pipeline.simulator import SimulatorHandle
from tests.simulator.conftest import AUTH, MakeSimulator, get, sync_job_path, url

JOB_FIELDS = {
    "id", "namespace", "repoName", "tag", "status", "override", "remoteRegionId", "remoteNamespace",
    "domainID", "domainName", "syncOperatorId", "syncOperatorName", "createdAt", "updatedAt",
}  # fmt: skip
REPO_FIELDS = {
    "name", "namespace", "category", "description", "size", "is_public", "num_images", "num_download",
    "created_at", "updated_at", "path", "internal_path", "domain_name", "tags", "status", "total_range",
}  # fmt: skip


def _truth_of(sim: SimulatorHandle, namespace: str, repo: str) -> list[dict[str, object]]:
    jobs = [j for j in sim.ground_truth() if (j["namespace"], j["repoName"]) == (namespace, repo)]
    return sorted(jobs, key=lambda j: (j["createdAt"], j["id"]))


def _biggest(sim: SimulatorHandle) -> tuple[str, str]:
    counts: dict[tuple[str, str], int] = {}
    for job in sim.ground_truth():
        key = (str(job["namespace"]), str(job["repoName"]))
        counts[key] = counts.get(key, 0) + 1
    return max(counts, key=lambda k: counts[k])


async def test_sync_job_pages_cover_the_repository_in_creation_order(
    simulator: SimulatorHandle, http: aiohttp.ClientSession
) -> None:
    ns, repo = _biggest(simulator)
    truth = _truth_of(simulator, ns, repo)
    seen: list[dict[str, object]] = []
    offset = 0
    while True:
        status, headers, body = await get(
            http, simulator.url, sync_job_path(ns, repo, f"filter=limit::100|offset::{offset}")
        )
        assert status == 200
        page = orjson.loads(body)
        assert headers["Content-Range"] == f"{offset}-{len(page)}/{len(truth)}"
        if not page:
            break
        assert all(set(job) == JOB_FIELDS for job in page)
        seen += page
        offset += len(page)
    assert seen == truth


async def test_desc_order_reverses_and_pages_from_the_newest(
    simulator: SimulatorHandle, http: aiohttp.ClientSession
) -> None:
    ns, repo = _biggest(simulator)
    truth = _truth_of(simulator, ns, repo)
    _, headers, body = await get(
        http, simulator.url, sync_job_path(ns, repo, "filter=limit::7|offset::3|order::desc")
    )
    assert orjson.loads(body) == truth[::-1][3:10]
    assert headers["Content-Range"] == f"3-7/{len(truth)}"


async def test_past_the_end_is_an_empty_200_with_a_zero_count(
    simulator: SimulatorHandle, http: aiohttp.ClientSession
) -> None:
    ns, repo = _biggest(simulator)
    total = len(_truth_of(simulator, ns, repo))
    for order in ("asc", "desc"):
        query = f"filter=limit::10|offset::{total + 5}|order::{order}"
        status, headers, body = await get(http, simulator.url, sync_job_path(ns, repo, query))
        assert (status, body, headers["Content-Range"]) == (200, b"[]", f"{total + 5}-0/{total}")


async def test_filter_encoded_or_raw_in_any_key_order_gives_the_same_page(
    simulator: SimulatorHandle, http: aiohttp.ClientSession
) -> None:
    queries = [
        "filter=limit::5|offset::2",
        "filter=offset::2|limit::5",
        "filter=limit%3A%3A5%7Coffset%3A%3A2",
        "filter=offset%3A%3A2%7Climit%3A%3A5%7Corder%3A%3Aasc",
    ]
    answers = {(await get(http, simulator.url, sync_job_path("acme", "team/app", q)))[2] for q in queries}
    assert len(answers) == 1


async def test_dollar_stands_for_slash_and_bodies_carry_the_real_name(
    simulator: SimulatorHandle, http: aiohttp.ClientSession
) -> None:
    status, _, body = await get(
        http, simulator.url, "/v2/manage/namespaces/acme/repos/team$app/sync_job?filter=limit::1|offset::0"
    )
    assert status == 200
    assert orjson.loads(body)[0]["repoName"] == "team/app"


@pytest.mark.parametrize(
    "repo_segment", ["team/app", "team%2Fapp", "team%2fapp"], ids=["raw-slash", "encoded-slash", "lowercase"]
)
async def test_raw_or_encoded_slash_is_unknown_to_the_gateway(
    simulator: SimulatorHandle, http: aiohttp.ClientSession, repo_segment: str
) -> None:
    path = f"/v2/manage/namespaces/acme/repos/{repo_segment}/sync_job?filter=limit::1|offset::0"
    status, headers, body = await get(http, simulator.url, path)
    assert status == 404
    error = orjson.loads(body)
    assert error["error_code"] == "APIGW.0101"
    assert error["error_msg"] == "The API does not exist or has not been published in the environment"
    assert error["request_id"] == headers["X-Request-Id"]


@pytest.mark.parametrize(
    ("namespace", "repo"), [("acme", "no-such-repo"), ("no-such-ns", "team/app"), ("ACME", "team/app")]
)
async def test_unknown_namespace_or_repository_is_an_swr_404(
    simulator: SimulatorHandle, http: aiohttp.ClientSession, namespace: str, repo: str
) -> None:
    status, _, body = await get(
        http, simulator.url, sync_job_path(namespace, repo, "filter=limit::1|offset::0")
    )
    assert status == 404
    error = orjson.loads(body)
    assert error["error_code"] == "SVCSTG.SWR.4040010"
    assert error["errors"][0]["errorCode"] == "SVCSTG.SWR.4040010"


@pytest.mark.parametrize(
    "query",
    [
        "",
        "filter=limit::10",
        "filter=offset::0",
        "filter=limit::0|offset::0",
        "filter=limit::-1|offset::0",
        "filter=limit::x|offset::0",
        "filter=limit::10|offset::0|order::sideways",
        "filter=limit:10|offset::0",
        "filter=limit::|offset::0",
        "filter=limit::10|offset::0|page::1",
        "limit=10&offset=0",
    ],
)
async def test_bad_sync_job_queries_are_swr_400s(
    simulator: SimulatorHandle, http: aiohttp.ClientSession, query: str
) -> None:
    status, headers, body = await get(http, simulator.url, sync_job_path("acme", "team/app", query))
    assert status == 400
    error = orjson.loads(body)
    assert error["error_code"] == "SVCSTG.SWR.4000014"
    assert error["errors"][0]["detail"] == error["details"][0]
    assert "Content-Range" not in headers


async def test_unknown_paths_are_gateway_404s(
    simulator: SimulatorHandle, http: aiohttp.ClientSession
) -> None:
    for path in ("/v2/manage/nothing", "/v2/manage/repos/", "/", "/v2/manage/namespaces/acme/repos/team$app"):
        status, _, body = await get(http, simulator.url, path)
        assert (status, orjson.loads(body)["error_code"]) == (404, "APIGW.0101")


async def test_wrong_method_is_405(simulator: SimulatorHandle, http: aiohttp.ClientSession) -> None:
    for method, path in [("POST", "/v2/manage/repos"), ("DELETE", sync_job_path("acme", "team/app", "")),
                         ("GET", "/v3/auth/tokens")]:  # fmt: skip
        async with http.request(method, url(simulator.url, path), headers=AUTH) as resp:
            assert resp.status == 405
            assert "Allow" in resp.headers
            assert "X-Request-Id" in resp.headers


async def test_every_response_has_a_request_id(
    simulator: SimulatorHandle, http: aiohttp.ClientSession
) -> None:
    ids = set()
    for path in ("/v2/manage/namespaces", "/v2/manage/repos", "/nowhere", sync_job_path("acme", "x", "")):
        _, headers, _ = await get(http, simulator.url, path)
        ids.add(headers["X-Request-Id"])
    assert len(ids) == 4


async def test_namespaces_not_paged_and_visible_mode_adds_repo_permission_ones(
    simulator: SimulatorHandle, http: aiohttp.ClientSession
) -> None:
    status, headers, body = await get(http, simulator.url, "/v2/manage/namespaces")
    assert status == 200
    assert "Content-Range" not in headers
    plain = orjson.loads(body)["namespaces"]
    assert all(set(ns) == {"id", "name", "creator_name", "auth"} for ns in plain)
    _, _, body = await get(http, simulator.url, "/v2/manage/namespaces?filter=mode::visible")
    visible = orjson.loads(body)["namespaces"]
    extra = [ns for ns in visible if ns not in plain]
    assert len(extra) == 1
    assert extra[0]["auth"] == 1
    all_namespaces = {ns for ns, _ in simulator.repositories()}
    assert {ns["name"] for ns in visible} == all_namespaces
    _, _, body = await get(http, simulator.url, "/v2/manage/namespaces?filter=namespace::acme")
    assert sorted(ns["name"] for ns in orjson.loads(body)["namespaces"]) == ["acme", "acme-mirror"]


async def test_repos_fuzzy_filters_paging_and_total_range(
    simulator: SimulatorHandle, http: aiohttp.ClientSession
) -> None:
    expected = sorted((name, ns) for ns, name in simulator.repositories() if "acme" in ns)
    seen = []
    for offset in (0, 4, 8, 12):
        status, headers, body = await get(
            http, simulator.url, f"/v2/manage/repos?filter=namespace::acme|limit::4|offset::{offset}"
        )
        assert status == 200
        page = orjson.loads(body)
        assert headers["Content-Range"] == f"{offset}-{len(page)}/{len(expected)}"
        assert all(set(r) == REPO_FIELDS and r["total_range"] == len(expected) for r in page)
        seen += [(r["name"], r["namespace"]) for r in page]
    assert seen == expected  # fuzzy: "acme" matches acme-mirror too, ordered by name


async def test_repos_filter_wins_over_separate_parameters_and_limit_is_capped(
    simulator: SimulatorHandle, http: aiohttp.ClientSession
) -> None:
    _, headers, _ = await get(http, simulator.url, "/v2/manage/repos?namespace=acme&limit=2&filter=name::app")
    count = sum(1 for _, name in simulator.repositories() if "app" in name)
    assert headers["Content-Range"] == f"0-{count}/{count}"
    _, headers, _ = await get(http, simulator.url, "/v2/manage/repos?namespace=acme-mirror&limit=2")
    assert headers["Content-Range"].startswith("0-2/")
    status, _, body = await get(http, simulator.url, "/v2/manage/repos?filter=limit::1001")
    assert (status, orjson.loads(body)["error_code"]) == (400, "SVCSTG.SWR.4000014")
    status, _, _ = await get(http, simulator.url, "/v2/manage/repos?filter=limit::1000")
    assert status == 200


async def test_repos_ordering(simulator: SimulatorHandle, http: aiohttp.ClientSession) -> None:
    _, _, body = await get(
        http, simulator.url, "/v2/manage/repos?filter=order_column::tag_count|order_type::desc|limit::1000"
    )
    counts = [r["num_images"] for r in orjson.loads(body)]
    assert counts == sorted(counts, reverse=True)
    _, _, body = await get(
        http, simulator.url, "/v2/manage/repos?filter=order_column::updated_time|limit::1000"
    )
    times = [r["updated_at"] for r in orjson.loads(body)]
    assert times == sorted(times)


async def test_legacy_errors_are_a_bare_array(
    make_simulator: MakeSimulator, http: aiohttp.ClientSession
) -> None:
    async with make_simulator(legacy_errors=True) as sim:
        status, _, body = await get(
            http, sim.url, sync_job_path("acme", "team/app", "filter=limit::0|offset::0")
        )
        assert status == 400
        assert orjson.loads(body) == [
            {
                "errorCode": "SVCSTG.SWR.4000014",
                "errorMessage": "Bad request",
                "detail": "limit must be at least 1",
            }
        ]
        status, _, body = await get(http, sim.url, "/v2/manage/nothing")  # gateway errors keep their shape
        assert orjson.loads(body)["error_code"] == "APIGW.0101"
