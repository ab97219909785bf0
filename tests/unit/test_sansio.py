"""Request building, header parsing and response decoding of the sans-I/O layer."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline import errors, sansio
from pipeline.domain import ContentRange, Repository, SyncJob

SAMPLES = Path(__file__).parent.parent / "samples"
NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


# --- building requests ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "segment"),
    [
        ("app", "app"),
        ("team/app", "team$app"),
        ("a/b/c", "a$b$c"),
        ("web.app_1-x", "web.app_1-x"),
        ("odd name", "odd%20name"),
        ("ü/x", "%C3%BC$x"),
        ("%2F", "%252F"),
    ],
)
def test_repo_segment(name: str, segment: str) -> None:
    assert sansio.repo_segment(name) == segment


def test_sync_job_path_replaces_slashes() -> None:
    path = sansio.sync_job_path("team", "web/app")
    assert path == "/v2/manage/namespaces/team/repos/web$app/sync_job"


@pytest.mark.parametrize(("namespace", "repository"), [("", "app"), ("ns", "")])
def test_sync_job_path_refuses_empty_names(namespace: str, repository: str) -> None:
    with pytest.raises(ValueError, match="empty"):
        sansio.sync_job_path(namespace, repository)


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        ([("limit", 10), ("offset", 0), ("order", "asc")], "limit::10|offset::0|order::asc"),
        ([("order", "desc"), ("limit", 5)], "order::desc|limit::5"),
        ([], ""),
    ],
)
def test_build_filter_keeps_order(items: list[tuple[str, str | int]], expected: str) -> None:
    assert sansio.build_filter(items) == expected


@pytest.mark.parametrize("items", [[("name", "a|limit::1")], [("name", "a::b")], [("x|y", "1")]])
def test_build_filter_refuses_injection(items: list[tuple[str, str | int]]) -> None:
    with pytest.raises(ValueError, match="contains"):
        sansio.build_filter(items)


@pytest.mark.parametrize(
    ("raw", "encoded"),
    [
        ("abcXYZ019-_.~", "abcXYZ019-_.~"),
        ("|", "%7C"),
        (":", "%3A"),
        ("/", "%2F"),
        ("$", "%24"),
        (" ", "%20"),
        ("+", "%2B"),
        ("é", "%C3%A9"),
        ("\u6c49", "%E6%B1%89"),
    ],
)
def test_encode_component(raw: str, encoded: str) -> None:
    assert sansio.encode_component(raw) == encoded


def test_sync_job_query_matches_the_sdk_form() -> None:
    assert sansio.sync_job_query(10, 0) == "filter=limit%3A%3A10%7Coffset%3A%3A0%7Corder%3A%3Aasc"
    assert sansio.sync_job_query(100, 300, "desc") == (
        "filter=limit%3A%3A100%7Coffset%3A%3A300%7Corder%3A%3Adesc"
    )


def test_encode_query_sorts_keys() -> None:
    assert sansio.encode_query({"b": "2", "a": "x y", "c": "|"}) == "a=x%20y&b=2&c=%7C"


@pytest.mark.parametrize(
    ("kwargs", "filter_text"),
    [
        ({"limit": 100, "offset": 0}, "limit::100|offset::0"),
        ({"limit": 1000, "offset": 2000, "namespace": "team"}, "namespace::team|limit::1000|offset::2000"),
        (
            {"limit": 5, "offset": 5, "namespace": "t", "name": "web/app"},
            "namespace::t|name::web/app|limit::5|offset::5",
        ),
    ],
)
def test_repos_query(kwargs: dict[str, object], filter_text: str) -> None:
    query = sansio.repos_query(**kwargs)  # type: ignore[arg-type]
    assert parse_qsl(query) == [("filter", filter_text)]
    assert query == sansio.encode_query({"filter": filter_text})


@pytest.mark.parametrize(
    ("limit", "offset", "order"), [(0, 0, "asc"), (10, -1, "asc"), (10, 0, "up"), (True, 0, "asc")]
)
def test_sync_job_query_refuses_bad_windows(limit: int, offset: int, order: str) -> None:
    with pytest.raises(ValueError, match="must be"):
        sansio.sync_job_query(limit, offset, order)


# --- Content-Range ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("0-10/25", ContentRange(0, 10, 25)),
        ("  20-5/25\t", ContentRange(20, 5, 25)),
        ("0-0/0", ContentRange(0, 0, 0)),
        ("100-0/100", ContentRange(100, 0, 100)),
        ("0-7/1000000", ContentRange(0, 7, 1_000_000)),
    ],
)
def test_parse_content_range(value: str | None, expected: ContentRange | None) -> None:
    assert sansio.parse_content_range(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        "garbage",
        "0-10",
        "0/10",
        "-1-5/10",
        "0--5/10",
        "a-b/c",
        "0-11/10",  # count > total
        "5-6/10",  # offset + count > total
        "items 0-9/10",  # a unit: the middle number would be an end index
        "bytes 0-9/10",
        "0-9/*",
        "0 - 9 / 10",
        "0-9/10, 0-9/10",
        "\u0661-2/3",  # an Arabic-Indic digit: int() would take it, the header grammar does not
        "0-1/" + "9" * 40,
    ],
)
def test_parse_content_range_refuses_malformed(value: str) -> None:
    with pytest.raises(ValueError, match="Content-Range"):
        sansio.parse_content_range(value)


@given(st.text())
def test_parse_content_range_never_fails_otherwise(value: str) -> None:
    try:
        parsed = sansio.parse_content_range(value)
    except ValueError:
        return
    assert parsed is not None
    assert min(parsed.offset, parsed.count) >= 0
    assert parsed.offset + parsed.count <= parsed.total


@given(st.integers(0, 10**12), st.integers(0, 10**12), st.integers(0, 10**12))
def test_parse_content_range_round_trips(offset: int, count: int, extra: int) -> None:
    total = offset + count + extra
    assert sansio.parse_content_range(f"{offset}-{count}/{total}") == ContentRange(offset, count, total)


# --- Retry-After --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (None, None),
        ("0", 0.0),
        ("120", 120.0),
        (" 7 ", 7.0),
        ("1.5", 1.5),
        ("Thu, 01 Jan 2026 12:00:30 GMT", 30.0),
        ("Thu, 01 Jan 2026 11:00:00 GMT", 0.0),  # in the past
        ("Thursday, 01-Jan-26 12:01:00 GMT", 60.0),  # obsolete RFC 850 form
        ("soon", None),
        ("", None),
        ("-5", None),
        ("1e3", None),
        ("nan", None),
        ("Thu, 32 Jan 2026 12:00:00 GMT", None),
    ],
)
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    assert sansio.parse_retry_after(value, NOW) == seconds


@given(st.text())
def test_parse_retry_after_never_raises(value: str) -> None:
    seconds = sansio.parse_retry_after(value, NOW)
    assert seconds is None or seconds >= 0.0


# --- decoding pages -----------------------------------------------------------------------------------


def test_decode_job_page_sample() -> None:
    page = sansio.decode_job_page(
        200, {"Content-Range": "0-3/3"}, sample("sync_jobs_page.json"), offset=0, limit=10
    )
    assert (page.offset, page.limit, page.item_count) == (0, 10, 3)
    assert page.content_range == ContentRange(0, 3, 3)
    assert page.rejects == ()
    assert [j.id for j in page.jobs] == [101, 102, 103]
    assert {j.repo_name for j in page.jobs} == {"web/app"}
    assert [j.status_known for j in page.jobs] == [True, False, True]
    assert page.jobs[1].created_at == datetime(2020, 3, 12, 8, 11, 36, tzinfo=UTC)
    assert page.jobs[2].sync_operator_name == ""


def test_decode_job_page_keeps_rejects_as_data() -> None:
    page = sansio.decode_job_page(
        200, {"content-range": "0-6/6"}, sample("sync_jobs_bad_records.json"), offset=0, limit=10
    )
    assert page.item_count == 6
    assert [j.id for j in page.jobs] == [7]
    assert [r.reason for r in page.rejects] == [
        "id: missing",
        "id: not an integer: '9'",
        "createdAt: not RFC 3339: 'yesterday'",
        "override: not a boolean: 'false'",
        "not an object: a string",
    ]
    assert page.rejects[-1].raw == '"not a job"'


@pytest.mark.parametrize("value", [None, "garbage", "0-20/10"])
def test_decode_job_page_tolerates_a_bad_content_range(value: str | None) -> None:
    headers = {} if value is None else {"Content-Range": value}
    page = sansio.decode_job_page(200, headers, b"[]", offset=0, limit=10)
    assert page.content_range is None
    assert page.item_count == 0


class MultiDict:
    """A read-only multi-valued header mapping, like aiohttp's CIMultiDictProxy (duplicates, any case)."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = pairs

    def items(self) -> list[tuple[str, str]]:
        return list(self.pairs)


