"""`make bench`: the crawl against the fetch floor on a simulated SWR, and the upsert's throughput.

    .venv/bin/python -m bench.run [--workload standard,large] [--latency-ms 20] [--concurrency 32]
        [--database-url URL] [--upsert-jobs 1000000] [--repeat 1]

For each workload: a simulator in its own process (`--latency-ms`, jittered 0.5x-1.5x); the fetch floor
(bench.floor: the crawl's requests from a bare aiohttp client, as its own process); then `swr-etl crawl`
(the real CLI, as a subprocess) into a fresh database, again in full over the unchanged data (`--full`), and
once more incrementally (the default: newest pages only). Wall seconds run
from process start to exit (interpreter start-up, imports, the schema check: what operators pay); "run s"
is the time inside the process (the floor's fetching, the crawl's `run_finished` seconds). With --repeat N
there are N rounds of floor, crawl 1, crawl 2, incremental, back to back; the ratio is a crawl's wall over
its round's floor wall; the table shows the round with the best first-crawl ratio, a footer every
round's ratios. Then the upsert alone on synthetic jobs (bench.upsert), new rows and unchanged. Last,
years of history (bench.history: --history-jobs over --history-years, by SQL) and `swr-etl report` and
the reporting views timed on it.

Database: --database-url, else SWR_ETL_BENCH_DATABASE_URL, else 127.0.0.1:5432 (user postgres) if it
answers, else an embedded PostgreSQL in a temporary folder. Scratch databases are created and dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import orjson

from bench import history, upsert
from bench.measure import ProcessCost, crawl_figures, run_measured
from pipeline.embedded_db import EmbeddedPostgres
from pipeline.migrate import upgrade_to_head
from pipeline.settings import DatabaseSettings
from pipeline.simulator import start_simulator_popen

WORKLOADS = {"tiny": (3, 5), "standard": (20, 50), "large": (100, 100), "history": (10, 20)}
# A long history: half of the repositories hold 1,000-2,000 jobs (10-20 pages each).
EXTRA_ARGS = {"history": ("--heavy-repos", "100")}
# Each round: the floor, then these crawls into one fresh database, in order (label, extra flags).
CRAWLS = (("crawl 1", ()), ("crawl 2", ("--full",)), ("incremental", ()))
LOCAL_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
TOKEN = "swr-sim-static-token"  # noqa: S105 (the simulator's public static token)
ANCHOR = "2026-01-01T00:00:00Z"  # the same dataset every time
REGION = "bench"


@dataclass(frozen=True)
class Row:
    """One line of the table."""

    workload: str
    run: str
    wall_s: float
    run_s: float | None = None
    requests: int | None = None
    jobs: int | None = None
    ratio: float | None = None
    rss_mb: float | None = None
    cpu_s: float | None = None
    written: int | None = None
    note: str = ""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the table."""
    args = _parser().parse_args(argv)
    rows: list[Row] = []
    upsert_rows: list[Row] = []
    with database_server(args.database_url) as server_dsn:
        # The upsert is measured on its own, first: after the crawls the server is still writing their
        # pages back, which the upsert would otherwise pay for (it is listed last all the same).
        if args.upsert_jobs > 0:
            upsert_rows = bench_upsert(server_dsn, args.upsert_jobs, args.upsert_writers)
        footers = []
        for workload in args.workload.split(","):
            workload_rows, footer = bench_workload(workload, server_dsn, args)
            rows += workload_rows
            footers.append(footer)
            _progress(f"{workload} done")
        history_text = ""
        if args.history_jobs > 0:
            _progress(f"generating {args.history_jobs:,} jobs over {args.history_years:g} years")
            history_text = "\n" + history.measure(server_dsn, args.history_jobs, args.history_years)
    print(format_table(rows + upsert_rows, args, footers) + history_text)
    return 0 if not any(row.note.startswith("!") for row in rows) else 1


def bench_workload(workload: str, server_dsn: str, args: argparse.Namespace) -> tuple[list[Row], str]:
    """Floor, first crawl, full second crawl and incremental crawl of one simulated dataset (the best
    round), and every round's ratios."""
    simulator, url = start_simulator_popen(simulator_args(workload, args.latency_ms, args.seed))
    try:
        truth = _truth_jobs(url)
        _floor(url, args.concurrency)  # warm-up (fresh server, page cache): not counted
        # Paired rounds: each crawl is compared with the floor measured just before it, so the speed of
        # a shared VM, which drifts by tens of percent within minutes, weighs on both sides alike.
        rounds = []
        for _ in range(args.repeat):
            floor = _floor(url, args.concurrency, server_dsn)
            rounds.append([floor, *_crawls(url, server_dsn, args, truth, floor.wall_s)])
    finally:
        simulator.terminate()
        simulator.wait(timeout=30)
    best = min(rounds, key=lambda r: r[1].ratio or 0.0)
    spread = ", ".join("/".join(f"{row.ratio:.2f}" for row in r[1:]) for r in rounds)
    footer = f"{workload}: {'/'.join(label for label, _ in CRAWLS)} ratio of every round: {spread}"
    return [Row(**{**row.__dict__, "workload": workload}) for row in best], footer


