"""What the rollup's insert trigger costs the upsert of new rows, measured in pairs.

    .venv/bin/python -m bench.rollup_cost [--jobs 400000] [--batch-size 5000] [--database-url URL]

bench.upsert's before/after figures on a shared VM drift by tens of percent between runs, far more than
the effect measured; here the batches of one run alternate (A B B A …) between the trigger enabled and
disabled in the same database, so drift weighs on both sides alike, and the answer is the median of
the quads' ratios. One writer; new rows only (the COPY path). The URL names the server; a scratch
database is created there, migrated, and dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from bench.upsert import checkpoint, scratch_name, synthetic_jobs, with_database
from pipeline.migrate import upgrade_to_head_async
from pipeline.store import Store

TRIGGER = "sync_job_daily_insert"
BACKENDS = "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"


@dataclass
class Side:
    """Wall seconds of the upserts and the CPU seconds the database's backends spent on them."""

    wall: float = 0.0
    server_cpu: float = 0.0
    client_cpu: float = 0.0


def backend_cpu(pids: list[int]) -> float:
    """CPU seconds (user + system) the server processes used so far; 0 when not on this machine."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat(5))
    return total / os.sysconf("SC_CLK_TCK")


async def measure(
    server_dsn: str, count: int, batch_size: int
) -> tuple[list[tuple[float, float]], Side, Side]:
    """Per four batches (A B B A), the wall seconds with the trigger on and off; and the totals per side."""
    name = scratch_name()
    admin = await asyncpg.connect(server_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        dsn = with_database(server_dsn, name)
        await upgrade_to_head_async(dsn)
        jobs = synthetic_jobs(count)
        store = await Store.connect(dsn, max_size=2)
        switch = await asyncpg.connect(dsn)
        quads: list[tuple[float, float]] = []
        sides = {True: Side(), False: Side()}
        try:
            run_id = await store.start_run(["bench"], {"bench": True})
            await checkpoint(admin)
            for index, offset in enumerate(range(0, count, batch_size)):
                enabled = index % 4 in (0, 3)  # A B B A: a drift within four batches cancels out
                await switch.execute(
                    f"ALTER TABLE sync_jobs {'ENABLE' if enabled else 'DISABLE'} TRIGGER {TRIGGER}"
                )
                pids = [r[0] for r in await switch.fetch(BACKENDS)]
                cpu, own, started = backend_cpu(pids), time.process_time(), time.perf_counter()
                await store.upsert_jobs("bench", run_id, jobs[offset : offset + batch_size])
                elapsed = time.perf_counter() - started
                side = sides[enabled]
                side.wall += elapsed
                side.server_cpu += backend_cpu(pids) - cpu
                side.client_cpu += time.process_time() - own
                if index % 4 == 0:
                    quads.append((0.0, 0.0))
                on, off = quads[-1]
                quads[-1] = (on + elapsed, off) if enabled else (on, off + elapsed)
        finally:
            await switch.close()
            await store.close()
        return [quad for quad in quads if quad[1] > 0], sides[True], sides[False]
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--jobs", type=int, default=400_000)
    parser.add_argument("--batch-size", type=int, default=5000)
    args = parser.parse_args()
    quads, on, off = asyncio.run(measure(args.database_url, args.jobs, args.batch_size))
    # The median of the per-quad ratios: a burst of load from elsewhere spoils one quad, not the answer.
    median = statistics.median(q[0] / q[1] for q in quads)
    rows = len(quads) * 2 * args.batch_size
    print(
        f"new rows, batches of {args.batch_size:,}: trigger on {rows / on.wall:,.0f} rows/s, off"
        f" {rows / off.wall:,.0f} rows/s; wall {100 * (median - 1):+.1f}% (median of {len(quads)} A-B-B-A"
        f" quads; {100 * (on.wall / off.wall - 1):+.1f}% over the sums)"
    )
    if off.server_cpu > 0:
        cpu_on, cpu_off = on.server_cpu + on.client_cpu, off.server_cpu + off.client_cpu
        print(
            f"CPU seconds per 100,000 rows: server {on.server_cpu * 1e5 / rows:.2f} on,"
            f" {off.server_cpu * 1e5 / rows:.2f} off ({100 * (on.server_cpu / off.server_cpu - 1):+.1f}%);"
            f" server + client {100 * (cpu_on / cpu_off - 1):+.1f}%"
        )


if __name__ == "__main__":
    main()
