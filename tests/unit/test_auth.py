"""Authenticators: expiry arithmetic, single-flight IAM tokens, refresh, AK/SK on the wire, one-line errors.

HTTP goes to real servers: the simulator (in this event loop) or, for IAM answers it never gives (5xx),
a tiny aiohttp.web app. Clocks are injected, never waited for.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web
from yarl import URL

from pipeline.auth import (
    DEFAULT_TOKEN_LIFETIME_S,
    AkSkAuth,
    Authenticator,
    IamPasswordAuth,
    TokenAuth,
    auth_error,
    default_iam_endpoint,
    renew_after,
    token_lifetime,
)
from pipeline.client import SwrClient
from pipeline.domain import Repository
from pipeline.errors import ApiError, AuthError, ConfigError
from pipeline.limiter import AdaptiveLimiter
from pipeline.settings import HttpSettings, load_settings
from pipeline.simulator import SimulatorConfig, SimulatorHandle, running_simulator
from pipeline.simulator.signing import WireRequest, check_signature, parse_authorization

AK, SK, SECURITY_TOKEN = "SIMAK0000000000000000", "sk-unit-secret-0123456789", "st-unit-secret-abcdef"
SIM = SimulatorConfig(
    anchor="2025-06-01T12:00:00Z", namespaces=2, repos_per_namespace=3, heavy_repos=0, max_jobs_per_repo=50,
    ak=AK, sk=SK, security_token=SECURITY_TOKEN, token_ttl_s=3600.0,
)  # fmt: skip
HTTP = HttpSettings(concurrency=64, backoff_base=0.0, backoff_cap=0.0, retry_attempts=3)
TEAM_APP = Repository("acme", "team/app")  # always the first repository of acme: '/' on the wire is '$'
TIMEOUT = aiohttp.ClientTimeout(total=10)


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
async def sim() -> AsyncIterator[SimulatorHandle]:
    async with running_simulator(SIM) as handle:
        yield handle


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as http:
        yield http


def client(session: aiohttp.ClientSession, url: str, auth: Authenticator) -> SwrClient:
    return SwrClient(session, url, auth, AdaptiveLimiter(HTTP.concurrency), HTTP)


def iam(
    session: aiohttp.ClientSession, url: str, password: str = SIM.iam_password, **kw: Any
) -> IamPasswordAuth:
    return IamPasswordAuth(
        session, iam_endpoint=url, user=SIM.iam_user, password=password, domain=SIM.iam_domain,
        project=SIM.region, timeout=TIMEOUT, retry_delays=(0.0, 0.0), **kw,
    )  # fmt: skip


def aksk(sk: str = SK, now: Callable[[], datetime] | None = None) -> AkSkAuth:
    kwargs: dict[str, Any] = {"now": now} if now else {}
    return AkSkAuth(AK, sk, project_id="0123", security_token=SECURITY_TOKEN, **kwargs)


# --- pure pieces ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "region", "iam_url"),
    [
        ("https://swr-api.cn-north-4.myhuaweicloud.com", "cn-north-4", "https://iam.cn-north-4.myhuaweicloud.com"),
        ("https://swr-api.ap-southeast-1.myhuaweicloud.com/", "ap-southeast-1",
         "https://iam.ap-southeast-1.myhuaweicloud.com"),
        ("https://swr-api.eu-west-101.myhuaweicloud.eu", "eu-west-101", "https://iam.eu-west-101.myhuaweicloud.eu"),
        ("http://127.0.0.1:8080", "cn-north-4", "https://iam.cn-north-4.myhuaweicloud.com"),
    ],
)  # fmt: skip
def test_default_iam_endpoint(endpoint: str, region: str, iam_url: str) -> None:
    assert default_iam_endpoint(endpoint, region) == iam_url


RECEIVED = datetime(2020, 3, 12, 8, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("token", "lifetime"),
    [
        # IAM's shape: RFC 3339 with microseconds and Z; measured on IAM's own clock (issued_at)
        ({"expires_at": "2020-03-13T08:11:36.518144Z", "issued_at": "2020-03-12T08:11:36.518144Z"}, 86400.0),
        ({"expires_at": "2020-03-12T09:00:00.000001Z", "issued_at": "2020-03-12T08:00:00Z"}, 3600.000001),
        ({"expires_at": "2020-03-12T17:00:00+08:00", "issued_at": "2020-03-12T08:00:00Z"}, 3600.0),
        # no issued_at: from when the answer arrived
        ({"expires_at": "2020-03-12T08:10:00.5Z"}, 600.5),
        ({"expires_at": "2020-03-12T07:00:00Z", "issued_at": "2020-03-12T07:00:00Z"}, 0.0),
        # unreadable: IAM's documented 24 h
        ({"expires_at": "tomorrow"}, DEFAULT_TOKEN_LIFETIME_S),
        ({"expires_at": 12}, DEFAULT_TOKEN_LIFETIME_S),
        ({}, DEFAULT_TOKEN_LIFETIME_S),
        (None, DEFAULT_TOKEN_LIFETIME_S),
    ],
)
def test_token_lifetime(token: dict[str, Any] | None, lifetime: float) -> None:
    assert token_lifetime(orjson.dumps({"token": token}), RECEIVED) == pytest.approx(lifetime, abs=1e-6)


def test_token_lifetime_of_a_body_that_is_not_json() -> None:
    assert token_lifetime(b"<html>", RECEIVED) == DEFAULT_TOKEN_LIFETIME_S


@pytest.mark.parametrize(
    ("lifetime", "renew"),
    [(86400.0, 86100.0), (3600.0, 3300.0), (600.0, 540.0), (10.0, 9.0), (0.0, 0.0), (-5.0, 0.0)],
)
def test_renew_shortly_before_expiry(lifetime: float, renew: float) -> None:
    assert renew_after(lifetime) == pytest.approx(renew)


@pytest.mark.parametrize(
    ("auth", "error", "mode_text", "check"),
    [
        (TokenAuth("tok-secret-1"), ApiError(401, "SVCSTG.SWR.4010000", "bad tok-secret-1\nline2"),
         "token authentication failed", "SWR_ETL_TOKEN"),
        (TokenAuth("tok-secret-1"), ApiError(403, "SVCSTG.SWR.4030170", "no permission"),
         "token authentication failed", "read access to SWR"),
        (aksk(), ApiError(401, "APIGW.0301", f"sig {SK} {SECURITY_TOKEN}"), "AK/SK authentication failed",
         "SWR_ETL_AK and SWR_ETL_SK"),
        (aksk(), ApiError(401, "APIGW.0303", "date"), "AK/SK authentication failed", "clock"),
    ],
)  # fmt: skip
def test_refused_is_one_line_naming_the_mode_without_secrets(
    auth: Authenticator, error: ApiError, mode_text: str, check: str
) -> None:
    fatal = auth.refused(error)
    assert isinstance(fatal, AuthError) and fatal.exit_code == 1 and fatal.mode == auth.mode
    text = str(fatal)
    assert text.startswith(mode_text) and check in text and error.code in text  # type: ignore[operator]
    assert "\n" not in text
    for secret in ("tok-secret-1", SK, SECURITY_TOKEN):
        assert secret not in text and secret not in repr(fatal) and secret not in (fatal.error_message or "")


def test_auth_error_redacts_the_secrets_it_is_given() -> None:
    fatal = auth_error("iam", ApiError(401, None, "password pw-123456 wrong"), "check it", ["pw-123456"])
    assert str(fatal) == "IAM password authentication failed (HTTP 401: password *** wrong); check it"


def test_reprs_hide_secrets() -> None:
    env = {
        "SWR_ETL_ENDPOINT": "https://swr-api.cn-north-4.myhuaweicloud.com",
        "SWR_ETL_AK": AK, "SWR_ETL_SK": SK, "SWR_ETL_SECURITY_TOKEN": SECURITY_TOKEN,
    }  # fmt: skip
    settings = load_settings(env=env)
    iam_settings = load_settings(
        env={"SWR_ETL_ENDPOINT": env["SWR_ETL_ENDPOINT"], "SWR_ETL_IAM_USER": "u",
             "SWR_ETL_IAM_PASSWORD": "pw-123456", "SWR_ETL_IAM_DOMAIN": "d"}
    )  # fmt: skip
    texts = [repr(settings), str(settings), repr(iam_settings), repr(aksk()), repr(TokenAuth("tok-secret-1"))]
    for text in texts:
        for secret in (SK, SECURITY_TOKEN, "pw-123456", "tok-secret-1"):
            assert secret not in text


# --- IAM password flow against the simulator ----------------------------------------------------------


async def test_64_concurrent_requests_cause_one_iam_call(
    sim: SimulatorHandle, session: aiohttp.ClientSession
) -> None:
    sim.reset_stats()
    auth = iam(session, sim.url)
    swr = client(session, sim.url, auth)
    pages = await asyncio.gather(*(swr.fetch_job_page(TEAM_APP, 0, 5) for _ in range(64)))
    assert len(pages) == 64
    assert sim.stats()["iam_token_requests"] == 1 and auth.token_requests == 1
    assert sim.stats()["requests_by_endpoint"]["sync_job"] == 64


async def test_token_is_cached_until_shortly_before_expires_at(
    sim: SimulatorHandle, session: aiohttp.ClientSession
) -> None:
    clock = FakeClock()
    auth = iam(session, sim.url, clock=clock)
    first = await auth.headers("GET", URL(sim.url))
    # The simulator issues 3600 s tokens: reused until 300 s before that, then renewed.
    clock.now += 3299.0
    assert await auth.headers("GET", URL(sim.url)) == first
    assert auth.token_requests == 1
    clock.now += 2.0
    second = await auth.headers("GET", URL(sim.url))
    assert second != first and auth.token_requests == 2


async def test_revoked_token_is_refreshed_once(sim: SimulatorHandle, session: aiohttp.ClientSession) -> None:
    auth = iam(session, sim.url)
    swr = client(session, sim.url, auth)
    await swr.fetch_job_page(TEAM_APP, 0, 5)
    async with session.post(sim.url + "/_sim/tokens/revoke") as resp:
        assert resp.status == 200
    sim.reset_stats()
    await asyncio.gather(*(swr.fetch_job_page(TEAM_APP, 0, 5) for _ in range(16)))
    stats = sim.stats()
    assert stats["iam_token_requests"] == 1 and auth.token_requests == 2
    assert 1 <= stats["responses_by_status"]["401"] <= 16  # requests in flight met the revoked token ...
    assert stats["responses_by_status"]["200"] == 16  # ... and retried once, all with the one new token


async def test_wrong_iam_password_is_fatal_after_one_iam_call(
    sim: SimulatorHandle, session: aiohttp.ClientSession
) -> None:
    sim.reset_stats()
    swr = client(session, sim.url, iam(session, sim.url, password="pw-wrong-123"))  # noqa: S106
    results = await asyncio.gather(
        *(swr.fetch_job_page(TEAM_APP, 0, 5) for _ in range(32)), return_exceptions=True
    )
    assert all(isinstance(r, AuthError) for r in results)
    text = str(results[0])
    assert text.startswith(
        "IAM password authentication failed (HTTP 401: The username or password is wrong.)"
    )
    assert "SWR_ETL_IAM_PASSWORD" in text and "pw-wrong-123" not in text
    assert sim.stats()["iam_token_requests"] == 1 and sim.stats()["requests_total"] == 1


@dataclasses.dataclass
class FlakyIam:
    """An IAM endpoint that answers `failures` times with `status`, then issues a token."""

    status: int
    failures: int
    calls: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.calls += 1
        await request.read()
        if self.calls <= self.failures:
            return web.json_response(
                {"error": {"code": self.status, "message": "busy", "title": "x"}}, status=self.status
            )
        expires = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        body = {"token": {"expires_at": expires}}
        return web.json_response(body, status=201, headers={"X-Subject-Token": f"tok-{self.calls}"})


async def serve(iam_app: FlakyIam) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_post("/v3/auth/tokens", iam_app.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


@pytest.mark.parametrize(
    ("status", "failures", "calls", "ok"),
    [(503, 2, 3, True), (500, 5, 3, False), (502, 1, 2, True), (401, 1, 1, False), (403, 1, 1, False)],
)
async def test_iam_5xx_is_retried_briefly_but_401_is_fatal(
    session: aiohttp.ClientSession, status: int, failures: int, calls: int, ok: bool
) -> None:
    flaky = FlakyIam(status, failures)
    runner, url = await serve(flaky)
    try:
        auth = iam(session, url)
        if ok:
            assert (await auth.headers("GET", URL(url)))["X-Auth-Token"] == f"tok-{calls}"
        else:
            with pytest.raises(
                AuthError, match=rf"^IAM password authentication failed \(HTTP {status}: busy\)"
            ):
                await auth.headers("GET", URL(url))
            with pytest.raises(AuthError):  # remembered: the requests queued behind it do not ask again
                await auth.headers("GET", URL(url))
        assert flaky.calls == calls
    finally:
        await runner.cleanup()


# --- token and AK/SK against the simulator ------------------------------------------------------------


async def test_wrong_static_token_is_one_request(
    sim: SimulatorHandle, session: aiohttp.ClientSession
) -> None:
    sim.reset_stats()
    swr = client(session, sim.url, TokenAuth("tok-wrong-123"))
    results = await asyncio.gather(
        *(swr.fetch_job_page(TEAM_APP, 0, 5) for _ in range(8)), return_exceptions=True
    )
    assert all(isinstance(r, AuthError) and r.mode == "token" for r in results)
    assert sim.stats()["requests_total"] <= 8  # in flight together at most once each; never a retry
    with pytest.raises(AuthError):  # and later calls fail fast, sending nothing
        await swr.fetch_job_page(TEAM_APP, 0, 5)
    assert sim.stats()["requests_total"] <= 8


async def test_aksk_signed_requests_are_accepted(
    sim: SimulatorHandle, session: aiohttp.ClientSession
) -> None:
    sim.reset_stats()
    swr = client(session, sim.url, aksk())
    page = await swr.fetch_job_page(TEAM_APP, 0, 5)
    assert page.item_count == 5 and sim.stats()["auth_failures"] == 0
    assert await swr.list_namespaces()
    assert (await swr.list_repos_page(10, 0, "acme")).repositories


async def test_wrong_sk_is_refused_after_one_resign(
    sim: SimulatorHandle, session: aiohttp.ClientSession
) -> None:
    sim.reset_stats()
    swr = client(session, sim.url, aksk(sk="sk-wrong-0123456789"))
    with pytest.raises(AuthError) as caught:
        await swr.fetch_job_page(TEAM_APP, 0, 5)
    assert str(caught.value).startswith("AK/SK authentication failed (HTTP 401 APIGW.0301")
    assert "sk-wrong-0123456789" not in str(caught.value)
    assert sim.stats()["requests_total"] == 2


def skewed(offsets: list[timedelta]) -> Callable[[], datetime]:
    """A clock off by offsets[0] on the first reading, offsets[1] on the second, ..., then the last one."""
    readings = iter(offsets)
    last = offsets[-1]

    def now() -> datetime:
        return datetime.now(UTC) + next(readings, last)

    return now


async def test_a_stale_signature_is_resigned_with_a_fresh_date(
    sim: SimulatorHandle, session: aiohttp.ClientSession
) -> None:
    sim.reset_stats()
    swr = client(session, sim.url, aksk(now=skewed([timedelta(minutes=-20), timedelta(0)])))
    assert (await swr.fetch_job_page(TEAM_APP, 0, 5)).item_count == 5
    assert sim.stats()["responses_by_status"] == {"401": 1, "200": 1}


async def test_a_skewed_clock_is_fatal_and_says_so(
    sim: SimulatorHandle, session: aiohttp.ClientSession
) -> None:
    sim.reset_stats()
    swr = client(session, sim.url, aksk(now=skewed([timedelta(minutes=16)])))
    with pytest.raises(AuthError) as caught:
        await swr.fetch_job_page(TEAM_APP, 0, 5)
    assert "APIGW.0303" in str(caught.value) and "clock" in str(caught.value)
    assert sim.stats()["requests_total"] == 2


@dataclasses.dataclass
class Captured:
    """What reached a capture server: the raw path and query, and the headers."""

    requests: list[WireRequest] = dataclasses.field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        url = URL(request.raw_path, encoded=True)
        headers = {k.lower(): v for k, v in request.headers.items()}
        self.requests.append(WireRequest(request.method, url.raw_path, url.raw_query_string, headers))
        return web.json_response([], headers={"Content-Range": "0-0/0"})


async def test_the_query_on_the_wire_is_the_one_signed(session: aiohttp.ClientSession) -> None:
    captured = Captured()
    app = web.Application()
    app.router.add_get("/{tail:.*}", captured.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        await client(session, url, aksk()).fetch_job_page(TEAM_APP, 0, 10)
    finally:
        await runner.cleanup()
    [wire] = captured.requests
    assert wire.raw_path == "/v2/manage/namespaces/acme/repos/team$app/sync_job"
    assert wire.raw_query == "filter=limit%3A%3A10%7Coffset%3A%3A0%7Corder%3A%3Aasc"
    assert wire.headers["x-project-id"] == "0123" and wire.headers["x-security-token"] == SECURITY_TOKEN
    # The simulator's verifier, written from swr-api.md alone, accepts exactly what arrived.
    authorization = parse_authorization(wire.headers["authorization"])
    assert authorization is not None and authorization.access_key == AK
    assert check_signature(authorization, SK, wire)
    tampered = dataclasses.replace(wire, raw_query=wire.raw_query.replace("10", "11"))
    assert not check_signature(authorization, SK, tampered)


def test_iam_mode_needs_a_region() -> None:
    env = {
        "SWR_ETL_ENDPOINT": "http://127.0.0.1:8080",
        "SWR_ETL_IAM_USER": "u", "SWR_ETL_IAM_PASSWORD": "pw-123456", "SWR_ETL_IAM_DOMAIN": "d",
    }  # fmt: skip
    with pytest.raises(ConfigError, match="SWR_ETL_REGION") as caught:
        load_settings(env=env)
    assert "pw-123456" not in str(caught.value) and caught.value.exit_code == 2
    assert load_settings(env={**env, "SWR_ETL_REGION": "cn-north-4"}).sources[0].region == "cn-north-4"
