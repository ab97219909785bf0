"""Builders of domain objects for database tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pipeline.domain import SyncJob

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def make_job(job_id: int, **fields: Any) -> SyncJob:
    """A plausible job; ``updated`` is seconds after creation; any field may be overridden."""
    updated = float(fields.pop("updated", 0.0))
    job = SyncJob(
        id=job_id,
        namespace="team-a",
        repo_name="web/frontend",
        tag=f"v{job_id}",
        status="success",
        override=False,
        remote_region_id="cn-south-1",
        remote_namespace="mirror",
        domain_id="d0123",
        domain_name="acme",
        sync_operator_id="u42",
        sync_operator_name="alice",
        created_at=T0,
        updated_at=T0 + timedelta(seconds=updated),
    )
    return job._replace(**fields) if fields else job
