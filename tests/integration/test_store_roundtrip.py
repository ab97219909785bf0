"""Whatever text a job holds, in any time zone, comes back from PostgreSQL as given, on both write paths."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from pipeline.store import Store, UpsertResult
from tests.integration.factories import make_job

NASTY = [
    "\t",
    "\n",
    "\r",
    "\\",
    "\\N",
    "\\.",
    "N",
    " ",
    "é",
    "张",
    "🚀",
    "\u2028",
    "'",
    '"',
    ",",
    "|",
    "$",
    "/",
]


def nasty_text(rng: random.Random) -> str:
    return "".join(rng.choice([*NASTY, "a", "b"]) for _ in range(rng.randrange(0, 12)))


async def test_nasty_text_round_trips_through_both_write_paths(store: Store) -> None:
    rng = random.Random(20261128)
    text_fields = ("namespace", "repo_name", "tag", "remote_namespace", "sync_operator_name")
    jobs = [make_job(i, **{f: nasty_text(rng) for f in text_fields}) for i in range(1, 401)]
    run = await store.start_run(["r"], {})

    # The first batch goes straight into the table; the second clashes on job 1 and is merged.
    assert await store.upsert_jobs("r", run, jobs[:200]) == UpsertResult(200, 0, 0)
    assert await store.upsert_jobs("r", run, jobs[:1] + jobs[200:]) == UpsertResult(200, 0, 1)

    assert await store.fetch_all_jobs("r") == jobs


async def test_instants_survive_any_time_zone(store: Store) -> None:
    east8 = timezone(timedelta(hours=8))
    moment = datetime(2025, 3, 1, 20, 0, 0, 123456, tzinfo=east8)
    run = await store.start_run(["r"], {})
    await store.upsert_jobs("r", run, [make_job(1, created_at=moment, updated_at=moment)])
    (stored,) = await store.fetch_all_jobs("r")
    assert stored.created_at == moment
    assert stored.updated_at is not None and stored.updated_at.utcoffset() == timedelta(0)
