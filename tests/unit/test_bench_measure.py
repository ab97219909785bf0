"""bench.measure reports the measured program's own peak memory, not its caller's."""

from __future__ import annotations

import os
import sys

from bench.measure import run_measured


def test_the_peak_rss_is_the_programs_own_even_from_a_large_caller() -> None:
    # Linux keeps the pre-exec resident size in a child's ru_maxrss: from this 300 MB process, a child
    # started directly would report at least 300 MB. The trampoline starts it from a small interpreter.
    ballast = bytearray(b"x") * (300 * 2**20)
    cost = run_measured([sys.executable, "-c", "print(len(bytearray(b'y') * (40 * 2**20)))"], os.environ)
    assert len(ballast) == 300 * 2**20
    assert cost.code == 0 and cost.stdout == f"{40 * 2**20}\n"
    assert 40 < cost.peak_rss_mb < 150, cost.peak_rss_mb  # its own 40 MB and an interpreter, not ours


def test_a_program_past_its_timeout_is_killed_and_measured_as_such() -> None:
    cost = run_measured([sys.executable, "-c", "import time; time.sleep(30)"], os.environ, timeout=0.5)
    assert cost.code == -9 and cost.wall_s == 0.5 and cost.peak_rss_mb == 0
