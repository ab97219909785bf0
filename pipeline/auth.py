"""The three ways SWR accepts a caller: a static IAM token, the IAM password flow, AK/SK request signing.

Each authenticator produces the headers of one request; the client asks it to `refresh` once after a 401.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Protocol

import aiohttp
import orjson
from yarl import URL

from pipeline import sansio, signing
from pipeline.errors import AuthError, TransportError
from pipeline.logs import get_logger
from pipeline.settings import SourceSettings

log = get_logger(__name__)

# Refresh an IAM token this long before IAM says it expires (clock skew, long runs).
TOKEN_EXPIRY_MARGIN_S = 300.0
IAM_ATTEMPTS = 3


class Authenticator(Protocol):
    """Adds credentials to a request."""

    mode: str

    async def headers(self, method: str, url: URL) -> dict[str, str]: ...

    async def refresh(self, used: Mapping[str, str]) -> bool: ...


def host_header(url: URL) -> str:
    """The Host header aiohttp sends: host, plus the port when it is not the scheme's default."""
    host = url.raw_host or ""
    if url.port is not None and not url.is_default_port():
        return f"{host}:{url.port}"
    return host


class TokenAuth:
    """`X-Auth-Token` from settings; nothing to refresh."""

    mode = "token"

    def __init__(self, token: str) -> None:
        self._token = token

    async def headers(self, method: str, url: URL) -> dict[str, str]:
        return {"X-Auth-Token": self._token}

    async def refresh(self, used: Mapping[str, str]) -> bool:
        return False

    def __repr__(self) -> str:
        return "TokenAuth(token='***')"


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
    ) -> None:
        self._session = session
        self._url = iam_endpoint.rstrip("/") + "/v3/auth/tokens"
        self._user, self._password, self._domain, self._project = user, password, domain, project
        self._timeout = timeout
        self._clock = clock
        self._token: str | None = None
        self._expires = 0.0
        self._lock = asyncio.Lock()
        self.token_requests = 0

    def __repr__(self) -> str:
        return f"IamPasswordAuth(user={self._user!r}, domain={self._domain!r}, password='***')"

    async def headers(self, method: str, url: URL) -> dict[str, str]:
        token = self._token
        if token is None or self._clock() >= self._expires:
            token = await self._renew(stale=token)
        return {"X-Auth-Token": token}

    async def refresh(self, used: Mapping[str, str]) -> bool:
        await self._renew(stale=used.get("X-Auth-Token"))
        return True

    async def _renew(self, stale: str | None) -> str:
        async with self._lock:
            # Another request may have renewed while this one waited: reuse its token.
            if self._token is not None and self._token != stale and self._clock() < self._expires:
                return self._token
            self._token, self._expires = await self._fetch()
            return self._token

    async def _fetch(self) -> tuple[str, float]:
        body = orjson.dumps(self._request_body())
        last: Exception | None = None
        for attempt in range(IAM_ATTEMPTS):
            try:
                async with self._session.post(
                    self._url, data=body, headers={"Content-Type": "application/json"}, timeout=self._timeout
                ) as resp:
                    payload = await resp.read()
                    status, token = resp.status, resp.headers.get("X-Subject-Token")
            except (aiohttp.ClientError, TimeoutError) as exc:
                last = TransportError(f"IAM token request failed: {type(exc).__name__}")
            else:
                self.token_requests += 1
                if status == 201 and token:
                    log.debug("iam_token_issued", iam_url=self._url)
                    return token, self._expiry(payload)
                error = sansio.decode_error(status, {}, payload)
                if status in (400, 401, 403, 404):
                    raise AuthError(status, error.code, error.error_message, mode=self.mode)
                last = error
            await asyncio.sleep(min(2.0**attempt * 0.2, 2.0))
        raise AuthError(0, None, f"IAM unreachable at {self._url}: {last}", mode=self.mode)

    def _request_body(self) -> dict[str, object]:
        user = {"name": self._user, "password": self._password, "domain": {"name": self._domain}}
        return {
            "auth": {
                "identity": {"methods": ["password"], "password": {"user": user}},
                "scope": {"project": {"name": self._project}},
            }
        }

    def _expiry(self, payload: bytes) -> float:
        """Monotonic deadline: IAM's `expires_at` minus a margin (24 h when IAM does not say)."""
        lifetime = 24 * 3600.0
        try:
            expires_at = orjson.loads(payload)["token"]["expires_at"]
            lifetime = (datetime.fromisoformat(expires_at) - datetime.now(UTC)).total_seconds()
        except (ValueError, KeyError, TypeError, orjson.JSONDecodeError):
            pass
        margin = min(TOKEN_EXPIRY_MARGIN_S, lifetime / 10)
        return self._clock() + max(lifetime - margin, 0.0)


class AkSkAuth:
    """Signs each request with `SDK-HMAC-SHA256`; the signed query string is the one sent."""

    mode = "aksk"

    def __init__(
        self,
        ak: str,
        sk: str,
        *,
        project_id: str | None = None,
        security_token: str | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._ak, self._sk = ak, sk
        self._project_id, self._security_token = project_id, security_token
        self._now = now

    def __repr__(self) -> str:
        return f"AkSkAuth(ak={self._ak!r}, sk='***')"

    async def headers(self, method: str, url: URL) -> dict[str, str]:
        headers = {"Host": host_header(url)}
        if self._project_id:
            headers["X-Project-Id"] = self._project_id
        if self._security_token:
            headers["X-Security-Token"] = self._security_token
        added = signing.sign_request(
            method,
            url.raw_path,
            url.raw_query_string,
            headers,
            b"",
            self._ak,
            self._sk,
            signing.format_sdk_date(self._now()),
        )
        return {**headers, **added}

    async def refresh(self, used: Mapping[str, str]) -> bool:
        # A new signature with a fresh X-Sdk-Date fixes a skewed date; a wrong key stays wrong.
        return True


def make_authenticator(
    source: SourceSettings, session: aiohttp.ClientSession, timeout: aiohttp.ClientTimeout
) -> Authenticator:
    """The authenticator for the single credential mode a source has (settings validated that)."""
    if source.auth_mode == "aksk":
        assert source.ak and source.sk
        return AkSkAuth(
            source.ak,
            source.sk.reveal(),
            project_id=source.project_id,
            security_token=source.security_token.reveal() if source.security_token else None,
        )
    if source.auth_mode == "iam":
        assert source.iam_user and source.iam_password and source.iam_domain
        return IamPasswordAuth(
            session,
            iam_endpoint=source.iam_endpoint or f"https://iam.{source.region}.myhuaweicloud.com",
            user=source.iam_user,
            password=source.iam_password.reveal(),
            domain=source.iam_domain,
            project=source.region,
            timeout=timeout,
        )
    assert source.token
    return TokenAuth(source.token.reveal())
