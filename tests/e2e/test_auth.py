"""Acceptance: `swr-etl crawl` in each credential mode (token, IAM password, AK/SK) against the simulator.

The three modes give the same table; no secret reaches a log line, stdout, stderr or the database; a
revoked IAM token is refreshed once mid-crawl; wrong credentials end the run with one line and few requests.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import Any

import asyncpg
import pytest

from pipeline.simulator import SimulatorConfig, SimulatorHandle, running_simulator
from pipeline.simulator.auth import TokenStore
from tests import pg
from tests.e2e.helpers import (
    CliResult,
    assert_table_equals_truth,
    cli_env,
    finish,
    run_cli,
    start_cli,
    table_rows,
)

REGION = "cn-north-4"
# Distinctive values, plain ASCII, so a plain substring search finds them in JSON and in row text alike.
TOKEN, PASSWORD = "tok-e2e-SECRET-7f3a9c51", "pw-e2e-SECRET-2b8d41aa"
AK, SK, SECURITY_TOKEN = "AKE2E0000000000000001", "sk-e2e-SECRET-91c0de77", "st-e2e-SECRET-5e6f7081"
SIM = SimulatorConfig(
    port=0, seed=23, namespaces=3, repos_per_namespace=6, heavy_repos=1, max_jobs_per_repo=1200,
    region=REGION, token=TOKEN, iam_password=PASSWORD, ak=AK, sk=SK, security_token=SECURITY_TOKEN,
)  # fmt: skip
MODES = ("token", "iam", "aksk")
MODE_LABELS = {"token": "token", "iam": "IAM password", "aksk": "AK/SK"}


def credentials(mode: str, sim: SimulatorHandle, *, wrong: bool = False) -> dict[str, str]:
    """The SWR_ETL_* variables of one credential mode (with `wrong`, its secret is not the right one)."""
    bad = "wrong-" if wrong else ""
    if mode == "token":
        return {"SWR_ETL_TOKEN": bad + TOKEN}
    if mode == "iam":
        return {
            "SWR_ETL_IAM_USER": SIM.iam_user, "SWR_ETL_IAM_PASSWORD": bad + PASSWORD,
            "SWR_ETL_IAM_DOMAIN": SIM.iam_domain, "SWR_ETL_IAM_ENDPOINT": sim.url,
        }  # fmt: skip
    return {
        "SWR_ETL_AK": AK, "SWR_ETL_SK": bad + SK,
        "SWR_ETL_PROJECT_ID": "0123456789abcdef", "SWR_ETL_SECURITY_TOKEN": SECURITY_TOKEN,
    }  # fmt: skip


def crawl_env(sim: SimulatorHandle, database_url: str, mode: str, **extra: str) -> dict[str, str]:
    return cli_env(
        database_url,
        {"SWR_ETL_ENDPOINT": sim.url, "SWR_ETL_REGION": REGION, **credentials(mode, sim), **extra},
    )


def issued_tokens(count: int) -> list[str]:
    """The tokens the simulator's IAM issued (deterministic from the seed): secrets too."""
    store = TokenStore(SIM.seed)
    return [store.issue(0.0, 1.0) for _ in range(count)]


async def database_dump(conn: asyncpg.Connection) -> str:
    """Every row of every table in the public schema as text, plus crawl_runs.settings on its own."""
    tables = await conn.fetch(
        "SELECT quote_ident(tablename) AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
    )
    assert {"sync_jobs", "crawl_runs"} <= {t["name"] for t in tables}
    parts = []
    for table in tables:
        rows = await conn.fetch(f"SELECT t::text AS row FROM {table['name']} t")
        parts.append("\n".join(f"{table['name']}: {r['row']}" for r in rows))
    settings = await conn.fetch("SELECT settings::text AS s FROM crawl_runs")
    parts.append("\n".join(f"crawl_runs.settings: {r['s']}" for r in settings))
    return "\n".join(parts)


