"""How close to API Gateway's limit a crawl runs, and how many 429s it costs, with no rate setting.

    .venv/bin/python -m bench.pacing [--rates 50,100,200] [--workload standard] [--page-size 20]
        [--latency-ms 20] [--share 0.5] [--database-url URL]

For each rate R: a simulator in its own process with `--rate-limit R` (a token bucket per API holding one
second of calls, 429 APIGW.0308 without Retry-After), a fresh database, then `swr-etl crawl` twice with no
rate setting (the first run learns the rate, the second starts from what it remembered), and a third time
with `SWR_ETL_MAX_QUOTA_SHARE=--share`. The bucket's own minimum for a crawl is (ShowSyncJob calls granted
- R) / R seconds (its first second of calls is free, then R per second); "ratio" is the crawl's own
seconds (`run_finished`, which leaves out interpreter start-up) over that minimum.
"""

from __future__ import annotations

import argparse
import sys
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from bench.measure import crawl_figures, run_measured
from bench.run import (
    _stored_jobs,
    _truth_jobs,
    crawl_command,
    crawl_env,
    database_server,
    scratch_database,
    simulator_args,
)
from pipeline.migrate import upgrade_to_head
from pipeline.simulator import start_simulator_popen


@dataclass(frozen=True)
class Crawl:
    """One crawl against a throttled simulator."""

    rate: float
    label: str
    requests: int
    throttled: int
    run_s: float
    minimum_s: float
    reached: str
    learned: str
    exact: bool


def main(argv: Sequence[str] | None = None) -> int:
    """Run the crawls and print the table."""
    args = _parser().parse_args(argv)
    crawls = []
    with database_server(args.database_url) as server_dsn:
        for rate in (float(r) for r in args.rates.split(",")):
            crawls += bench_rate(rate, server_dsn, args)
    print(format_table(crawls, args))
    return 0 if all(c.exact for c in crawls) else 1


def bench_rate(rate: float, server_dsn: str, args: argparse.Namespace) -> list[Crawl]:
    """Crawl 1 (learns), crawl 2 (remembers), and the quota share, against one gateway rate."""
    sim_args = [*simulator_args(args.workload, args.latency_ms, args.seed), "--rate-limit", str(rate)]
    simulator, url = start_simulator_popen(sim_args)
    try:
        truth = _truth_jobs(url)
        crawls = []
        with scratch_database(server_dsn) as dsn:
            upgrade_to_head(dsn)
            share: dict[str, float] = {"MAX_QUOTA_SHARE": args.share}
            runs: list[tuple[str, dict[str, float]]] = [("crawl 1", {}), ("crawl 2", {})]
            runs += [(f"share {args.share:g}", share)] if args.share else []
            for label, extra in runs:
                _sim(url, "/_sim/stats/reset", post=True)
                env = crawl_env(url, dsn)
                env.update({"SWR_ETL_PAGE_SIZE": str(args.page_size)})
                env.update({f"SWR_ETL_{k}": str(v) for k, v in extra.items()})
                cost = run_measured(crawl_command(args.concurrency), env=env)
                figures = crawl_figures(cost)
                stats = _sim(url, "/_sim/stats")
                granted = stats["requests_by_endpoint"]["sync_job"] - stats["rate_limited"]
                pacing = _pacing(cost.stdout)
                crawls.append(
                    Crawl(
                        rate, label, figures.requests, stats["rate_limited"], figures.run_s,
                        max(granted - rate, 1.0) / rate, pacing[0], pacing[1],
                        cost.code == 0 and _stored_jobs(dsn) == truth,
                    )
                )  # fmt: skip
                print(f"... {rate:g}/s {label}: {crawls[-1]}", file=sys.stderr, flush=True)
    finally:
        simulator.terminate()
        simulator.wait(timeout=30)
    return crawls


def _pacing(stdout: str) -> tuple[str, str]:
    """The summary's `N req/s reached` and `M req/s learned` figures ("-" from a crawl that has none)."""
    words = stdout.split(", ")
    reached = next((w for w in words if w.endswith(" reached")), "-").removesuffix(" req/s reached")
    learned = next((w for w in words if w.endswith(" learned")), "-").removesuffix(" learned")
    return reached, learned.removesuffix(" req/s")


def _sim(url: str, path: str, *, post: bool = False) -> dict[str, Any]:
    request = urllib.request.Request(url + path, method="POST" if post else "GET")  # noqa: S310
    with urllib.request.urlopen(request) as resp:  # noqa: S310 (our local simulator)
        stats: dict[str, Any] = orjson.loads(resp.read())
        return stats


def format_table(crawls: list[Crawl], args: argparse.Namespace) -> str:
    """The table the README shows."""
    header = ["limit/s", "crawl", "requests", "429s", "429 %", "run s", "bucket s", "ratio", "reached"]
    header.append("learned")
    lines = [" ".join(f"{h:>9}" for h in header) + "  data"]
    for c in crawls:
        cells = (
            f"{c.rate:g}", c.label, f"{c.requests:,}", f"{c.throttled:,}",
            f"{100 * c.throttled / c.requests:.1f}",
            f"{c.run_s:.2f}", f"{c.minimum_s:.2f}", f"{c.run_s / c.minimum_s:.2f}", c.reached, c.learned,
        )  # fmt: skip
        lines.append(" ".join(f"{x:>9}" for x in cells) + ("  exact" if c.exact else "  ! differs"))
    footer = (
        f"workload {args.workload}, page size {args.page_size}, latency {args.latency_ms} ms (jittered), "
        f"concurrency {args.concurrency}; bucket s = (ShowSyncJob calls granted - limit) / limit; "
        "ratio = run s / bucket s"
    )
    return "\n".join([*lines, footer])


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.pacing", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", default="50,100,200", help="the gateway's limits, calls/s per API")
    parser.add_argument("--workload", default="standard", help="bench.run's workloads: tiny, standard, large")
    parser.add_argument("--page-size", type=int, default=20, help="jobs per ShowSyncJob page")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="simulated API latency (mean)")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight")
    parser.add_argument(
        "--share", type=float, default=0.5, help="SWR_ETL_MAX_QUOTA_SHARE of a third crawl (0: none)"
    )
    parser.add_argument("--seed", type=int, default=7, help="simulator seed")
    parser.add_argument("--database-url", help="PostgreSQL server (SWR_ETL_BENCH_DATABASE_URL)")
    return parser


if __name__ == "__main__":
    raise SystemExit(main())
