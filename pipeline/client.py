"""The thin aiohttp shell around the sans-I/O core: one session, timeouts, retries, back-pressure, auth."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import aiohttp
from yarl import URL

from pipeline import sansio
from pipeline.auth import Authenticator
from pipeline.backoff import BackoffPolicy, backoff_delay, retry_delay
from pipeline.domain import JobPage, Repository
from pipeline.errors import (
    ApiError,
    AuthError,
    Forbidden,
    Interrupted,
    RetriesExhausted,
    RetryableError,
    SwrEtlError,
    TransientApiError,
    TransportError,
)
from pipeline.limiter import AdaptiveLimiter
from pipeline.logs import get_logger
from pipeline.settings import HttpSettings

T = TypeVar("T")
Decoder = Callable[[int, Mapping[str, str], bytes], T]
log = get_logger(__name__)

# Wait a hair longer than Retry-After: the server measures from when it answered, we from when we read it.
RETRY_AFTER_MARGIN_S = 0.01
# A 429 while other calls of the same API get through is the gateway pacing the crawl (it throttles per API
# per user), and is not charged to the request's retry budget; but a request gives up all the same once it
# has been sent this many times its budget.
PACED_TRIES_FACTOR = 10
# A 403 naming one resource fails that resource; this many of them before any other answer means the
# credentials may not read SWR at all (an IAM user without the read role): the run ends there.
FORBIDDEN_BEFORE_ANY_ANSWER = 10


def client_timeout(http: HttpSettings) -> aiohttp.ClientTimeout:
    """Per-request timeouts from settings."""
    return aiohttp.ClientTimeout(
        total=http.total_timeout, sock_connect=http.connect_timeout, sock_read=http.read_timeout
    )


def make_session(http: HttpSettings) -> aiohttp.ClientSession:
    """The one session of a run; its connector allows as many connections as requests may be in flight."""
    connector = aiohttp.TCPConnector(
        limit=http.concurrency + 4, ttl_dns_cache=300, enable_cleanup_closed=True
    )
    # No trust_env: it would make aiohttp look the proxy up (and read ~/.netrc) in a thread for every
    # request; the settings resolve HTTPS_PROXY / NO_PROXY once and each request names its proxy.
    session = aiohttp.ClientSession(connector=connector, timeout=client_timeout(http), raise_for_status=False)
    # aiohttp re-sends an idempotent request at once when its connection drops before an answer (RFC 9112
    # §9.3.1). Every attempt must be ours instead: backed off, under the limiter, counted against the retry
    # budget and in the run's requests (a reset server would otherwise see two requests per attempt).
    # aiohttp.test_utils turns it off the same way; there is no public switch.
    session._retry_connection = False
    return session


@dataclass(slots=True)
class ClientStats:
    """Counters the run summary reports."""

    requests: int = 0
    retries: int = 0
    throttled: int = 0
    forbidden: int = 0  # 403s on calls naming one resource


class SwrClient:
    """GET calls to one SWR endpoint with retries (exponential backoff, full jitter, Retry-After honoured)."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        endpoint: str,
        auth: Authenticator,
        limiter: AdaptiveLimiter,
        http: HttpSettings,
        *,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        stopping: Callable[[], bool] = lambda: False,
        proxy: str | None = None,
        read_before: bool = False,
    ) -> None:
        self._session = session
        self._proxy = proxy  # HTTPS_PROXY / HTTP_PROXY unless NO_PROXY names the endpoint (settings)
        self._endpoint = endpoint.rstrip("/")
        self._auth = auth
        self._limiter = limiter
        self._timeout = client_timeout(http)
        self._policy = BackoffPolicy(
            base=http.backoff_base,
            cap=http.backoff_cap,
            attempts=http.retry_attempts,
            max_retry_after=http.max_retry_after,
        )
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._stopping = stopping
        self.stats = ClientStats()
        self._auth_failure: AuthError | None = None
        self._successes: Counter[str] = Counter()  # answers that got through, per API
        self._other_answers = 0  # answers that were not a 403 (any status)
        self._last_forbidden: Forbidden | None = None
        # Earlier runs read repositories with success: a burst of 403s first is the repositories they
        # never could read (stalest first schedules those first), not the credentials.
        self._read_before = read_before

    async def fetch_job_page(self, repo: Repository, offset: int, limit: int, order: str = "asc") -> JobPage:
        """One ShowSyncJob page of a repository."""
        path = sansio.sync_job_path(repo.namespace, repo.name)
        query = sansio.sync_job_query(limit, offset, order)

        def decode(status: int, headers: Mapping[str, str], body: bytes) -> JobPage:
            return sansio.decode_job_page(status, headers, body, offset=offset, limit=limit)

        return await self.call("ShowSyncJob", path, query, decode, names_resource=True)

    async def list_namespaces(self) -> list[str]:
        """Every namespace the credentials can see (ListNamespaces is not paged).

        `mode::visible` adds namespaces the user reaches only through repository-level permissions.
        """
        query = sansio.encode_query({"filter": sansio.build_filter([("mode", "visible")])})
        return await self.call("ListNamespaces", sansio.NAMESPACES_PATH, query, sansio.decode_namespaces)

    async def list_repos_page(self, limit: int, offset: int, namespace: str | None) -> sansio.ReposPage:
        """One ListReposDetails page (namespace matched fuzzily by the API)."""
        query = sansio.repos_query(limit, offset, namespace=namespace)
        named = namespace is not None  # a 403 then refuses that namespace only
        return await self.call(
            "ListReposDetails", sansio.REPOS_PATH, query, sansio.decode_repos_page, names_resource=named
        )

    def refused_everything(self) -> AuthError | None:
        """The credentials' refusal when every call answered so far was a 403 (else None)."""
        if self._last_forbidden is None or self._other_answers:
            return None
        return self._auth.refused(self._last_forbidden)

    async def call(
        self, api: str, path: str, query: str, decode: Decoder[T], *, names_resource: bool = False
    ) -> T:
        """Send GET path?query (a call of `api`) until it decodes, a non-retryable error, or the retries run
        out. A 403 on a call ``names_resource`` (one repository or namespace) fails only that call."""
        url = URL(self._endpoint + path + (f"?{query}" if query else ""), encoded=True)
        attempt, tries, refreshed = 0, 0, False  # attempts charged to the budget; tries: every one sent
        progress = self._successes[api]
        while True:
            attempt, tries = attempt + 1, tries + 1
            if self._auth_failure is not None:
                raise self._auth_failure
            try:
                return await self._attempt(api, url, decode, names_resource)
            except Forbidden as forbidden:
                raise self._on_forbidden(forbidden) from None
            except _Unauthorized as unauthorized:
                if not refreshed and await self._auth.refresh(unauthorized.sent):
                    # One credential refresh is not counted against the budget (the request was sent).
                    refreshed, attempt, progress = True, attempt - 1, self._successes[api]
                    continue
                # Fatal for the run: later calls fail fast instead of each being refused (no retry storm).
                self._auth_failure = self._auth.refused(unauthorized.error)
                raise self._auth_failure from None
            except RetryableError as error:
                # Other calls of this API got through since this one's last answer: the gateway is pacing
                # the crawl, not refusing this request.
                paced = _throttled(error) and self._successes[api] > progress
                if paced:
                    attempt -= 1
                progress = self._successes[api]
                spaced = paced and self._limiter.gate(api).interval() > 0
                delay = self._after_failure(error, attempt, tries, spaced=spaced)
                if delay is None or tries >= PACED_TRIES_FACTOR * self._policy.attempts:
                    raise RetriesExhausted(error, attempt, tries) from None
                if self._stopping():
                    raise stopped() from None  # no retry once the run is stopping
                log.debug(
                    "request_retry", path=path, attempt=attempt, delay=round(delay, 3), error=error.message
                )
                self.stats.retries += 1
                await self._sleep(delay)

    def _on_forbidden(self, error: Forbidden) -> SwrEtlError:
        """One resource refused; the credentials are, once every one of the first calls was refused."""
        self.stats.forbidden += 1
        self._last_forbidden = error
        early = not self._read_before and not self._other_answers
        if early and self.stats.forbidden >= FORBIDDEN_BEFORE_ANY_ANSWER:
            self._auth_failure = self._auth_failure or self._auth.refused(error)
            return self._auth_failure
        return error

    async def _attempt(self, api: str, url: URL, decode: Decoder[T], names_resource: bool) -> T:
        # Credentials are added once a slot is held: an X-Sdk-Date signed before a long wait could be stale.
        async with self._limiter.slot(api) as ticket:
            # After a stop nothing new is sent; requests already sent finish and their pages are kept.
            if self._stopping():
                raise stopped()
            if self._auth_failure is not None:  # refused while this request waited for its slot
                raise self._auth_failure
            headers = await self._auth.headers("GET", url)
            self.stats.requests += 1
            self._limiter.on_sent(ticket)
            try:
                # A redirect is not followed: aiohttp would re-send X-Auth-Token (or a signature) to
                # wherever Location points. It is decoded as a Redirected error instead.
                async with self._session.get(
                    url, headers=headers, timeout=self._timeout, allow_redirects=False, proxy=self._proxy
                ) as resp:
                    body = await resp.read()
                    status, resp_headers = resp.status, resp.headers
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                raise TransportError(f"{type(exc).__name__}: {exc}".rstrip(": ")) from None
        if status in (401, 403):
            refusal = sansio.decode_error(status, resp_headers, body)
            # SWR's 403 for one repository or namespace (SVCSTG.SWR.4030170) is about that resource; a
            # gateway's 403 or a 403 on discovery is about the credentials.
            if names_resource and isinstance(refusal, Forbidden) and not _from_gateway(refusal):
                raise refusal
            self._other_answers += 1
            raise _Unauthorized(refusal, headers)
        self._other_answers += 1
        try:
            result = decode(status, resp_headers, body)
        except ApiError as error:
            if error.status != 429:
                self._limiter.on_granted(ticket)  # an error answer passed the gateway's bucket all the same
            elif error.retry_after is None:
                self._limiter.on_refused(ticket)  # the gateway's bucket was empty when this one arrived
            raise
        self._successes[api] += 1
        self._limiter.on_success(ticket)
        return result

    def _after_failure(self, error: SwrEtlError, attempt: int, tries: int, *, spaced: bool) -> float | None:
        retry_after = error.retry_after if isinstance(error, RetryableError) else None
        if _throttled(error):
            self.stats.throttled += 1
            if spaced and retry_after is None:
                # The gateway's rate, met: the API's pace has settled under it and spaces the retry, so
                # neither a pause of the crawl nor a backoff of this request would gain anything.
                return 0.0
            # The whole crawl pauses: for Retry-After (never longer than we would wait for this request
            # itself), else for a first backoff delay (this request's own backoff grows with its tries;
            # the crawl's pause does not, or one unlucky request would stall every other for up to
            # backoff_cap); either way the bound on requests halves.
            if retry_after is not None:
                pause = min(retry_after, self._policy.max_retry_after)
            else:
                pause = backoff_delay(self._policy, 1, self._rng.random())
            self._limiter.on_throttle(pause)
        if attempt >= self._policy.attempts:
            return None
        delay = retry_delay(self._policy, tries, self._rng.random(), retry_after)
        if delay is not None and retry_after is not None:
            delay += RETRY_AFTER_MARGIN_S
        return delay


def stopped() -> Interrupted:
    """What a request not sent because the run is stopping raises (the run maps it to its signal)."""
    return Interrupted("a stop request", 143)


def _from_gateway(error: ApiError) -> bool:
    return (error.code or "").startswith("APIGW.")


def _throttled(error: SwrEtlError) -> bool:
    return isinstance(error, TransientApiError) and error.status == 429


class _Unauthorized(Exception):
    """A 401/403, with the headers that were sent (to tell which token failed)."""

    def __init__(self, error: ApiError, sent: Mapping[str, str]) -> None:
        super().__init__(error.message)
        self.error = error
        self.sent = sent
