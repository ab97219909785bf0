"""The database layer: the only code that talks SQL (``from pipeline.store import Store``)."""

from pipeline.store.core import Store, ensure_database, lock_id
from pipeline.store.merge import merge_rounds
from pipeline.store.models import (
    DailyCount,
    RegionDurations,
    RegionFailureRate,
    RepoFailures,
    Report,
    RunSummary,
    StatusCount,
    StuckJob,
    UpsertResult,
)
from pipeline.store.session import SessionOptions
from pipeline.store.wrap import redact_dsn

__all__ = [
    "DailyCount",
    "RegionDurations",
    "RegionFailureRate",
    "RepoFailures",
    "Report",
    "RunSummary",
    "SessionOptions",
    "StatusCount",
    "Store",
    "StuckJob",
    "UpsertResult",
    "ensure_database",
    "lock_id",
    "merge_rounds",
    "redact_dsn",
]
