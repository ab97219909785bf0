"""The simulator's SDK-HMAC-SHA256 verifier, checked against the official worked example in swr-api.md."""

from __future__ import annotations

import hashlib

import pytest

from pipeline.simulator.signing import (
    Authorization,
    WireRequest,
    canonical_query,
    canonical_request,
    canonical_uri,
    check_signature,
    parse_authorization,
    signature,
)

# docs/swr-api.md, "Official worked example".
EXAMPLE = WireRequest(
    method="GET",
    raw_path="/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs",
    raw_query="limit=2&marker=13551d6b-755d-4757-b956-536f674975c0",
    headers={
        "content-type": "application/json",
        "host": "service.region.example.com",
        "x-sdk-date": "20191115T033655Z",
    },
)
EXAMPLE_AK = "QTWAOYTTINDUT2QVKYUC"
EXAMPLE_SK = "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc"
EXAMPLE_CANONICAL_SHA256 = "b25362e603ee30f4f25e7858e8a7160fd36e803bb2dfe206278659d71a9bcd7a"
EXAMPLE_AUTHORIZATION = (
    "SDK-HMAC-SHA256 Access=QTWAOYTTINDUT2QVKYUC, SignedHeaders=content-type;host;x-sdk-date, "
    "Signature=7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe"
)
SIGNED = ("content-type", "host", "x-sdk-date")


def test_worked_example_canonical_request_hash() -> None:
    canonical = canonical_request(EXAMPLE, SIGNED)
    assert hashlib.sha256(canonical.encode()).hexdigest() == EXAMPLE_CANONICAL_SHA256


def test_worked_example_signature_is_accepted() -> None:
    auth = parse_authorization(EXAMPLE_AUTHORIZATION)
    assert auth == Authorization(
        EXAMPLE_AK, SIGNED, "7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe"
    )
    assert check_signature(auth, EXAMPLE_SK, EXAMPLE)


def test_worked_example_rejects_a_wrong_secret_or_changed_query() -> None:
    auth = parse_authorization(EXAMPLE_AUTHORIZATION)
    assert auth is not None
    assert not check_signature(auth, EXAMPLE_SK[:-1] + "x", EXAMPLE)
    changed = WireRequest("GET", EXAMPLE.raw_path, "limit=3&marker=x", EXAMPLE.headers)
    assert not check_signature(auth, EXAMPLE_SK, changed)


def test_signature_formula() -> None:
    canonical = canonical_request(EXAMPLE, SIGNED)
    assert signature(EXAMPLE_SK, "20191115T033655Z", canonical) == EXAMPLE_AUTHORIZATION[-64:]


@pytest.mark.parametrize(
    ("raw_path", "expected"),
    [
        ("/v2/manage/repos", "/v2/manage/repos/"),
        (
            "/v2/manage/namespaces/acme/repos/team$app/sync_job",
            "/v2/manage/namespaces/acme/repos/team%24app/sync_job/",
        ),
        (
            "/v2/manage/namespaces/acme/repos/team%24app/sync_job",
            "/v2/manage/namespaces/acme/repos/team%24app/sync_job/",
        ),
        ("/a/", "/a/"),
        ("/a%20b/c~d", "/a%20b/c~d/"),
    ],
)
def test_canonical_uri(raw_path: str, expected: str) -> None:
    assert canonical_uri(raw_path) == expected


@pytest.mark.parametrize(
    ("raw_query", "expected"),
    [
        ("filter=limit::10|offset::0", "filter=limit%3A%3A10%7Coffset%3A%3A0"),
        ("filter=limit%3A%3A10%7Coffset%3A%3A0", "filter=limit%3A%3A10%7Coffset%3A%3A0"),
        ("b=2&a=1", "a=1&b=2"),
        ("", ""),
        ("flag", "flag="),
    ],
)
def test_canonical_query(raw_query: str, expected: str) -> None:
    assert canonical_query(raw_query) == expected


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Bearer abc",
        "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date",
        "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date, Signature=not-hex",
    ],
)
def test_parse_authorization_rejects_malformed(header: str) -> None:
    assert parse_authorization(header) is None


def test_unsorted_or_incomplete_signed_headers_are_refused() -> None:
    canonical_sig = EXAMPLE_AUTHORIZATION[-64:]
    assert not check_signature(
        Authorization(EXAMPLE_AK, ("host", "content-type"), canonical_sig), EXAMPLE_SK, EXAMPLE
    )
    assert not check_signature(
        Authorization(EXAMPLE_AK, ("content-type", "host"), canonical_sig), EXAMPLE_SK, EXAMPLE
    )