def test_decode_job_page_reads_headers_of_any_case_and_shape() -> None:
    headers = MultiDict([("Set-Cookie", "a"), ("cOnTeNt-RaNgE", "5-0/5"), ("Content-Range", "0-1/1")])
    page = sansio.decode_job_page(200, headers, b"[]", offset=5, limit=10)  # type: ignore[arg-type]
    assert page.content_range == ContentRange(5, 0, 5)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'[{"id": 1,', "not JSON"),
        (b"<html><body>Service Unavailable</body></html>", "not JSON"),
        (b'{"id": 1}', "expected a JSON array, got an object"),
        (b'"[]"', "expected a JSON array, got a string"),
        (b"null", "got null"),
        (b"", "empty body"),
        (b"   ", "empty body"),
    ],
)
def test_decode_job_page_refuses_malformed_bodies(body: bytes, message: str) -> None:
    with pytest.raises(errors.MalformedResponse, match=message) as caught:
        sansio.decode_job_page(200, {}, body, offset=0, limit=10)
    assert "\n" not in caught.value.message


def test_decode_job_page_raises_the_error_of_non_2xx() -> None:
    with pytest.raises(errors.NotFound) as caught:
        sansio.decode_job_page(404, {"X-Request-Id": "r1"}, sample("error_legacy.json"), offset=0, limit=10)
    assert caught.value.code == "SVCSTG.SWR.4040010"
    assert caught.value.request_id == "r1"


