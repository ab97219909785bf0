"""The `alembic` command line (alembic.ini) finds the database as the application does, files included."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from pipeline import migrate

ALEMBIC = Path(sys.executable).with_name("alembic")


async def test_alembic_reads_the_database_url_from_a_secret_file(database_url: str, tmp_path: Path) -> None:
    url_file = tmp_path / "database-url"
    url_file.write_text(database_url + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWR_ETL_") and k != "DATABASE_URL"}
    proc = await asyncio.create_subprocess_exec(
        str(ALEMBIC), "-c", str(migrate.ALEMBIC_INI), "current",
        env={**env, "SWR_ETL_DATABASE_URL_FILE": str(url_file)},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    assert out.decode().split() == [migrate.head_revision(), "(head)"]
