"""bench.profile's reading of py-spy's raw samples (collapsed stacks, outermost frame first)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.profile import aggregate, format_profile, function_of


@pytest.mark.parametrize(
    ("frame", "function"),
    [
        (
            "_request (/w/.venv/lib/python3.11/site-packages/aiohttp/client.py:512)",
            "_request (aiohttp/client.py)",
        ),
        ("run (/usr/lib/python3.11/asyncio/runners.py:118)", "run (asyncio/runners.py)"),
        (f"decode_job_page ({Path.cwd()}/pipeline/sansio.py:180)", "decode_job_page (pipeline/sansio.py)"),
        ("<module> (swr-etl:8)", "<module> (swr-etl)"),
        ("process 4242", "process 4242"),  # py-spy's process frame has no location
    ],
)
def test_function_of_drops_the_line_and_the_install_prefix(frame: str, function: str) -> None:
    assert function_of(frame) == function


def test_aggregate_self_and_inclusive_samples() -> None:
    raw = [
        "main (a.py:1);fetch (b.py:2);parse (c.py:3) 5\n",
        "main (a.py:1);fetch (b.py:9) 3\n",
        "main (a.py:1);walk (d.py:1);walk (d.py:2);walk (d.py:1) 2\n",  # recursion counts once per sample
        "\n",
        "not a sample line\n",
    ]
    profile = aggregate(raw)
    assert profile.total == 10
    assert profile.self_samples == {"parse (c.py)": 5, "fetch (b.py)": 3, "walk (d.py)": 2}
    assert profile.inclusive == {"main (a.py)": 10, "fetch (b.py)": 8, "parse (c.py)": 5, "walk (d.py)": 2}
    text = format_profile(profile, top=2, rate=100)
    assert text.splitlines() == [
        "10 samples at 100 Hz (~0.1 s of CPU)",
        "--- self",
        " 50.0%  parse (c.py)",
        " 30.0%  fetch (b.py)",
        "--- inclusive",
        "100.0%  main (a.py)",
        " 80.0%  fetch (b.py)",
    ]
