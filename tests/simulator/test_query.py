"""Filter and query parsing, table-driven (pure)."""

from __future__ import annotations

import pytest

from pipeline.simulator.query import (
    QueryError,
    ReposQuery,
    SyncJobQuery,
    namespaces_query,
    repos_query,
    sync_job_query,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("filter=limit::10|offset::0", SyncJobQuery(10, 0, "asc")),
        ("filter=offset::20|limit::10", SyncJobQuery(10, 20, "asc")),
        ("filter=limit%3A%3A10%7Coffset%3A%3A0%7Corder%3A%3Adesc", SyncJobQuery(10, 0, "desc")),
        ("filter=order::asc|limit::1|offset::007", SyncJobQuery(1, 7, "asc")),
        ("other=1&filter=limit::5|offset::5", SyncJobQuery(5, 5, "asc")),
    ],
)
def test_sync_job_query_accepts(raw: str, expected: SyncJobQuery) -> None:
    assert sync_job_query(raw) == expected


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("", "filter is required"),
        ("filter=limit::10", "offset is required"),
        ("filter=offset::0", "limit is required"),
        ("filter=limit::0|offset::0", "limit must be at least 1"),
        ("filter=limit::-1|offset::0", "must be an integer"),
        ("filter=limit::ten|offset::0", "must be an integer"),
        ("filter=limit::1.5|offset::0", "must be an integer"),
        ("filter=limit::10|offset::-3", "must be an integer"),
        ("filter=limit::10|offset::0|order::up", "order must be asc or desc"),
        ("filter=limit:10|offset::0", "malformed filter item"),
        ("filter=limit::|offset::0", "malformed filter item"),
        ("filter=::10|offset::0", "malformed filter item"),
        ("filter=limit::10||offset::0", "malformed filter item"),
        ("filter=limit::10|offset::0|page::2", "unknown filter key"),
        ("filter=limit::10|limit::20|offset::0", "given twice"),
        ("filter=limit::10|offset::0&filter=limit::1|offset::0", "filter given twice"),
        ("filter=limit::99999999999|offset::0", "must be an integer"),
        ("filter=limit::%FF|offset::0", "not valid UTF-8"),
    ],
)
def test_sync_job_query_refuses(raw: str, fragment: str) -> None:
    with pytest.raises(QueryError, match=fragment):
        sync_job_query(raw)


def test_repos_query_defaults_and_filter_wins() -> None:
    assert repos_query("") == ReposQuery(None, None, None, 100, 0, "name", "asc")
    assert repos_query("namespace=a&limit=5") == ReposQuery("a", None, None, 5, 0, "name", "asc")
    # Both given: the filter wins, the separate parameters are ignored.
    got = repos_query(
        "namespace=a&limit=5&filter=name::app|limit::7|order_column::tag_count|order_type::desc"
    )
    assert got == ReposQuery(None, "app", None, 7, 0, "tag_count", "desc")


@pytest.mark.parametrize(
    "raw",
    [
        "filter=limit::1001",
        "filter=limit::0",
        "filter=order_column::size",
        "filter=order_type::up",
        "filter=tag::x",
        "limit=5000",
    ],
)
def test_repos_query_refuses(raw: str) -> None:
    with pytest.raises(QueryError):
        repos_query(raw)


def test_namespaces_query() -> None:
    assert namespaces_query("") == (None, False)
    assert namespaces_query("filter=namespace::ac|mode::visible") == ("ac", True)
    with pytest.raises(QueryError):
        namespaces_query("filter=mode::all")
