"""parse_job and RFC 3339 parsing: the table of what is accepted and refused, and property tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.domain import Reject, SyncJob
from pipeline.records import compact_json, header, parse_job, parse_rfc3339, single_line

GOOD: dict[str, Any] = {
    "id": 42,
    "namespace": "team",
    "repoName": "web/app",
    "tag": "v1",
    "status": "success",
    "override": True,
    "remoteRegionId": "cn-east-3",
    "remoteNamespace": "team-east",
    "domainID": "d0",
    "domainName": "acme",
    "syncOperatorId": "u0",
    "syncOperatorName": "alice",
    "createdAt": "2020-03-12T08:11:36.518144Z",
    "updatedAt": "2020-03-12T08:11:37Z",
}
STRING_FIELDS = [k for k, v in GOOD.items() if isinstance(v, str) and not k.endswith("At")]
API_TO_ATTR = {
    **{k: "".join("_" + c.lower() if c.isupper() else c for c in k) for k in GOOD},
    "domainID": "domain_id",
}


def test_parse_job_maps_every_field() -> None:
    assert parse_job(GOOD) == SyncJob(
        id=42,
        namespace="team",
        repo_name="web/app",
        tag="v1",
        status="success",
        override=True,
        remote_region_id="cn-east-3",
        remote_namespace="team-east",
        domain_id="d0",
        domain_name="acme",
        sync_operator_id="u0",
        sync_operator_name="alice",
        created_at=datetime(2020, 3, 12, 8, 11, 36, 518144, tzinfo=UTC),
        updated_at=datetime(2020, 3, 12, 8, 11, 37, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("change", "check"),
    [
        ({"status": "paused"}, lambda j: j.status == "paused" and not j.status_known),
        (
            {"priority": 3, "extra": {"nested": [1]}},
            lambda j: j.extra == '{"extra":{"nested":[1]},"priority":3}',
        ),
        ({"syncAuto": None}, lambda j: j.extra == '{"syncAuto":null}'),
        ({"id": 0}, lambda j: j.id == 0),
        ({"id": 2**63 - 1}, lambda j: j.id == 2**63 - 1),
        ({"tag": ""}, lambda j: j.tag == ""),
        ({"override": False}, lambda j: j.override is False),
        ({"tag": "\u6c49\u5b57"}, lambda j: j.tag == "\u6c49\u5b57"),
    ],
)
def test_parse_job_accepts(change: dict[str, Any], check: Any) -> None:
    job = parse_job({**GOOD, **change})
    assert isinstance(job, SyncJob)
    assert check(job)


MISSING = object()


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("id", MISSING, "id: missing"),
        ("id", "123", "id: not an integer: '123'"),
        ("id", True, "id: not an integer: True"),
        ("id", 1.0, "id: not an integer: 1.0"),
        ("id", None, "id: not an integer: None"),
        ("id", -1, "id: out of range: -1"),
        ("id", 2**63, f"id: out of range: {2**63}"),
        ("namespace", MISSING, "namespace: missing"),
        ("namespace", None, "namespace: not a string: None"),
        ("repoName", MISSING, "repoName: missing"),
        ("status", MISSING, "status: missing"),
        ("status", None, "status: not a string: None"),
        ("syncOperatorName", 7, "syncOperatorName: not a string: 7"),
        ("tag", 5, "tag: not a string: 5"),
        ("status", ["success"], "status: not a string: ['success']"),
        ("repoName", "a\x00b", "repoName: contains NUL"),
        ("tag", "\ud800", "tag: not valid UTF-8"),
        ("override", "true", "override: not a boolean: 'true'"),
        ("override", 1, "override: not a boolean: 1"),
        ("createdAt", MISSING, "createdAt: missing"),
        ("createdAt", "yesterday", "createdAt: not RFC 3339: 'yesterday'"),
        ("createdAt", 1584000696, "createdAt: not a string: 1584000696"),
        ("createdAt", None, "createdAt: not a string: None"),
        ("updatedAt", "2020-03-12", "updatedAt: not RFC 3339: '2020-03-12'"),
        ("updatedAt", "2020-03-12T08:11:36", "updatedAt: not RFC 3339: '2020-03-12T08:11:36'"),
    ],
)
def test_parse_job_rejects(key: str, value: object, reason: str) -> None:
    obj = {k: v for k, v in GOOD.items() if k != key}
    if value is not MISSING:
        obj[key] = value
    result = parse_job(obj)
    assert isinstance(result, Reject)
    assert result.reason == reason
    assert result.raw == compact_json(obj)


OPTIONAL = {"tag", "override", "remoteRegionId", "remoteNamespace", "domainID", "domainName"} | {
    "syncOperatorId",
    "syncOperatorName",
    "updatedAt",
}


@pytest.mark.parametrize("key", sorted(OPTIONAL))
@pytest.mark.parametrize("absent", [True, False], ids=["absent", "null"])
def test_parse_job_stores_an_optional_field_null_or_absent_as_none(key: str, absent: bool) -> None:
    obj = {k: v for k, v in GOOD.items() if k != key}
    if not absent:
        obj[key] = None
    job = parse_job(obj)
    assert isinstance(job, SyncJob)
    row = job._asdict()
    empty = {name for name, value in row.items() if value is None}
    assert empty == {"extra", API_TO_ATTR[key]}


def test_parse_job_needs_only_what_identifies_and_orders_a_job() -> None:
    required = {k: GOOD[k] for k in ("id", "namespace", "repoName", "status", "createdAt")}
    job = parse_job(required)
    assert isinstance(job, SyncJob)
    assert (job.id, job.namespace, job.repo_name, job.status) == (42, "team", "web/app", "success")
    assert all(v is None for v in (job.tag, job.override, job.updated_at, job.domain_id, job.extra))
    assert set(GOOD) - set(required) == OPTIONAL


def test_undocumented_fields_nested_beyond_what_json_writers_take_are_cut_off() -> None:
    deep: object = "leaf"
    for _ in range(1000):
        deep = [deep]
    job = parse_job({**GOOD, "x": deep})
    assert isinstance(job, SyncJob) and job.extra is not None
    assert job.extra.endswith('"<nested too deep>"' + "]" * 249 + "}")


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("a\x00b", '{"x":"a\\\\u0000b"}'),  # NUL kept visible as its escape, as in the rejects table
        ("\ud800", '{"x":"\\\\ud800"}'),  # an unpaired surrogate likewise
        (2**70, '{"x":"1180591620717411303424"}'),  # beyond what JSON numbers carry here: its digits
        ([{"b": 1, "a": None}], '{"x":[{"a":null,"b":1}]}'),
    ],
    ids=["nul", "surrogate", "bigint", "nested"],
)
def test_undocumented_fields_are_kept_in_a_form_jsonb_holds(value: object, stored: str) -> None:
    job = parse_job({**GOOD, "x": value})
    assert isinstance(job, SyncJob)
    assert job.extra == stored
    assert "\x00" not in stored


@pytest.mark.parametrize(
    ("obj", "reason", "raw"),
    [
        ([1, 2], "not an object: an array", "[1,2]"),
        ("job", "not an object: a string", '"job"'),
        (None, "not an object: null", "null"),
        (7, "not an object: a number", "7"),
        ({}, "id: missing", "{}"),
    ],
)
def test_parse_job_rejects_non_objects(obj: object, reason: str, raw: str) -> None:
    assert parse_job(obj) == Reject(raw=raw, reason=reason)


def test_reject_raw_is_compact_json_of_the_element() -> None:
    obj = {**GOOD, "id": "x"}
    result = parse_job(obj)
    assert isinstance(result, Reject)
    assert orjson.loads(result.raw) == obj
    assert ", " not in result.raw and ": " not in result.raw.replace("web/app", "")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2020-03-12T08:11:36.518144Z", datetime(2020, 3, 12, 8, 11, 36, 518144, tzinfo=UTC)),
        ("2020-03-12T08:11:36Z", datetime(2020, 3, 12, 8, 11, 36, tzinfo=UTC)),
        ("2020-03-12t08:11:36z", datetime(2020, 3, 12, 8, 11, 36, tzinfo=UTC)),
        ("2020-03-12T08:11:36.5Z", datetime(2020, 3, 12, 8, 11, 36, 500000, tzinfo=UTC)),
        ("2020-03-12T16:11:36+08:00", datetime(2020, 3, 12, 8, 11, 36, tzinfo=UTC)),
        ("2020-03-12T02:41:36.25-05:30", datetime(2020, 3, 12, 8, 11, 36, 250000, tzinfo=UTC)),
        ("2020-03-12T08:11:36-00:00", datetime(2020, 3, 12, 8, 11, 36, tzinfo=UTC)),
        ("2020-03-12T08:11:36.123456789Z", datetime(2020, 3, 12, 8, 11, 36, 123456, tzinfo=UTC)),
        ("2024-02-29T23:59:59Z", datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC)),
    ],
)
def test_parse_rfc3339_accepts(text: str, expected: datetime) -> None:
    parsed = parse_rfc3339(text)
    assert parsed == expected
    assert parsed is not None and parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "yesterday",
        "2020-03-12",
        "2020-03-12T08:11:36",  # no offset: ambiguous
        "2020-03-12 08:11:36Z",  # a space is an ISO 8601 extension, not RFC 3339's date-time
        "20200312T081136Z",
        "2020-03-12T08:11Z",
        "2020-02-30T00:00:00Z",
        "2023-02-29T00:00:00Z",
        "2020-03-12T24:00:00Z",
        "2020-03-12T08:60:00Z",
        "2020-03-12T08:11:60Z",  # leap second: datetime cannot hold it
        "2020-03-12T08:11:36+24:00",
        "2020-03-12T08:11:36+08:60",
        "2020-03-12T08:11:36+0800",
        "2020-03-12T08:11:36.Z",
        "2020-03-12T08:11:36.1234567890Z",
        " 2020-03-12T08:11:36Z",
        "\u0662020-03-12T08:11:36Z",
    ],
)
def test_parse_rfc3339_refuses(text: str) -> None:
    assert parse_rfc3339(text) is None


@given(st.text())
def test_parse_rfc3339_never_raises(text: str) -> None:
    parsed = parse_rfc3339(text)
    assert parsed is None or parsed.tzinfo is UTC


AWARE = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
).map(lambda d: d.astimezone(UTC))
OFFSETS = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))


@given(AWARE, OFFSETS)
def test_parse_rfc3339_round_trips(moment: datetime, tz: timezone) -> None:
    local = moment.astimezone(tz)
    text = local.isoformat(timespec="microseconds")
    assert parse_rfc3339(text) == moment
    assert parse_rfc3339(text.replace("+00:00", "Z")) == moment


JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
JSON = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=6),
    max_leaves=20,
)


@given(JSON)
def test_parse_job_never_raises_on_any_json(obj: object) -> None:
    result = parse_job(obj)
    assert isinstance(result, Reject)  # arbitrary values never make a whole job
    assert result.reason and "\n" not in result.reason


@given(st.fixed_dictionaries({k: st.just(v) for k, v in GOOD.items()}), st.sampled_from(list(GOOD)), JSON)
def test_parse_job_one_field_replaced_by_anything(base: dict[str, Any], key: str, value: object) -> None:
    result = parse_job({**base, key: value})
    if isinstance(result, Reject):
        assert result.reason.startswith(f"{key}: ")
    else:
        assert isinstance(result, SyncJob)


JOB_FIELDS = {
    "id": st.integers(0, 2**63 - 1),
    "override": st.booleans(),
    "createdAt": AWARE,
    "updatedAt": AWARE,
    **{key: st.text().filter(lambda s: "\x00" not in s) for key in STRING_FIELDS},
}


@given(st.fixed_dictionaries(JOB_FIELDS))
def test_parse_job_round_trips_valid_records(fields: dict[str, Any]) -> None:
    wire = {
        **fields,
        "createdAt": fields["createdAt"].isoformat().replace("+00:00", "Z"),
        "updatedAt": fields["updatedAt"].isoformat(),
    }
    job = parse_job(orjson.loads(orjson.dumps(wire)))
    assert isinstance(job, SyncJob)
    assert (job.id, job.override, job.created_at, job.updated_at) == (
        fields["id"],
        fields["override"],
        fields["createdAt"],
        fields["updatedAt"],
    )
    assert (job.namespace, job.repo_name, job.tag, job.status) == (
        fields["namespace"],
        fields["repoName"],
        fields["tag"],
        fields["status"],
    )
    assert (job.domain_id, job.domain_name, job.sync_operator_name) == (
        fields["domainID"],
        fields["domainName"],
        fields["syncOperatorName"],
    )


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [("a\nb\r\n\tc", 50, "a b c"), ("x" * 10, 5, "xxxx…"), ("  ", 5, ""), ("\x00\x1bz", 5, "z")],
)
def test_single_line(text: str, limit: int, expected: str) -> None:
    assert single_line(text, limit) == expected


def test_header_lookup_is_case_insensitive_and_first_wins() -> None:
    assert header({"X-Request-Id": "a"}, "x-request-id") == "a"
    assert header({"x-a": "1", "X-A": "2"}, "X-A") == "1"
    assert header({}, "x") is None


def test_compact_json_falls_back_to_repr() -> None:
    assert compact_json({"a": [1, "b"]}) == '{"a":[1,"b"]}'
    assert compact_json(2**70) == repr(2**70)  # beyond what orjson serialises
    assert compact_json("x" * 50, limit=10) == '"xxxxxxxx…'
