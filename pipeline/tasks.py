"""Task ownership: the tasks of one job live in one asyncio.TaskGroup, and its failure surfaces as one error.

A TaskGroup cancels every other task as soon as one fails, and waits for them all before it exits; the
caller then needs the error that decides the run's status (an AuthError, a lost database, a bug), not an
ExceptionGroup of it and the cancellations it caused.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from pipeline.errors import FatalError, Interrupted, SwrEtlError

__all__ = ["owned_tasks", "primary_error"]


@contextlib.asynccontextmanager
async def owned_tasks() -> AsyncIterator[asyncio.TaskGroup]:
    """An asyncio.TaskGroup that raises its primary error instead of an ExceptionGroup."""
    try:
        async with asyncio.TaskGroup() as group:
            yield group
    except BaseExceptionGroup as failures:
        raise primary_error(failures) from None


def primary_error(failures: BaseExceptionGroup[BaseException]) -> BaseException:
    """The failure that decides how the run ends: a fatal error first, then a bug, then a stop request."""
    leaves = list(_leaves(failures))

    def rank(exc: BaseException) -> int:
        if isinstance(exc, FatalError) and not isinstance(exc, Interrupted):
            return 0
        if not isinstance(exc, SwrEtlError):
            return 1  # a bug: surfaces with its own traceback
        return 2 if isinstance(exc, Interrupted) else 3

    return min(leaves, key=rank)


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    found: list[BaseException] = []
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            found.extend(_leaves(exc))
        else:
            found.append(exc)
    return found
