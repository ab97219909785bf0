"""The rates learned per source and API, and what a run met of the gateway's throttling."""

from __future__ import annotations

import asyncpg

from pipeline.domain import RunStats
from pipeline.store import Store
from pipeline.store.models import LearnedRate

SOURCE = "swr-etl:cn-north-4:https://swr-api.cn-north-4.myhuaweicloud.com"
OTHER = "swr-etl:ap-southeast-1:https://swr-api.ap-southeast-1.myhuaweicloud.com"


async def test_rates_are_remembered_per_source_and_api_and_replaced_by_the_next_run(store: Store) -> None:
    first = await store.start_run(["cn-north-4"], {})
    assert await store.learned_rates(SOURCE) == []
    await store.remember_rates(SOURCE, first, {"ShowSyncJob": 196.4, "ListReposDetails": 48.0})
    await store.remember_rates(OTHER, first, {"ShowSyncJob": 98.0})
    await store.remember_rates(SOURCE, first, {})  # nothing learned: nothing forgotten either
    second = await store.start_run(["cn-north-4"], {})
    await store.remember_rates(SOURCE, second, {"ShowSyncJob": 150.0})

    assert await store.learned_rates(SOURCE) == [
        LearnedRate("ListReposDetails", 48.0, first),
        LearnedRate("ShowSyncJob", 150.0, second),
    ]
    assert await store.learned_rates(OTHER) == [LearnedRate("ShowSyncJob", 98.0, first)]


async def test_a_run_records_its_429s_and_the_rates_reached_and_learned(
    store: Store, database_url: str
) -> None:
    paced = await store.start_run(["cn-north-4"], {})
    await store.finish_run(paced, "ok", RunStats(throttled=12, rate_reached=97.5, rate_learned=96.0), None)
    unpaced = await store.start_run(["cn-north-4"], {})
    await store.finish_run(unpaced, "ok", RunStats(), None)

    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT throttled, rate_reached, rate_learned FROM crawl_runs ORDER BY id")
    finally:
        await conn.close()
    assert [tuple(r) for r in rows] == [(12, 97.5, 96.0), (0, None, None)]
