"""Upsert throughput: N synthetic jobs written in batches as new rows, then again unchanged, then changed.

    .venv/bin/python -m bench.upsert [--database-url postgresql://postgres@127.0.0.1:5432/postgres]
        [--jobs 1000000] [--batch-size 10000] [--writers 1]

The URL names the server; the benchmark creates its own database there, migrates it, and drops it.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import dataclasses
import functools
import multiprocessing
import os
import secrets
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from pipeline.domain import SyncJob
from pipeline.migrate import upgrade_to_head_async
from pipeline.settings import DatabaseSettings
from pipeline.store import Store, UpsertResult

STATUSES = ("success", "failed", "timeout", "waiting", "running", "cancel", "existed")
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def scratch_name() -> str:
    """A new scratch database's name: SWR_ETL_BENCH_DB_PREFIX (default swr_etl_bench_) and a random tail, so a
    caller that sets its own prefix can tell its databases from those of benchmarks running beside it."""
    return f"{os.environ.get('SWR_ETL_BENCH_DB_PREFIX', 'swr_etl_bench_')}{secrets.token_hex(4)}"


def synthetic_jobs(count: int) -> list[SyncJob]:
    """Jobs spread over 1,000 repositories in 50 namespaces, deterministic."""
    return [
        SyncJob(
            id=i,
            namespace=f"ns-{i % 50}",
            repo_name=f"group/repo-{i % 1000}",
            tag=f"v{i % 97}.{i % 13}",
            status=STATUSES[i % len(STATUSES)],
            override=i % 2 == 0,
            remote_region_id=("cn-south-1", "ap-southeast-1", "eu-west-0")[i % 3],
            remote_namespace=f"mirror-{i % 7}",
            domain_id="0d4f8c6a1b2e4f50a9c3",
            domain_name="acme",
            sync_operator_id=f"op-{i % 11}",
            sync_operator_name=f"operator {i % 11}",
            created_at=T0 + timedelta(seconds=i),
            updated_at=T0 + timedelta(seconds=i + 30),
        )
        for i in range(1, count + 1)
    ]


def with_database(dsn: str, database: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


async def timed_pass(
    store: Store, run_id: int, jobs: Sequence[SyncJob], batch_size: int, writers: int
) -> tuple[UpsertResult, float]:
    """Upsert all jobs in batches from ``writers`` concurrent tasks; return the summed result and seconds."""
    batches = iter(range(0, len(jobs), batch_size))
    results: list[UpsertResult] = []

    async def writer() -> None:
        for offset in batches:  # a shared iterator: each batch goes to exactly one writer
            results.append(await store.upsert_jobs("bench", run_id, jobs[offset : offset + batch_size]))

    started = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(writers)))
    elapsed = time.perf_counter() - started
    total = UpsertResult(
        sum(r.inserted for r in results), sum(r.updated for r in results), sum(r.unchanged for r in results)
    )
    return total, elapsed


@dataclasses.dataclass(frozen=True)
class UpsertPass:
    """One pass over all the jobs: new rows, the same rows unchanged, or every row changed."""

    label: str
    rows: int
    seconds: float
    result: UpsertResult

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds


async def measure(
    server_dsn: str,
    count: int,
    batch_size: int,
    writers: int,
    *,
    labels: Sequence[str] = ("new", "unchanged", "changed"),
    report: Callable[[str], None] = print,
) -> list[UpsertPass]:
    """Create a scratch database, run the passes, drop the database; `report` hears about progress."""
    name = scratch_name()
    admin = await asyncpg.connect(server_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        dsn = with_database(server_dsn, name)
        await upgrade_to_head_async(dsn)
        # Start from a clean slate: writes the server still owes to a checkpoint (the crawls bench.run just
        # made, say) would otherwise be paid during this measurement.
        await checkpoint(admin)
        started = time.perf_counter()
        jobs = synthetic_jobs(count)
        changed = [j._replace(status="success", updated_at=j.created_at + timedelta(1)) for j in jobs]
        report(f"built {count:,} jobs in {time.perf_counter() - started:.1f}s; batch size {batch_size:,}")
        inputs = {"new": jobs, "unchanged": jobs, "changed": changed}
        passes = []
        store = await Store.connect(dsn, max_size=max(4, writers + 1))
        try:
            run_id = await store.start_run(["bench"], {"bench": True})
            for label in labels:
                result, seconds = await timed_pass(store, run_id, inputs[label], batch_size, writers)
                passes.append(UpsertPass(label, count, seconds, result))
                report(f"{label:>9}: {count / seconds:>10,.0f} rows/s  ({seconds:.2f}s, {result})")
        finally:
            await store.close()
        return passes
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def checkpoint(conn: asyncpg.Connection[asyncpg.Record]) -> None:
    """Make PostgreSQL write back what earlier work left dirty, so that the next measurement does not pay
    for it (a checkpoint due mid-run costs a core). Skipped without the privilege."""
    with contextlib.suppress(asyncpg.InsufficientPrivilegeError):
        await conn.execute("CHECKPOINT")


def measure_in_subprocess(
    server_dsn: str, count: int, batch_size: int, writers: int, labels: Sequence[str]
) -> list[UpsertPass]:
    """`measure` in a fresh (spawned) process: its million jobs never inflate the caller, whose children
    (the measured crawls) would otherwise report the caller's pages in their peak RSS."""
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        future = pool.submit(_measure_sync, server_dsn, count, batch_size, writers, tuple(labels))
        return future.result()


def _measure_sync(
    server_dsn: str, count: int, batch_size: int, writers: int, labels: tuple[str, ...]
) -> list[UpsertPass]:
    report = functools.partial(print, "...", file=sys.stderr, flush=True)
    return asyncio.run(measure(server_dsn, count, batch_size, writers, labels=labels, report=report))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=DatabaseSettings().batch_size)
    parser.add_argument(
        "--writers",
        type=int,
        default=DatabaseSettings().writers,
        help="concurrent upsert batches (pool size)",
    )
    args = parser.parse_args()
    asyncio.run(measure(args.database_url, args.jobs, args.batch_size, args.writers))


if __name__ == "__main__":
    main()
