"""AK/SK: every request signed with `SDK-HMAC-SHA256` (pipeline.signing), no token."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from yarl import URL

from pipeline import signing
from pipeline.auth.refusals import CHECK_PERMISSION, auth_error
from pipeline.errors import ApiError, AuthError


def host_header(url: URL) -> str:
    """The Host header aiohttp sends: host, plus the port when it is not the scheme's default."""
    host = url.raw_host or ""
    if url.port is not None and not url.is_default_port():
        return f"{host}:{url.port}"
    return host


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
        # The retry is signed again with a fresh X-Sdk-Date (a request that waited fixes itself);
        # a wrong key or a skewed clock stays wrong and is refused again.
        return True

    def refused(self, error: ApiError) -> AuthError:
        if error.code == "APIGW.0303":
            hint = "X-Sdk-Date is more than 15 minutes off the gateway's clock: check this host's clock (NTP)"
        elif error.status == 403:
            hint = CHECK_PERMISSION
        else:
            hint = (
                "check SWR_ETL_AK and SWR_ETL_SK (and SWR_ETL_SECURITY_TOKEN, which expires, for "
                "temporary credentials)"
            )
        return auth_error(self.mode, error, hint, [self._sk, self._security_token or ""])