def simulator_args(workload: str, latency_ms: float, seed: int) -> list[str]:
    """`swr-etl simulate` flags serving a named workload, the same dataset every time."""
    namespaces, repos = WORKLOADS[workload]
    return [
        *("--namespaces", str(namespaces), "--repos-per-namespace", str(repos)),
        *("--latency-ms", str(latency_ms), "--seed", str(seed), "--anchor", ANCHOR),
        *EXTRA_ARGS.get(workload, ()),
    ]


def _checkpoint(server_dsn: str) -> None:
    """upsert.checkpoint on its own connection: no phase pays for another's writes."""

    async def on_new_connection() -> None:
        conn = await asyncpg.connect(server_dsn)
        try:
            await upsert.checkpoint(conn)
        finally:
            await conn.close()

    asyncio.run(on_new_connection())


def _floor(url: str, concurrency: int, server_dsn: str | None = None) -> Row:
    if server_dsn is not None:
        _checkpoint(server_dsn)
    command = [sys.executable, "-m", "bench.floor", url, "--concurrency", str(concurrency), "--token", TOKEN]
    cost = run_measured(command, env=os.environ)
    if cost.code != 0:
        raise RuntimeError(f"the floor failed ({cost.code}): {cost.stderr[-1500:]}")
    result = orjson.loads(cost.stdout.strip().splitlines()[-1])
    return Row(
        "", "floor", cost.wall_s, result["seconds"], result["requests"], result["jobs"], 1.0,
        cost.peak_rss_mb, cost.cpu_s,
    )  # fmt: skip


def _crawls(url: str, server_dsn: str, args: argparse.Namespace, truth: int, floor: float) -> list[Row]:
    """A first crawl, a full re-crawl of the unchanged data, then an incremental one (the default)."""
    with scratch_database(server_dsn) as dsn:
        upgrade_to_head(dsn)
        rows = []
        for label, flags in CRAWLS:
            _checkpoint(server_dsn)
            cost = run_measured([*crawl_command(args.concurrency), *flags], env=crawl_env(url, dsn))
            rows.append(_crawl_row(label, cost, floor, truth, _stored_jobs(dsn)))
    return rows


def crawl_command(concurrency: int) -> list[str]:
    """`swr-etl crawl` as the benchmark runs it (the installed script, as operators do)."""
    script = Path(sys.executable).with_name("swr-etl")
    prefix = [str(script)] if script.exists() else [sys.executable, "-m", "pipeline"]
    return [*prefix, "crawl", "--concurrency", str(concurrency)]


def crawl_env(url: str, dsn: str) -> dict[str, str]:
    """The crawl's environment: the simulator's static token into `dsn`, no SWR_ETL_* of the caller's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWR_ETL_") and k != "DATABASE_URL"}
    env.update(
        SWR_ETL_DATABASE_URL=dsn,
        SWR_ETL_ENDPOINT=url,
        SWR_ETL_TOKEN=TOKEN,
        SWR_ETL_REGION=REGION,
        SWR_ETL_LOG_FORMAT="json",
    )
    return env


def _crawl_row(label: str, cost: ProcessCost, floor: float, truth: int, stored: int) -> Row:
    figures = crawl_figures(cost)
    note = "" if cost.code == 0 and figures.status == "ok" else f"! exit {cost.code} {figures.status}"
    if stored != truth:
        note = f"! {stored} rows stored, the simulator holds {truth}"
    return Row(
        "", label, cost.wall_s, figures.run_s, figures.requests, figures.jobs, cost.wall_s / floor,
        cost.peak_rss_mb, cost.cpu_s, figures.inserted + figures.updated, note,
    )  # fmt: skip


def bench_upsert(server_dsn: str, jobs: int, writers: int) -> list[Row]:
    """Rows/s of the store's upsert alone, new rows then the same rows unchanged."""
    batch = DatabaseSettings().batch_size
    passes = upsert.measure_in_subprocess(server_dsn, jobs, batch, writers, labels=("new", "unchanged"))
    return [
        Row(
            "upsert",
            p.label,
            p.seconds,
            jobs=p.rows,
            written=p.result.inserted + p.result.updated,
            note=f"{p.rows_per_s:,.0f} rows/s",
        )
        for p in passes
    ]


