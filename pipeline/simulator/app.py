"""The aiohttp application: one dispatcher for the SWR, IAM and /_sim/ paths."""

from __future__ import annotations

import asyncio
import time
from typing import NamedTuple
from urllib.parse import unquote

from aiohttp import web

from pipeline.simulator.api import (
    BrokenRepositoryError,
    ForbiddenRepositoryError,
    NotFoundError,
    list_namespaces,
    list_repos,
)
from pipeline.simulator.auth import AuthFailure, authenticate, issue_token, wall_clock
from pipeline.simulator.faults import FaultDecision, truncate_body
from pipeline.simulator.introspection import handle_introspection
from pipeline.simulator.live import LiveRunner
from pipeline.simulator.query import QueryError
from pipeline.simulator.responses import gateway_error, proxy_502, swr_error
from pipeline.simulator.signing import WireRequest
from pipeline.simulator.state import SimulatorState

STATE = web.AppKey("simulator_state", SimulatorState)
LIVE = web.AppKey("simulator_live", LiveRunner)
_SYNC_PREFIX = "/v2/manage/namespaces/"
_FIXED_ROUTES = {
    "/v2/manage/namespaces": "namespaces",
    "/v2/manage/repos": "repos",
    "/v3/auth/tokens": "iam_tokens",
}


class Target(NamedTuple):
    """What a request asks for: the endpoint, its path parameters (raw), the raw path and query."""

    endpoint: str
    namespace: str
    repo: str
    path: str
    raw_query: str


def _route(path: str) -> tuple[str, str, str]:
    """(endpoint, namespace, repository) from the raw path; endpoint "unknown" when nothing matches."""
    fixed = _FIXED_ROUTES.get(path)
    if fixed is not None:
        return fixed, "", ""
    if path.startswith(_SYNC_PREFIX):
        # A raw '/' in the repository makes extra segments; '%2F' is refused as the gateway does.
        parts = path[len(_SYNC_PREFIX) :].split("/")
        shaped = len(parts) == 4 and parts[1] == "repos" and parts[3] == "sync_job"
        if shaped and parts[0] and parts[2] and "%2f" not in path.lower():
            return "sync_job", parts[0], parts[2]
    return "unknown", "", ""