def leaks(places: Mapping[str, str], secrets: Iterable[str]) -> list[tuple[str, str]]:
    """(place, secret) for every secret found anywhere in the given texts."""
    return [
        (place, secret[:8] + "…") for place, text in places.items() for secret in secrets if secret in text
    ]


@dataclasses.dataclass(frozen=True)
class ModeRun:
    """One debug-logged crawl in one mode, into its own database."""

    mode: str
    database_url: str
    result: CliResult
    stats: dict[str, Any]


@pytest.fixture(scope="module")
async def sim() -> AsyncIterator[SimulatorHandle]:
    async with running_simulator(SIM) as handle:
        yield handle


@pytest.fixture(scope="module")
async def mode_runs(
    sim: SimulatorHandle,
    pg_server_dsn: str,
    _template_database: str,
    _database_factory: Callable[[str | None], Awaitable[tuple[str, str]]],
) -> AsyncIterator[dict[str, ModeRun]]:
    """A crawl with SWR_ETL_LOG_LEVEL=debug in each mode, each into a fresh database of its own."""
    runs, names = {}, []
    try:
        for mode in MODES:
            name, url = await _database_factory(_template_database)
            names.append(name)
            sim.reset_stats()
            result = await run_cli(
                "crawl", env=crawl_env(sim, url, mode, SWR_ETL_LOG_LEVEL="debug", SWR_ETL_PAGE_SIZE="25")
            )
            runs[mode] = ModeRun(mode, url, result, sim.stats())
        yield runs
    finally:
        for name in names:
            await pg.drop_database(pg_server_dsn, name)


async def test_the_three_modes_give_the_same_table(
    sim: SimulatorHandle, mode_runs: dict[str, ModeRun]
) -> None:
    for run in mode_runs.values():
        assert run.result.code == 0, (run.mode, run.result.stdout, run.result.stderr[-2000:])
        assert run.stats["auth_failures"] == 0
        assert run.result.stdout.startswith("run 1 ok: 18 repositories (0 failed")
    tables = {mode: await table_rows(run.database_url, REGION) for mode, run in mode_runs.items()}
    assert len(tables["token"]) == len(sim.ground_truth()) > 1000
    assert any("/" in row["repo_name"] for row in tables["token"].values())  # sent as '$', signed as %24
    assert tables["iam"] == tables["token"]
    assert tables["aksk"] == tables["token"]
    await assert_table_equals_truth(mode_runs["aksk"].database_url, REGION, sim.ground_truth())


async def test_a_whole_iam_crawl_makes_one_iam_call(mode_runs: dict[str, ModeRun]) -> None:
    stats = mode_runs["iam"].stats
    assert stats["iam_token_requests"] == 1
    assert stats["requests_by_endpoint"]["sync_job"] > 32  # more requests than the default concurrency
    assert all(mode_runs[m].stats["iam_token_requests"] == 0 for m in ("token", "aksk"))


async def test_no_secret_in_logs_output_or_database(mode_runs: dict[str, ModeRun]) -> None:
    secrets = [TOKEN, PASSWORD, SK, SECURITY_TOKEN, *issued_tokens(1)]
    places: dict[str, str] = {}
    for mode, run in mode_runs.items():
        events = [json.loads(line) for line in run.result.stderr.splitlines() if line.strip()]
        assert sum(e["level"] == "debug" for e in events) > 10  # debug logging really was on
        places[f"{mode}: log events"] = "\n".join(json.dumps(e, ensure_ascii=False) for e in events)
        places[f"{mode}: stderr"] = run.result.stderr
        places[f"{mode}: stdout"] = run.result.stdout
        conn = await asyncpg.connect(run.database_url)
        try:
            places[f"{mode}: database"] = await database_dump(conn)
            # The search can fail: a secret planted in a row, a JSON setting and a log line is found.
            planting = conn.transaction()
            await planting.start()
            await conn.execute("UPDATE sync_jobs SET tag = $1 WHERE id = (SELECT min(id) FROM sync_jobs)", SK)
            await conn.execute(
                "UPDATE crawl_runs SET settings = settings || jsonb_build_object('x', $1::text)", PASSWORD
            )
            planted = await database_dump(conn)
            await planting.rollback()  # the planted values never stay
        finally:
            await conn.close()
        assert {s for _, s in leaks({"planted": planted}, secrets)} == {SK[:8] + "…", PASSWORD[:8] + "…"}
        planted_log = run.result.stderr + json.dumps({"event": "x", "token": issued_tokens(1)[0]}) + "\n"
        assert leaks({"planted log": planted_log}, secrets)
    assert len(places) == 12 and all(places.values())
    assert leaks(places, secrets) == []


