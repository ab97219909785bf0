"""`make profile`: where the crawl's CPU goes, as py-spy samples it.

    .venv/bin/python -m bench.profile [--workload large] [--crawl 1|2] [--top 25] [--out FILE]
        [--latency-ms 20] [--concurrency 32] [--rate 200] [--database-url URL]

Starts the simulator in its own process and a scratch database, as `make bench` does, then runs
`swr-etl crawl` under `py-spy record`: a first crawl into the empty database, or with `--crawl 2` a second
crawl over the unchanged data (the first one runs unprofiled before it). Prints the functions holding the
most samples, by self time and inclusive of what they call; py-spy leaves idle samples out, so the
percentages are of the crawl process's CPU. The raw samples (one collapsed stack per line, for
flamegraph.pl or speedscope) are kept in --out.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.run import (
    WORKLOADS,
    crawl_command,
    crawl_env,
    database_server,
    scratch_database,
    simulator_args,
)
from pipeline.migrate import upgrade_to_head
from pipeline.simulator import start_simulator_popen

# Where installed and standard-library modules live: their path from the package on is enough.
_INSTALLED = re.compile(r"^.*/(?:site-packages|lib/python3\.\d+)/")


@dataclass(frozen=True)
class Profile:
    """Samples per function: as the innermost frame (self) and anywhere on the stack (inclusive)."""

    total: int
    self_samples: Counter[str]
    inclusive: Counter[str]


def function_of(frame: str) -> str:
    """`decode (/x/site-packages/aiohttp/client.py:12)` → `decode (aiohttp/client.py)`: one per function."""
    name, _, location = frame.partition(" (")
    path = location.rstrip(")").rpartition(":")[0] or location.rstrip(")")
    path = _INSTALLED.sub("", path).removeprefix(str(Path.cwd()) + "/")
    return f"{name} ({path})" if path else name


def aggregate(lines: Iterable[str]) -> Profile:
    """Sum py-spy's raw output (`frame;frame;...;frame COUNT` per line, outermost frame first)."""
    total, self_samples, inclusive = 0, Counter[str](), Counter[str]()
    for line in lines:
        stack, _, count = line.rstrip("\n").rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        functions = [function_of(frame) for frame in stack.split(";")]
        total += samples
        self_samples[functions[-1]] += samples
        for function in set(functions):  # a recursive function counts once per sample
            inclusive[function] += samples
    return Profile(total, self_samples, inclusive)


def format_profile(profile: Profile, top: int, rate: int) -> str:
    """Two ranked lists, each function with its share of the samples."""
    lines = [f"{profile.total:,} samples at {rate} Hz (~{profile.total / rate:.1f} s of CPU)"]
    for title, counts in (("self", profile.self_samples), ("inclusive", profile.inclusive)):
        lines.append(f"--- {title}")
        lines += [f"{100 * n / max(profile.total, 1):5.1f}%  {name}" for name, n in counts.most_common(top)]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Profile one crawl and print where its CPU went."""
    args = _parser().parse_args(argv)
    py_spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if py_spy is None:
        print("py-spy not found: `make install` installs it (a dev dependency)", file=sys.stderr)
        return 2
    out = Path(args.out or _temporary_file())
    simulator, url = start_simulator_popen(simulator_args(args.workload, args.latency_ms, args.seed))
    try:
        with database_server(args.database_url) as server_dsn, scratch_database(server_dsn) as dsn:
            upgrade_to_head(dsn)
            failure = _record(py_spy, url, dsn, out, args)
    finally:
        simulator.terminate()
        simulator.wait(timeout=30)
    if failure:
        print(f"the profiled crawl failed: {failure}", file=sys.stderr)
        return 1
    with out.open() as samples:
        print(format_profile(aggregate(samples), args.top, args.rate))
    print(f"raw samples: {out}")
    return 0


def _temporary_file() -> str:
    handle, name = tempfile.mkstemp(prefix="swr-etl-profile-", suffix=".txt")
    os.close(handle)  # py-spy writes it by name
    return name


def _record(py_spy: str, url: str, dsn: str, out: Path, args: argparse.Namespace) -> str | None:
    """Run the crawl(s) and py-spy; what went wrong, or None."""
    env, command = crawl_env(url, dsn), crawl_command(args.concurrency)
    if args.crawl == 2:
        first = subprocess.run(command, env=env, check=False, capture_output=True, text=True)
        if first.returncode != 0:
            return f"the unprofiled first crawl exited {first.returncode}: {first.stderr[-1500:]}"
    record = [py_spy, "record", "--rate", str(args.rate), "--format", "raw", "--output", str(out)]
    done = subprocess.run([*record, "--", *command], env=env, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        return f"exit {done.returncode}: {done.stderr[-1500:]}"
    return None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.split("\n\n")[0])
    parser.add_argument("--workload", default="large", choices=list(WORKLOADS))
    parser.add_argument("--crawl", type=int, default=1, choices=(1, 2), help="profile the first or second")
    parser.add_argument("--top", type=int, default=25, help="functions listed per ranking")
    parser.add_argument("--out", help="where to keep the raw samples (default: a temporary file)")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="simulated API latency (mean)")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight")
    parser.add_argument("--seed", type=int, default=7, help="simulator seed")
    parser.add_argument("--rate", type=int, default=200, help="py-spy samples per second")
    parser.add_argument("--database-url", help="PostgreSQL server (SWR_ETL_BENCH_DATABASE_URL)")
    return parser


if __name__ == "__main__":
    raise SystemExit(main())
