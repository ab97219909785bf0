"""`swr-etl demo`: the main job on embedded defaults, needing nothing installed.

An embedded PostgreSQL in a git-ignored data folder (unless a database URL is configured), the simulator
in-process, then migrate, crawl and report. A second demo reuses the data: the crawl then writes nothing.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pipeline import migrate
from pipeline.embedded_db import EmbeddedPostgres, postgres_bin_path
from pipeline.logs import get_logger
from pipeline.report import print_report
from pipeline.report_window import Window
from pipeline.run import StopRequest, run_crawl
from pipeline.settings import Secret, Settings, SourceSettings
from pipeline.simulator.config import SimulatorConfig, anchor_us
from pipeline.simulator.server import running_simulator
from pipeline.store import ensure_database

log = get_logger(__name__)
DEMO_DATABASE = "swr_etl_demo"
ANCHOR_FILE = "demo-anchor"
REPORT_FILE = "report.html"


def demo_anchor(data_dir: Path) -> str:
    """The dataset's "now", fixed by the first demo and kept beside its data.

    The simulator's default anchor is the current hour: without this, a demo run in a later hour would
    see every timestamp shifted and rewrite every row, breaking "a second demo writes nothing".
    """
    path = data_dir / ANCHOR_FILE
    if path.exists():
        kept = path.read_text(encoding="utf-8").strip()
        try:
            anchor_us(kept)
            return kept
        except ValueError:
            log.warning("demo_anchor_invalid", path=str(path))
    anchor = datetime.now(UTC).replace(minute=0, second=0, microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    data_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(anchor + "\n", encoding="utf-8")
    return anchor


async def run_demo(settings: Settings, args: argparse.Namespace, stop: StopRequest) -> int:
    """Start what is missing, crawl the simulator into PostgreSQL, print the report."""
    embedded: EmbeddedPostgres | None = None
    data_dir = Path(args.data_dir or settings.data_dir)
    if settings.database.url is None:
        postgres_bin_path()  # ConfigError naming the [embedded] extra when it is not installed
        print(f"starting embedded PostgreSQL in {data_dir / 'postgres'} ...", flush=True)
        embedded = EmbeddedPostgres(data_dir / "postgres")
        server_dsn = await asyncio.to_thread(embedded.start)
        database_url = await ensure_database(server_dsn, DEMO_DATABASE)
    else:
        database_url = settings.database.url.reveal()
    try:
        await migrate.upgrade_to_head_async(database_url)
        sim_config = SimulatorConfig(
            port=0,
            seed=args.seed,
            namespaces=args.namespaces,
            repos_per_namespace=args.repos_per_namespace,
            anchor=demo_anchor(data_dir),
        )
        async with running_simulator(sim_config) as sim:
            print(
                f"simulator at {sim.url}: {len(sim.repositories())} repositories, "
                f"dataset as of {sim_config.anchor} (kept in {data_dir / ANCHOR_FILE})",
                flush=True,
            )
            source = SourceSettings(
                endpoint=sim.url, region=sim_config.region, token=Secret(sim_config.token)
            )
            crawl_settings = replace(
                settings, sources=(source,), database=replace(settings.database, url=Secret(database_url))
            )
            outcome = await run_crawl(crawl_settings, stop)
            print(outcome.summary(), flush=True)
        print()
        # A kept dataset is anchored when the first demo ran: the window runs from 30 days before
        # that anchor to now, so every chart has something in it however old the data is.
        anchor = datetime.fromisoformat(sim_config.anchor or "")
        html = data_dir / REPORT_FILE
        window = Window(anchor - timedelta(days=30), max(datetime.now(UTC), anchor + timedelta(seconds=1)))
        await print_report(database_url, window=window, stuck_after_minutes=60, top=10, html=html)
        print(f"\nHTML report written to {html.resolve()}")
        if embedded is not None:
            print(f"\ndata kept in {embedded.data_dir} (PostgreSQL stops now; the next demo reuses it)")
        return outcome.exit_code
    finally:
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)