async def test_revoked_iam_token_is_refreshed_once_mid_crawl(database_url: str) -> None:
    config = dataclasses.replace(SIM, latency_ms=20.0)
    async with running_simulator(config) as sim:
        env = crawl_env(sim, database_url, "iam", SWR_ETL_CONCURRENCY="4", SWR_ETL_PAGE_SIZE="20")
        proc = await start_cli("crawl", env=env)
        # Wait (polling the simulator, not a clock) until the crawl is well under way, then revoke.
        while sim.stats()["requests_by_endpoint"].get("sync_job", 0) < 10:
            assert proc.returncode is None
            await asyncio.sleep(0.005)
        revoked = sim.state.tokens.revoke_all()
        result = await finish(proc)
        stats = sim.stats()
    assert revoked == 1
    assert result.code == 0, result.stdout + result.stderr[-2000:]
    assert stats["iam_token_requests"] == 2  # the first token, and one refresh shared by every request
    assert 1 <= stats["responses_by_status"]["401"] <= 4  # only the requests in flight met the revoked one
    await assert_table_equals_truth(database_url, REGION, sim.ground_truth())


@pytest.mark.parametrize("mode", MODES)
async def test_wrong_credentials_end_the_run_with_one_line(
    sim: SimulatorHandle, database_url: str, mode: str
) -> None:
    sim.reset_stats()
    env = cli_env(
        database_url,
        {"SWR_ETL_ENDPOINT": sim.url, "SWR_ETL_REGION": REGION, **credentials(mode, sim, wrong=True)},
    )
    result = await run_cli("crawl", env=env)
    assert result.code == 1
    [line] = result.stdout.splitlines()
    assert line.startswith("run 1 failed: 0 repositories")
    assert f"— {MODE_LABELS[mode]} authentication failed (HTTP 401" in line
    check = {"token": "SWR_ETL_TOKEN", "iam": "SWR_ETL_IAM_PASSWORD", "aksk": "SWR_ETL_SK"}[mode]
    assert check in line
    assert "Traceback" not in result.stderr
    stats = sim.stats()
    assert stats["requests_total"] <= 2  # one refresh at most, never a retry storm
    assert stats["iam_token_requests"] == (1 if mode == "iam" else 0)
    for secret in ("wrong-" + TOKEN, "wrong-" + PASSWORD, "wrong-" + SK, SECURITY_TOKEN):
        assert secret not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"SWR_ETL_TOKEN": TOKEN, "SWR_ETL_AK": AK, "SWR_ETL_SK": SK}, "found token, aksk"),
        ({}, "found none"),
        ({"SWR_ETL_AK": AK}, "needs both SWR_ETL_AK and SWR_ETL_SK"),
    ],
)
async def test_not_exactly_one_mode_is_a_usage_error(
    database_url: str, variables: dict[str, str], expected: str
) -> None:
    env = cli_env(
        database_url, {"SWR_ETL_ENDPOINT": "http://127.0.0.1:9", "SWR_ETL_REGION": REGION, **variables}
    )
    result = await run_cli("crawl", env=env)
    assert result.code == 2 and result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("swr-etl: error: ") and expected in line
    assert TOKEN not in line and SK not in line
