"""Authentication over HTTP: static token, IAM-issued tokens (expiry, revocation), AK/SK signatures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import orjson
from yarl import URL

from pipeline.simulator import SimulatorConfig
from pipeline.simulator.signing import WireRequest, canonical_request, signature
from tests.simulator.conftest import MakeSimulator, get, sync_job_path

PAGE = sync_job_path("acme", "team/app", "filter=limit::2|offset::0")
AK, SK = "SIMAK0000000000000000", "simulator-secret-key"
DEFAULTS = SimulatorConfig()
WRONG = "wrong-" + DEFAULTS.iam_password
TEMP_TOKEN = "temp-" + DEFAULTS.token


def iam_body(
    user: str = DEFAULTS.iam_user, password: str = DEFAULTS.iam_password, scope: bool = True
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {"user": {"name": user, "password": password, "domain": {"name": "sim-domain"}}},
            }
        }
    }
    if scope:
        body["auth"]["scope"] = {"project": {"name": "cn-north-4"}}
    return body


async def issue(http: aiohttp.ClientSession, base: str, body: dict[str, Any]) -> aiohttp.ClientResponse:
    async with http.post(base + "/v3/auth/tokens", json=body) as resp:
        await resp.read()
        return resp


def signed_headers(base: str, path_and_query: str, *, when: datetime | None = None, sk: str = SK,
                   extra: dict[str, str] | None = None) -> dict[str, str]:  # fmt: skip
    """Headers of a request signed per swr-api.md (the verifier is proven on the official example)."""
    host = URL(base).raw_authority
    date = (when or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    headers = {"host": host, "x-sdk-date": date, "x-project-id": "0123", **(extra or {})}
    names = tuple(sorted(headers))
    path, _, query = path_and_query.partition("?")
    canonical = canonical_request(WireRequest("GET", path, query, headers), names)
    sig = signature(sk, date, canonical)
    auth = f"SDK-HMAC-SHA256 Access={AK}, SignedHeaders={';'.join(names)}, Signature={sig}"
    return {"Host": host, "X-Sdk-Date": date, "X-Project-Id": "0123", **(extra or {}), "Authorization": auth}


async def test_static_token_and_missing_or_wrong_token(
    make_simulator: MakeSimulator, http: aiohttp.ClientSession
) -> None:
    async with make_simulator() as sim:
        assert (await get(http, sim.url, PAGE))[0] == 200
        for headers in ({}, {"X-Auth-Token": "nope"}):
            status, _, body = await get(http, sim.url, PAGE, headers)
            assert (status, orjson.loads(body)["error_code"]) == (401, "SVCSTG.SWR.4010000")
        assert sim.stats()["auth_failures"] == 2


async def test_iam_token_flow(make_simulator: MakeSimulator, http: aiohttp.ClientSession) -> None:
    async with make_simulator() as sim:
        async with http.post(sim.url + "/v3/auth/tokens", json=iam_body()) as resp:
            assert resp.status == 201
            token = resp.headers["X-Subject-Token"]
            payload = (await resp.json())["token"]
        assert payload["methods"] == ["password"]
        assert payload["project"]["name"] == "cn-north-4"
        issued = datetime.fromisoformat(payload["issued_at"].replace("Z", "+00:00"))
        expires = datetime.fromisoformat(payload["expires_at"].replace("Z", "+00:00"))
        assert expires - issued == timedelta(hours=24)
        assert (await get(http, sim.url, PAGE, {"X-Auth-Token": token}))[0] == 200
        async with http.post(sim.url + "/_sim/tokens/revoke") as resp:
            assert (await resp.json()) == {"revoked": 1}
        status, _, body = await get(http, sim.url, PAGE, {"X-Auth-Token": token})
        assert (status, orjson.loads(body)["error_code"]) == (401, "SVCSTG.SWR.4010000")
        assert sim.stats()["iam_token_requests"] == 1


async def test_iam_refuses_wrong_credentials_and_missing_scope(
    make_simulator: MakeSimulator, http: aiohttp.ClientSession
) -> None:
    async with make_simulator() as sim:
        assert (await issue(http, sim.url, iam_body(password=WRONG))).status == 401
        assert (await issue(http, sim.url, iam_body(user="mallory"))).status == 401
        assert (await issue(http, sim.url, iam_body(scope=False))).status == 400
        async with http.post(sim.url + "/v3/auth/tokens", data=b"{not json") as resp:
            assert resp.status == 400
            assert (await resp.json())["error"]["code"] == 400
        async with http.post(sim.url + "/v3/auth/tokens", json=iam_body(password=WRONG)) as resp:
            assert (await resp.json())["error"] == {
                "code": 401, "message": "The username or password is wrong.", "title": "Unauthorized"
            }  # fmt: skip
        assert sim.stats()["iam_token_requests"] == 5


async def test_expired_iam_token_is_refused(
    make_simulator: MakeSimulator, http: aiohttp.ClientSession
) -> None:
    async with make_simulator(token_ttl_s=0.0) as sim:
        async with http.post(sim.url + "/v3/auth/tokens", json=iam_body()) as resp:
            token = resp.headers["X-Subject-Token"]
        assert (await get(http, sim.url, PAGE, {"X-Auth-Token": token}))[0] == 401


async def test_signed_request_is_accepted(make_simulator: MakeSimulator, http: aiohttp.ClientSession) -> None:
    async with make_simulator(ak=AK, sk=SK) as sim:
        for query in ("filter=limit::2|offset::0", "filter=limit%3A%3A2%7Coffset%3A%3A0"):
            path = sync_job_path("acme", "team/app", query)
            status, _, body = await get(http, sim.url, path, signed_headers(sim.url, path))
            assert status == 200, body
        status, _, _ = await get(
            http, sim.url, "/v2/manage/repos", signed_headers(sim.url, "/v2/manage/repos")
        )
        assert status == 200


async def test_signature_failures_are_gateway_401s(
    make_simulator: MakeSimulator, http: aiohttp.ClientSession
) -> None:
    async with make_simulator(ak=AK, sk=SK) as sim:
        old = datetime.now(UTC) - timedelta(minutes=16)
        cases = {
            "APIGW.0303": signed_headers(sim.url, PAGE, when=old),
            "APIGW.0301": signed_headers(sim.url, PAGE, sk="another-secret"),
        }
        tampered = signed_headers(sim.url, PAGE)
        for code, headers in [*cases.items(), ("APIGW.0301", tampered)]:
            path = PAGE if headers is not tampered else PAGE.replace("limit::2", "limit::3")
            status, _, body = await get(http, sim.url, path, headers)
            error = orjson.loads(body)
            assert (status, error["error_code"]) == (401, code)
            assert set(error) == {"error_code", "error_msg", "request_id"}
        fine = signed_headers(sim.url, PAGE, when=datetime.now(UTC) - timedelta(minutes=14))
        assert (await get(http, sim.url, PAGE, fine))[0] == 200


async def test_security_token_is_required_when_configured(
    make_simulator: MakeSimulator, http: aiohttp.ClientSession
) -> None:
    async with make_simulator(ak=AK, sk=SK, security_token=TEMP_TOKEN) as sim:
        status, _, body = await get(http, sim.url, PAGE, signed_headers(sim.url, PAGE))
        assert (status, orjson.loads(body)["error_code"]) == (401, "APIGW.0301")
        good = signed_headers(sim.url, PAGE, extra={"x-security-token": TEMP_TOKEN})
        assert (await get(http, sim.url, PAGE, good))[0] == 200


async def test_signatures_are_refused_when_no_keys_are_configured(
    make_simulator: MakeSimulator, http: aiohttp.ClientSession
) -> None:
    async with make_simulator() as sim:
        status, _, body = await get(http, sim.url, PAGE, signed_headers(sim.url, PAGE))
        assert (status, orjson.loads(body)["error_code"]) == (401, "APIGW.0301")
