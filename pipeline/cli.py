"""`swr-etl`: the thin shell that owns the process: arguments, settings, logging, signals, exit codes.

Exit codes: 0 ok, 1 fatal, 2 usage/config, 3 partial, 75 locked, 130/143 interrupted (SIGINT/SIGTERM).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import signal
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from pipeline import __version__
from pipeline.errors import ConfigError, FatalError
from pipeline.logs import configure_logging, get_logger, redactor
from pipeline.settings import Settings, load_settings

log = get_logger(__name__)
EXIT_USAGE = 2

# Flag name → settings key (ENV_KEYS name); flags override the file and the environment.
SOURCE_FLAGS = {
    "endpoint": "Base URL of SWR, e.g. https://swr-api.cn-north-4.myhuaweicloud.com (SWR_ETL_ENDPOINT)",
    "region": "Region label stored with every job (SWR_ETL_REGION; default from the endpoint host)",
    "namespaces": "Comma-separated namespaces to crawl (SWR_ETL_NAMESPACES; default: all visible)",
    "repositories": "Comma-separated namespace/repository list (SWR_ETL_REPOSITORIES)",
}
TUNING_FLAGS = {
    "concurrency": "Requests in flight at most (SWR_ETL_CONCURRENCY, default 32)",
    "page_size": "Jobs per page requested (SWR_ETL_PAGE_SIZE, default 100)",
    "batch_size": "Jobs per database upsert batch (SWR_ETL_BATCH_SIZE, default 5000)",
    "grace_period": "Seconds to commit in-flight work after SIGTERM (SWR_ETL_GRACE_PERIOD, default 20)",
    "max_duration": "Seconds the run may take: it then ends ok, the rest left for the next run "
    "(SWR_ETL_MAX_DURATION, default none)",
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every sub-command."""
    parser = argparse.ArgumentParser(prog="swr-etl", description="Crawl SWR image-sync jobs into PostgreSQL.")
    parser.add_argument("--version", action="version", version=f"swr-etl {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", help="TOML settings file (SWR_ETL_CONFIG)")
    common.add_argument("--database-url", help="PostgreSQL URL (SWR_ETL_DATABASE_URL, DATABASE_URL)")
    common.add_argument("--log-level", choices=("debug", "info", "warning", "error"))
    common.add_argument("--log-format", choices=("auto", "json", "console"))
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser(
        "migrate", parents=[common], help="Upgrade the database schema to the newest revision"
    )
    crawl = commands.add_parser(
        "crawl", parents=[common], help="Crawl every configured repository's sync jobs"
    )
    for name, text in {**SOURCE_FLAGS, **TUNING_FLAGS}.items():
        crawl.add_argument("--" + name.replace("_", "-"), dest=name, help=text)
    crawl.add_argument(
        "--full", action="store_true", default=None, help="Read every repository in full (SWR_ETL_FULL)"
    )
    report = commands.add_parser("report", parents=[common], help="Print what the database says")
    add_report_arguments(report)
    demo = commands.add_parser(
        "demo", parents=[common], help="Simulator + embedded PostgreSQL, crawl, report"
    )
    demo.add_argument("--data-dir", help="Where the embedded PostgreSQL keeps its data (default .data)")
    demo.add_argument("--namespaces", type=int, default=8, help="Simulated namespaces")
    demo.add_argument(
        "--repos-per-namespace", type=int, default=25, help="Simulated repositories per namespace"
    )
    demo.add_argument("--seed", type=int, default=7, help="Simulator seed")
    commands.add_parser(
        "simulate", add_help=False, help="Run the SWR simulator (see `swr-etl simulate --help`)"
    )
    return parser


def add_report_arguments(report: argparse.ArgumentParser) -> None:
    """The report's window, format and thresholds."""
    report.add_argument("--since", help="Jobs created since: a duration ago (90m, 36h, 7d, 2w) or a date")
    report.add_argument("--until", help="... and before: a duration ago or a date (default: now)")
    report.add_argument("--format", choices=("console", "json", "csv"), default="console", dest="output")
    report.add_argument(
        "--table", default="by_status", help="The table --format csv prints (by_status, daily, ...)"
    )
    report.add_argument("--html", type=Path, help="Also write the report as one self-contained HTML file")
    report.add_argument(
        "--stuck-after-minutes", type=float, default=60.0, help="waiting/running longer = stuck"
    )
    report.add_argument("--top", type=int, default=10, help="How many failing repositories to list")


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    keys = ["database_url", "log_level", "log_format", "full", *SOURCE_FLAGS, *TUNING_FLAGS]
    return {key: getattr(args, key) for key in keys if getattr(args, key, None) is not None}


