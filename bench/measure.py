"""Run one program as a child process and measure what it cost: wall time from start to exit, peak RSS and
CPU time (from the kernel's rusage of that child alone), plus its output."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

# `run 3 ok: ... 1197 requests, 31399 jobs, 31399 inserted, 0 updated, ...` (pipeline.run.RunOutcome.summary)
_SUMMARY = re.compile(
    r"run (?P<run>\d+) (?P<status>\w+): .*? (?P<requests>\d+) requests, (?P<jobs>\d+) jobs, "
    r"(?P<inserted>\d+) inserted, (?P<updated>\d+) updated"
)


@dataclass(frozen=True)
class ProcessCost:
    """What one child process did and cost."""

    code: int
    wall_s: float
    peak_rss_mb: float
    cpu_s: float
    stdout: str
    stderr: str


def run_measured(command: Sequence[str], env: Mapping[str, str], timeout: float = 600.0) -> ProcessCost:
    """Start `command`, wait for it with wait4 (its own rusage, not the sum over all children), time it."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(list(command), env=dict(env), stdout=out, stderr=err)
        # A blocking wait4 returns the moment the child exits; a timer kills a child that hangs.
        killer = threading.Timer(timeout, process.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            killer.cancel()
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here: keep Popen from waiting
        out.seek(0)
        err.seek(0)
        return ProcessCost(
            code=process.returncode,
            wall_s=wall,
            peak_rss_mb=usage.ru_maxrss / 1024,  # kilobytes on Linux
            cpu_s=usage.ru_utime + usage.ru_stime,
            stdout=out.read().decode(errors="replace"),
            stderr=err.read().decode(errors="replace"),
        )


@dataclass(frozen=True)
class CrawlFigures:
    """The figures of one `swr-etl crawl`, from its summary line and its `run_finished` log event."""

    status: str
    requests: int
    jobs: int
    inserted: int
    updated: int
    run_s: float


def crawl_figures(cost: ProcessCost) -> CrawlFigures:
    """Parse a finished crawl's output; ValueError with its tail when it did not end with a summary."""
    match = _SUMMARY.search(cost.stdout)
    finished = _event(cost.stderr, "run_finished")
    if match is None or finished is None:
        raise ValueError(f"crawl exited {cost.code} without a summary: {(cost.stdout + cost.stderr)[-1500:]}")
    return CrawlFigures(
        status=match["status"],
        requests=int(match["requests"]),
        jobs=int(match["jobs"]),
        inserted=int(match["inserted"]),
        updated=int(match["updated"]),
        run_s=float(finished["seconds"]),
    )


def _event(log: str, name: str) -> dict[str, Any] | None:
    for line in reversed(log.splitlines()):
        if f'"{name}"' in line:
            try:
                doc = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if isinstance(doc, dict) and doc.get("event") == name:
                return doc
    return None
