"""Sync jobs -> PostgreSQL's COPY text format (pure).

The upsert's COPYs used asyncpg's binary format, whose per-field encoding was the largest single cost of
a crawl's process after JSON decoding: about 5 µs of CPU per job. A text line built with one f-string
costs about a third of that, and PostgreSQL reads it as fast. Every line is checked before it is sent:
a job whose text holds a character the format treats specially (backslash, tab, newline, carriage
return), or a value of an unexpected type, is encoded field by field with the format's escapes and
``\\N`` for NULL, so what arrives is exactly what was given (or the NOT NULL error it deserves).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import UTC, datetime

from pipeline.domain import SyncJob

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NULL = "\\N"
_JOB_TABS = len(SyncJob._fields) - 1


def encode_jobs(jobs: Iterable[SyncJob], prefix: Sequence[object] = ()) -> bytes:
    """COPY text of ``jobs``, one line each, every line starting with the ``prefix`` values."""
    head = "".join(f"{_field(value)}\t" for value in prefix)
    tabs = _JOB_TABS + len(prefix)
    lines: list[str] = []
    append = lines.append
    for job in jobs:
        line = "" if None in job else _plain_line(head, job)
        if (
            not line
            or line.count("\t") != tabs
            or "\\" in line
            or "\r" in line
            or line.index("\n") != len(line) - 1
        ):
            line = "\t".join(_field(value) for value in (*prefix, *job)) + "\n"
        append(line)
    return "".join(lines).encode()


def _plain_line(head: str, job: SyncJob) -> str:
    """The line of a job of the expected types, unescaped ("" if a value is not of its type)."""
    (job_id, ns, repo, tag, status, override, region, remote_ns, domain_id, domain_name,
     operator_id, operator_name, created_at, updated_at) = job  # fmt: skip
    try:
        return (
            f"{head}{job_id:d}\t{ns}\t{repo}\t{tag}\t{status}\t{_BOOL[override]}\t{region}\t{remote_ns}"
            f"\t{domain_id}\t{domain_name}\t{operator_id}\t{operator_name}"
            f"\t{_utc(created_at)}\t{_utc(updated_at)}\n"
        )
    except (TypeError, ValueError, KeyError, AttributeError):
        return ""


async def chunks(data: bytes) -> AsyncIterator[bytes]:
    """``data`` as the async iterable asyncpg's copy_to_table reads (a file object would go through a
    thread pool)."""
    yield data


_BOOL = {True: "t", False: "f"}


def _utc(moment: datetime) -> str:
    if moment.tzinfo is UTC:
        return moment.isoformat()
    raise ValueError("not a UTC datetime")  # the slow path converts it


def _field(value: object) -> str:
    """One value in COPY text form."""
    if value is None:
        return _NULL
    if isinstance(value, bool):
        return _BOOL[value]
    if isinstance(value, datetime):
        # A naive datetime is taken as local time, as asyncpg's binary encoder did.
        return value.astimezone(UTC).isoformat()
    return str(value).translate(_ESCAPES)
