"""The documented install path: a wheel built from the checkout, installed in a fresh venv, migrating and
crawling from a directory that holds nothing of the checkout."""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

import pytest

from pipeline import migrate
from pipeline.simulator import running_simulator
from tests.e2e.helpers import REGION, assert_table_equals_truth, cli_env, fetch, sim_env
from tests.e2e.resilience import DATASET

ROOT = Path(__file__).resolve().parents[2]
# What the wheel is built from; anything else in the checkout (tests, .venv, alembic.ini) stays behind.
SOURCES = ("pyproject.toml", "README.md", "pipeline", "migrations")
STEP_TIMEOUT_S = 120.0


async def run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run a process to completion (with a deadline); its exit code and combined output."""
    proc = await asyncio.create_subprocess_exec(
        *map(str, command), cwd=cwd, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), STEP_TIMEOUT_S)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError(f"{command} did not finish in {STEP_TIMEOUT_S} s") from None
    assert proc.returncode is not None
    return proc.returncode, out.decode(errors="replace")


async def build_wheel(tmp: Path) -> Path:
    """`pip wheel` of a copy of the checkout's sources (the build leaves nothing in the checkout)."""
    source = tmp / "source"
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            source.mkdir(exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    code, out = await run(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", tmp / "dist", source, cwd=tmp
    )
    assert code == 0, out
    (wheel,) = (tmp / "dist").glob("swr_sync_etl-*.whl")
    return wheel


def wheelhouse(config: pytest.Config, tmp_path: Path) -> Path:
    """The dependencies' wheels, kept in pytest's cache across runs (a fresh folder without the cache)."""
    cache = getattr(config, "cache", None)  # absent under `-p no:cacheprovider`
    if cache is None:
        return tmp_path / "wheelhouse"
    return Path(cache.mkdir("wheelhouse"))


def forget_project_wheels(wheelhouse: Path) -> None:
    """Only dependencies are cached: the project's wheel is rebuilt every run."""
    for ours in wheelhouse.glob("swr_sync_etl-*.whl"):
        ours.unlink()


async def install(venv: Path, wheel: Path, wheelhouse: Path) -> None:
    """Install the wheel offline from the wheelhouse; fill the wheelhouse from the index when it lacks a
    dependency (the first run), so later runs download nothing."""
    pip: list[str | Path] = [venv / "bin" / "python", "-m", "pip", "--disable-pip-version-check", "--quiet"]
    offline: list[str | Path] = [*pip, "install", "--no-index", "--find-links", wheelhouse, wheel]
    code, out = await run(*offline, cwd=venv)
    if code != 0:
        code, out = await run(*pip, "wheel", "--find-links", wheelhouse, "-w", wheelhouse, wheel, cwd=venv)
        assert code == 0, out
        forget_project_wheels(wheelhouse)
        code, out = await run(*offline, cwd=venv)
    assert code == 0, out


@pytest.mark.slow
async def test_a_wheel_installed_in_a_fresh_venv_migrates_and_crawls_from_anywhere(
    tmp_path: Path, empty_database_url: str, pytestconfig: pytest.Config
) -> None:
    wheel = await build_wheel(tmp_path)
    venv = tmp_path / "venv"
    code, out = await run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    assert code == 0, out
    await install(venv, wheel, wheelhouse(pytestconfig, tmp_path))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    swr_etl = venv / "bin" / "swr-etl"

    code, out = await run(
        venv / "bin" / "python", "-c", "import pipeline; print(pipeline.__file__)", cwd=elsewhere
    )
    assert code == 0 and out.startswith(str(venv)), out  # the installed package, not the checkout

    code, out = await run(swr_etl, "migrate", cwd=elsewhere, env=cli_env(empty_database_url))
    assert code == 0, out
    assert f"database at revision {migrate.head_revision()}" in out

    async with running_simulator(DATASET) as sim:
        truth = sim.ground_truth()
        code, out = await run(swr_etl, "crawl", cwd=elsewhere, env=sim_env(sim, empty_database_url))
    assert code == 0, out
    await assert_table_equals_truth(empty_database_url, REGION, truth)
    runs = await fetch(empty_database_url, "SELECT status FROM crawl_runs")
    assert [r["status"] for r in runs] == ["ok"]

    # The embedded PostgreSQL is an extra this install does not have: one line says so.
    code, out = await run(swr_etl, "demo", cwd=elsewhere, env=cli_env(None))
    assert code == 2, out
    assert (
        "swr-etl: the embedded PostgreSQL is an optional extra: pip install 'swr-sync-etl[embedded]'" in out
    )
    assert "Traceback" not in out
    assert list(elsewhere.iterdir()) == []  # nothing was created before the refusal
