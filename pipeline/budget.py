"""A run capped by run.max_duration: when it stops starting repositories, stops sending, stops waiting.

Pure: every question takes the monotonic clock's reading. Of the duration, the end is reserved for the
writer to commit and the run to close (CLOSE_SHARE, at most CLOSE_CAP_S), and before that a window lets the
repositories in flight finish (FINISH_SHARE, at most FINISH_CAP_S); a repository still unfinished when
sending stops is cut cleanly (its committed pages stay, it is left for the next run).
"""

from __future__ import annotations

from dataclasses import dataclass

CLOSE_SHARE, CLOSE_CAP_S = 0.15, 5.0
FINISH_SHARE, FINISH_CAP_S = 0.25, 30.0


@dataclass(frozen=True, slots=True)
class RunBudget:
    """The deadlines of one run that started at ``started`` (monotonic seconds); no cap when None."""

    started: float
    max_duration: float | None = None

    @property
    def _close(self) -> float:
        assert self.max_duration is not None
        return min(CLOSE_CAP_S, CLOSE_SHARE * self.max_duration)

    @property
    def _finish(self) -> float:
        assert self.max_duration is not None
        return min(FINISH_CAP_S, FINISH_SHARE * self.max_duration)

    def may_start(self, now: float) -> bool:
        """Whether a repository may still start."""
        if self.max_duration is None:
            return True
        return now < self.started + self.max_duration - self._close - self._finish

    def may_send(self, now: float) -> bool:
        """Whether a request may still be sent."""
        if self.max_duration is None:
            return True
        return now < self.started + self.max_duration - self._close

    def seconds_to_cancel(self, now: float) -> float | None:
        """Seconds until the crawl is cancelled, requests in flight or not (None: never)."""
        if self.max_duration is None:
            return None
        return max(0.0, self.started + self.max_duration - self._close / 2 - now)
