"""--redirect-to: calls under --redirect-prefix answered 307 to the same path and query elsewhere."""

from __future__ import annotations

import aiohttp
import pytest

from pipeline.simulator.config import SimulatorConfig
from tests.simulator.conftest import AUTH, MakeSimulator, sync_job_path, url

ELSEWHERE = "https://swr-api.elsewhere.example.com"


async def status_and_location(
    http: aiohttp.ClientSession, base: str, path: str, method: str = "GET"
) -> tuple[int, str | None]:
    async with http.request(method, url(base, path), headers=AUTH, allow_redirects=False) as resp:
        return resp.status, resp.headers.get("Location")


async def test_every_call_under_the_prefix_is_redirected_with_its_path_and_query(
    make_simulator: MakeSimulator, http: aiohttp.ClientSession
) -> None:
    page = sync_job_path("acme", "team/app", "filter=limit::5|offset::0")
    async with make_simulator(redirect_to=ELSEWHERE + "/") as sim:
        assert await status_and_location(http, sim.url, page) == (307, ELSEWHERE + page)
        iam = await status_and_location(http, sim.url, "/v3/auth/tokens", "POST")
        assert iam == (307, ELSEWHERE + "/v3/auth/tokens")
        stats = sim.stats()
        assert stats["faults"] == {"redirect": 2}
        assert stats["auth_failures"] == 0 and stats["iam_token_requests"] == 0  # redirected first


async def test_calls_outside_the_prefix_are_served(
    make_simulator: MakeSimulator, http: aiohttp.ClientSession
) -> None:
    async with make_simulator() as plain:
        repos = plain.repositories()
    (namespace, repo) = repos[0]
    (other_ns, other_repo) = next(r for r in repos if r[0] != namespace)
    prefix = f"/v2/manage/namespaces/{namespace}/"
    async with make_simulator(redirect_to=ELSEWHERE, redirect_prefix=prefix) as sim:
        redirected = sync_job_path(namespace, repo, "filter=limit::5|offset::0")
        served = sync_job_path(other_ns, other_repo, "filter=limit::5|offset::0")
        assert (await status_and_location(http, sim.url, redirected))[0] == 307
        assert await status_and_location(http, sim.url, served) == (200, None)
        assert (await status_and_location(http, sim.url, "/v2/manage/namespaces?filter=mode::visible"))[
            0
        ] == 200


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"redirect_to": "ftp://x"}, "redirect_to must be an http"),
        ({"redirect_prefix": "v2"}, "must start with /"),
    ],
)
def test_bad_redirect_flags_are_refused(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SimulatorConfig(**overrides)  # type: ignore[arg-type]
