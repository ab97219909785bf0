"""SwrClient's retry budget against a throttling gateway, over real HTTP to a small local server.

API Gateway throttles per API per user. A 429 while other calls of the same API got through is pacing and
is not counted against the request's budget (up to PACED_TRIES_FACTOR times the budget in requests); a
429 while nothing of that API gets through is counted like any failure. The client's `sleep` hook (its
wait between tries) makes another call succeed, or not, between two tries: no real waiting, no timing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import orjson
import pytest
from aiohttp import web

from pipeline import sansio
from pipeline.auth import AkSkAuth, Authenticator, TokenAuth
from pipeline.client import PACED_TRIES_FACTOR, SwrClient
from pipeline.errors import RetriesExhausted
from pipeline.limiter import AdaptiveLimiter
from pipeline.settings import HttpSettings

ATTEMPTS = 3
HTTP = HttpSettings(retry_attempts=ATTEMPTS, backoff_base=0.0, backoff_cap=0.0)
THROTTLED = orjson.dumps({"error_code": "APIGW.0308", "error_msg": "throttled", "request_id": "r"})


class Gateway:
    """Answers 429 APIGW.0308 to any request whose query holds `doomed`, 200 otherwise.

    With `Retry-After: 0`: the budget is what is tested here; a 429 without Retry-After would also teach
    the API's pace a rate (tests/unit/test_pacing.py), and at one grant per refusal that pace is real time.
    """

    def __init__(self) -> None:
        self.doomed_requests = 0
        self.unauthorized_first = False  # answer the first doomed request 401 instead
        self.retry_after: dict[str, str] = {"Retry-After": "0"}

    async def namespaces(self, request: web.Request) -> web.Response:
        if "doomed" in request.query_string:
            self.doomed_requests += 1
            if self.unauthorized_first and self.doomed_requests == 1:
                return web.Response(status=401, body=b"{}", content_type="application/json")
            return web.Response(
                status=429, body=THROTTLED, content_type="application/json", headers=self.retry_after
            )
        return web.json_response({"namespaces": [{"name": "acme"}]})

    async def repos(self, request: web.Request) -> web.Response:
        return web.json_response([], headers={"Content-Range": "0-0/0"})


@pytest.fixture
async def gateway() -> AsyncIterator[tuple[Gateway, str]]:
    state = Gateway()
    app = web.Application()
    app.router.add_get(sansio.NAMESPACES_PATH, state.namespaces)
    app.router.add_get(sansio.REPOS_PATH, state.repos)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield state, f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


def make_client(
    session: aiohttp.ClientSession,
    url: str,
    between_tries: Callable[[SwrClient], Awaitable[None]],
    auth: Authenticator | None = None,
) -> SwrClient:
    client: SwrClient

    async def sleep(_: float) -> None:
        await between_tries(client)

    client = SwrClient(session, url, auth or TokenAuth("t"), AdaptiveLimiter(4), HTTP, sleep=sleep)
    return client


async def same_api_succeeds(client: SwrClient) -> None:
    await client.call("ListNamespaces", sansio.NAMESPACES_PATH, "", sansio.decode_namespaces)


async def other_api_succeeds(client: SwrClient) -> None:
    await client.list_repos_page(100, 0, None)


async def nothing_succeeds(client: SwrClient) -> None:
    return None


async def same_api_succeeds_once(client: SwrClient) -> None:
    if client.stats.retries == 1:  # only between the first and the second try
        await same_api_succeeds(client)


@pytest.mark.parametrize(
    ("between_tries", "sent", "counted"),
    [
        # Nothing gets through: every 429 is counted, the budget ends the call.
        (nothing_succeeds, ATTEMPTS, ATTEMPTS),
        # Only another API gets through: this API is refused, not paced; counted.
        (other_api_succeeds, ATTEMPTS, ATTEMPTS),
        # The same API gets through between tries: only the first 429 (nothing had got through before it
        # was answered) is counted; the hard stop ends the call at PACED_TRIES_FACTOR x the budget.
        (same_api_succeeds, PACED_TRIES_FACTOR * ATTEMPTS, 1),
        # The same API got through once: the 429 right after it is not counted, the later ones are.
        (same_api_succeeds_once, ATTEMPTS + 1, ATTEMPTS),
    ],
)
async def test_a_429_is_counted_unless_the_same_api_gets_through(
    gateway: tuple[Gateway, str],
    between_tries: Callable[[SwrClient], Awaitable[None]],
    sent: int,
    counted: int,
) -> None:
    state, url = gateway
    async with aiohttp.ClientSession() as session:
        client = make_client(session, url, between_tries)
        with pytest.raises(RetriesExhausted) as caught:
            await client.call("ListNamespaces", sansio.NAMESPACES_PATH, "doomed=1", sansio.decode_namespaces)
    assert (caught.value.attempts, caught.value.counted) == (sent, counted)
    assert state.doomed_requests == sent == client.stats.throttled
    message = str(caught.value)
    assert message.startswith(f"gave up after {counted} attempts")
    assert (f"({sent} requests; {sent - counted} not counted: throttled while" in message) == (sent > counted)


async def test_a_request_resent_after_a_credential_refresh_is_sent_but_not_counted(
    gateway: tuple[Gateway, str],
) -> None:
    state, url = gateway
    state.unauthorized_first = True  # AK/SK re-signs once after a 401, then the gateway throttles
    async with aiohttp.ClientSession() as session:
        client = make_client(session, url, nothing_succeeds, AkSkAuth("AK", "SK"))
        with pytest.raises(RetriesExhausted) as caught:
            await client.call("ListNamespaces", sansio.NAMESPACES_PATH, "doomed=1", sansio.decode_namespaces)
    assert state.doomed_requests == ATTEMPTS + 1 == caught.value.attempts
    assert caught.value.counted == ATTEMPTS


@pytest.mark.parametrize(("retry_after", "paced"), [({"Retry-After": "0"}, False), ({}, True)])
async def test_only_a_429_without_retry_after_teaches_the_api_a_pace(
    gateway: tuple[Gateway, str], retry_after: dict[str, str], paced: bool
) -> None:
    state, url = gateway
    state.retry_after = retry_after
    limiter = AdaptiveLimiter(4)
    once = HttpSettings(retry_attempts=1)
    async with aiohttp.ClientSession() as session:
        client = SwrClient(session, url, TokenAuth("t"), limiter, once)
        for _ in range(20):
            await same_api_succeeds(client)
        with pytest.raises(RetriesExhausted):
            await client.call("ListNamespaces", sansio.NAMESPACES_PATH, "doomed=1", sansio.decode_namespaces)
    # Retry-After says when, not how fast: it is honoured as it is; without it, the gateway's bucket ran dry.
    assert (limiter.gate("ListNamespaces").interval() > 0) is paced
    assert limiter.gate("ListReposDetails").interval() == 0.0
