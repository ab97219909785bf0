"""Acceptance: `swr-etl demo` works with nothing configured, twice, and on a configured database."""

from __future__ import annotations

from pathlib import Path

from pipeline.demo import ANCHOR_FILE, REPORT_FILE
from pipeline.simulator import SimulatorConfig, running_simulator
from tests.e2e.helpers import assert_table_equals_truth, cli_env, fetch, run_cli
from tests.e2e.summary import summary_in

SECTIONS = ("Jobs by status", "Failure rate by target region", "Top failing repositories", "Stuck: ")


def assert_report_printed(stdout: str) -> None:
    """Every report section is there, after the crawl summary."""
    summary_at = next(i for i, line in enumerate(stdout.splitlines()) if line.startswith("run "))
    after = "\n".join(stdout.splitlines()[summary_at:])
    for title in SECTIONS:
        assert f"\n{title}" in after, f"report section {title!r} missing from:\n{stdout}"


async def test_demo_on_embedded_postgres_twice_second_writes_nothing(tmp_path: Path) -> None:
    """Nothing configured: an embedded PostgreSQL in --data-dir; the second demo reuses its data."""
    env = cli_env(None)
    first = await run_cli("demo", "--data-dir", str(tmp_path), env=env, wait_s=180)
    assert first.code == 0, first.stderr
    assert f"starting embedded PostgreSQL in {tmp_path / 'postgres'}" in first.stdout
    assert_report_printed(first.stdout)
    s1 = summary_in(first.stdout)
    assert s1.status == "ok" and s1.repositories == 200
    assert s1.inserted == s1.jobs > 1000 and s1.updated == 0
    anchor = (tmp_path / ANCHOR_FILE).read_text().strip()

    # The dataset is pinned by the anchor kept beside the data, so this holds even across an hour.
    second = await run_cli("demo", "--data-dir", str(tmp_path), env=env, wait_s=180)
    assert second.code == 0, second.stderr
    assert_report_printed(second.stdout)
    s2 = summary_in(second.stdout)
    # Incremental: each repository's newest page only, nothing written.
    assert (s2.status, s2.inserted, s2.updated, s2.incremental) == ("ok", 0, 0, s1.repositories)
    assert s2.jobs < s1.jobs
    assert s2.run_id == s1.run_id + 1
    assert f"dataset as of {anchor}" in second.stdout
    assert f"Latest run {s2.run_id}: ok" in second.stdout


async def test_demo_on_a_configured_database(empty_database_url: str, tmp_path: Path) -> None:
    """SWR_ETL_DATABASE_URL set: no embedded server; the demo migrates it and crawls the simulator."""
    anchor = "2024-03-01T10:00:00Z"  # an anchor kept from an earlier demo, hours ago
    (tmp_path / ANCHOR_FILE).write_text(anchor + "\n")
    env = cli_env(empty_database_url, {"SWR_ETL_DATA_DIR": str(tmp_path)})
    result = await run_cli("demo", "--namespaces", "3", "--repos-per-namespace", "10", env=env)
    assert result.code == 0, result.stderr
    assert "embedded" not in result.stdout and not (tmp_path / "postgres").exists()
    assert f"dataset as of {anchor}" in result.stdout
    assert_report_printed(result.stdout)
    # The HTML report lands beside the data and its path is printed; the old anchor's month is charted.
    assert result.stdout.rstrip().endswith(f"HTML report written to {(tmp_path / REPORT_FILE).resolve()}")
    page = (tmp_path / REPORT_FILE).read_text()
    assert page.count("<svg") >= 4 and "2024-02-" in page
    summary = summary_in(result.stdout)
    assert summary.inserted == summary.jobs > 0

    # The same simulator the demo ran (seed 7 is the demo's default): the table is its ground truth.
    config = SimulatorConfig(port=0, seed=7, namespaces=3, repos_per_namespace=10, anchor=anchor)
    async with running_simulator(config) as sim:
        truth = sim.ground_truth()
    await assert_table_equals_truth(empty_database_url, config.region, truth)
    [run] = await fetch(empty_database_url, "SELECT id, status, inserted FROM crawl_runs")
    assert (run["id"], run["status"], run["inserted"]) == (summary.run_id, "ok", len(truth))
