"""The simulator's in-process state: dataset, tokens, faults, counters, and the views tests read."""

from __future__ import annotations

import hashlib
import time
from typing import Any

from pipeline.simulator import mutations
from pipeline.simulator.api import SyncJobPages
from pipeline.simulator.auth import TokenStore
from pipeline.simulator.config import SimulatorConfig, anchor_us
from pipeline.simulator.dataset import Dataset, build_dataset
from pipeline.simulator.faults import FaultPlan
from pipeline.simulator.live import LiveClock
from pipeline.simulator.records import CorruptedRecord
from pipeline.simulator.stats import Stats
from pipeline.simulator.throttle import Throttle


def resolve_anchor(anchor: str | None) -> int:
    """The dataset's 'now' in microseconds: the given RFC 3339 time, or now truncated to the hour."""
    if anchor is None:
        return int(time.time()) // 3600 * 3600 * 1_000_000
    return anchor_us(anchor)


class SimulatorState:
    """Everything one simulator serves and counts; mutated only from its event loop."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.data: Dataset = build_dataset(config, resolve_anchor(config.anchor))
        self.stats = Stats()
        self.faults = FaultPlan(config)
        self.throttle = Throttle(config.rate_limit)
        self.tokens = TokenStore(config.seed)
        self.sync_jobs = SyncJobPages(self.data, config)
        self.live = LiveClock(config, self.data, self.stats)
        self.retry_deadlines: dict[str, float] = {}  # request key -> monotonic time its Retry-After ends
        self._request_prefix = hashlib.md5(str(config.seed).encode(), usedforsecurity=False).hexdigest()[:16]
        self._requests = 0

    def next_request_id(self) -> str:
        """A 32-hex X-Request-Id, deterministic for a given seed and request order."""
        self._requests += 1
        return f"{self._request_prefix}{self._requests:016x}"

    def ground_truth(self) -> list[dict[str, Any]]:
        """Every job as held now, in API shape; corrupted records appear in their valid form."""
        return [job.to_api() for repo in self.data.repos for job in repo.jobs]

    def corrupted_records(self) -> list[CorruptedRecord]:
        """The jobs served corrupted by --bad-records."""
        return [
            CorruptedRecord(repo.namespace, repo.name, job.index, job.id, job.defect)
            for repo in self.data.repos
            for job in repo.jobs
            if job.defect is not None
        ]

    def repositories(self) -> list[tuple[str, str]]:
        """Every (namespace, repository name), repository names with their real '/'."""
        return [(repo.namespace, repo.name) for repo in self.data.repos]

    def broken_repositories(self) -> list[tuple[str, str]]:
        """Repositories whose sync_job always answers 500."""
        return sorted(self.data.broken)

    def lying_repositories(self) -> dict[tuple[str, str], str]:
        """Repositories whose Content-Range lies, with the mode of the lie."""
        return dict(self.data.lying)

    def forbidden_repositories(self) -> list[tuple[str, str]]:
        """Repositories whose sync_job answers 403 SVCSTG.SWR.4030170."""
        return sorted(self.data.forbidden)

    def forbidden_namespaces(self) -> list[str]:
        """Namespaces whose ListReposDetails and sync_job answer 403 SVCSTG.SWR.4030170."""
        return sorted(self.data.forbidden_namespaces)

    def deleting_repositories(self) -> list[tuple[str, str]]:
        """Repositories that will lose their oldest jobs once a page past the first is asked for."""
        return sorted(self.data.deleting)

    def deleted_jobs(self) -> list[int]:
        """Ids of the jobs deleted so far (no longer in the ground truth)."""
        return list(self.data.deleted)

    def absurd_total_repositories(self) -> list[tuple[str, str]]:
        """Repositories whose Content-Range claims --absurd-total jobs."""
        return sorted(self.data.absurd)

    def change_old_statuses(self, count: int) -> list[tuple[int, str, str]]:
        """Flip the status of the oldest job of ``count`` repositories now (see mutations.py)."""
        return mutations.change_old_statuses(self.data, count, time.time_ns() // 1000)

    def delete_oldest(self, per_repo: int) -> list[int]:
        """Delete the ``per_repo`` oldest jobs of every repository (see mutations.py)."""
        return mutations.delete_oldest(self.data, per_repo)

    def reset_stats(self) -> None:
        """Zero counters, forget fault occurrences and Retry-After deadlines, refill the throttle."""
        self.stats.reset()
        self.faults.reset()
        self.throttle.reset()
        self.retry_deadlines.clear()

    def summary(self) -> dict[str, Any]:
        """Dataset size and the fault repositories, for start-up output and /_sim/repositories."""
        return {
            "namespaces": len(self.data.namespaces),
            "repositories": len(self.data.repos),
            "jobs": self.data.job_count(),
            "max_jobs_in_a_repository": max((len(r.jobs) for r in self.data.repos), default=0),
            "broken_repositories": len(self.data.broken),
            "lying_repositories": len(self.data.lying),
            "forbidden_repositories": len(self.data.forbidden),
            "deleting_repositories": len(self.data.deleting),
            "absurd_total_repositories": len(self.data.absurd),
            "corrupted_records": sum(1 for r in self.data.repos for j in r.jobs if j.defect is not None),
        }