def format_table(rows: list[Row], args: argparse.Namespace, footers: Sequence[str] = ()) -> str:
    """The one table `make bench` prints."""
    header = ("workload", "run", "wall s", "run s", "requests", "jobs", "jobs/s", "ratio", "RSS MB", "cpu s")
    lines = [" ".join(f"{h:>9}" for h in (*header, "written")) + "  note"]
    for r in rows:
        cells = (
            r.workload, r.run, f"{r.wall_s:.2f}", _f(r.run_s, ".2f"), _f(r.requests, ","), _f(r.jobs, ","),
            _f(r.jobs / r.wall_s if r.jobs is not None and r.run != "unchanged" else None, ",.0f"),
            _f(r.ratio, ".2f"), _f(r.rss_mb, ".0f"), _f(r.cpu_s, ".2f"), _f(r.written, ","),
        )  # fmt: skip
        lines.append(" ".join(f"{c:>9}" for c in cells) + f"  {r.note}".rstrip())
    settings = (
        f"latency {args.latency_ms} ms (jittered), concurrency {args.concurrency}, seed {args.seed}, "
        f"best of {args.repeat} rounds, each a floor then crawl 1, crawl 2 (--full) and incremental; ratio = "
        "wall / that round's floor wall; RSS = peak of the process"
    )
    return "\n".join([*lines, settings, *footers])


def _f(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _truth_jobs(url: str) -> int:
    import urllib.request  # noqa: PLC0415

    with urllib.request.urlopen(url + "/_sim/repositories") as resp:  # noqa: S310 (our local simulator)
        return int(orjson.loads(resp.read())["summary"]["jobs"])


def _stored_jobs(dsn: str) -> int:
    async def count() -> int:
        conn = await asyncpg.connect(dsn)
        try:
            return int(await conn.fetchval("SELECT count(*) FROM sync_jobs WHERE region = $1", REGION))
        finally:
            await conn.close()

    return asyncio.run(count())


@contextmanager
def scratch_database(server_dsn: str) -> Iterator[str]:
    """A database created on the server for one benchmark, dropped after."""
    name = upsert.scratch_name()
    asyncio.run(_admin(server_dsn, f'CREATE DATABASE "{name}"'))
    try:
        yield upsert.with_database(server_dsn, name)
    finally:
        asyncio.run(_admin(server_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _admin(server_dsn: str, statement: str) -> None:
    conn = await asyncpg.connect(server_dsn)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@contextmanager
def database_server(configured: str | None) -> Iterator[str]:
    """The server's DSN: configured, else SWR_ETL_BENCH_DATABASE_URL, else local, else embedded."""
    dsn = configured or os.environ.get("SWR_ETL_BENCH_DATABASE_URL")
    if dsn or asyncio.run(_answers(LOCAL_DSN)):
        yield dsn or LOCAL_DSN
        return
    folder = tempfile.mkdtemp(prefix="swr-etl-bench-pg-")
    server = EmbeddedPostgres(Path(folder))
    try:
        yield server.start()
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


async def _answers(dsn: str) -> bool:
    try:
        conn = await asyncpg.connect(dsn, timeout=2.0)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return False
    await conn.close()
    return True


def _progress(message: str) -> None:
    print(f"... {message}", file=sys.stderr, flush=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--workload", default="standard,large,history", help=f"comma-separated: {', '.join(WORKLOADS)}"
    )
    parser.add_argument("--latency-ms", type=float, default=20.0, help="simulated API latency (mean)")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight (floor and crawl)")
    parser.add_argument("--seed", type=int, default=7, help="simulator seed")
    parser.add_argument("--database-url", help="PostgreSQL server (SWR_ETL_BENCH_DATABASE_URL)")
    parser.add_argument("--upsert-jobs", type=int, default=1_000_000, help="synthetic jobs (0: skip)")
    parser.add_argument(
        "--upsert-writers",
        type=int,
        default=DatabaseSettings().writers,
        help="concurrent upsert batches (default: the crawl's database.writers)",
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs of floor and crawls; best is shown")
    parser.add_argument(
        "--history-jobs", type=int, default=10_000_000, help="jobs of generated history (0: skip)"
    )
    parser.add_argument("--history-years", type=float, default=3.0, help="years the history spans")
    return parser


if __name__ == "__main__":
    raise SystemExit(main())
