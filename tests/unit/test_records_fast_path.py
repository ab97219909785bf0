"""parse_job's fast path accepts exactly what the field-by-field validation accepts, with the same result."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline import wire
from pipeline.domain import Reject, SyncJob
from pipeline.records import _checked_job, parse_job, parse_rfc3339, utc_timestamp
from pipeline.wire import parse_valid_page
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
REQUIRED = {"id", "namespace", "repoName", "status", "createdAt"}
ODD_VALUES: list[Any] = [None, True, False, 0, -1, 2**63, 2**63 - 1, 1.5, "7", "", "a\x00b", "\ud800", [], {}]


def _same(obj: object) -> None:
    fast, checked = parse_job(obj), _checked_job(obj)
    assert fast == checked
    if isinstance(fast, SyncJob):
        assert fast.created_at.tzinfo is UTC
        assert fast.updated_at is None or fast.updated_at.tzinfo is UTC


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
    assert isinstance(parse_job(obj), Reject) == (key in REQUIRED)
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


# --- the page-level fast path (msgspec) -----------------------------------------------------------------


def _page_agrees(body: bytes) -> None:
    """parse_valid_page gives the general path's jobs when that path finds nothing wrong, else None."""
    fast = parse_valid_page(body)
    try:
        items = orjson.loads(body)
    except orjson.JSONDecodeError:
        assert fast is None
        return
    parsed = [parse_job(item) for item in items] if isinstance(items, list) else None
    if parsed is None or not all(isinstance(p, SyncJob) for p in parsed):
        assert fast is None
        return
    if fast is not None:  # None is allowed (e.g. escapes): the general path then decides
        assert fast == parsed
        assert all(type(job) is SyncJob for job in fast)
        assert all(j.created_at.tzinfo is UTC for j in fast)
        assert all(j.updated_at is None or j.updated_at.tzinfo is UTC for j in fast)


def _edited_page_agrees(records: list[tuple[dict[str, Any], set[str], dict[str, Any]]]) -> None:
    """A page of GOOD records, each with its changes, removed keys and extra fields, decodes alike."""
    page = []
    for changes, removed, extra in records:
        obj = {**GOOD, **changes, **extra}
        for key in removed:
            obj.pop(key)
        page.append(obj)
    try:
        body = orjson.dumps(page)
    except TypeError:  # integers beyond 64 bits: not JSON orjson writes
        return
    _page_agrees(body)


def test_a_valid_page_takes_the_fast_path() -> None:
    body = orjson.dumps([GOOD, {**GOOD, "id": 8}, {**test_records.GOOD, "id": 9}])
    jobs = parse_valid_page(body)
    assert jobs is not None and [job.id for job in jobs] == [GOOD["id"], 8, 9]
    _page_agrees(body)


@pytest.mark.parametrize(
    "body",
    [b"", b"[", b"{}", b"null", b"[null]", b"[1]", b"[[]]", b"[]", b'"x"', b"[{}]", b"\xff\xfe", b"[] []"],
    ids=repr,
)
def test_odd_bodies_agree(body: bytes) -> None:
    _page_agrees(body)
    if body != b"[]":
        assert parse_valid_page(body) is None


def test_escapes_and_raw_control_characters_leave_the_fast_path() -> None:
    good = orjson.dumps([GOOD])
    assert parse_valid_page(orjson.dumps([{**GOOD, "tag": "a\x00b"}])) is None
    escaped = good.replace(b'"v1"', b'"v\\u0031"')
    assert escaped != good and parse_valid_page(escaped) is None
    raw_tab = good.replace(b'"v1"', b'"v\t1"')  # not JSON: a control character inside a string
    assert raw_tab != good and parse_valid_page(raw_tab) is None
    _page_agrees(raw_tab)
    duplicate = good[:-2] + b',"id":99}]'  # the last duplicate key wins, as in orjson
    jobs = parse_valid_page(duplicate)
    assert jobs is not None and jobs[0].id == 99
    _page_agrees(duplicate)


