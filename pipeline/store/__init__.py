"""The database layer: the only code that talks SQL (``from pipeline.store import Store``)."""

from pipeline.store.core import Store, dedupe_latest, lock_id
from pipeline.store.models import (
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
    "RegionFailureRate",
    "RepoFailures",
    "Report",
    "RunSummary",
    "SessionOptions",
    "StatusCount",
    "Store",
    "StuckJob",
    "UpsertResult",
    "dedupe_latest",
    "lock_id",
    "redact_dsn",
]
