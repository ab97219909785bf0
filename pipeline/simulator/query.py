"""Raw query-string and `filter=` parsing, strict the way SWR is (pure: no I/O)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

_DIGITS = re.compile(r"[0-9]{1,9}")
SYNC_JOB_KEYS = frozenset({"limit", "offset", "order"})
REPOS_KEYS = frozenset({"namespace", "name", "category", "limit", "offset", "order_column", "order_type"})
NAMESPACES_KEYS = frozenset({"namespace", "mode"})
REPO_ORDER_COLUMNS = frozenset({"name", "updated_time", "tag_count"})
REPOS_DEFAULT_LIMIT = 100
REPOS_MAX_LIMIT = 1000


class QueryError(ValueError):
    """The query is malformed; the message is the detail of the 400 answer."""


@dataclass(frozen=True, slots=True)
class SyncJobQuery:
    """ShowSyncJob's filter: limit and offset required, order optional (the simulator defaults to asc)."""

    limit: int
    offset: int
    order: str


@dataclass(frozen=True, slots=True)
class ReposQuery:
    """ListReposDetails' filter after defaults."""

    namespace: str | None
    name: str | None
    category: str | None
    limit: int
    offset: int
    order_column: str
    order_type: str


def decode(text: str) -> str:
    """Percent-decode one query component; '+' stays '+' (the gateway does not read it as a space)."""
    try:
        return unquote(text, errors="strict")
    except UnicodeDecodeError as exc:
        raise QueryError("query is not valid UTF-8 once percent-decoded") from exc


def query_pairs(raw_query: str) -> list[tuple[str, str]]:
    """The decoded (key, value) pairs of a raw query string, in order."""
    pairs = []
    for part in raw_query.split("&"):
        if part:
            key, _, value = part.partition("=")
            pairs.append((decode(key), decode(value)))
    return pairs


def parse_filter(value: str, allowed: frozenset[str]) -> dict[str, str]:
    """`k1::v1|k2::v2` (already decoded) into a dict; every key known, non-empty and given once."""
    result: dict[str, str] = {}
    if value == "":
        return result
    for part in value.split("|"):
        key, sep, item = part.partition("::")
        if not sep or not key or not item:
            raise QueryError(f"malformed filter item {part!r}: expected key::value")
        if key not in allowed:
            raise QueryError(f"unknown filter key {key!r}")
        if key in result:
            raise QueryError(f"filter key {key!r} given twice")
        result[key] = item
    return result


def find_filter(raw_query: str, allowed: frozenset[str]) -> tuple[dict[str, str] | None, dict[str, str]]:
    """(the parsed filter or None when absent, the other query parameters)."""
    found: dict[str, str] | None = None
    others: dict[str, str] = {}
    for key, value in query_pairs(raw_query):
        if key == "filter":
            if found is not None:
                raise QueryError("filter given twice")
            found = parse_filter(value, allowed)
        else:
            others.setdefault(key, value)
    return found, others


def parse_count(value: str | None, name: str, *, minimum: int) -> int:
    """A non-negative decimal integer of at most 9 digits, at least `minimum`."""
    if value is None:
        raise QueryError(f"{name} is required")
    if not _DIGITS.fullmatch(value):
        raise QueryError(f"{name} must be an integer, got {value!r}")
    number = int(value)
    if number < minimum:
        raise QueryError(f"{name} must be at least {minimum}")
    return number


def sync_job_query(raw_query: str) -> SyncJobQuery:
    """Parse ShowSyncJob's query; raises QueryError."""
    flt, _ = find_filter(raw_query, SYNC_JOB_KEYS)
    if flt is None:
        raise QueryError("filter is required: filter=limit::{limit}|offset::{offset}")
    limit = parse_count(flt.get("limit"), "limit", minimum=1)
    offset = parse_count(flt.get("offset"), "offset", minimum=0)
    order = flt.get("order", "asc")
    if order not in ("asc", "desc"):
        raise QueryError(f"order must be asc or desc, got {order!r}")
    return SyncJobQuery(limit, offset, order)


def repos_query(raw_query: str) -> ReposQuery:
    """Parse ListReposDetails' query: the filter wins over separate parameters; raises QueryError."""
    flt, others = find_filter(raw_query, REPOS_KEYS)
    params = flt if flt is not None else {k: v for k, v in others.items() if k in REPOS_KEYS}
    limit = REPOS_DEFAULT_LIMIT
    if "limit" in params:
        limit = parse_count(params["limit"], "limit", minimum=1)
        if limit > REPOS_MAX_LIMIT:
            raise QueryError(f"limit must be at most {REPOS_MAX_LIMIT}")
    offset = parse_count(params["offset"], "offset", minimum=0) if "offset" in params else 0
    column = params.get("order_column", "name")
    if column not in REPO_ORDER_COLUMNS:
        raise QueryError(f"order_column must be one of {sorted(REPO_ORDER_COLUMNS)}")
    order_type = params.get("order_type", "asc")
    if order_type not in ("asc", "desc"):
        raise QueryError(f"order_type must be asc or desc, got {order_type!r}")
    return ReposQuery(
        params.get("namespace"), params.get("name"), params.get("category"), limit, offset, column, order_type
    )


def namespaces_query(raw_query: str) -> tuple[str | None, bool]:
    """ListNamespaces' optional filter: (namespace substring, mode::visible)."""
    flt, _ = find_filter(raw_query, NAMESPACES_KEYS)
    flt = flt or {}
    mode = flt.get("mode")
    if mode not in (None, "visible"):
        raise QueryError(f"mode must be visible, got {mode!r}")
    return flt.get("namespace"), mode == "visible"
