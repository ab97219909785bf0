"""owned_tasks: one failure cancels the other tasks at once and surfaces as itself, ranked by what matters."""

from __future__ import annotations

import asyncio

import pytest

from pipeline.errors import AuthError, DatabaseError, Interrupted, NotFound
from pipeline.tasks import owned_tasks, primary_error

AUTH = AuthError(401, "SVCSTG.SWR.4010000", "expired", mode="token")
STOP = Interrupted("SIGTERM", 143)
BUG = KeyError("bug")
GONE = NotFound(404, "SVCSTG.SWR.4040010", "gone")


@pytest.mark.parametrize(
    ("failures", "primary"),
    [
        ([AUTH], AUTH),
        ([STOP, AUTH], AUTH),
        ([BUG, STOP], BUG),
        ([STOP, BUG, DatabaseError("lost")], None),  # the database error: fatal beats a bug
        ([GONE, STOP], STOP),
        ([ExceptionGroup("inner", [GONE, BUG])], BUG),
    ],
)
def test_primary_error(failures: list[Exception], primary: BaseException | None) -> None:
    chosen = primary_error(ExceptionGroup("run", failures))
    if primary is None:
        assert isinstance(chosen, DatabaseError)
    else:
        assert chosen is primary


async def test_a_failure_cancels_the_others_at_once_and_surfaces_unwrapped() -> None:
    never = asyncio.Event()
    cancelled: list[str] = []

    async def waits_forever(name: str) -> None:
        try:
            await never.wait()
        except asyncio.CancelledError:
            cancelled.append(name)
            raise

    async def fails() -> None:
        await asyncio.sleep(0)
        raise AUTH

    with pytest.raises(AuthError) as raised:
        async with asyncio.timeout(5), owned_tasks() as group:
            group.create_task(waits_forever("discovery"))
            group.create_task(waits_forever("worker"))
            group.create_task(fails())
    assert raised.value is AUTH
    assert sorted(cancelled) == ["discovery", "worker"]
