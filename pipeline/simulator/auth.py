"""Authentication: the static token, IAM-issued tokens (POST /v3/auth/tokens) and AK/SK signatures."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

import orjson
from aiohttp import web

from pipeline.simulator.config import SimulatorConfig
from pipeline.simulator.records import format_timestamp
from pipeline.simulator.signing import (
    MAX_SKEW_S,
    WireRequest,
    check_signature,
    parse_authorization,
    parse_sdk_date,
)


class TokenStore:
    """Tokens issued by the IAM endpoint, each with its expiry (simulator wall clock, seconds)."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._issued = 0
        self._expiry: dict[str, float] = {}
        self._uses: dict[str, int] = {}  # SWR requests each token authenticated

    def issue(self, now: float, ttl_s: float) -> str:
        """A new token valid for ttl_s seconds (0 gives an already-expired token)."""
        self._issued += 1
        digest = hashlib.sha256(f"{self._seed}/token/{self._issued}".encode()).hexdigest()
        token = "MIIsim" + digest * 4  # real IAM tokens are long base64-ish strings
        self._expiry[token] = now + ttl_s
        return token

    def valid(self, token: str, now: float) -> bool:
        """True while the token is issued, unrevoked and unexpired."""
        expiry = self._expiry.get(token)
        return expiry is not None and now < expiry

    def use(self, token: str, limit: int | None) -> bool:
        """Count one request authenticated by `token`; False once it has served `limit` (it expired)."""
        used = self._uses.get(token, 0)
        if limit is not None and used >= limit:
            return False
        self._uses[token] = used + 1
        return True

    def revoke_all(self) -> int:
        """Revoke every issued token (as a password change would); returns how many."""
        count = len(self._expiry)
        self._expiry.clear()
        return count


class AuthFailure(Exception):
    """Authentication failed: `gateway_code` set for gateway-level (signature) failures, else SWR 401."""

    def __init__(self, detail: str, gateway_code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.gateway_code = gateway_code


def authenticate(config: SimulatorConfig, tokens: TokenStore, request: WireRequest, now: float) -> None:
    """Accept the static token, a live IAM token or a valid signature; else raise AuthFailure."""
    headers = request.headers
    token = headers.get("x-auth-token")
    if token is not None:
        known = hmac.compare_digest(token.encode(), config.token.encode()) or tokens.valid(token, now)
        if known and tokens.use(token, config.token_expires_after):
            return
        raise AuthFailure("the token is invalid, expired or revoked")
    authorization = headers.get("authorization")
    if authorization is None:
        raise AuthFailure("no X-Auth-Token and no Authorization header")
    _check_signed(config, request, authorization, now)


def _check_signed(config: SimulatorConfig, request: WireRequest, authorization: str, now: float) -> None:
    auth = parse_authorization(authorization)
    if auth is None or config.ak is None or config.sk is None:
        raise AuthFailure("unsupported Authorization", "APIGW.0301")
    if not hmac.compare_digest(auth.access_key.encode(), config.ak.encode()):
        raise AuthFailure("unknown access key", "APIGW.0301")
    signed_at = parse_sdk_date(request.headers.get("x-sdk-date", ""))
    if signed_at is None:
        raise AuthFailure("missing or malformed X-Sdk-Date", "APIGW.0301")
    if abs(signed_at.timestamp() - now) > MAX_SKEW_S:
        raise AuthFailure("X-Sdk-Date is more than 15 minutes from the server clock", "APIGW.0303")
    if config.security_token is not None:
        sent = request.headers.get("x-security-token", "")
        if not hmac.compare_digest(sent.encode(), config.security_token.encode()):
            raise AuthFailure("X-Security-Token is missing or wrong", "APIGW.0301")
    if not check_signature(auth, config.sk, request):
        raise AuthFailure("signature mismatch", "APIGW.0301")


def _iam_error(status: int, message: str) -> web.Response:
    title = {400: "Bad Request", 401: "Unauthorized"}[status]
    body = {"error": {"code": status, "message": message, "title": title}}
    return web.Response(status=status, body=orjson.dumps(body), content_type="application/json")


def _password_identity(payload: Any) -> tuple[dict[str, Any], Any]:
    """(password.user, scope) from the IAM request body; raises ValueError when malformed."""
    auth = payload["auth"]
    identity = auth["identity"]
    if "password" not in identity["methods"]:
        raise ValueError("methods must include password")
    user = identity["password"]["user"]
    if not isinstance(user, dict):
        raise ValueError("user must be an object")
    return user, auth.get("scope")


def issue_token(config: SimulatorConfig, tokens: TokenStore, body: bytes, now: float) -> web.Response:
    """POST /v3/auth/tokens, password flow with a project scope: 201 + X-Subject-Token."""
    try:
        user, scope = _password_identity(orjson.loads(body))
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return _iam_error(400, "The request body is malformed.")
    raw_domain = user.get("domain")
    domain: dict[str, Any] = raw_domain if isinstance(raw_domain, dict) else {}
    if (user.get("name"), user.get("password"), domain.get("name")) != (
        config.iam_user,
        config.iam_password,
        config.iam_domain,
    ):
        return _iam_error(401, "The username or password is wrong.")
    project = scope.get("project") if isinstance(scope, dict) else None
    if not isinstance(project, dict) or "name" not in project:
        # The simulator's choice: SWR needs a project-scoped token, so a missing scope is a 400.
        return _iam_error(400, "A project scope (scope.project.name) is required.")
    if project["name"] != config.region:
        return _iam_error(400, f"Unknown project {project['name']!r}.")
    token = tokens.issue(now, config.token_ttl_s)
    issued_us = int(now * 1_000_000)
    expires_us = issued_us + int(config.token_ttl_s * 1_000_000)
    project_id = hashlib.md5(f"{config.seed}/project".encode(), usedforsecurity=False).hexdigest()
    domain_id = hashlib.md5(f"{config.seed}/domain".encode(), usedforsecurity=False).hexdigest()
    payload = {
        "token": {
            "expires_at": format_timestamp(expires_us),
            "issued_at": format_timestamp(issued_us),
            "methods": ["password"],
            "project": {"name": config.region, "id": project_id, "domain": {"name": config.iam_domain}},
            "user": {"name": config.iam_user, "domain": {"name": config.iam_domain, "id": domain_id}},
            "roles": [{"name": "te_admin", "id": "0"}],
            "catalog": [],
        }
    }
    return web.Response(
        status=201,
        body=orjson.dumps(payload),
        content_type="application/json",
        headers={"X-Subject-Token": token},
    )


def wall_clock() -> float:
    """The simulator's clock for token expiry and signature skew."""
    return time.time()
