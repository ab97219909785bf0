"""How many sync_job pages per second the simulator serves.

The simulator runs in its own process and is driven by client processes (aiohttp, keep-alive), so
server and client never share an event loop or a core's worth of GIL.

    .venv/bin/python -m bench.sim_throughput [--duration 5] [--concurrency 32] [--clients 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import shlex
import signal
import time
import urllib.request
from typing import Any

import aiohttp

from pipeline.simulator import SimulatorConfig, start_simulator_popen

TOKEN = SimulatorConfig().token


def _page_paths(base: str, page_size: int, full_only: bool) -> list[str]:
    """Every page of every repository (limit page_size), '$' for '/' in names; maybe full pages only."""
    with urllib.request.urlopen(base + "/_sim/repositories") as resp:  # noqa: S310 (our own local URL)
        listing = json.load(resp)
    paths = []
    for repo in listing["repositories"]:
        name = repo["name"].replace("/", "$")
        last = repo["jobs"] - page_size if full_only else max(repo["jobs"], 1) - 1
        for offset in range(0, last + 1, page_size):
            query = f"filter=limit::{page_size}|offset::{offset}"
            paths.append(f"/v2/manage/namespaces/{repo['namespace']}/repos/{name}/sync_job?{query}")
    return paths


async def _drive(base: str, paths: list[str], duration: float, concurrency: int) -> dict[str, Any]:
    from yarl import URL  # noqa: PLC0415  (imported in the client process only)

    urls = [URL(base + p, encoded=True) for p in paths]
    counts: dict[str, float] = {"pages": 0, "jobs": 0, "errors": 0}
    latencies: list[float] = []
    deadline = time.monotonic() + duration
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers={"X-Auth-Token": TOKEN}) as http:

        async def worker(start: int) -> None:
            i = start
            while time.monotonic() < deadline:
                began = time.monotonic()
                async with http.get(urls[i % len(urls)]) as resp:
                    body = await resp.read()
                latencies.append(time.monotonic() - began)
                if resp.status == 200:
                    counts["pages"] += 1
                    counts["jobs"] += body.count(b'"id":')
                else:
                    counts["errors"] += 1
                i += concurrency

        await asyncio.gather(*(worker(k) for k in range(concurrency)))
    latencies.sort()
    counts["p50_ms"] = round(1000 * latencies[len(latencies) // 2], 2) if latencies else 0
    counts["p99_ms"] = round(1000 * latencies[int(len(latencies) * 0.99)], 2) if latencies else 0
    return counts


def _client(base: str, paths: list[str], duration: float, concurrency: int, out: Any) -> None:
    out.put(asyncio.run(_drive(base, paths, duration, concurrency)))


def main(argv: list[str] | None = None) -> int:
    """Start a simulator process, drive it from client processes, print pages/s and jobs/s."""
    parser = argparse.ArgumentParser(prog="python -m bench.sim_throughput", description=__doc__)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds of load (default 5)")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight per client")
    parser.add_argument("--clients", type=int, default=1, help="client processes (default 1)")
    parser.add_argument("--page-size", type=int, default=100, help="limit of each page (default 100)")
    parser.add_argument(
        "--all-pages",
        action="store_true",
        help="also request partial pages (default: only pages holding a full --page-size of jobs)",
    )
    parser.add_argument(
        "--sim-args",
        default="--namespaces 20 --repos-per-namespace 50",
        help="flags for the simulator (default: 20 namespaces x 50 repositories, ~30k jobs)",
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    process, base = start_simulator_popen(shlex.split(args.sim_args))
    try:
        print(f"simulator {base} ready in {time.monotonic() - started:.1f}s ({args.sim_args})")
        paths = _page_paths(base, args.page_size, full_only=not args.all_pages)
        print(f"{len(paths)} distinct pages")
        context = multiprocessing.get_context("spawn")
        out = context.Queue()
        clients = [
            context.Process(target=_client, args=(base, paths, args.duration, args.concurrency, out))
            for _ in range(args.clients)
        ]
        for client in clients:
            client.start()
        results = [out.get() for _ in clients]
        for client in clients:
            client.join()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    pages = sum(r["pages"] for r in results)
    jobs = sum(r["jobs"] for r in results)
    errors = sum(r["errors"] for r in results)
    p50 = max(r["p50_ms"] for r in results)
    p99 = max(r["p99_ms"] for r in results)
    print(
        f"{pages / args.duration:,.0f} pages/s, {jobs / args.duration:,.0f} jobs/s "
        f"(limit {args.page_size}, {args.clients}x{args.concurrency} in flight, {args.duration:g}s, "
        f"{errors} errors, p50 {p50} ms, p99 {p99} ms)"
    )
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
