"""parse_job's fast path accepts exactly what the field-by-field validation accepts, with the same result."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.domain import Reject, SyncJob
from pipeline.records import _checked_job, parse_job
from tests.unit import test_records

# The same valid record as test_records, with a non-ASCII operator name (the fast path's UTF-8 branch).
GOOD: dict[str, Any] = {**test_records.GOOD, "syncOperatorName": "张伟"}

TIMESTAMPS = [
    "2020-03-12T08:11:36.518144Z",
    "2020-03-12T08:11:36Z",
    "2020-03-12T08:11:36.5Z",
    "2020-03-12T08:11:36.5181449Z",  # nanoseconds: truncated by the full parser
    "2020-03-12t08:11:36Z",
    "2020-03-12T08:11:36z",
    "2020-03-12T08:11:36+08:00",
    "2020-03-12T08:11:36.1-00:30",
    "2020-02-30T08:11:36Z",
    "2020-03-12T24:00:00Z",
    "2020-03-12T08:11:60Z",
    "2020-03-12 08:11:36Z",
    "20200312T081136Z",
    "2020-03-12",
    "2020-03-12T08:11:36",
    "２０２０-03-12T08:11:36Z",
    "",
]
ODD_VALUES: list[Any] = [None, True, False, 0, -1, 2**63, 2**63 - 1, 1.5, "7", "", "a\x00b", "\ud800", [], {}]


def _same(obj: object) -> None:
    fast, checked = parse_job(obj), _checked_job(obj)
    assert fast == checked
    if isinstance(fast, SyncJob):
        assert fast.created_at.tzinfo is UTC and fast.updated_at.tzinfo is UTC


@pytest.mark.parametrize("value", TIMESTAMPS)
@pytest.mark.parametrize("key", ["createdAt", "updatedAt"])
def test_timestamps_agree(key: str, value: str) -> None:
    _same({**GOOD, key: value})


@pytest.mark.parametrize("value", ODD_VALUES, ids=repr)
@pytest.mark.parametrize("key", list(GOOD))
def test_odd_values_agree(key: str, value: Any) -> None:
    _same({**GOOD, key: value})


@pytest.mark.parametrize("key", list(GOOD))
def test_missing_fields_agree(key: str) -> None:
    obj = dict(GOOD)
    del obj[key]
    assert isinstance(parse_job(obj), Reject)
    _same(obj)


def test_fast_path_result_is_utc() -> None:
    job = parse_job(GOOD)
    assert isinstance(job, SyncJob)
    assert job.created_at == datetime(2020, 3, 12, 8, 11, 36, 518144, tzinfo=UTC)
    assert job.sync_operator_name == "张伟"


json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**64), max_value=2**64), st.text(max_size=8)
)


@settings(max_examples=300)
@given(
    changes=st.dictionaries(
        st.sampled_from(list(GOOD)), st.one_of(json_scalars, st.sampled_from(TIMESTAMPS))
    ),
    removed=st.sets(st.sampled_from(list(GOOD)), max_size=2),
)
def test_random_records_agree(changes: dict[str, Any], removed: set[str]) -> None:
    obj = {**GOOD, **changes}
    for key in removed:
        obj.pop(key)
    _same(obj)
