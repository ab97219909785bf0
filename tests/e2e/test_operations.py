"""Operating a crawl: progress events while it runs, its counters in crawl_runs mid-run (heartbeat), its
metrics in a real Pushgateway afterwards, and a SIGKILLed run closed as abandoned by the next run."""

from __future__ import annotations

import asyncio
import dataclasses
import fcntl
import itertools
import json
import os
import pty
import signal
import struct
import sys
import termios
from datetime import datetime
from typing import Any

import pytest

from pipeline.simulator import running_simulator
from tests.e2e.helpers import REGION, fetch, finish, run_cli, start_cli
from tests.e2e.resilience import DATASET, crawl_env, last_run
from tests.pushgateway import free_port, scrape, value

# Pages of 10 at ~50 ms, two in flight: a crawl of a few seconds.
SLOW = dataclasses.replace(DATASET, latency_ms=50.0)
SLOW_CLIENT = {"SWR_ETL_CONCURRENCY": "2", "SWR_ETL_HEARTBEAT_INTERVAL": "0.2"}


def events(stderr: str, name: str) -> list[dict[str, Any]]:
    """The JSON log events called ``name``."""
    lines = (json.loads(line) for line in stderr.splitlines() if line.startswith("{"))
    return [event for event in lines if event["event"] == name]


async def running_row_with_jobs(database_url: str) -> dict[str, Any]:
    """Poll crawl_runs (at most 30 s) until the running run's row says it has seen jobs."""
    async with asyncio.timeout(30):
        while True:
            rows = await fetch(database_url, "SELECT * FROM crawl_runs WHERE status = 'running'")
            if rows and rows[0]["jobs_seen"] > 0:
                return dict(rows[0])
            await asyncio.sleep(0.05)


async def test_a_crawl_reports_progress_each_second_heartbeats_and_pushes_its_metrics(
    database_url: str, pushgateway: str
) -> None:
    async with running_simulator(SLOW) as sim:
        env = crawl_env(
            sim,
            database_url,
            SWR_ETL_PROGRESS_INTERVAL="1",
            SWR_ETL_PUSHGATEWAY_URL=pushgateway,
            **SLOW_CLIENT,
        )
        proc = await start_cli("crawl", env=env)
        mid_run = await running_row_with_jobs(database_url)
        result = await finish(proc)

    assert result.code == 0, result.stderr
    run = await last_run(database_url)
    assert run["status"] == "ok"
    # Mid-run, crawl_runs already said how far the crawl had got.
    assert 0 < mid_run["jobs_seen"] < run["jobs_seen"] and mid_run["requests"] > 0
    assert mid_run["heartbeat_at"] > mid_run["started_at"]

    # A progress event each second of the crawl, counting up to the run's figures.
    progress = events(result.stderr, "progress")
    (finished,) = events(result.stderr, "run_finished")
    assert len(progress) >= int(finished["seconds"]) - 1 >= 2, (len(progress), finished["seconds"])
    stamps = [datetime.fromisoformat(e["timestamp"]) for e in progress]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(stamps)]
    assert all(0.7 < gap < 1.5 for gap in gaps), gaps
    assert [e["elapsed_s"] for e in progress] == sorted(e["elapsed_s"] for e in progress)
    last = progress[-1]
    assert last["repos_total"] == 40 and 0 < last["repos_done"] <= 40
    assert 0 < last["jobs_seen"] <= run["jobs_seen"] and last["requests_per_s"] > 0
    assert {"throttled", "eta_s"} <= last.keys()

    # Afterwards the Pushgateway holds the run's series, grouped by job and source.
    series = scrape(pushgateway)
    group = {"job": "swr_etl", "source": REGION}
    assert value(series, "swr_etl_run_status", status="ok", **group) == 1.0
    assert value(series, "swr_etl_last_success_timestamp_seconds", **group) is not None
    assert value(series, "swr_etl_run_jobs", outcome="seen", **group) == run["jobs_seen"]
    assert value(series, "swr_etl_run_requests", **group) == run["requests"]
    assert value(series, "swr_etl_run_repositories", outcome="ok", **group) == 40.0
    duration = value(series, "swr_etl_run_duration_seconds", **group)
    assert duration == pytest.approx(finished["seconds"], abs=0.01)
    assert events(result.stderr, "metrics_pushed")


