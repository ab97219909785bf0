"""The three ways SWR accepts a caller: a static IAM token, the IAM password flow, AK/SK request signing.

Each authenticator produces the headers of one request; the client asks it to `refresh` once after a
401/403, and if the retry is refused too, `refused` turns the answer into the run's one-line AuthError.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import aiohttp
from yarl import URL

from pipeline.auth.aksk import AkSkAuth, host_header
from pipeline.auth.iam import (
    DEFAULT_TOKEN_LIFETIME_S,
    IamPasswordAuth,
    default_iam_endpoint,
    renew_after,
    token_lifetime,
)
from pipeline.auth.refusals import MODE_LABELS, auth_error
from pipeline.auth.static_token import TokenAuth
from pipeline.errors import ApiError, AuthError
from pipeline.settings import ProxySettings, SourceSettings

__all__ = [
    "DEFAULT_TOKEN_LIFETIME_S",
    "MODE_LABELS",
    "AkSkAuth",
    "Authenticator",
    "IamPasswordAuth",
    "TokenAuth",
    "auth_error",
    "default_iam_endpoint",
    "host_header",
    "make_authenticator",
    "renew_after",
    "token_lifetime",
]


class Authenticator(Protocol):
    """Adds credentials to a request."""

    mode: str

    async def headers(self, method: str, url: URL) -> dict[str, str]: ...

    async def refresh(self, used: Mapping[str, str]) -> bool: ...

    def refused(self, error: ApiError) -> AuthError: ...


def make_authenticator(
    source: SourceSettings,
    session: aiohttp.ClientSession,
    timeout: aiohttp.ClientTimeout,
    proxies: ProxySettings | None = None,
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
        iam_endpoint = source.iam_endpoint or default_iam_endpoint(source.endpoint, source.region)
        return IamPasswordAuth(
            session,
            iam_endpoint=iam_endpoint,
            user=source.iam_user,
            password=source.iam_password.reveal(),
            domain=source.iam_domain,
            project=source.region,
            timeout=timeout,
            proxy=(proxies or ProxySettings()).for_url(iam_endpoint),
        )
    assert source.token
    return TokenAuth(source.token.reveal())
