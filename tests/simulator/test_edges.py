"""The real-world edges the simulator plays: forbidden repositories, deletions between pages, absurd totals,
tokens that expire after N requests."""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp
import orjson
import pytest

from tests.simulator.conftest import AUTH, MakeSimulator, get, sync_job_path

LEGACY = pytest.mark.parametrize("legacy", [False, True])


def content_range(headers: Mapping[str, str]) -> tuple[int, int, int]:
    """(offset, count, total) of a Content-Range header."""
    value = headers["Content-Range"]
    first, total = value.split("/")
    offset, count = first.split("-")
    return int(offset), int(count), int(total)


@LEGACY
async def test_forbidden_repositories_answer_403_with_the_swr_code(
    make_simulator: MakeSimulator, http: aiohttp.ClientSession, legacy: bool
) -> None:
    async with make_simulator(forbidden_repos=2, broken_repos=1, legacy_errors=legacy) as sim:
        forbidden = sim.state.forbidden_repositories()
        assert len(forbidden) == 2 and not set(forbidden) & set(sim.broken_repositories())
        for ns, repo in forbidden:
            status, _, body = await get(http, sim.url, sync_job_path(ns, repo, "filter=limit::5|offset::0"))
            error = orjson.loads(body)
            code = error[0]["errorCode"] if legacy else error["error_code"]
            assert (status, code) == (403, "SVCSTG.SWR.4030170")
        unreadable = {*forbidden, *sim.broken_repositories()}
        readable = next(r for r in sim.repositories() if r not in unreadable)
        assert (await get(http, sim.url, sync_job_path(*readable, "filter=limit::5|offset::0")))[0] == 200
        # The jobs exist (ground truth keeps them): the caller just may not read them.
        assert any((j["namespace"], j["repoName"]) in set(forbidden) for j in sim.ground_truth())


async def test_jobs_are_deleted_once_a_page_past_the_first_is_asked_for(
    make_simulator: MakeSimulator, http: aiohttp.ClientSession
) -> None:
    async with make_simulator(deleting_repos=1, deleted_jobs=4) as sim:
        [(ns, repo)] = sim.state.deleting_repositories()
        truth = [j for j in sim.ground_truth() if (j["namespace"], j["repoName"]) == (ns, repo)]
        first_page = sync_job_path(ns, repo, "filter=limit::10|offset::0")
        _, first_headers, first = await get(http, sim.url, first_page)
        assert content_range(first_headers)[2] == len(truth) and sim.state.deleted_jobs() == []
        _, headers, body = await get(http, sim.url, sync_job_path(ns, repo, "filter=limit::10|offset::10"))
        # The four oldest are gone: offset 10 now starts at what was position 14 (positions 10-13 skipped).
        assert content_range(headers) == (10, 10, len(truth) - 4)
        assert [j["id"] for j in orjson.loads(body)] == [j["id"] for j in truth[14:24]]
        assert sim.state.deleted_jobs() == [j["id"] for j in truth[:4]]
        assert [j["id"] for j in orjson.loads(first)][:4] == sim.state.deleted_jobs()
        left = {j["id"] for j in sim.ground_truth() if (j["namespace"], j["repoName"]) == (ns, repo)}
        assert left == {j["id"] for j in truth[4:]}
        # Only once: the repository is steady from then on.
        _, again, _ = await get(http, sim.url, sync_job_path(ns, repo, "filter=limit::10|offset::20"))
        assert content_range(again)[2] == len(truth) - 4 and sim.state.deleting_repositories() == []


async def test_absurd_totals_are_claimed_but_pages_past_the_end_are_empty(
    make_simulator: MakeSimulator, http: aiohttp.ClientSession
) -> None:
    async with make_simulator(absurd_total_repos=2, absurd_total=10**12) as sim:
        absurd = sim.state.absurd_total_repositories()
        assert len(absurd) == 2
        ns, repo = absurd[0]
        jobs = sum(1 for j in sim.ground_truth() if (j["namespace"], j["repoName"]) == (ns, repo))
        _, headers, body = await get(http, sim.url, sync_job_path(ns, repo, "filter=limit::5|offset::0"))
        assert content_range(headers) == (0, min(5, jobs), 10**12)
        assert len(orjson.loads(body)) == min(5, jobs)
        past = f"filter=limit::5|offset::{jobs + 100}"
        _, headers, body = await get(http, sim.url, sync_job_path(ns, repo, past))
        assert (content_range(headers), orjson.loads(body)) == ((jobs + 100, 0, 10**12), [])


async def test_a_token_expires_after_n_requests(
    make_simulator: MakeSimulator, http: aiohttp.ClientSession
) -> None:
    page = sync_job_path("acme", "team/app", "filter=limit::5|offset::0")
    async with make_simulator(token_expires_after=3) as sim:
        statuses = [(await get(http, sim.url, page))[0] for _ in range(5)]
        assert statuses == [200, 200, 200, 401, 401]
        _, _, body = await get(http, sim.url, page, AUTH)
        assert orjson.loads(body)["error_code"] == "SVCSTG.SWR.4010000"
        # An IAM-issued token is a new token: it serves its own three requests.
        iam = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": "sim-user", "password": "sim-password", "domain": {"name": "sim-domain"}}}},
            "scope": {"project": {"name": "cn-north-4"}}}}  # fmt: skip
        async with http.post(sim.url + "/v3/auth/tokens", data=orjson.dumps(iam)) as resp:
            token = resp.headers["X-Subject-Token"]
        fresh = [(await get(http, sim.url, page, {"X-Auth-Token": token}))[0] for _ in range(4)]
        assert fresh == [200, 200, 200, 401]
        assert sim.stats()["auth_failures"] == 4


async def test_forbidden_namespaces_refuse_their_listing_and_their_repositories(
    make_simulator: MakeSimulator, http: aiohttp.ClientSession
) -> None:
    async with make_simulator(forbidden_namespaces=1) as sim:
        [namespace] = sim.state.forbidden_namespaces()
        assert namespace != "acme"
        status, _, body = await get(http, sim.url, f"/v2/manage/repos?filter=namespace::{namespace}")
        assert (status, orjson.loads(body)["error_code"]) == (403, "SVCSTG.SWR.4030170")
        assert (await get(http, sim.url, "/v2/manage/repos?filter=namespace::acme"))[0] == 200
        repo = next(r for ns, r in sim.repositories() if ns == namespace)
        page = sync_job_path(namespace, repo, "filter=limit::5|offset::0")
        assert (await get(http, sim.url, page))[0] == 403
        status, _, body = await get(http, sim.url, "/v2/manage/namespaces?filter=mode::visible")
        assert namespace in {ns["name"] for ns in orjson.loads(body)["namespaces"]}  # still listed


async def test_no_permission_refuses_every_swr_call(
    make_simulator: MakeSimulator, http: aiohttp.ClientSession
) -> None:
    async with make_simulator(no_permission=True) as sim:
        paths = ["/v2/manage/namespaces", "/v2/manage/repos?filter=limit::5|offset::0"]
        paths.append(sync_job_path("acme", "team/app", "filter=limit::5|offset::0"))
        for path in paths:
            status, _, body = await get(http, sim.url, path)
            assert (status, orjson.loads(body)["error_code"]) == (403, "SVCSTG.SWR.4030170")
        assert (await get(http, sim.url, paths[0], {}))[0] == 401  # credentials are still checked first