def _check_report_arguments(args: argparse.Namespace) -> None:
    """Parse the window and check the CSV table name before anything connects."""
    from pipeline.report_output import TABLES  # noqa: PLC0415
    from pipeline.report_window import parse_window  # noqa: PLC0415

    args.window = parse_window(args.since, args.until)
    if args.table not in TABLES:
        raise ConfigError(f"--table {args.table!r}: choose one of {', '.join(TABLES)}")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `swr-etl` and `python -m pipeline`."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "simulate":
        from pipeline.simulator import main as simulate  # noqa: PLC0415 (only this command needs it)

        return simulate(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(
            config_path=args.config, overrides=_overrides(args), require_source=args.command == "crawl"
        )
        if args.command in ("crawl", "migrate", "report") and settings.database.url is None:
            raise ConfigError(
                "no database configured: set SWR_ETL_DATABASE_URL or SWR_ETL_DATABASE_URL_FILE"
                " (or DATABASE_URL)"
            )
        if args.command == "report":
            _check_report_arguments(args)
    except ConfigError as exc:
        print(f"swr-etl: error: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    # Each page allocates ~100 jobs' worth of short-lived, acyclic objects: with the default threshold
    # (700) the cyclic collector runs every few pages and rescans the survivors for nothing.
    gc.freeze()
    gc.set_threshold(100_000, 50, 50)
    configure_logging(settings.log_level, settings.log_format)
    redactor.register(settings.secrets())
    if settings.unrecognized_env:
        log.warning("environment_unrecognized", variables=list(settings.unrecognized_env))
    command = COMMANDS[args.command]
    return _run(lambda stop: command(settings, args, stop), settings)


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop when installed (it cuts the event loop's and aiohttp's CPU per request), else asyncio's."""
    try:
        import uvloop  # noqa: PLC0415
    except ImportError:
        return None
    return uvloop.new_event_loop


def _run(make: Callable[[Any], Coroutine[Any, Any, int]], settings: Settings) -> int:
    from pipeline.run import SIGNAL_EXIT, StopRequest  # noqa: PLC0415

    async def runner() -> int:
        stop = StopRequest()
        loop = asyncio.get_running_loop()

        def on_signal(signum: signal.Signals) -> None:
            if stop.signum is not None:
                # A second signal (Ctrl-C twice) means now: what is committed stays committed.
                log.warning("stop_forced", signal=signum.name)
                os._exit(SIGNAL_EXIT.get(stop.signum, 143))
            log.warning("stop_requested", signal=signum.name, grace_period=settings.grace_period)
            # The grace period is a promise: whatever is still running then, the process exits.
            loop.call_later(settings.grace_period, os._exit, SIGNAL_EXIT.get(signum, 143))
            stop.request(signum)

        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, on_signal, signum)
        return await make(stop)

    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as asyncio_runner:
            return asyncio_runner.run(runner())
    except FatalError as exc:
        log.error("fatal", error=exc.message, error_type=type(exc).__name__)
        print(f"swr-etl: {redactor.redact(exc.message)}", file=sys.stderr)
        return exc.exit_code


async def cmd_migrate(settings: Settings, args: argparse.Namespace, stop: Any) -> int:
    """Upgrade the schema to head."""
    from pipeline import migrate  # noqa: PLC0415

    assert settings.database.url is not None
    await migrate.upgrade_to_head_async(settings.database.url.reveal())
    head = migrate.head_revision()
    log.info("migrated", revision=head)
    print(f"database at revision {head}")
    return 0


async def cmd_crawl(settings: Settings, args: argparse.Namespace, stop: Any) -> int:
    """Crawl and print the one-line summary."""
    from pipeline.metrics import push_after  # noqa: PLC0415
    from pipeline.run import run_crawl  # noqa: PLC0415

    outcome = await push_after(run_crawl(settings, stop), settings, stop)
    print(outcome.summary())
    return outcome.exit_code


async def cmd_report(settings: Settings, args: argparse.Namespace, stop: Any) -> int:
    """Print the report from the database."""
    from pipeline.report import print_report  # noqa: PLC0415
    from pipeline.store import SessionOptions  # noqa: PLC0415

    assert settings.database.url is not None
    await print_report(
        settings.database.url.reveal(),
        window=args.window,
        stuck_after_minutes=args.stuck_after_minutes,
        top=args.top,
        output_format=args.output,
        csv_table=args.table,
        html=args.html,
        session=SessionOptions.from_settings(settings.database, "swr-etl report"),
    )
    if args.html is not None:
        print(f"wrote {args.html}", file=sys.stderr)
    return 0


async def cmd_demo(settings: Settings, args: argparse.Namespace, stop: Any) -> int:
    """The main job on embedded defaults."""
    from pipeline.demo import run_demo  # noqa: PLC0415

    return await run_demo(settings, args, stop)


COMMANDS: dict[str, Callable[[Settings, argparse.Namespace, Any], Coroutine[Any, Any, int]]] = {
    "migrate": cmd_migrate,
    "crawl": cmd_crawl,
    "report": cmd_report,
    "demo": cmd_demo,
}