def _seconds(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"


async def _dispatch(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    path, _, raw_query = request.raw_path.partition("?")
    if path.startswith("/_sim/"):
        answer = await handle_introspection(request, state, request.app[LIVE], path)
        answer.headers["X-Request-Id"] = state.next_request_id()
        return answer
    target = Target(*_route(path), path, raw_query)
    request_id = state.next_request_id()
    state.stats.enter(target.endpoint)
    status: int | None = None
    try:
        response = await _answer(request, state, target, request_id)
        if response is not None:
            status = response.status
            response.headers["X-Request-Id"] = request_id
            return response
        return web.Response(status=599)  # the transport is gone: nothing is sent
    finally:
        state.stats.leave(status)


async def _answer(
    request: web.Request, state: SimulatorState, target: Target, request_id: str
) -> web.Response | None:
    config = state.config
    endpoint = target.endpoint
    if config.redirect_to is not None and target.path.startswith(config.redirect_prefix):
        return _redirect(state, target)
    if endpoint == "unknown":
        return gateway_error(404, "APIGW.0101", request_id)
    if endpoint == "iam_tokens":
        if request.method != "POST":
            return swr_error(405, "use POST", legacy=config.legacy_errors, headers={"Allow": "POST"})
        state.stats.iam_token_requests += 1
        return issue_token(config, state.tokens, await request.read(), wall_clock())
    if request.method != "GET":
        return swr_error(405, "use GET", legacy=config.legacy_errors, headers={"Allow": "GET"})
    key = f"GET {request.raw_path}"
    if state.retry_deadlines:
        deadline = state.retry_deadlines.pop(key, None)
        if deadline is not None and time.monotonic() < deadline:
            state.stats.retry_after_violations += 1
    decision = state.faults.decide(key)
    if decision.latency_s > 0:
        await asyncio.sleep(decision.latency_s)
    body = await request.read() if request.body_exists else b""
    wire = WireRequest(request.method, target.path, target.raw_query, request.headers, body)
    try:
        authenticate(config, state.tokens, wire, wall_clock())
    except AuthFailure as failure:
        state.stats.auth_failures += 1
        if failure.gateway_code is not None:
            return gateway_error(401, failure.gateway_code, request_id)
        return swr_error(401, failure.detail, legacy=config.legacy_errors)
    if not state.throttle.admit(endpoint, time.monotonic()):
        # Whether the gateway sends Retry-After with a throttling 429 is undocumented: this one does not.
        state.stats.rate_limited += 1
        return gateway_error(429, "APIGW.0308", request_id)
    if decision.blocking is not None:
        blocked = await _blocking_fault(request, state, decision.blocking, key, request_id)
        if blocked is not None or decision.blocking == "reset":
            return blocked
    response = _call(state, target)
    if response.status == 200 and (decision.truncate or decision.drop_content_range):
        _spoil(state, response, decision)
    return response


async def _blocking_fault(
    request: web.Request, state: SimulatorState, kind: str, key: str, request_id: str
) -> web.Response | None:
    """Inject one blocking fault; None means "carry on" (slow) or "nothing to send" (reset)."""
    state.stats.faults[kind] += 1
    config = state.config
    if kind == "reset":
        if request.transport is not None:
            request.transport.abort()
        return None
    if kind == "slow":
        await asyncio.sleep(config.slow_ms / 1000.0)
        return None
    if kind == "429":
        state.retry_deadlines[key] = time.monotonic() + config.retry_after_s
        return gateway_error(429, "APIGW.0308", request_id, {"Retry-After": _seconds(config.retry_after_s)})
    if kind == "502":
        return proxy_502()
    status = 500 if kind == "500" else 503
    return swr_error(status, f"injected {kind}", legacy=config.legacy_errors)


def _redirect(state: SimulatorState, target: Target) -> web.Response:
    """307 to the same path and query under --redirect-to (a moved endpoint, a load balancer's redirect):
    a client that follows it re-sends the method, the body and, if careless, the credentials."""
    state.stats.faults["redirect"] += 1
    base = (state.config.redirect_to or "").rstrip("/")
    location = base + target.path + (f"?{target.raw_query}" if target.raw_query else "")
    return web.Response(status=307, headers={"Location": location})


def _call(state: SimulatorState, target: Target) -> web.Response:
    legacy = state.config.legacy_errors
    if state.config.no_permission:
        return swr_error(403, "no permission on SWR", legacy=legacy)
    try:
        if target.endpoint == "sync_job":
            # '$' stands for '/' in the path; bodies carry the real name.
            found = state.sync_jobs.find(_unquote(target.namespace), _unquote(target.repo).replace("$", "/"))
            return state.sync_jobs.page(found, target.raw_query)
        if target.endpoint == "repos":
            return list_repos(state.data, target.raw_query, state.config.region)
        return list_namespaces(state.data, target.raw_query)
    except QueryError as exc:
        return swr_error(400, str(exc), legacy=legacy)
    except NotFoundError as exc:
        return swr_error(404, str(exc), legacy=legacy)
    except BrokenRepositoryError as exc:
        state.stats.faults["broken_repo"] += 1
        return swr_error(500, f"internal error on {exc}", legacy=legacy)
    except ForbiddenRepositoryError as exc:
        return swr_error(403, f"no permission on {exc}", legacy=legacy)


def _unquote(segment: str) -> str:
    return unquote(segment) if "%" in segment else segment


def _spoil(state: SimulatorState, response: web.Response, decision: FaultDecision) -> None:
    if decision.drop_content_range and "Content-Range" in response.headers:
        state.stats.faults["no_content_range"] += 1
        del response.headers["Content-Range"]
    if decision.truncate and isinstance(response.body, bytes):
        state.stats.faults["truncate"] += 1
        response.body = truncate_body(response.body)


def build_app(state: SimulatorState, live: LiveRunner) -> web.Application:
    """The aiohttp application serving `state`; every path goes through one dispatcher."""
    app = web.Application(client_max_size=1024 * 1024)
    app[STATE] = state
    app[LIVE] = live
    app.router.add_route("*", "/{tail:.*}", _dispatch)
    return app
