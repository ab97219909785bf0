"""Domain types: the job tuple is the store's COPY row, so their orders must agree."""

from __future__ import annotations

import pytest

from pipeline.domain import KNOWN_STATUSES, SyncJob
from pipeline.store.queries import JOB_COLUMNS
from tests.integration.factories import make_job


def test_sync_job_fields_are_the_copy_columns_in_order() -> None:
    assert SyncJob._fields == JOB_COLUMNS


def test_sync_job_is_immutable_and_knows_its_status() -> None:
    job = make_job(7, status="paused")
    with pytest.raises(AttributeError):
        job.status = "success"  # type: ignore[misc]
    assert not job.status_known
    assert make_job(8).status_known
    assert {"waiting", "running", "success", "failed", "timeout", "cancel", "existed"} == KNOWN_STATUSES