def test_decode_namespaces() -> None:
    assert sansio.decode_namespaces(200, {}, sample("namespaces.json")) == ["team", "infra"]
    assert sansio.decode_namespaces(200, {}, b'{"namespaces": []}') == []


@pytest.mark.parametrize(
    "body", [b"[]", b"{}", b'{"namespaces": {}}', b'{"namespaces": [{"id": 1}]}', b'{"namespaces": [""]}']
)
def test_decode_namespaces_refuses_other_shapes(body: bytes) -> None:
    with pytest.raises(errors.MalformedResponse):
        sansio.decode_namespaces(200, {}, body)


def test_decode_repos_page_takes_total_from_total_range() -> None:
    page = sansio.decode_repos_page(200, {}, sample("repos_page.json"))
    assert page.repositories == (Repository("team", "web/app"), Repository("team", "worker"))
    assert (page.item_count, page.total) == (3, 42)
    assert [r.reason for r in page.rejects] == ["repository without name/namespace"]


@pytest.mark.parametrize(
    ("headers", "body", "total"),
    [
        ({"Content-Range": "0-1/7"}, b'[{"name": "a", "namespace": "n", "total_range": 42}]', 7),
        ({}, b"[]", None),
        ({}, b'[{"name": "a", "namespace": "n"}]', None),
        ({}, b'[{"name": "a", "namespace": "n", "total_range": true}]', None),
        ({"Content-Range": "junk"}, b'[{"name": "a", "namespace": "n", "total_range": 3}]', 3),
    ],
)
def test_decode_repos_page_total(headers: dict[str, str], body: bytes, total: int | None) -> None:
    assert sansio.decode_repos_page(200, headers, body).total == total


