"""`/_sim/` endpoints: what no real SWR has — ground truth, counters, live-mode and token controls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from aiohttp import web

from pipeline.simulator.live import LiveRunner
from pipeline.simulator.state import SimulatorState

Handler = Callable[[SimulatorState, LiveRunner, bytes], Any]


def _truth(state: SimulatorState, live: LiveRunner, body: bytes) -> Any:
    return state.ground_truth()


def _corrupted(state: SimulatorState, live: LiveRunner, body: bytes) -> Any:
    return [record._asdict() for record in state.corrupted_records()]


def _stats(state: SimulatorState, live: LiveRunner, body: bytes) -> Any:
    return state.stats.snapshot()


def _reset_stats(state: SimulatorState, live: LiveRunner, body: bytes) -> Any:
    state.reset_stats()
    return state.stats.snapshot()


def _repositories(state: SimulatorState, live: LiveRunner, body: bytes) -> Any:
    data = state.data
    return {
        "summary": state.summary(),
        "repositories": [
            {
                "namespace": r.namespace,
                "name": r.name,
                "jobs": len(r.jobs),
                "broken": (r.namespace, r.name) in data.broken,
                "lying": data.lying.get((r.namespace, r.name)),
            }
            for r in data.repos
        ],
    }


def _live(state: SimulatorState, live: LiveRunner, body: bytes) -> Any:
    wanted = orjson.loads(body or b"{}").get("enabled")
    if wanted is True:
        live.start()
    elif wanted is False:
        live.stop()
    return {"enabled": live.running}


def _live_tick(state: SimulatorState, live: LiveRunner, body: bytes) -> Any:
    state.live.tick_now()
    return {"jobs": state.data.job_count()}


def _change_statuses(state: SimulatorState, live: LiveRunner, body: bytes) -> Any:
    count = int(orjson.loads(body or b"{}").get("count", 1))
    return {"changed": [list(change) for change in state.change_old_statuses(count)]}


def _delete_oldest(state: SimulatorState, live: LiveRunner, body: bytes) -> Any:
    return {"deleted": state.delete_oldest(int(orjson.loads(body or b"{}").get("per_repo", 1)))}


def _revoke(state: SimulatorState, live: LiveRunner, body: bytes) -> Any:
    return {"revoked": state.tokens.revoke_all()}


ROUTES: dict[tuple[str, str], Handler] = {
    ("GET", "/_sim/truth"): _truth,
    ("GET", "/_sim/corrupted"): _corrupted,
    ("GET", "/_sim/stats"): _stats,
    ("POST", "/_sim/stats/reset"): _reset_stats,
    ("GET", "/_sim/repositories"): _repositories,
    ("POST", "/_sim/live"): _live,
    ("POST", "/_sim/live/tick"): _live_tick,
    ("POST", "/_sim/tokens/revoke"): _revoke,
    ("POST", "/_sim/mutate/statuses"): _change_statuses,
    ("POST", "/_sim/mutate/delete-oldest"): _delete_oldest,
}


async def handle_introspection(
    request: web.Request, state: SimulatorState, live: LiveRunner, path: str
) -> web.Response:
    """Serve one /_sim/ call (no authentication, no faults, not counted in stats)."""
    handler = ROUTES.get((request.method, path))
    if handler is None:
        known = any(p == path for _, p in ROUTES)
        return web.json_response({"error": "no such simulator endpoint"}, status=405 if known else 404)
    try:
        result = handler(state, live, await request.read())
    except (orjson.JSONDecodeError, AttributeError, TypeError, ValueError):
        return web.json_response({"error": "body must be a JSON object"}, status=400)
    return web.Response(body=orjson.dumps(result), content_type="application/json")
