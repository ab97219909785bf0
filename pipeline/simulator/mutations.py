"""Changes made upstream between two crawls, on demand: old jobs whose status changes, retention deleting
the oldest jobs. (Live mode only creates jobs and moves recent ones on.)"""

from __future__ import annotations

from pipeline.simulator.dataset import Dataset
from pipeline.simulator.records import encode_inner


def change_old_statuses(data: Dataset, count: int, now_us: int) -> list[tuple[int, str, str]]:
    """Flip the status of the oldest job of up to ``count`` repositories (success ↔ failed, anything else
    → success), updatedAt = now; returns (id, old status, new status) of each."""
    changed: list[tuple[int, str, str]] = []
    for repo in data.repos:
        if len(changed) >= count:
            break
        if not repo.jobs:
            continue
        job = repo.jobs[0]
        old = job.status
        job.status = "failed" if old == "success" else "success"
        job.updated_us = max(now_us, job.updated_us)
        repo.raws[0] = encode_inner([job])[0]
        changed.append((job.id, old, job.status))
    return changed


def delete_oldest(data: Dataset, per_repo: int) -> list[int]:
    """Delete the ``per_repo`` oldest jobs of every repository (as retention would); returns their ids."""
    deleted: list[int] = []
    for repo in data.repos:
        gone, repo.jobs, repo.raws = repo.jobs[:per_repo], repo.jobs[per_repo:], repo.raws[per_repo:]
        deleted.extend(job.id for job in gone)
        for index, job in enumerate(repo.jobs):
            job.index = index  # positions moved: the live clock rewrites raws by index
    removed = set(deleted)
    data.active = [job for job in data.active if job.id not in removed]
    return deleted
