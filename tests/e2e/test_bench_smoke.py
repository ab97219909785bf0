"""`make bench` keeps working: a tiny workload prints the table with sane figures (speed is not asserted)."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import sys

import pytest


@pytest.mark.slow
async def test_bench_prints_a_sane_table(pg_server_dsn: str) -> None:
    args = ["--workload", "tiny", "--latency-ms", "1", "--concurrency", "8", "--upsert-jobs", "2000"]
    args += ["--history-jobs", "3000", "--history-years", "0.5"]
    out, prefix = await _run_bench("bench.run", args, pg_server_dsn)
    rows = {
        (cells[0], " ".join(cells[1:3]) if cells[1] == "crawl" else cells[1]): cells
        for cells in (line.split() for line in out.decode().splitlines()[1:])
        if cells and cells[0] in ("tiny", "upsert")
    }
    expected = [("tiny", "floor"), ("tiny", "crawl 1"), ("tiny", "crawl 2"), ("tiny", "incremental")]
    expected += [("upsert", "new")]
    assert set(rows) == {*expected, ("upsert", "unchanged")}
    floor, first, second = rows["tiny", "floor"], rows["tiny", "crawl 1"], rows["tiny", "crawl 2"]
    # Same requests and jobs as the floor; the first crawl writes every job, the second (--full) nothing.
    assert first[5:7] == floor[4:6] == second[5:7]
    jobs = int(floor[5].replace(",", ""))
    assert jobs > 0
    assert int(first[-1].replace(",", "")) == jobs and second[-1] == "0"
    # The incremental crawl of the unchanged data: at most one request per repository, nothing written.
    incremental = rows["tiny", "incremental"]
    assert int(incremental[4]) < int(floor[4]) and incremental[-1] == "0"
    for row in (floor, first, second, incremental):
        wall, ratio, rss = float(row[-8]), float(row[-4]), float(row[-3])
        assert 0 < wall < 60 and 0 < ratio < 50 and 10 < rss < 1000
    assert rows["upsert", "new"][-3] == "2,000"  # written (then the note: rows/s)
    assert re.search(r"[\d,]+ rows/s", out.decode())
    history = out.decode().split("report on 3,000 jobs over 0.5 years")[1].splitlines()[1:]
    assert history[0].strip().startswith("swr-etl report (process, 7 days)")
    assert len(history) == 7 and all(re.search(r" \d+\.\d{3} s ", line) for line in history), history
    assert await _bench_databases(pg_server_dsn, prefix) == set()  # its scratch databases are dropped


async def _run_bench(module: str, args: list[str], dsn: str) -> tuple[bytes, str]:
    """Run a benchmark module (exit 0 asserted); its stdout and the prefix of its scratch databases.

    Its own prefix: benchmarks run beside this test (another checkout's) create and drop theirs meanwhile.
    """
    prefix = f"swr_etl_bench_{secrets.token_hex(4)}_"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", module, *args, "--database-url", dsn,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "SWR_ETL_BENCH_DB_PREFIX": prefix},
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 180)
    assert proc.returncode == 0, err.decode()[-2000:]
    return out, prefix


async def _bench_databases(dsn: str, prefix: str) -> set[str]:
    import asyncpg  # noqa: PLC0415

    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT datname FROM pg_database WHERE starts_with(datname, $1)", prefix)
    finally:
        await conn.close()
    return {r["datname"] for r in rows}


@pytest.mark.slow
async def test_bench_pacing_prints_a_sane_table(pg_server_dsn: str) -> None:
    args = ["--rates", "50", "--workload", "tiny", "--page-size", "2", "--latency-ms", "1", "--share", "0.5"]
    out, prefix = await _run_bench("bench.pacing", args, pg_server_dsn)
    rows = [line.split() for line in out.decode().splitlines()[1:4]]
    assert [row[:2] for row in rows] == [["50", "crawl"], ["50", "crawl"], ["50", "share"]]
    assert all(row[-1] == "exact" for row in rows)
    requests, throttled = int(rows[0][3].replace(",", "")), int(rows[0][4])
    assert requests > 50 and 0 < throttled < requests  # more than the bucket's burst: it met the limit
    assert rows[2][4] == "0" and float(rows[2][-3]) < 30.0  # about half the rate learned, not one 429
    assert await _bench_databases(pg_server_dsn, prefix) == set()
