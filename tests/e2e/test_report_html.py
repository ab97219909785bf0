"""Acceptance: `swr-etl report --html FILE` is one self-contained page that a real browser draws."""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path

from tests.e2e.helpers import cli_env, run_cli
from tests.e2e.png import pixels
from tests.e2e.reporting import crawl_demo_data

# Debian's chromium; `make test` installs it when missing (make chromium).
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SUCCESS_GREEN, FAILED_RED = bytes.fromhex("2e9d5b"), bytes.fromhex("d64541")


async def screenshot(page: Path, png: Path) -> bytes:
    """Chromium's headless screenshot of a local page (no network: the page needs none)."""
    assert CHROMIUM, "chromium is not installed: run `make chromium` (as root) or `make test`"
    proc = await asyncio.create_subprocess_exec(
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
        f"--user-data-dir={png.parent / 'chromium-profile'}", "--window-size=1000,1400",
        f"--screenshot={png}", page.as_uri(),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, err.decode()[-2000:]
    return await asyncio.to_thread(png.read_bytes)


async def test_the_html_report_is_self_contained_and_renders_in_chromium(
    database_url: str, tmp_path: Path
) -> None:
    await crawl_demo_data(database_url)
    page = tmp_path / "report.html"
    result = await run_cli("report", "--since", "30d", "--html", str(page), env=cli_env(database_url))
    assert result.code == 0, result.stderr
    assert "Jobs by status" in result.stdout  # the console report is still printed
    html = page.read_text()
    assert html.count("<svg") >= 4
    for title in (
        "Jobs per day by status",
        "Failure rate by target region",
        "Replication duration",
        "Stuck:",
        "Latest run 2: ok",  # the second crawl of the demo data, with its 429s and modes
        "throttled (429, ",
        "incremental (",
    ):
        assert title in html
    # Nothing to run and nothing to fetch: the only URL is the SVG namespace, which names, not loads.
    assert not re.search(r"<script|<link|<img|<iframe|src=|href=|url\(|@import", html, re.I)
    assert set(re.findall(r"https?://[^\s\"']+", html)) == {"http://www.w3.org/2000/svg"}

    width, height, rows = pixels(await screenshot(page, tmp_path / "report.png"))
    assert (width, height) == (1000, 1400)
    painted = sum(1 for row in rows for x in range(0, len(row), 3) if row[x : x + 3] != b"\xff\xff\xff")
    assert painted > 0.03 * width * height, f"only {painted} non-white pixels: the page looks blank"
    colours = {row[x : x + 3] for row in rows for x in range(0, len(row), 3)}
    assert {SUCCESS_GREEN, FAILED_RED} <= colours, "the charts' bars are not drawn"
