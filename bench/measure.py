"""Run one program as a child process and measure what it cost: wall time from start to exit, peak RSS and
CPU time (from the kernel's rusage of that child alone), plus its output."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
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


# The measured program is started by this small Python process, not by the caller: Linux keeps in a
# process's ru_maxrss the resident size of the memory it had before exec, which for a child of a large
# process (a test runner holding 150 MB after a thousand tests) is that process's own size. Started by a
# fresh interpreter of ~10 MB, the program's ru_maxrss is its own peak. The trampoline writes the child's
# wall seconds, rusage and exit code to the file descriptor it is given.
_TRAMPOLINE = """
import os, subprocess, sys, time
fd, command = int(sys.argv[1]), sys.argv[2:]
started = time.perf_counter()
child = subprocess.Popen(command)
_, status, usage = os.wait4(child.pid, 0)
wall = time.perf_counter() - started
cpu = usage.ru_utime + usage.ru_stime
os.write(fd, f"{os.waitstatus_to_exitcode(status)} {wall} {usage.ru_maxrss} {cpu}".encode())
"""


def run_measured(command: Sequence[str], env: Mapping[str, str], timeout: float = 600.0) -> ProcessCost:
    """Run `command` (from a small trampoline, see above) and return its exit code, wall time from start to
    exit, peak RSS and CPU time (its own rusage, by wait4), and its output; killed after `timeout`."""
    read_end, write_end = os.pipe()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        trampoline = subprocess.Popen(
            [sys.executable, "-c", _TRAMPOLINE, str(write_end), *command],
            env=dict(env), stdout=out, stderr=err, pass_fds=(write_end,), start_new_session=True,
        )  # fmt: skip
        os.close(write_end)
        # A timer kills the whole session (trampoline and program) if the program hangs.
        killer = threading.Timer(timeout, os.killpg, (trampoline.pid, signal.SIGKILL))
        killer.start()
        try:
            with os.fdopen(read_end, "rb") as report:
                figures = report.read().decode().split()
            trampoline.wait()
        finally:
            killer.cancel()
        if len(figures) != 4:  # killed by the timer: its exit code (-9), nothing measured
            figures = [str(trampoline.returncode), str(timeout), "0", "0"]
        code, wall, maxrss, cpu = int(figures[0]), float(figures[1]), int(figures[2]), float(figures[3])
        out.seek(0)
        err.seek(0)
        return ProcessCost(
            code=code,
            wall_s=wall,
            peak_rss_mb=maxrss / 1024,  # kilobytes on Linux
            cpu_s=cpu,
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
