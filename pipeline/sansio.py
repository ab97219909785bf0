"""Sans-I/O SWR API: paths, queries and decoding of (status, headers, body) into data or errors.

Nothing here awaits or touches the network; the aiohttp adapter sends what these functions build and hands
the answer back to the ``decode_*`` functions. API facts: docs/swr-api.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache
from urllib.parse import quote, urlsplit

import orjson

from pipeline import errors
from pipeline.domain import ContentRange, JobPage, Reject, Repository, SyncJob
from pipeline.records import (
    compact_json,
    header,
    json_kind,
    parse_job,
    parse_rfc3339,
    single_line,
)
from pipeline.wire import parse_valid_page

__all__ = [
    "NAMESPACES_PATH",
    "REPOS_PATH",
    "ReposPage",
    "build_filter",
    "decode_error",
    "decode_job_page",
    "decode_namespaces",
    "decode_repos_page",
    "encode_component",
    "encode_query",
    "parse_content_range",
    "parse_job",
    "parse_retry_after",
    "parse_rfc3339",
    "repo_segment",
    "repos_query",
    "sync_job_path",
    "sync_job_query",
]

REPOS_PATH = "/v2/manage/repos"
NAMESPACES_PATH = "/v2/manage/namespaces"

# ASCII only: `\d` alone would accept other Unicode digits, which int() happily converts.
_CONTENT_RANGE = re.compile(r"(\d{1,18})-(\d{1,18})/(\d{1,18})", re.ASCII)
_MAX_DELAY_DIGITS = 12


# --- Building requests --------------------------------------------------------------------------------


def encode_component(s: str) -> str:
    """Percent-encode UTF-8, leaving only ``A-Za-z0-9-_.~`` bare, uppercase hex (the signing guide's Enc)."""
    return quote(s, safe="")


def repo_segment(name: str) -> str:
    """The path segment for a repository: every '/' becomes '$' (a raw or %2F slash gets APIGW.0101)."""
    if not name:
        raise ValueError("repository name is empty")
    return quote(name.replace("/", "$"), safe="$")


# Every page of a crawl builds a path and a query; the same few thousand strings come back again and again.
@lru_cache(maxsize=4096, typed=True)
def sync_job_path(namespace: str, repository: str) -> str:
    """Path of ShowSyncJob for one repository."""
    if not namespace:
        raise ValueError("namespace is empty")
    return f"/v2/manage/namespaces/{encode_component(namespace)}/repos/{repo_segment(repository)}/sync_job"


def build_filter(items: Sequence[tuple[str, str | int]]) -> str:
    """``limit::10|offset::0|order::asc`` in the given order; refuses values that would inject keys."""
    parts = []
    for key, value in items:
        text = str(value)
        for part in (key, text):
            if "|" in part or "::" in part:
                raise ValueError(f"filter item {key!r} contains '|' or '::'")
        parts.append(f"{key}::{text}")
    return "|".join(parts)


def encode_query(params: Mapping[str, str]) -> str:
    """The SDK's query form: keys sorted, ``Enc(k)=Enc(v)`` joined by '&' (sent and signed as is)."""
    return "&".join(f"{encode_component(k)}={encode_component(v)}" for k, v in sorted(params.items()))


@lru_cache(maxsize=4096, typed=True)
def sync_job_query(limit: int, offset: int, order: str = "asc") -> str:
    """Encoded ShowSyncJob query for one page."""
    _check_window(limit, offset)
    if order not in ("asc", "desc"):
        raise ValueError(f"order must be 'asc' or 'desc', not {order!r}")
    return encode_query({"filter": build_filter([("limit", limit), ("offset", offset), ("order", order)])})


def repos_query(limit: int, offset: int, namespace: str | None = None, name: str | None = None) -> str:
    """Encoded ListReposDetails query (namespace/name match fuzzily: filter the results again)."""
    _check_window(limit, offset)
    items: list[tuple[str, str | int]] = []
    if namespace is not None:
        items.append(("namespace", namespace))
    if name is not None:
        items.append(("name", name))
    items += [("limit", limit), ("offset", offset)]
    return encode_query({"filter": build_filter(items)})


def _check_window(limit: int, offset: int) -> None:
    if isinstance(limit, bool) or limit < 1:
        raise ValueError(f"limit must be >= 1, not {limit!r}")
    if isinstance(offset, bool) or offset < 0:
        raise ValueError(f"offset must be >= 0, not {offset!r}")


# --- Headers ------------------------------------------------------------------------------------------


def parse_content_range(value: str | None) -> ContentRange | None:
    """``{offset}-{count}/{total}`` -> ContentRange; None when missing; ValueError when malformed.

    Surrounding whitespace is tolerated. A unit prefix (``items 0-9/100``) is refused: in that convention
    the middle number is an end index, not a count, so accepting it would silently misread the page.
    """
    if value is None:
        return None
    match = _CONTENT_RANGE.fullmatch(value.strip())
    if match is None:
        raise ValueError(f"Content-Range is not 'offset-count/total': {single_line(repr(value), 60)}")
    offset, count, total = (int(g) for g in match.groups())
    if offset + count > total:
        raise ValueError(f"Content-Range {offset}-{count}/{total}: offset + count exceeds total")
    return ContentRange(offset=offset, count=count, total=total)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds to wait: delta-seconds (decimals accepted) or an HTTP-date; None if garbage."""
    if value is None:
        return None
    text = value.strip()
    if re.fullmatch(rf"\d{{1,{_MAX_DELAY_DIGITS}}}(\.\d{{1,6}})?", text, re.ASCII):
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; "-0000" parses naive
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


# --- Bodies -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReposPage:
    """One decoded ListReposDetails page; elements without a usable name/namespace land in rejects."""

    repositories: tuple[Repository, ...]
    item_count: int
    total: int | None
    rejects: tuple[Reject, ...] = ()


def decode_job_page(
    status: int, headers: Mapping[str, str], body: bytes, *, offset: int, limit: int
) -> JobPage:
    """A ShowSyncJob answer -> JobPage, or raise (ApiError subclasses, MalformedResponse)."""
    if not 200 <= status < 300:
        raise decode_error(status, headers, body)
    jobs, rejects, item_count = _page_records(body)
    return JobPage(
        offset=offset,
        limit=limit,
        jobs=jobs,
        rejects=rejects,
        item_count=item_count,
        content_range=_lenient_content_range(headers),
    )


def _page_records(body: bytes) -> tuple[tuple[SyncJob, ...], tuple[Reject, ...], int]:
    """(jobs, rejects, number of elements) of a ShowSyncJob body: a page of valid jobs in one msgspec
    call, any other through orjson and record-by-record validation."""
    valid = parse_valid_page(body)
    if valid is not None:
        return tuple(valid), (), len(valid)
    items = _json_array(body)
    jobs: list[SyncJob] = []
    rejects: list[Reject] = []
    for element in items:
        parsed = parse_job(element)
        if isinstance(parsed, SyncJob):
            jobs.append(parsed)
        else:
            rejects.append(parsed)
    return tuple(jobs), tuple(rejects), len(items)


def decode_namespaces(status: int, headers: Mapping[str, str], body: bytes) -> list[str]:
    """A ListNamespaces answer -> namespace names (not paged)."""
    if not 200 <= status < 300:
        raise decode_error(status, headers, body)
    doc = _json(body)
    entries = doc.get("namespaces") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise errors.MalformedResponse("expected an object with a 'namespaces' array")
    names = []
    for entry in entries:
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name:
            raise errors.MalformedResponse(f"namespace without a name: {compact_json(entry, 120)}")
        names.append(name)
    return names


def decode_repos_page(status: int, headers: Mapping[str, str], body: bytes) -> ReposPage:
    """A ListReposDetails answer -> ReposPage (total from Content-Range, else the elements' total_range)."""
    if not 200 <= status < 300:
        raise decode_error(status, headers, body)
    items = _json_array(body)
    repos: list[Repository] = []
    rejects: list[Reject] = []
    for element in items:
        ns = element.get("namespace") if isinstance(element, dict) else None
        name = element.get("name") if isinstance(element, dict) else None
        if isinstance(ns, str) and ns and isinstance(name, str) and name:
            repos.append(Repository(namespace=ns, name=name))
        else:
            rejects.append(Reject(raw=compact_json(element), reason="repository without name/namespace"))
    cr = _lenient_content_range(headers)
    total = cr.total if cr is not None else _total_range(items)
    return ReposPage(repositories=tuple(repos), item_count=len(items), total=total, rejects=tuple(rejects))


def _total_range(items: list[object]) -> int | None:
    first = items[0] if items else None
    value = first.get("total_range") if isinstance(first, dict) else None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def _lenient_content_range(headers: Mapping[str, str]) -> ContentRange | None:
    # A malformed header is not fatal: the page is still good, the planner just loses the total.
    try:
        return parse_content_range(header(headers, "Content-Range"))
    except ValueError:
        return None


def _json(body: bytes) -> object:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        kind = "empty body" if not body.strip() else "body is not JSON (truncated or HTML?)"
        raise errors.MalformedResponse(f"{kind}: {single_line(_text(body), 80)}") from None


def _json_array(body: bytes) -> list[object]:
    doc = _json(body)
    if not isinstance(doc, list):
        raise errors.MalformedResponse(f"expected a JSON array, got {json_kind(doc)}")
    return doc


def _text(body: bytes) -> str:
    return body.decode("utf-8", errors="replace")


# --- Errors -------------------------------------------------------------------------------------------


def decode_error(
    status: int, headers: Mapping[str, str], body: bytes, *, now: datetime | None = None
) -> errors.ApiError:
    """Map a non-2xx answer to the exception class that tells the caller what to do next (never raises)."""
    code, message, request_id = _error_fields(body)
    request_id = request_id or header(headers, "X-Request-Id")
    if status == 400:
        return errors.BadRequest(status, code, message, request_id=request_id)
    if status == 403:
        return errors.Forbidden(status, code, message, request_id=request_id)
    if status == 404:
        return errors.NotFound(status, code, message, request_id=request_id)
    if status in (408, 429) or 500 <= status < 600:
        retry_after = parse_retry_after(header(headers, "Retry-After"), now or datetime.now(UTC))
        return errors.TransientApiError(status, code, message, request_id=request_id, retry_after=retry_after)
    if 300 <= status < 400:
        return errors.Redirected(status, redirect_target(header(headers, "Location")), request_id=request_id)
    return errors.ApiError(status, code, message, request_id=request_id)


def redirect_target(location: str | None) -> str | None:
    """Where a redirect points, for a message: scheme, host, port and path (no user, query or fragment)."""
    if not location:
        return None
    try:
        parts = urlsplit(location.strip())
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "an unparsable Location"
    shown_host = f"[{host}]" if ":" in host else host
    origin = f"{parts.scheme}://{shown_host}{port}" if parts.scheme and host else ""
    return single_line(origin + parts.path, 200) or None


def _error_fields(body: bytes) -> tuple[str | None, str | None, str | None]:
    """(code, message, request_id) from the three documented shapes, else a snippet of the body."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        doc = None
    first: object = None
    if isinstance(doc, list) and doc:  # older regions: a bare array of errors
        first = doc[0]
    elif isinstance(doc, dict):
        listed = doc.get("errors")
        first = listed[0] if isinstance(listed, list) and listed else None
    top = doc if isinstance(doc, dict) else {}
    item = first if isinstance(first, dict) else {}
    code = _scalar(top.get("error_code")) or _scalar(item.get("errorCode"))
    message = _scalar(top.get("error_msg")) or _scalar(item.get("errorMessage"))
    request_id = _scalar(top.get("request_id"))
    if code is None and message is None:
        message = single_line(_text(body), 200) or None
    return code, message, request_id


def _scalar(value: object) -> str | None:
    if isinstance(value, str | int) and not isinstance(value, bool):
        return single_line(str(value), 200) or None
    return None
