"""The simulator as a process: `python -m pipeline.simulator`, the launchers, flag validation."""

from __future__ import annotations

import argparse
import re
import signal

import aiohttp
import pytest

from pipeline.simulator import (
    SimulatorConfig,
    add_arguments,
    config_from_args,
    main,
    start_simulator_popen,
    start_simulator_process,
)
from tests.simulator.conftest import AUTH, sync_job_path


async def test_process_prints_its_url_first_and_serves(http: aiohttp.ClientSession) -> None:
    process, base = await start_simulator_process(
        ["--seed", "3", "--namespaces", "2", "--repos-per-namespace", "3"]
    )
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", base)
        assert process.stdout is not None
        details = (await process.stdout.readline()).decode()
        assert details.startswith("region: ")
        async with http.get(
            base + sync_job_path("acme", "team/app", "filter=limit::1|offset::0"), headers=AUTH
        ) as resp:
            assert resp.status == 200
    finally:
        process.send_signal(signal.SIGTERM)
        assert await process.wait() == 0


def test_popen_launcher_and_sigint() -> None:
    process, base = start_simulator_popen(["--namespaces", "1", "--repos-per-namespace", "1"])
    try:
        assert base.startswith("http://127.0.0.1:")
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0


def test_flags_map_onto_the_config() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert config_from_args(parser.parse_args([])) == SimulatorConfig()
    ns = parser.parse_args(
        ["--fault-429", "0.5", "--retry-after-s", "0.25", "--live", "--max-page-size", "7",
         "--heavy-repos", "2", "--ak", "a", "--sk", "sk-value", "--legacy-errors"]
    )  # fmt: skip
    config = config_from_args(ns)
    assert (config.fault_429, config.retry_after_s, config.live, config.max_page_size) == (0.5, 0.25, True, 7)
    assert (config.heavy_repos, config.ak, config.sk, config.legacy_errors) == (2, "a", "sk-value", True)
    assert "sk-value" not in repr(config)
    assert config.token not in repr(config)


@pytest.mark.parametrize(
    "argv", [["--fault-500", "1.5"], ["--ak", "only-ak"], ["--namespaces", "-1"], ["--anchor", "yesterday"]]
)
def test_invalid_flags_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "swr-etl simulate:" in capsys.readouterr().err
