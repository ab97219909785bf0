"""SDK-HMAC-SHA256 signing: the signing guide's worked example, and the rules it implies."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline import sansio, signing

# The official worked example (docs/swr-api.md, from the public signing guide).
AK = "QTWAOYTTINDUT2QVKYUC"
SK = "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc"
PATH = "/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs"
QUERY = "limit=2&marker=13551d6b-755d-4757-b956-536f674975c0"
HEADERS = {"Content-Type": "application/json", "Host": "service.region.example.com"}
DATE = "20191115T033655Z"


def test_worked_example_canonical_request() -> None:
    headers = {**HEADERS, "X-Sdk-Date": DATE}
    names = signing.signed_header_names(headers)
    assert names == ["content-type", "host", "x-sdk-date"]
    request = signing.canonical_request("GET", PATH, QUERY, headers, names, b"")
    assert request == (
        "GET\n"
        "/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs/\n"
        "limit=2&marker=13551d6b-755d-4757-b956-536f674975c0\n"
        "content-type:application/json\n"
        "host:service.region.example.com\n"
        "x-sdk-date:20191115T033655Z\n"
        "\n"
        "content-type;host;x-sdk-date\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    assert hashlib.sha256(request.encode()).hexdigest() == (
        "b25362e603ee30f4f25e7858e8a7160fd36e803bb2dfe206278659d71a9bcd7a"
    )


def test_worked_example_authorization() -> None:
    added = signing.sign_request("GET", PATH, QUERY, HEADERS, b"", AK, SK, DATE)
    assert added == {
        "X-Sdk-Date": DATE,
        "Authorization": "SDK-HMAC-SHA256 Access=QTWAOYTTINDUT2QVKYUC, "
        "SignedHeaders=content-type;host;x-sdk-date, "
        "Signature=7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe",
    }


def test_string_to_sign_shape() -> None:
    assert signing.string_to_sign("abc", DATE) == (
        "SDK-HMAC-SHA256\n20191115T033655Z\nba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )


@pytest.mark.parametrize(
    ("path", "canonical"),
    [
        ("/v2/manage/repos", "/v2/manage/repos/"),
        ("/v2/manage/repos/", "/v2/manage/repos/"),
        ("/", "/"),
        ("", "/"),
        (
            "/v2/manage/namespaces/team/repos/web$app/sync_job",
            "/v2/manage/namespaces/team/repos/web%24app/sync_job/",
        ),
        ("/v2/ns/repos/web%24app/x", "/v2/ns/repos/web%24app/x/"),  # already encoded: unquoted first
        ("/a b/ü", "/a%20b/%C3%BC/"),
        ("/a%2Fb", "/a/b/"),  # the SDK unquotes before splitting: %2F becomes a separator
    ],
)
def test_canonical_uri(path: str, canonical: str) -> None:
    assert signing.canonical_uri(path) == canonical


@pytest.mark.parametrize(
    ("query", "canonical"),
    [
        ("", ""),
        ("b=2&a=1", "a=1&b=2"),
        ("filter=limit::10|offset::0", "filter=limit%3A%3A10%7Coffset%3A%3A0"),
        ("filter=limit%3A%3A10%7Coffset%3A%3A0", "filter=limit%3A%3A10%7Coffset%3A%3A0"),
        ("a=2&a=1", "a=1&a=2"),
        ("flag&x=", "flag=&x="),
        ("?q=a%20b", "q=a%20b"),
        ("q=a+b", "q=a%2Bb"),  # '+' is a literal plus, as the SDK signs it
        ("&&a=1&", "a=1"),
        ("k=%7e", "k=~"),
    ],
)
def test_canonical_query(query: str, canonical: str) -> None:
    assert signing.canonical_query(query) == canonical


PARAMS = st.dictionaries(st.text(min_size=1, max_size=10), st.text(max_size=20), max_size=5)


@given(PARAMS)
def test_the_query_sent_is_the_query_signed(params: dict[str, str]) -> None:
    query = sansio.encode_query(params)
    assert signing.canonical_query(query) == query


def test_sync_job_request_signs_dollar_as_percent_24() -> None:
    path = sansio.sync_job_path("team", "web/app")
    query = sansio.sync_job_query(10, 0)
    headers = {"Host": "swr-api.cn-north-4.myhuaweicloud.com", "X-Project-Id": "p1"}
    request = signing.canonical_request(
        "get", path, query, {**headers, "X-Sdk-Date": DATE}, ["host", "x-project-id", "x-sdk-date"], b""
    )
    lines = request.split("\n")
    assert lines[0] == "GET"
    assert path == "/v2/manage/namespaces/team/repos/web$app/sync_job"  # sent with a bare '$'
    assert lines[1] == "/v2/manage/namespaces/team/repos/web%24app/sync_job/"  # signed as %24
    assert lines[2] == query


def test_header_values_are_trimmed_and_names_lowercased() -> None:
    a = signing.sign_request("GET", "/x", "", {"Host": " h ", "X-Project-Id": "p\t"}, b"", AK, SK, DATE)
    b = signing.sign_request("GET", "/x", "", {"host": "h", "x-project-id": "p"}, b"", AK, SK, DATE)
    assert a == b
    assert "SignedHeaders=host;x-project-id;x-sdk-date," in a["Authorization"]


def test_every_given_header_is_signed_but_authorization_and_a_stale_date() -> None:
    headers = {"Host": "h", "X-Security-Token": "t", "Authorization": "old", "X-Sdk-Date": "19700101T000000Z"}
    added = signing.sign_request("GET", "/x", "", headers, b"", AK, SK, DATE)
    assert "SignedHeaders=host;x-sdk-date;x-security-token," in added["Authorization"]
    assert added["X-Sdk-Date"] == DATE


def test_signature_depends_on_what_is_signed() -> None:
    base = signing.sign_request("GET", "/x", "a=1", {"Host": "h"}, b"", AK, SK, DATE)["Authorization"]
    variants = [
        signing.sign_request("POST", "/x", "a=1", {"Host": "h"}, b"", AK, SK, DATE),
        signing.sign_request("GET", "/y", "a=1", {"Host": "h"}, b"", AK, SK, DATE),
        signing.sign_request("GET", "/x", "a=2", {"Host": "h"}, b"", AK, SK, DATE),
        signing.sign_request("GET", "/x", "a=1", {"Host": "h2"}, b"", AK, SK, DATE),
        signing.sign_request("GET", "/x", "a=1", {"Host": "h"}, b"{}", AK, SK, DATE),
        signing.sign_request("GET", "/x", "a=1", {"Host": "h"}, b"", AK, SK + "x", DATE),
        signing.sign_request("GET", "/x", "a=1", {"Host": "h"}, b"", AK, SK, "20191115T033656Z"),
    ]
    assert len({v["Authorization"] for v in variants} | {base}) == len(variants) + 1


def test_unsigned_payload_header_replaces_the_body_hash() -> None:
    headers = {"host": "h", "x-sdk-content-sha256": "UNSIGNED-PAYLOAD"}
    request = signing.canonical_request("PUT", "/x", "", headers, sorted(headers), b"big body")
    assert request.endswith("\nUNSIGNED-PAYLOAD")


def test_signature_is_hmac_of_the_string_to_sign() -> None:
    headers = {"Host": "h", "X-Sdk-Date": DATE}
    request = signing.canonical_request("GET", "/x", "", headers, ["host", "x-sdk-date"], b"")
    expected = hmac.new(
        SK.encode(), signing.string_to_sign(request, DATE).encode(), hashlib.sha256
    ).hexdigest()
    added = signing.sign_request("GET", "/x", "", {"Host": "h"}, b"", AK, SK, DATE)
    assert added["Authorization"].endswith(f"Signature={expected}")


def test_host_is_required() -> None:
    with pytest.raises(ValueError, match="Host") as caught:
        signing.sign_request("GET", "/x", "", {"Content-Type": "application/json"}, b"", AK, SK, DATE)
    assert SK not in str(caught.value)


def test_a_missing_signed_header_is_named() -> None:
    with pytest.raises(ValueError, match="x-project-id"):
        signing.canonical_request("GET", "/x", "", {"Host": "h"}, ["host", "x-project-id"], b"")


def test_the_secret_never_leaks_into_errors() -> None:
    bad_key = "sk-\ud800-secret"
    with pytest.raises(ValueError) as caught:
        signing.sign_request("GET", "/x", "", {"Host": "h"}, b"", AK, bad_key, DATE)
    assert "secret" not in str(caught.value).replace("secret key", "")
    assert caught.value.__context__ is None and caught.value.__cause__ is None
    assert bad_key not in repr(caught.value)


def test_the_secret_is_not_in_the_added_headers() -> None:
    added = signing.sign_request("GET", PATH, QUERY, HEADERS, b"", AK, SK, DATE)
    assert all(SK not in value for value in added.values())


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2019, 11, 15, 3, 36, 55, tzinfo=UTC), "20191115T033655Z"),
        (datetime(2019, 11, 15, 11, 36, 55, 999999, tzinfo=timezone(timedelta(hours=8))), "20191115T033655Z"),
        (datetime(2019, 11, 15, 3, 36, 55), "20191115T033655Z"),
        (datetime(2000, 1, 1, tzinfo=UTC), "20000101T000000Z"),
    ],
)
def test_format_sdk_date(moment: datetime, text: str) -> None:
    assert signing.format_sdk_date(moment) == text
