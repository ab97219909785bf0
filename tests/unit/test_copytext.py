"""COPY text encoding of jobs: exact lines, escapes, NULLs, time zones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from pipeline.store.copytext import encode_jobs
from tests.integration.factories import make_job

CLEAN = (
    "5\tteam-a\tweb/frontend\tv5\tsuccess\tf\tcn-south-1\tmirror\td0123\tacme\tu42\talice"
    "\t2025-03-01T12:00:00+00:00\t2025-03-01T12:00:01.250000+00:00\n"
)


def test_a_clean_job_is_one_plain_line() -> None:
    assert encode_jobs([make_job(5, updated=1.25)]).decode() == CLEAN


def test_the_prefix_leads_every_line_and_is_escaped() -> None:
    lines = encode_jobs([make_job(5, updated=1.25)] * 2, prefix=("a\tb", 7)).decode().splitlines(True)
    assert lines == ["a\\tb\t7\t" + CLEAN] * 2


def test_special_characters_are_escaped_field_by_field() -> None:
    job = make_job(5, tag="a\tb", sync_operator_name="x\\N\ny\rz", override=True)
    (line,) = encode_jobs([job]).decode().splitlines(True)
    fields = line.rstrip("\n").split("\t")
    assert len(fields) == 14
    assert fields[3] == "a\\tb"
    assert fields[5] == "t"
    assert fields[11] == "x\\\\N\\ny\\rz"


def test_none_becomes_null_and_other_zones_become_utc() -> None:
    east8 = timezone(timedelta(hours=8))
    job = make_job(5, tag=None, created_at=datetime(2025, 3, 1, 20, 0, tzinfo=east8))
    fields = encode_jobs([job]).decode().rstrip("\n").split("\t")
    assert fields[3] == "\\N"
    assert datetime.fromisoformat(fields[12]) == datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    assert fields[12].endswith("+00:00")


def test_non_ascii_text_is_utf8() -> None:
    job = make_job(5, sync_operator_name="张伟 🚀")
    assert "张伟 🚀".encode() in encode_jobs([job])