@settings(max_examples=300)
@given(
    records=st.lists(
        st.tuples(
            st.dictionaries(
                st.sampled_from(list(GOOD)), st.one_of(json_scalars, st.sampled_from(TIMESTAMPS))
            ),
            st.sets(st.sampled_from(list(GOOD)), max_size=1),
        ),
        max_size=4,
    )
)
def test_random_pages_agree(records: list[tuple[dict[str, Any], set[str]]]) -> None:
    _edited_page_agrees([(changes, removed, {}) for changes, removed in records])


@settings(max_examples=300)
@given(st.binary(max_size=64))
def test_random_bytes_agree(noise: bytes) -> None:
    _page_agrees(noise)
    _page_agrees(orjson.dumps([GOOD])[:-1] + noise)


CANONICAL = [
    "2020-03-12T08:11:36Z",
    "2020-03-12T08:11:36.5Z",
    "2020-03-12T08:11:36.518144Z",
    "2020-12-31T23:59:59.99Z",
]
EDIT_CHARS = "0123456789-:.TZtz+ ,W_\u0663\uff12\x00"


@settings(max_examples=3000)
@given(
    base=st.sampled_from(CANONICAL),
    edits=st.lists(
        st.tuples(
            st.sampled_from(["set", "insert", "delete"]), st.integers(0, 27), st.sampled_from(EDIT_CHARS)
        ),
        max_size=3,
    ),
)
def test_mutated_timestamps_agree_with_the_full_parser(base: str, edits: list[tuple[str, int, str]]) -> None:
    """The position checks of the common shape accept exactly what the RFC 3339 parser accepts."""
    chars = list(base)
    for op, at, char in edits:
        pos = min(at, len(chars))
        if op == "insert":
            chars.insert(pos, char)
        elif pos < len(chars):
            chars[pos : pos + 1] = [char] if op == "set" else []
    value = "".join(chars)
    assert utc_timestamp(value) == parse_rfc3339(value)


@pytest.mark.parametrize(
    "body",
    [
        orjson.dumps([GOOD]).replace(b'"v1"', b'"v\xff1"'),  # invalid UTF-8 in a field
        orjson.dumps([GOOD]).replace(b'"v1"', b'"v\xed\xa0\x801"'),  # a raw surrogate in a field
        orjson.dumps([{**GOOD, "extra": 1}])[:-2] + b',"x":1e400}]',  # a number beyond a double
        orjson.dumps([{**GOOD, "extra": 1}])[:-2] + b',"x":"\xed\xa0\x80"}]',  # invalid text, unknown field
        orjson.dumps([{**GOOD, "deep": 1}])[:-2] + b',"x":' + b"[" * 1010 + b"]" * 1010 + b"}]",
    ],
    ids=["utf8", "surrogate", "infinity", "unknown-surrogate", "deep"],
)
def test_bodies_the_general_path_judges_never_escape_or_pass_the_fast_path(body: bytes) -> None:
    """No exception escapes the fast path, and it accepts nothing the general path would refuse."""
    assert parse_valid_page(body) is None
    _page_agrees(body)


UNDOCUMENTED: list[dict[str, Any]] = [
    {"syncAuto": True},
    {"syncAuto": None, "jobType": "manual"},
    {"trigger": {"kind": "rule", "ruleId": 7, "tags": ["v1", 2.5, -(2**63), 2**64 - 1]}},
    {"注释": "同步", "priority": -0.0, "empty": {}},
]


@pytest.fixture
def fresh_decoder(monkeypatch: pytest.MonkeyPatch) -> wire._Decoder:
    """The fast path's decoder as at start-up, having learned no undocumented key (restored afterwards)."""
    decoder = wire._Decoder()
    monkeypatch.setattr(wire, "_DECODER", decoder)
    return decoder