# --- decoding errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, errors.BadRequest),
        (404, errors.NotFound),
        (408, errors.TransientApiError),
        (429, errors.TransientApiError),
        (500, errors.TransientApiError),
        (503, errors.TransientApiError),
        (599, errors.TransientApiError),
        (401, errors.ApiError),
        (403, errors.Forbidden),
        (409, errors.ApiError),
        (302, errors.Redirected),
    ],
)
def test_decode_error_class_by_status(status: int, cls: type[errors.ApiError]) -> None:
    error = sansio.decode_error(status, {}, b"")
    assert type(error) is cls
    assert error.status == status
    assert isinstance(error, errors.RetryableError) == (cls is errors.TransientApiError)


@pytest.mark.parametrize(
    ("name", "code", "message", "request_id"),
    [
        ("error_current.json", "SVCSTG.SWR.4030170", "No permission to access the namespace", "hdr"),
        ("error_legacy.json", "SVCSTG.SWR.4040010", "Repository not found", "hdr"),
        ("error_gateway.json", "APIGW.0308", "The throttling threshold has been reached", "c4d2a1b0e9f8"),
        ("error_proxy_502.html", None, "<html> <head><title>502 Bad Gateway</title></head>", "hdr"),
    ],
)
def test_decode_error_reads_every_documented_shape(
    name: str, code: str | None, message: str, request_id: str
) -> None:
    error = sansio.decode_error(429, {"x-request-id": "hdr"}, sample(name), now=NOW)
    assert error.code == code
    assert error.error_message is not None and error.error_message.startswith(message)
    assert error.request_id == request_id


@pytest.mark.parametrize(
    "body",
    [
        b"",
        bytes(range(256)),
        b"\xff\xfe\x00garbage",
        b"[]",
        b"[1, 2]",
        b"{}",
        b'{"errors": "x", "error_code": {"a": 1}}',
        b'{"error_msg": "line one\nline two\r\n\tthree"}',
        b"x" * 10_000,
    ],
)
def test_decode_error_never_fails_and_stays_one_short_line(body: bytes) -> None:
    error = sansio.decode_error(502, {}, body, now=NOW)
    assert isinstance(error, errors.TransientApiError)
    assert "\n" not in error.message and "\r" not in error.message
    assert len(error.message) < 260


def test_decode_error_retry_after() -> None:
    headers = {"Retry-After": "Thu, 01 Jan 2026 12:00:10 GMT"}
    assert sansio.decode_error(429, headers, sample("error_gateway.json"), now=NOW).retry_after == 10.0
    assert sansio.decode_error(503, {"retry-after": "3"}, b"", now=NOW).retry_after == 3.0
    assert sansio.decode_error(500, {}, b"", now=NOW).retry_after is None
    assert sansio.decode_error(400, {"Retry-After": "3"}, b"", now=NOW).retry_after is None


@given(st.integers(100, 599), st.binary(max_size=300))
def test_decode_error_total_on_any_answer(status: int, body: bytes) -> None:
    error = sansio.decode_error(status, {"Retry-After": "x"}, body, now=NOW)
    assert isinstance(error, errors.ApiError)
    assert "\n" not in error.message


def test_jobs_round_trip_through_a_page() -> None:
    jobs = orjson.loads(sample("sync_jobs_page.json"))
    page = sansio.decode_job_page(200, {}, orjson.dumps(jobs), offset=0, limit=3)
    assert all(isinstance(job, SyncJob) for job in page.jobs)
    assert [j.tag for j in page.jobs] == [j["tag"] for j in jobs]
