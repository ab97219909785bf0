"""The IAM password flow: a project-scoped token fetched once, shared, renewed before expiry or on 401."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from urllib.parse import urlsplit

import aiohttp
import orjson
from yarl import URL

from pipeline import errors
from pipeline.auth.refusals import CHECK_PERMISSION, auth_error
from pipeline.errors import ApiError, AuthError
from pipeline.logs import get_logger, redactor
from pipeline.records import parse_rfc3339, single_line
from pipeline.sansio import redirect_target

log = get_logger(__name__)

# Refresh an IAM token this long before IAM says it expires (clock skew, long runs), at most 10% of it.
TOKEN_EXPIRY_MARGIN_S = 300.0
DEFAULT_TOKEN_LIFETIME_S = 24 * 3600.0  # IAM's documented lifetime, when its answer does not say
# IAM 5xx / connection failures are retried briefly: a crawl without a token cannot start anyway.
IAM_RETRY_DELAYS_S = (0.2, 0.5)


def default_iam_endpoint(endpoint: str, region: str) -> str:
    """`https://iam.{region}.myhuaweicloud.com`, on the SWR endpoint's cloud (`.myhuaweicloud.eu` too)."""
    host = urlsplit(endpoint).hostname or ""
    suffix = "myhuaweicloud.eu" if host.endswith(".myhuaweicloud.eu") else "myhuaweicloud.com"
    return f"https://iam.{region}.{suffix}"


def token_lifetime(payload: bytes, received: datetime) -> float:
    """Seconds an issued token lives: `expires_at - issued_at` (IAM's own clock), else from `received`."""
    try:
        token = orjson.loads(payload)["token"]
        expires = parse_rfc3339(str(token["expires_at"]))
        issued = parse_rfc3339(str(token.get("issued_at", "")))
    except (KeyError, TypeError, AttributeError, orjson.JSONDecodeError):
        return DEFAULT_TOKEN_LIFETIME_S
    if expires is None:
        return DEFAULT_TOKEN_LIFETIME_S
    return (expires - (issued or received)).total_seconds()


def renew_after(lifetime: float) -> float:
    """How long to use a token of that lifetime before fetching a new one (never negative)."""
    return max(lifetime - min(TOKEN_EXPIRY_MARGIN_S, lifetime / 10), 0.0)


def _iam_error(status: int, payload: bytes) -> ApiError:
    """IAM's error body is `{"error": {"code", "message", "title"}}`, not SWR's: read its message."""
    message = None
    try:
        error = orjson.loads(payload)["error"]
        message = str(error.get("message") or error.get("title"))
    except (KeyError, TypeError, AttributeError, orjson.JSONDecodeError):
        message = single_line(payload.decode("utf-8", "replace"), 200) or None
    return ApiError(status, None, message)


class IamPasswordAuth:
    """A project-scoped IAM token fetched once, shared by every request, renewed before expiry or on 401."""

    mode = "iam"

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        iam_endpoint: str,
        user: str,
        password: str,
        domain: str,
        project: str,
        timeout: aiohttp.ClientTimeout,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
        retry_delays: Sequence[float] = IAM_RETRY_DELAYS_S,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        proxy: str | None = None,
    ) -> None:
        self._session = session
        self._proxy = proxy
        self._url = iam_endpoint.rstrip("/") + "/v3/auth/tokens"
        self._user, self._password, self._domain, self._project = user, password, domain, project
        self._timeout = timeout
        self._clock, self._wall = clock, wall
        self._retry_delays, self._sleep = tuple(retry_delays), sleep
        self._token: str | None = None
        self._renew_at = 0.0
        self._lock = asyncio.Lock()
        self._failure: AuthError | None = None
        self.token_requests = 0

    def __repr__(self) -> str:
        return f"IamPasswordAuth(user={self._user!r}, domain={self._domain!r}, password='***')"

    async def headers(self, method: str, url: URL) -> dict[str, str]:
        token = self._token
        # While a renewal is in flight the cached token is likely the refused one: wait for the new one.
        if token is None or self._lock.locked() or self._clock() >= self._renew_at:
            token = await self._renew(stale=token)
        return {"X-Auth-Token": token}

    async def refresh(self, used: Mapping[str, str]) -> bool:
        await self._renew(stale=used.get("X-Auth-Token"))
        return True

    def refused(self, error: ApiError) -> AuthError:
        hint = (
            CHECK_PERMISSION
            if error.status == 403
            else f"SWR refused a fresh IAM token: check that {self._url} is the IAM of this SWR's cloud"
        )
        return auth_error(self.mode, error, hint, self._secrets())

    def _secrets(self) -> list[str]:
        return [self._password, self._token or ""]

    async def _renew(self, stale: str | None) -> str:
        # Single flight: the first caller fetches; whoever waited on the lock with the same stale token
        # (or none) finds a newer one and uses it, so N requests starting together cause one IAM call.
        async with self._lock:
            if self._failure is not None:  # IAM said no: the requests queued behind it must not ask again
                raise self._failure
            if self._token is not None and self._token != stale:
                return self._token
            try:
                token, lifetime = await self._fetch()
            except AuthError as failure:
                self._failure = failure
                raise
            self._token, self._renew_at = token, self._clock() + renew_after(lifetime)
            return token

    async def _fetch(self) -> tuple[str, float]:
        body = orjson.dumps(self._request_body())
        last: ApiError = ApiError(0, None, "no answer")
        for delay in (*self._retry_delays, None):
            try:
                # Never follow a redirect: a 307/308 would re-send the password to wherever it points.
                async with self._session.post(
                    self._url,
                    data=body,
                    headers={"Content-Type": "application/json"},
                    timeout=self._timeout,
                    allow_redirects=False,
                    proxy=self._proxy,
                ) as resp:
                    payload = await resp.read()
                    status, token = resp.status, resp.headers.get("X-Subject-Token")
                    location = resp.headers.get("Location")
                self.token_requests += 1
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                last = ApiError(0, None, f"IAM unreachable: {type(exc).__name__}")
            else:
                if status == 201 and token:
                    redactor.register([token])  # an issued token is as secret as the password
                    log.debug("iam_token_issued", iam_url=self._url)
                    return token, token_lifetime(payload, self._wall())
                last = _iam_error(status, payload)
                if 300 <= status < 400:
                    last = errors.Redirected(status, redirect_target(location))
                if status < 500 and status not in (408, 429):
                    raise self._iam_refused(last)
            if delay is None:
                break
            log.warning("iam_retry", iam_url=self._url, error=last.message, delay=delay)
            await self._sleep(delay)
        raise self._iam_refused(last)

    def _iam_refused(self, error: ApiError) -> AuthError:
        if error.status in (400, 401, 403):
            hint = (
                "check SWR_ETL_IAM_USER, SWR_ETL_IAM_PASSWORD, SWR_ETL_IAM_DOMAIN (the account name) and "
                f"that project {self._project!r} (the region) exists"
            )
        else:
            hint = f"check SWR_ETL_IAM_ENDPOINT (now {self._url}) and that IAM is reachable"
        return auth_error(self.mode, error, hint, self._secrets())

    def _request_body(self) -> dict[str, object]:
        user = {"name": self._user, "password": self._password, "domain": {"name": self._domain}}
        return {
            "auth": {
                "identity": {"methods": ["password"], "password": {"user": user}},
                "scope": {"project": {"name": self._project}},
            }
        }
