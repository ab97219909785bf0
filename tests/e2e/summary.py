"""Parse the one-line summary `swr-etl crawl` ends with, and read the run rows it wrote."""

from __future__ import annotations

import re
from dataclasses import dataclass

SUMMARY = re.compile(
    r"^run (?P<run_id>\d+) (?P<status>[a-z]+): (?P<repositories>\d+) repositories "
    r"\((?P<failed>\d+) failed, (?P<gone>\d+) gone, (?P<flagged>\d+) flagged\), "
    r"(?P<pages>\d+) pages, (?P<requests>\d+) requests, (?P<jobs>\d+) jobs, "
    r"(?P<inserted>\d+) inserted, (?P<updated>\d+) updated, (?P<rejected>\d+) rejected, "
    r"(?P<unknown>\d+) unknown status, (?P<id_conflicts>\d+) id conflicts, "
    r"(?P<throttled>\d+) throttled \(429\), "
    r"(?P<reached>\d+\.\d) req/s reached, (?:no rate|(?P<learned>\d+\.\d) req/s) learned, "
    r"(?P<seconds>\d+\.\d) s; "
    r"(?P<incremental>\d+) incremental \((?P<reread>\d+) re-read in full\), (?P<full>\d+) full, "
    r"(?P<saved>-?\d+) requests saved, (?P<left>\d+) left for later, (?P<jobs_gone>\d+) jobs gone upstream$"
)


@dataclass(frozen=True)
class Summary:
    """The numbers of one summary line."""

    run_id: int
    status: str
    repositories: int
    failed: int
    flagged: int
    pages: int
    jobs: int
    inserted: int
    updated: int
    rejected: int
    id_conflicts: int
    throttled: int
    rate_reached: float
    rate_learned: float | None
    seconds: float
    requests: int = 0
    incremental: int = 0  # repositories crawled incrementally
    reread: int = 0  # incremental crawls re-read in full
    full: int = 0  # repositories read in full by choice (new, forced, due)
    saved: int = 0  # requests saved by incremental crawls
    left: int = 0  # repositories left for the next run
    jobs_gone: int = 0  # jobs marked gone upstream


def parse_summary(line: str) -> Summary:
    """The summary's numbers; fails the test when the line does not have the documented shape."""
    match = SUMMARY.match(line.strip())
    assert match, f"not a crawl summary line: {line!r}"
    g = match.groupdict()
    return Summary(
        run_id=int(g["run_id"]),
        status=g["status"],
        repositories=int(g["repositories"]),
        failed=int(g["failed"]),
        flagged=int(g["flagged"]),
        pages=int(g["pages"]),
        jobs=int(g["jobs"]),
        inserted=int(g["inserted"]),
        updated=int(g["updated"]),
        rejected=int(g["rejected"]),
        id_conflicts=int(g["id_conflicts"]),
        throttled=int(g["throttled"]),
        rate_reached=float(g["reached"]),
        rate_learned=None if g["learned"] is None else float(g["learned"]),
        seconds=float(g["seconds"]),
        requests=int(g["requests"]),
        incremental=int(g["incremental"]),
        reread=int(g["reread"]),
        full=int(g["full"]),
        saved=int(g["saved"]),
        left=int(g["left"]),
        jobs_gone=int(g["jobs_gone"]),
    )


def summary_of(stdout: str) -> Summary:
    """The summary of a `swr-etl crawl` whose whole stdout must be that one line."""
    lines = stdout.splitlines()
    assert len(lines) == 1, f"crawl should print exactly one line, got {lines!r}"
    return parse_summary(lines[0])


def summary_in(stdout: str) -> Summary:
    """The single summary line somewhere in a longer output (the demo's)."""
    found = [line for line in stdout.splitlines() if SUMMARY.match(line.strip())]
    assert len(found) == 1, f"expected one summary line in: {stdout!r}"
    return parse_summary(found[0])
