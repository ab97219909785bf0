"""A 3xx decodes to Redirected (the repository fails, nothing is followed); its Location is shown without
credentials, query or fragment."""

from __future__ import annotations

import pytest

from pipeline import errors, sansio


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_a_repository_failure_naming_its_target(status: int) -> None:
    headers = {
        "Location": "https://swr-api.other.example.com/v2/manage/repos?filter=limit::5",
        "X-Request-Id": "r1",
    }
    error = sansio.decode_error(status, headers, b"")
    assert isinstance(error, errors.Redirected) and isinstance(error, errors.RepositoryError)
    assert not isinstance(error, errors.RetryableError | errors.FatalError)
    assert (error.status, error.location, error.request_id) == (
        status,
        "https://swr-api.other.example.com/v2/manage/repos",
        "r1",
    )
    assert error.message.startswith(
        f"HTTP {status}: redirect to https://swr-api.other.example.com/v2/manage/repos"
    )
    assert "not followed" in error.message


def test_the_page_decoders_raise_it() -> None:
    with pytest.raises(errors.Redirected):
        sansio.decode_job_page(307, {"Location": "/elsewhere"}, b"", offset=0, limit=10)
    with pytest.raises(errors.Redirected):
        sansio.decode_namespaces(302, {}, b"")


@pytest.mark.parametrize(
    ("location", "shown"),
    [
        ("https://user:secret@host.example:8443/p/q?token=abc#frag", "https://host.example:8443/p/q"),
        ("http://[::1]:9/x", "http://[::1]:9/x"),
        ("/relative/path?x=1", "/relative/path"),
        ("", None),
        (None, None),
        ("http://host:notaport/", "an unparsable Location"),
    ],
)
def test_redirect_target_hides_credentials_query_and_fragment(
    location: str | None, shown: str | None
) -> None:
    assert sansio.redirect_target(location) == shown


def test_without_a_location_the_message_says_so() -> None:
    assert "redirect without a Location not followed" in sansio.decode_error(308, {}, b"").message
