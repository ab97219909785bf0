"""The example SQL in the README runs against the real schema and answers what it claims."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from pipeline.store import Store
from tests.integration.factories import make_job

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_statements() -> list[str]:
    """Every statement of every ```sql block in the README."""
    blocks = re.findall(r"```sql\n(.*?)```", README.read_text(), flags=re.S)
    statements = [s.strip() for block in blocks for s in block.split(";")]
    return [
        s for s in statements if any(not line.startswith("--") for line in s.splitlines() if line.strip())
    ]


def test_the_readme_has_example_sql() -> None:
    assert len(readme_statements()) >= 5


async def test_every_readme_statement_runs_and_answers(database_url: str, store: Store) -> None:
    now = datetime.now(UTC)
    recent = {"created_at": now - timedelta(hours=2), "updated_at": now - timedelta(hours=1)}
    jobs = [
        make_job(1, status="failed", remote_region_id="cn-east-3", **recent),
        make_job(2, status="success", remote_region_id="cn-east-3", **recent),
        make_job(3, status="timeout", remote_region_id="ap-southeast-1", **recent),
        make_job(4, status="waiting", remote_region_id="ap-southeast-1", extra='{"syncAuto":true}', **recent),
    ]
    run_id = await store.start_run(["r1"], {})
    await store.upsert_jobs("r1", run_id, jobs)
    # A job of three weeks ago that a crawl saw waiting, then cancelled 5 minutes after its creation.
    created = now - timedelta(days=21)
    for status, updated in (("waiting", 0), ("cancel", 300)):
        job = make_job(5, status=status, remote_region_id="cn-east-3", created_at=created)
        await store.upsert_jobs("r1", run_id, [job._replace(updated_at=created + timedelta(seconds=updated))])
    crashed = await store.start_run(["r2"], {"heartbeat_interval": 5.0})
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "UPDATE crawl_runs SET heartbeat_at = now() - interval '31 seconds', throttled = 3 WHERE id = $1",
            crashed,
        )
        answers = [await conn.fetch(statement) for statement in readme_statements()]
    finally:
        await conn.close()
    by_region = {row["remote_region_id"]: row for row in answers[0]}
    assert (by_region["cn-east-3"]["jobs"], by_region["cn-east-3"]["failed"]) == (2, 1)
    assert [row["p50"] for row in answers[1]] == [timedelta(hours=1)]
    assert [row["tag"] for row in answers[2]] == ["v4"]
    assert sum(row["failed"] for row in answers[3]) == 2
    assert sorted((row["remote_region_id"], row["failed"]) for row in answers[4]) == [
        ("ap-southeast-1", 1),
        ("cn-east-3", 1),
    ]
    assert [row["id"] for row in answers[5]] == [crashed, run_id]
    assert [row["id"] for row in answers[6]] == [crashed]  # only the run whose heartbeat stopped
    assert answers[7] == []  # no identity conflict
    assert [(row["key"], row["count"]) for row in answers[8]] == [("syncAuto", 1)]
    assert [(row["id"], row["throttled"]) for row in answers[9]] == [(crashed, 3), (run_id, 0)]
    assert answers[10] == []  # no rate learned yet
    # The Reporting section's queries of the views.
    assert sorted((r["remote_region_id"], r["jobs"], r["failed"]) for r in answers[15]) == [
        ("ap-southeast-1", 2, 1),
        ("cn-east-3", 2, 1),
    ]
    assert [(r["remote_region_id"], r["p50_seconds"]) for r in answers[16]] == [("cn-east-3", 3600.0)]
    assert [row["tag"] for row in answers[17]] == ["v4"]
    assert [(r["status"], r["last_ok_at"]) for r in answers[18]] == [("running", None)]
    assert [(r["run_id"], r["throttled"], r["rate_learned"]) for r in answers[19]] == [(crashed, 3, None)]
    assert [tuple(r.values()) for r in answers[20]] == [
        ((now - timedelta(days=21, seconds=-300)).date(), "cn-east-3", "waiting", "cancel", 1, 300.0, 300.0)
    ]


async def test_failure_and_stuck_examples_can_use_their_partial_indexes(database_url: str) -> None:
    """The partial indexes' predicates match the README's: the planner may use them (seq scans off)."""
    statements = readme_statements()
    failures = next(s for s in statements if "last 24 hours" in s)
    stuck = next(s for s in statements if "What is stuck" in s)
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("SET enable_seqscan = off")
        plans = {
            index: "\n".join(row[0] for row in await conn.fetch(f"EXPLAIN {statement}"))
            for index, statement in (
                ("sync_jobs_failed_region_created_idx", failures),
                ("sync_jobs_active_moved_idx", stuck),
            )
        }
    finally:
        await conn.close()
    for index, plan in plans.items():
        assert index in plan, plan
