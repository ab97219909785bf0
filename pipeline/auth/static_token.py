"""A static IAM token from settings, sent as `X-Auth-Token`."""

from __future__ import annotations

from collections.abc import Mapping

from yarl import URL

from pipeline.auth.refusals import CHECK_PERMISSION, auth_error
from pipeline.errors import ApiError, AuthError


class TokenAuth:
    """`X-Auth-Token` from settings; nothing to refresh."""

    mode = "token"

    def __init__(self, token: str) -> None:
        self._token = token

    def __repr__(self) -> str:
        return "TokenAuth(token='***')"

    async def headers(self, method: str, url: URL) -> dict[str, str]:
        return {"X-Auth-Token": self._token}

    async def refresh(self, used: Mapping[str, str]) -> bool:
        return False

    def refused(self, error: ApiError) -> AuthError:
        hint = (
            CHECK_PERMISSION
            if error.status == 403
            else "check SWR_ETL_TOKEN: a current (tokens last 24 h) IAM token scoped to this region's project"
        )
        return auth_error(self.mode, error, hint, [self._token])
