"""Acceptance: the CLI's contract — schema check, configuration, selection, regions, logs, the report.

Every test runs `swr-etl` as a subprocess; crawls go to the in-process simulator over real HTTP and land
in a real PostgreSQL.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pipeline.simulator import SimulatorConfig, SimulatorHandle, running_simulator
from tests.e2e.helpers import assert_table_equals_truth, cli_env, fetch, run_cli, sources_file
from tests.e2e.summary import summary_of

REGION = "cn-north-4"
TOKEN = SimulatorConfig().token
SMALL = SimulatorConfig(port=0, seed=5, namespaces=4, repos_per_namespace=8, heavy_repos=1)


def crawl_env(sim: SimulatorHandle, database_url: str | None, **extra: str) -> dict[str, str]:
    """CLI environment crawling `sim` with its static token into `database_url`."""
    return cli_env(database_url, {"SWR_ETL_ENDPOINT": sim.url, "SWR_ETL_TOKEN": TOKEN, **extra})


def plain_lines(stderr: str) -> list[str]:
    """The stderr lines that are not JSON log events (what a person reads)."""
    return [line for line in stderr.splitlines() if line.strip() and not line.startswith("{")]


def truth_of(truth: list[dict[str, Any]], keep: set[tuple[str, str]]) -> list[dict[str, Any]]:
    """The ground-truth jobs of the given (namespace, repository) pairs."""
    return [job for job in truth if (job["namespace"], job["repoName"]) in keep]


# --- schema ---------------------------------------------------------------------------------------------


async def test_crawl_refuses_an_unmigrated_database_then_migrate_makes_it_work(
    empty_database_url: str,
) -> None:
    async with running_simulator(SMALL) as sim:
        env = crawl_env(sim, empty_database_url, SWR_ETL_REGION=REGION)
        refused = await run_cli("crawl", env=env)
        assert refused.code == 1
        assert refused.stdout == ""
        [message] = plain_lines(refused.stderr)
        assert "swr-etl migrate" in message and "Traceback" not in refused.stderr
        assert sim.stats()["requests_total"] == 0  # refused before touching SWR

        report = await run_cli("report", env=env)
        assert report.code == 1
        assert "swr-etl migrate" in plain_lines(report.stderr)[0] and len(plain_lines(report.stderr)) == 1

        migrated = await run_cli("migrate", env=env)
        assert migrated.code == 0, migrated.stderr
        crawled = await run_cli("crawl", env=env)
        assert crawled.code == 0, crawled.stderr
        assert summary_of(crawled.stdout).inserted == len(sim.ground_truth())
        await assert_table_equals_truth(empty_database_url, REGION, sim.ground_truth())


@pytest.mark.parametrize("command", ["migrate", "crawl", "report"])
async def test_an_unreachable_database_is_one_line_exit_1(command: str) -> None:
    env = cli_env(
        "postgresql://swr:pa55word-x@127.0.0.1:1/swr",
        {"SWR_ETL_ENDPOINT": "http://127.0.0.1:1", "SWR_ETL_TOKEN": "t0ken-value"},
    )
    result = await run_cli(command, env=env)
    assert result.code == 1
    [message] = plain_lines(result.stderr)
    assert "127.0.0.1:1/swr" in message and "Traceback" not in result.stderr
    assert "pa55word-x" not in result.stderr + result.stdout


# --- configuration errors -------------------------------------------------------------------------------

BAD_SETTINGS = {
    "bad concurrency": ({"SWR_ETL_CONCURRENCY": "many"}, None, "concurrency"),
    "zero concurrency": ({"SWR_ETL_CONCURRENCY": "0"}, None, "concurrency"),
    "missing endpoint": ({"SWR_ETL_ENDPOINT": ""}, None, "SWR_ETL_ENDPOINT"),
    "endpoint not a URL": ({"SWR_ETL_ENDPOINT": "swr.example"}, None, "endpoint"),
    "two credential modes": ({"SWR_ETL_AK": "ak", "SWR_ETL_SK": "sk-value"}, None, "credential mode"),
    "no credentials": ({"SWR_ETL_TOKEN": ""}, None, "credential mode"),
    "unknown key in file": ({}, "[http]\nconcurency = 4\n", "http.concurency"),
    "unknown section in file": ({}, "[htp]\nconcurrency = 4\n", "htp"),
    "bad repository": ({"SWR_ETL_REPOSITORIES": "just-a-name"}, None, "repositories"),
    "section not a table": ({}, "http = 5\n", "[http]"),
    "section an array": ({}, "[[run]]\ngrace_period = 1\n", "[run]"),
    "sources not tables": ({}, "sources = [1, 2]\n", "[[sources]]"),
    "file not TOML": ({}, "[http\n", "not valid TOML"),
}


@pytest.mark.parametrize(("env_extra", "file_text", "named"), BAD_SETTINGS.values(), ids=BAD_SETTINGS)
async def test_a_bad_setting_is_one_line_exit_2(
    tmp_path: Path, env_extra: dict[str, str], file_text: str | None, named: str
) -> None:
    env = cli_env(
        "postgresql://nobody@127.0.0.1:1/none",
        {"SWR_ETL_ENDPOINT": "http://127.0.0.1:1", "SWR_ETL_TOKEN": "t0ken-value", **env_extra},
    )
    args = ["crawl"]
    if file_text is not None:
        (tmp_path / "swr-etl.toml").write_text(file_text)
        args += ["--config", str(tmp_path / "swr-etl.toml")]
    result = await run_cli(*args, env=env)
    assert result.code == 2, result
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("swr-etl: error: "), result.stderr
    assert named in lines[0]


async def test_crawl_without_a_database_is_a_usage_error() -> None:
    env = cli_env(None, {"SWR_ETL_ENDPOINT": "http://127.0.0.1:1", "SWR_ETL_TOKEN": "t0ken-value"})
    result = await run_cli("crawl", env=env)
    assert result.code == 2
    assert result.stderr.splitlines() == [
        "swr-etl: error: no database configured: set SWR_ETL_DATABASE_URL or SWR_ETL_DATABASE_URL_FILE"
        " (or DATABASE_URL)"
    ]


# --- configuration sources and precedence --------------------------------------------------------------


async def test_config_file_env_and_flags_layer_in_order(database_url: str, tmp_path: Path) -> None:
    """--config and SWR_ETL_CONFIG both load the file; the environment beats it; flags beat both."""
    async with running_simulator(SMALL) as sim:
        config = tmp_path / "swr-etl.toml"
        config.write_text(
            f'[source]\nendpoint = "{sim.url}"\ntoken = "{TOKEN}"\nregion = "from-file"\n'
            'repositories = ["acme/team/app"]\n'
        )
        base = cli_env(database_url)
        truth = truth_of(sim.ground_truth(), {("acme", "team/app")})
        assert truth

        by_flag = await run_cli("crawl", "--config", str(config), env=base)
        by_env = await run_cli("crawl", env={**base, "SWR_ETL_CONFIG": str(config), "SWR_ETL_REGION": "env"})
        by_arg = await run_cli(
            "crawl", "--region", "flag", env={**base, "SWR_ETL_CONFIG": str(config), "SWR_ETL_REGION": "env"}
        )
    for result in (by_flag, by_env, by_arg):
        assert result.code == 0, result.stderr
    for region in ("from-file", "env", "flag"):
        await assert_table_equals_truth(database_url, region, truth)
    regions = await fetch(database_url, "SELECT DISTINCT region FROM sync_jobs ORDER BY 1")
    assert [r["region"] for r in regions] == ["env", "flag", "from-file"]


async def test_namespaces_are_matched_exactly_and_flags_override_env(database_url: str) -> None:
    """The API matches `acme` fuzzily (`acme-mirror` too); only `acme` may be crawled."""
    async with running_simulator(SMALL) as sim:
        truth = sim.ground_truth()
        assert {"acme", "acme-mirror"} <= {ns for ns, _ in sim.repositories()}
        assert any(job["namespace"] == "acme-mirror" for job in truth)
        by_env = await run_cli(
            "crawl", env=crawl_env(sim, database_url, SWR_ETL_REGION="env", SWR_ETL_NAMESPACES="acme")
        )
        # The environment says `data`; the flag wins.
        env = crawl_env(sim, database_url, SWR_ETL_REGION="flag", SWR_ETL_NAMESPACES="data")
        by_flag = await run_cli("crawl", "--namespaces", "acme", env=env)
    acme = {repo for repo in sim.repositories() if repo[0] == "acme"}
    for result, region in ((by_env, "env"), (by_flag, "flag")):
        assert result.code == 0, result.stderr
        assert summary_of(result.stdout).repositories == len(acme)
        await assert_table_equals_truth(database_url, region, truth_of(truth, acme))


async def test_repositories_select_exactly_those(database_url: str) -> None:
    async with running_simulator(SMALL) as sim:
        truth = sim.ground_truth()
        repos = sim.repositories()
        mirror_slashed = next(r for r in repos if r[0] == "acme-mirror" and "/" in r[1])
        plain = next(r for r in repos if r[0] not in ("acme", "acme-mirror") and "/" not in r[1])
        wanted = {("acme", "team/app"), mirror_slashed, plain}
        listed = ",".join(f"{ns}/{name}" for ns, name in sorted(wanted))
        env = crawl_env(sim, database_url, SWR_ETL_REGION=REGION, SWR_ETL_REPOSITORIES=listed)
        result = await run_cli("crawl", env=env)
    assert result.code == 0, result.stderr
    assert summary_of(result.stdout).repositories == 3
    selected = truth_of(truth, wanted)
    assert {(job["namespace"], job["repoName"]) for job in selected} == wanted  # each holds jobs
    await assert_table_equals_truth(database_url, REGION, selected)


async def test_region_label_from_env_and_default(database_url: str) -> None:
    async with running_simulator(SMALL) as sim:
        only = "acme/team/app"
        labelled = await run_cli(
            "crawl", env=crawl_env(sim, database_url, SWR_ETL_REGION="ap-test-9", SWR_ETL_REPOSITORIES=only)
        )
        # A 127.0.0.1 endpoint does not name a region: the label is `default`.
        unlabelled = await run_cli("crawl", env=crawl_env(sim, database_url, SWR_ETL_REPOSITORIES=only))
    assert labelled.code == unlabelled.code == 0
    rows = await fetch(database_url, "SELECT region, count(*) AS n FROM sync_jobs GROUP BY 1 ORDER BY 1")
    jobs = len(truth_of(sim.ground_truth(), {("acme", "team/app")}))
    assert [(r["region"], r["n"]) for r in rows] == [("ap-test-9", jobs), ("default", jobs)]


async def test_several_sources_in_one_file_crawled_in_one_run(database_url: str, tmp_path: Path) -> None:
    """Two simulators as two regions; the same dataset gives the same ids in both: the key is (region, id)."""
    async with running_simulator(SMALL) as sim1, running_simulator(SMALL) as sim2:
        regions = [(sim1.url, "region-one", TOKEN), (sim2.url, "region-two", TOKEN)]
        config = sources_file(tmp_path / "regions.toml", *regions)
        truth1, truth2 = sim1.ground_truth(), sim2.ground_truth()
        assert {j["id"] for j in truth1} & {j["id"] for j in truth2}
        result = await run_cli("crawl", "--config", str(config), env=cli_env(database_url))
    assert result.code == 0, result.stderr
    summary = summary_of(result.stdout)
    assert summary.repositories == len(sim1.repositories()) + len(sim2.repositories())
    assert summary.inserted == len(truth1) + len(truth2)
    await assert_table_equals_truth(database_url, "region-one", truth1)
    await assert_table_equals_truth(database_url, "region-two", truth2)
    [run] = await fetch(database_url, "SELECT sources FROM crawl_runs")
    assert sorted(run["sources"]) == ["region-one", "region-two"]


# --- logs -----------------------------------------------------------------------------------------------


async def test_logs_are_json_events_with_the_run_id(database_url: str) -> None:
    async with running_simulator(SMALL) as sim:
        env = crawl_env(sim, database_url, SWR_ETL_LOG_LEVEL="debug")
        del env["SWR_ETL_LOG_FORMAT"]  # auto: JSON because stderr is a pipe, not a terminal
        debug = await run_cli("crawl", env=env)
        info = await run_cli("crawl", env={**env, "SWR_ETL_LOG_LEVEL": "info"})
    assert debug.code == info.code == 0
    assert TOKEN not in debug.stderr + info.stderr
    for result in (debug, info):
        run_id = summary_of(result.stdout).run_id
        events = [json.loads(line) for line in result.stderr.splitlines()]
        assert all(e["run_id"] == run_id for e in events if e["event"] != "migrated")
        names = [e["event"] for e in events]
        assert names[0] == "run_started" and names[-1] == "run_finished"
        assert names.count("source_done") == 1
        finished = events[-1]
        assert finished["status"] == "ok" and finished["inserted"] >= 0
    repo_done = [e for e in map(json.loads, debug.stderr.splitlines()) if e["event"] == "repo_done"]
    assert len(repo_done) == len(sim.repositories())
    assert all(e["level"] == "debug" for e in repo_done)
    assert "repo_done" not in info.stderr


async def test_a_misspelled_variable_is_a_warning_naming_it_not_its_value(database_url: str) -> None:
    env = cli_env(database_url, {"SWR_ETL_DATABASE_UR": "postgresql://u:s3cret-pw@h/db"})
    result = await run_cli("report", env=env)
    assert result.code == 0, result.stderr
    events = [json.loads(line) for line in result.stderr.splitlines()]
    [warning] = [e for e in events if e["event"] == "environment_unrecognized"]
    assert warning["level"] == "warning"
    assert warning["variables"] == ["SWR_ETL_DATABASE_UR (did you mean SWR_ETL_DATABASE_URL?)"]
    assert "s3cret-pw" not in result.stderr + result.stdout


# --- report ---------------------------------------------------------------------------------------------


def report_section(text: str, title: str) -> list[list[str]]:
    """The rows of the table under a section title (cells split on runs of 2+ spaces)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    assert set(lines[start + 2].replace(" ", "")) == {"-"}, "a header and a rule follow the title"
    rows = []
    for line in lines[start + 3 :]:
        if not line.strip() or line == "(none)":
            break
        rows.append(re.split(r"\s{2,}", line.strip()))
    return rows


