"""Per-request fault decisions, each a function of (seed, fault kind, request key, n-th occurrence of it).

Because a decision never depends on other requests, the same crawl meets the same faults however its
requests interleave.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from pipeline.simulator.config import FAULT_KINDS, SimulatorConfig

# When several kinds fire for one request, the first in this order wins.
BLOCKING_ORDER: tuple[str, ...] = ("reset", "slow", "429", "500", "502", "503")
_SLOT = {kind: i for i, kind in enumerate(FAULT_KINDS)}
_LATENCY_SLOT = len(FAULT_KINDS)


@dataclass(frozen=True, slots=True)
class FaultDecision:
    """What to do to one request: added latency, at most one blocking fault, and 200-body defects."""

    latency_s: float
    blocking: str | None
    truncate: bool
    drop_content_range: bool


NO_FAULT = FaultDecision(0.0, None, truncate=False, drop_content_range=False)


class FaultPlan:
    """Decides the faults of each request; cheap (one dict lookup) when no fault flag is set."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.seed = config.seed
        self.probabilities = {kind: config.fault_probability(kind) for kind in FAULT_KINDS}
        self.latency_s = config.latency_ms / 1000.0
        self.enabled = self.latency_s > 0 or any(p > 0 for p in self.probabilities.values())
        self._occurrences: dict[str, int] = {}

    def decide(self, key: str) -> FaultDecision:
        """The faults of the next occurrence of `key` (method, raw path and query)."""
        if not self.enabled:
            return NO_FAULT
        n = self._occurrences.get(key, 0)
        self._occurrences[key] = n + 1
        digest = hashlib.blake2b(f"{self.seed}\0{key}\0{n}".encode(), digest_size=40).digest()

        def draw(slot: int) -> float:
            return int.from_bytes(digest[4 * slot : 4 * slot + 4], "big") / 2**32

        fired = {kind for kind, p in self.probabilities.items() if p > 0 and draw(_SLOT[kind]) < p}
        blocking = next((kind for kind in BLOCKING_ORDER if kind in fired), None)
        latency = self.latency_s * (0.5 + draw(_LATENCY_SLOT)) if self.latency_s > 0 else 0.0
        return FaultDecision(latency, blocking, "truncate" in fired, "no_content_range" in fired)

    def reset(self) -> None:
        """Forget occurrence counts (a fresh run meets the same faults again)."""
        self._occurrences.clear()


def truncate_body(body: bytes) -> bytes:
    """Cut a JSON body short (at least one byte missing), as a dropped upstream connection would."""
    return body[: max(0, min(len(body) - 1, len(body) // 2))]
