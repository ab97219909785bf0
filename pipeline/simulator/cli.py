"""`swr-etl simulate` and `python -m pipeline.simulator`: serve until a signal; process launchers."""

from __future__ import annotations

import argparse
import asyncio
import signal
import subprocess
import sys

from pipeline.simulator.config import SimulatorConfig, add_arguments, config_from_args
from pipeline.simulator.server import SimulatorHandle, running_simulator

BANNER = "SWR simulator listening on "
STARTUP_TIMEOUT_S = 120.0


def build_parser() -> argparse.ArgumentParser:
    """The simulator's argument parser (every SimulatorConfig field as a flag)."""
    parser = argparse.ArgumentParser(
        prog="swr-etl simulate", description="Serve a simulated Huawei Cloud SWR (sync jobs) over HTTP."
    )
    add_arguments(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse flags, serve, print the URL as the first stdout line, run until SIGINT/SIGTERM."""
    ns = build_parser().parse_args(argv)
    try:
        config = config_from_args(ns)
    except ValueError as exc:
        print(f"swr-etl simulate: {exc}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_serve(config))
    except OSError as exc:  # e.g. the port is taken
        print(f"swr-etl simulate: cannot listen on {config.host}:{config.port}: {exc}", file=sys.stderr)
        return 1


async def _serve(config: SimulatorConfig) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):  # before the banner: whoever reads it may signal at once
        loop.add_signal_handler(signum, stop.set)
    async with running_simulator(config, config.host, config.port) as handle:
        print(BANNER + handle.url, flush=True)
        _print_details(config, handle)
        await stop.wait()
    return 0


def _print_details(config: SimulatorConfig, handle: SimulatorHandle) -> None:
    # The simulator's credentials are fake and printed on purpose: clients need them to connect.
    lines = [
        f"region: {config.region}",
        f"token (X-Auth-Token): {config.token}",
        f"IAM: POST {handle.url}/v3/auth/tokens user={config.iam_user} password={config.iam_password} "
        f"domain={config.iam_domain} project={config.region}",
    ]
    if config.ak is not None:
        lines.append(f"AK/SK (SDK-HMAC-SHA256): ak={config.ak} sk={config.sk}")
    summary = handle.state.summary()
    lines.append("dataset: " + ", ".join(f"{k}={v}" for k, v in summary.items()))
    lines.append(f"seed: {config.seed}, live: {config.live}")
    print("\n".join(lines), flush=True)


def _command(args: list[str]) -> list[str]:
    return [sys.executable, "-m", "pipeline.simulator", *args, "--port", "0"]


def _url_from(first_line: str) -> str:
    line = first_line.strip()
    if not line.startswith(BANNER):
        raise RuntimeError(f"simulator did not start: {line or 'no output'}")
    return line[len(BANNER) :]


async def start_simulator_process(args: list[str]) -> tuple[asyncio.subprocess.Process, str]:
    """Launch a simulator in its own process on a free port; return the process and its base URL."""
    process = await asyncio.create_subprocess_exec(*_command(args), stdout=asyncio.subprocess.PIPE)
    assert process.stdout is not None
    try:
        first = await asyncio.wait_for(process.stdout.readline(), STARTUP_TIMEOUT_S)
        return process, _url_from(first.decode())
    except BaseException:
        if process.returncode is None:
            process.kill()
        await process.wait()
        raise


def start_simulator_popen(args: list[str]) -> tuple[subprocess.Popen[bytes], str]:
    """The synchronous twin of start_simulator_process (stop it with .terminate() and .wait())."""
    process = subprocess.Popen(_command(args), stdout=subprocess.PIPE)
    assert process.stdout is not None
    try:
        return process, _url_from(process.stdout.readline().decode())
    except BaseException:
        process.kill()
        process.wait()
        raise