async def test_report_numbers_match_sql(database_url: str) -> None:
    # The dataset's "now" is now: recent pending jobs are minutes old, stuck ones hours: no edge case.
    config = replace(SMALL, anchor=datetime.now(UTC).isoformat())
    async with running_simulator(config) as sim:
        crawled = await run_cli("crawl", env=crawl_env(sim, database_url, SWR_ETL_REGION=REGION))
        assert crawled.code == 0, crawled.stderr
    result = await run_cli("report", "--since", "2000-01-01", env=cli_env(database_url))
    assert result.code == 0, result.stderr
    text = result.stdout

    by_status = {r["status"]: r["n"] for r in await fetch(
        database_url, "SELECT status, count(*) AS n FROM sync_jobs GROUP BY 1"
    )}  # fmt: skip
    assert "SWR sync jobs created 2000-01-01 00:00:00 to " in text
    assert f"UTC: {sum(by_status.values())}\nAll time: {sum(by_status.values())} jobs since " in text
    assert {row[0]: int(row[1]) for row in report_section(text, "Jobs by status")} == by_status

    regions = await fetch(
        database_url,
        "SELECT remote_region_id AS r, count(*) AS n,"
        " count(*) FILTER (WHERE status IN ('failed', 'timeout')) AS f FROM sync_jobs GROUP BY 1",
    )
    expected_regions = {r["r"]: [str(r["n"]), str(r["f"]), f"{r['f'] / r['n']:.1%}"] for r in regions}
    shown_regions = {row[0]: row[1:] for row in report_section(text, "Failure rate by target region")}
    assert shown_regions == expected_regions

    failing = await fetch(
        database_url,
        "SELECT namespace || '/' || repo_name AS repo, count(*) AS n,"
        " count(*) FILTER (WHERE status IN ('failed', 'timeout')) AS f FROM sync_jobs GROUP BY 1",
    )
    per_repo = {r["repo"]: (r["f"], r["n"]) for r in failing if r["f"] > 0}
    shown = report_section(text, "Top failing repositories")
    assert len(shown) == min(10, len(per_repo))
    for region, repo, failed, jobs in shown:
        assert region == REGION and per_repo[repo] == (int(failed), int(jobs))
    assert [int(row[2]) for row in shown] == sorted((int(row[2]) for row in shown), reverse=True)
    left_out = [f for repo, (f, _) in per_repo.items() if repo not in {row[1] for row in shown}]
    assert max(left_out, default=0) <= int(shown[-1][2])

    [stuck] = await fetch(
        database_url,
        "SELECT count(*) AS n, count(*) FILTER (WHERE updated_at < now() - interval '60 minutes') AS old"
        " FROM sync_jobs WHERE status IN ('waiting', 'running')",
    )
    assert 0 < stuck["old"] < stuck["n"]  # the threshold really separates recent from stuck jobs
    assert f"Stuck: {stuck['old']} jobs waiting or running for over 60 min" in text
    assert len(report_section(text, "Stuck:")) == min(10, stuck["old"])
