"""The README's status-history and gone-upstream examples answer what their comments say."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from pipeline.store import Store
from tests.integration.factories import make_job
from tests.integration.test_readme_sql import readme_statements


def statement_after(comment: str) -> str:
    """The README's example statement whose comment starts with ``comment``."""
    return next(s for s in readme_statements() if s.startswith(f"-- {comment}"))


async def test_history_examples_answer(database_url: str, store: Store) -> None:
    created = datetime.now(UTC) - timedelta(hours=3)
    waiting = [
        make_job(1, status="waiting", remote_region_id="cn-east-3", created_at=created, updated_at=created),
        make_job(2, status="running", remote_region_id="cn-east-3", created_at=created, updated_at=created),
    ]
    first = await store.start_run(["r1"], {})
    await store.upsert_jobs("r1", first, waiting)
    done = [
        # Done 30 minutes after creation, and after two hours: the second was stuck.
        waiting[0]._replace(status="success", updated_at=created + timedelta(minutes=30)),
        waiting[1]._replace(status="failed", updated_at=created + timedelta(hours=2)),
    ]
    second = await store.start_run(["r1"], {})
    await store.upsert_jobs("r1", second, done)
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("UPDATE sync_jobs SET gone_upstream_at = now() WHERE id = 2")
        durations = await conn.fetch(statement_after("Status history"))
        stuck = await conn.fetch(statement_after("Jobs that were stuck"))
        per_day = await conn.fetch(statement_after("Status changes per day"))
        gone = await conn.fetch(statement_after("Jobs gone upstream"))
    finally:
        await conn.close()
    assert [(r["remote_region_id"], r["p50"], r["slowest"]) for r in durations] == [
        ("cn-east-3", timedelta(minutes=75), timedelta(hours=2))
    ]
    assert [(r["job_id"], r["old_status"], r["new_status"]) for r in stuck] == [(2, "running", "failed")]
    assert sorted((r["old_status"], r["new_status"], r["count"]) for r in per_day) == [
        ("running", "failed", 1),
        ("waiting", "success", 1),
    ]
    assert [(r["repo_name"], r["count"]) for r in gone] == [("web/frontend", 1)]
