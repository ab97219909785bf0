"""Log set-up: events go to the stderr of the moment (a live display swaps it to print them above itself)."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator

import pytest
import structlog

from pipeline.logs import configure_logging, get_logger


@pytest.fixture
def json_logging() -> Iterator[None]:
    configure_logging("info", "json")
    try:
        yield
    finally:
        structlog.reset_defaults()


@pytest.mark.usefixtures("json_logging")
def test_events_follow_sys_stderr_when_it_is_replaced() -> None:
    swapped = io.StringIO()
    with contextlib.redirect_stderr(swapped):
        get_logger("t").info("seen_by_the_display", n=1)
    (line,) = swapped.getvalue().splitlines()
    assert json.loads(line)["event"] == "seen_by_the_display"