async def test_a_sigkilled_run_is_closed_as_abandoned_by_the_next_run_of_another_configuration(
    database_url: str,
) -> None:
    async with running_simulator(SLOW) as sim:
        proc = await start_cli("crawl", env=crawl_env(sim, database_url, **SLOW_CLIENT))
        await running_row_with_jobs(database_url)
        proc.send_signal(signal.SIGKILL)
        await finish(proc)
        killed = await last_run(database_url)
        assert killed["status"] == "running" and killed["jobs_seen"] > 0
        # Six heartbeat intervals without a beat: it is stale (polled, at most 30 s).
        async with asyncio.timeout(30):
            while True:
                stale = "SELECT now() - heartbeat_at > interval '1.2 seconds' AS stale FROM crawl_runs"
                if (await fetch(database_url, stale + " WHERE id = $1", killed["id"]))[0]["stale"]:
                    break
                await asyncio.sleep(0.05)
        # Another region label: another configuration and another lock.
        other = crawl_env(sim, database_url, SWR_ETL_REGION="elsewhere", SWR_ETL_CONCURRENCY="8")
        rerun = await run_cli("crawl", env=other)

    assert rerun.code == 0, rerun.stderr
    (abandoned,) = events(rerun.stderr, "runs_abandoned")
    assert abandoned["run_ids"] == [killed["id"]]
    closed = dict((await fetch(database_url, "SELECT * FROM crawl_runs WHERE id = $1", killed["id"]))[0])
    assert closed["status"] == "failed" and "abandoned" in closed["error"]
    counters = ("repos_ok", "pages", "requests", "jobs_seen", "inserted", "updated", "unchanged")
    assert {c: closed[c] for c in counters} == {c: killed[c] for c in counters}  # its last heartbeat's
    assert closed["finished_at"] == killed["heartbeat_at"]


async def test_a_sigterm_pushes_the_interrupted_run_and_keeps_no_success(
    database_url: str, pushgateway: str
) -> None:
    async with running_simulator(SLOW) as sim:
        env = crawl_env(sim, database_url, SWR_ETL_PUSHGATEWAY_URL=pushgateway, **SLOW_CLIENT)
        proc = await start_cli("crawl", env=env)
        await running_row_with_jobs(database_url)
        proc.send_signal(signal.SIGTERM)
        result = await finish(proc)

    assert result.code == 143, result.stderr
    series = scrape(pushgateway)
    group = {"job": "swr_etl", "source": REGION}
    assert value(series, "swr_etl_run_status", status="interrupted", **group) == 1.0
    assert value(series, "swr_etl_last_success_timestamp_seconds", **group) is None
    run = await last_run(database_url)
    assert value(series, "swr_etl_run_jobs", outcome="seen", **group) == run["jobs_seen"] > 0


async def test_a_pushgateway_that_is_down_never_changes_the_exit_code(database_url: str) -> None:
    async with running_simulator(DATASET) as sim:
        env = crawl_env(sim, database_url, SWR_ETL_PUSHGATEWAY_URL=f"http://127.0.0.1:{free_port()}")
        result = await run_cli("crawl", env=env)

    assert result.code == 0, result.stderr
    assert result.stdout.startswith("run 1 ok: ")
    (failure,) = events(result.stderr, "metrics_push_failed")
    assert "Connection refused" in failure["error"]


async def test_a_database_unreachable_at_start_pushes_a_failed_run(pushgateway: str) -> None:
    unreachable = f"postgresql://postgres@127.0.0.1:{free_port()}/swr_etl"
    async with running_simulator(DATASET) as sim:
        env = crawl_env(sim, unreachable, SWR_ETL_PUSHGATEWAY_URL=pushgateway, SWR_ETL_DB_CONNECT_TIMEOUT="1")
        result = await run_cli("crawl", env=env)

    assert result.code == 1, result.stderr
    series = scrape(pushgateway)
    group = {"job": "swr_etl", "source": REGION}
    assert value(series, "swr_etl_run_status", status="failed", **group) == 1.0
    assert value(series, "swr_etl_run_requests", **group) == 0.0
    assert value(series, "swr_etl_last_success_timestamp_seconds", **group) is None


def read_until_closed(fd: int) -> str:
    """Everything written to a pty until its last writer closes it."""
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the other side is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks).decode(errors="replace")


async def test_on_a_terminal_the_crawl_draws_a_live_display_instead_of_events(database_url: str) -> None:
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))  # 40 rows, 160 columns
    async with running_simulator(SLOW) as sim:
        env = crawl_env(
            sim, database_url, SWR_ETL_CONCURRENCY="2", SWR_ETL_PROGRESS_INTERVAL="0.2", TERM="xterm"
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "pipeline", "crawl",
            env=env, stdout=asyncio.subprocess.PIPE, stderr=terminal,
        )  # fmt: skip
        os.close(terminal)
        screen, (out, _) = await asyncio.gather(
            asyncio.to_thread(read_until_closed, controller), asyncio.wait_for(proc.communicate(), 120)
        )

    assert proc.returncode == 0, screen
    assert out.decode().startswith("run 1 ok: ")
    assert '"progress"' not in screen  # the display shows the figures, no events
    assert '"run_finished"' in screen  # log lines still come, printed above the display
    assert screen.count("repositories ") >= 3  # redrawn as the crawl goes
    final = screen.rsplit("repositories ", 1)[1]
    assert final.startswith("40/40 · ") and " jobs · " in final and " req/s · 0 429s · ETA" in final