def test_sparse_records_and_undocumented_fields_stay_on_the_fast_path(fresh_decoder: wire._Decoder) -> None:
    """Nulls, absent optional fields and undocumented keys: msgspec decodes the page, as orjson would."""
    page = [
        {**GOOD, "tag": None, "override": None, "updatedAt": None},
        {k: v for k, v in GOOD.items() if k in REQUIRED},
        *({**GOOD, "id": 50 + i, **fields} for i, fields in enumerate(UNDOCUMENTED)),
    ]
    body = orjson.dumps(page)
    jobs = parse_valid_page(body)
    assert jobs is not None
    assert [job.extra for job in jobs[2:]] == [
        '{"syncAuto":true}',
        '{"jobType":"manual","syncAuto":null}',
        '{"trigger":{"kind":"rule","ruleId":7,"tags":["v1",2.5,-9223372036854775808,18446744073709551615]}}',
        '{"empty":{},"priority":-0.0,"注释":"同步"}',
    ]
    assert all(v is None for v in (jobs[0].tag, jobs[0].override, jobs[0].updated_at, jobs[0].extra))
    _page_agrees(body)
    assert set(fresh_decoder.keys) == {"syncAuto", "jobType", "trigger", "注释", "priority", "empty"}
    assert parse_valid_page(body) == jobs  # the keys it learned keep the next pages on the fast path


@pytest.mark.parametrize(
    "tail",
    [
        b',"big":18446744073709551616}]',  # beyond 64 bits: orjson reads a float, msgspec an int
        b',"neg":-9223372036854775809}]',
        b',"a"b":1}]',  # a key msgspec cannot name a field after
        b',"inf":1e400}]',
    ],
    ids=["beyond-u64", "beyond-i64", "quote-in-key", "infinity"],
)
def test_undocumented_values_the_paths_could_read_differently_leave_the_fast_path(tail: bytes) -> None:
    body = orjson.dumps([GOOD])[:-2] + tail
    assert parse_valid_page(body) is None
    _page_agrees(body)


def test_a_server_inventing_keys_cannot_grow_the_decoder_without_bound(fresh_decoder: wire._Decoder) -> None:
    page = [{**GOOD, "id": i, f"field{i}": i} for i in range(wire.MAX_LEARNED_KEYS + 5)]
    body = orjson.dumps(page)
    assert parse_valid_page(body) is None  # the general path takes it: the same jobs, more slowly
    assert len(fresh_decoder.keys) == wire.MAX_LEARNED_KEYS
    _page_agrees(body)


EXTRA_KEYS = st.sampled_from(["syncAuto", "jobType", "trigger", "x", "注释", ""])
json_values = st.recursive(
    st.one_of(json_scalars, st.floats(allow_nan=False, allow_infinity=False)),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=300)
@given(
    records=st.lists(
        st.tuples(
            st.dictionaries(st.sampled_from(list(GOOD)), st.one_of(st.none(), st.sampled_from(TIMESTAMPS))),
            st.sets(st.sampled_from(list(GOOD)), max_size=3),
            st.dictionaries(EXTRA_KEYS, json_values, max_size=3),
        ),
        max_size=4,
    )
)
def test_random_sparse_pages_with_undocumented_fields_agree(
    records: list[tuple[dict[str, Any], set[str], dict[str, Any]]],
) -> None:
    _edited_page_agrees(records)


@pytest.mark.parametrize(
    "value", ["2020-03-12T08:11:Z\x00Z", "2020-03-12T08:1a:00Z", "2020-03-12T08:11:00.1aZ"]
)
def test_the_common_shape_with_a_non_digit_is_no_timestamp(value: str) -> None:
    """fromisoformat alone reads some of these (found by the property test above): the shape check refuses."""
    assert utc_timestamp(value) is None and parse_rfc3339(value) is None


def test_every_two_character_substitution_agrees_with_the_full_parser() -> None:
    """Deterministic sweep beside the property test: any two positions, separators and oddities."""
    replacements = "0123456789-:.TZtz+ ,W_\u0663\uff12\x00"
    disagree = []
    for base in CANONICAL[:3]:
        for i, j in itertools.combinations(range(len(base)), 2):
            for first, second in itertools.product(replacements, ":Z+-.0"):
                chars = list(base)
                chars[i], chars[j] = first, second
                value = "".join(chars)
                if utc_timestamp(value) != parse_rfc3339(value):
                    disagree.append(value)
    assert disagree == []
