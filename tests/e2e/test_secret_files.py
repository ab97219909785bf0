"""Acceptance: several sources whose credentials come from files and other variables, none in the TOML."""

from __future__ import annotations

from pathlib import Path

from pipeline.simulator import SimulatorConfig, running_simulator
from tests.e2e.helpers import assert_table_equals_truth, cli_env, run_cli
from tests.e2e.summary import summary_of

# Distinctive values, so that a substring search finds any of them in the output.
TOKEN, SK, SECURITY_TOKEN = (
    "tok-files-SECRET-0c4e1d93",
    "sk-files-SECRET-5a7b9c1d",
    "st-files-SECRET-88e2f4a6",
)
AK = "AKFILES000000000000001"
NORTH = SimulatorConfig(port=0, seed=3, namespaces=2, repos_per_namespace=5, token=TOKEN)
SOUTH = SimulatorConfig(port=0, seed=4, namespaces=2, repos_per_namespace=5, ak=AK, sk=SK,
                        security_token=SECURITY_TOKEN)  # fmt: skip


async def test_sources_read_their_credentials_from_files_and_variables(
    database_url: str, tmp_path: Path
) -> None:
    (tmp_path / "token").write_text(TOKEN + "\n")
    (tmp_path / "sk").write_text(SK + "\n")
    async with running_simulator(NORTH) as north, running_simulator(SOUTH) as south:
        config = tmp_path / "sources.toml"
        config.write_text(
            f'[database]\nurl_env = "PG_URL"\n'
            f'[[sources]]\nendpoint = "{north.url}"\nregion = "north"\ntoken_file = "{tmp_path / "token"}"\n'
            f'[[sources]]\nendpoint = "{south.url}"\nregion = "south"\nak_env = "SOUTH_AK"\n'
            f'sk_file = "{tmp_path / "sk"}"\nsecurity_token_env = "SOUTH_STS"\n'
        )
        env = cli_env(None, {"SWR_ETL_CONFIG": str(config), "PG_URL": database_url, "SOUTH_AK": AK,
                             "SOUTH_STS": SECURITY_TOKEN})  # fmt: skip
        result = await run_cli("crawl", env=env)
        assert result.code == 0, result.stderr
        truth = {"north": north.ground_truth(), "south": south.ground_truth()}
        assert summary_of(result.stdout).jobs == len(truth["north"]) + len(truth["south"])
        for region, jobs in truth.items():
            await assert_table_equals_truth(database_url, region, jobs)
    for secret in (TOKEN, SK, SECURITY_TOKEN):
        assert secret not in result.stdout + result.stderr
    assert SECURITY_TOKEN not in config.read_text() and SK not in config.read_text()
