"""Validation of API records: one JSON element -> a frozen domain object, or a Reject with the reason.

Pure helpers shared by the decoders in ``sansio`` and ``wire``: RFC 3339 parsing, the JSON text of
undocumented fields, compact JSON for rejects, header lookup, single-line snippets for messages.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone

import orjson

from pipeline.domain import Reject, SyncJob

# SyncJob attribute <- API field, and whether a job needs it. Only what identifies and orders a job is
# required: the API reference marks no field mandatory, so any other one may be null or absent (stored as
# NULL). A field of the wrong type is still a Reject: the record is not what the API documents.
_STRING_FIELDS = (
    ("namespace", "namespace", True),
    ("repo_name", "repoName", True),
    ("tag", "tag", False),
    ("status", "status", True),
    ("remote_region_id", "remoteRegionId", False),
    ("remote_namespace", "remoteNamespace", False),
    ("domain_id", "domainID", False),
    ("domain_name", "domainName", False),
    ("sync_operator_id", "syncOperatorId", False),
    ("sync_operator_name", "syncOperatorName", False),
)
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))",
    re.ASCII,
)
BIGINT_MAX = 2**63 - 1
# API keys in SyncJob field order (the fast paths build the job positionally).
_API_KEYS = (
    *("id", "namespace", "repoName", "tag", "status", "override", "remoteRegionId", "remoteNamespace"),
    *("domainID", "domainName", "syncOperatorId", "syncOperatorName", "createdAt", "updatedAt"),
)
_DOCUMENTED_KEYS = frozenset(_API_KEYS)
_JSON_INT = range(-(2**63), 2**64)  # what orjson reads as an int and writes back
_MAX_DEPTH = 250  # orjson writes at most 255 levels of nesting
_TOO_DEEP = "<nested too deep>"  # stands for what an undocumented field nests beyond _MAX_DEPTH levels
_ESCAPED_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")  # \u0000 not itself escaped: a NUL jsonb refuses


class _Invalid(ValueError):
    """One field of a record is unusable; the message is the Reject reason."""


def parse_job(obj: object) -> SyncJob | Reject:
    """One element of a ShowSyncJob array -> SyncJob, or Reject naming the first bad field."""
    if type(obj) is dict:
        job = _valid_job(obj)
        if job is not None:
            return job
    return _checked_job(obj)


def _valid_job(obj: dict[object, object]) -> SyncJob | None:
    """The fast path (the crawl's hot loop): a SyncJob when the record has exactly the documented fields,
    every one valid and not null, else None.

    Accepts only what ``_checked_job`` accepts, with the same result; it only skips building the reason
    of a rejection. Sparse records and undocumented fields take ``_checked_job``.
    """
    if len(obj) != len(_API_KEYS):
        return None
    try:
        values = [obj[key] for key in _API_KEYS]
    except KeyError:
        return None
    job_id = values[0]
    if type(job_id) is not int or not 0 <= job_id <= BIGINT_MAX or type(values[5]) is not bool:
        return None
    try:
        # One pass over the ten strings (join refuses non-strings; an unpaired surrogate stays unpaired).
        joined = "".join(values[1:5] + values[6:12])  # type: ignore[arg-type]
    except TypeError:
        return None
    if "\x00" in joined or not (joined.isascii() or _encodable(joined)):
        return None
    values[12] = utc_timestamp(values[12])
    values[13] = utc_timestamp(values[13])
    if values[12] is None or values[13] is None:
        return None
    return SyncJob(*values)  # type: ignore[arg-type]


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def utc_timestamp(value: object) -> datetime | None:
    """An RFC 3339 string -> aware UTC datetime; None when it is not one (or not a string)."""
    if type(value) is not str:
        return None
    # The common shape (UTC 'Z', at most microseconds) by position, cheaper than the regex: separators in
    # place, and nothing but digits and those separators around them (datetime.fromisoformat alone is
    # lenient: a 'Z' inside the time shortens it, and it read '2020-03-12T08:11:Z\x00Z' as 08:11:00); a
    # separator where a digit belongs is refused by fromisoformat itself.
    n = len(value)
    if (
        (n == 20 or (22 <= n <= 27 and value[19] == "."))
        and value[-1] == "Z"
        and value[10] == "T"
        and value[4] == value[7] == "-"
        and value[13] == value[16] == ":"
        and not value[:10].strip("0123456789-")
        and not value[11:-1].strip("0123456789:.")
    ):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return parse_rfc3339(value)


def extra_json(fields: Mapping[str, object]) -> str | None:
    """Undocumented fields as the text of one JSON object, keys sorted; None when jsonb could not hold it
    as it is (an integer beyond 64 bits, an unpaired surrogate, a NUL, nesting deeper than orjson writes)."""
    try:
        text = orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # orjson.JSONEncodeError subclasses TypeError
        return None
    return None if b"\\u0000" in text and _ESCAPED_NUL.search(text) else text.decode()


def _checked_job(obj: object) -> SyncJob | Reject:
    """Field by field, so that a Reject names the first bad field."""
    if not isinstance(obj, dict):
        return Reject(raw=compact_json(obj), reason=f"not an object: {json_kind(obj)}")
    try:
        job_id = _job_id(obj)  # first, so a record with nothing usable is reported by its key
        fields = {attr: _string(obj, key, required) for attr, key, required in _STRING_FIELDS}
        return SyncJob(
            id=job_id,
            override=_boolean(obj, "override"),
            created_at=_timestamp(obj, "createdAt"),
            updated_at=None if obj.get("updatedAt") is None else _timestamp(obj, "updatedAt"),
            extra=_undocumented(obj),
            **fields,  # type: ignore[arg-type]
        )
    except _Invalid as exc:
        return Reject(raw=compact_json(obj), reason=str(exc))


def _undocumented(obj: dict[object, object]) -> str | None:
    """The JSON text of the record's undocumented fields (None when it has none), made storable."""
    fields = {str(k): v for k, v in obj.items() if k not in _DOCUMENTED_KEYS}
    if not fields:
        return None
    text = extra_json(fields)
    if text is None:  # kept, made storable as PostgreSQL text is: NUL and surrogates as their escapes
        text = extra_json(_storable(fields, _MAX_DEPTH))  # type: ignore[arg-type]
    assert text is not None
    return text


def _storable(value: object, depth: int) -> object:
    """``value`` with what jsonb refuses spelled out as text; nesting beyond ``depth`` cut off."""
    if depth <= 0:
        return _TOO_DEEP
    if isinstance(value, str):
        return storable_text(value).encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {_storable(str(k), depth): _storable(v, depth - 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_storable(v, depth - 1) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and value not in _JSON_INT:
        return str(value)
    return value


def storable_text(text: str) -> str:
    """PostgreSQL text cannot hold NUL: keep it visible as the JSON escape instead."""
    return text.replace("\x00", "\\u0000")


def _field(obj: dict[object, object], key: str) -> object:
    if key not in obj:
        raise _Invalid(f"{key}: missing")
    return obj[key]


def _job_id(obj: dict[object, object]) -> int:
    # The doc says integer: a numeric string is refused rather than guessed at; bool is not an int.
    value = _field(obj, "id")
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Invalid(f"id: not an integer: {_short(value)}")
    if not 0 <= value <= BIGINT_MAX:
        raise _Invalid(f"id: out of range: {value}")
    return value


def _string(obj: dict[object, object], key: str, required: bool) -> str | None:
    value = _field(obj, key) if required else obj.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise _Invalid(f"{key}: not a string: {_short(value)}")
    # PostgreSQL text cannot hold NUL or unpaired surrogates: refuse them here, not in the writer's batch.
    if "\x00" in value:
        raise _Invalid(f"{key}: contains NUL")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _Invalid(f"{key}: not valid UTF-8") from None
    return value


def _boolean(obj: dict[object, object], key: str) -> bool | None:
    value = obj.get(key)
    if value is not None and not isinstance(value, bool):
        raise _Invalid(f"{key}: not a boolean: {_short(value)}")
    return value


def _timestamp(obj: dict[object, object], key: str) -> datetime:
    value = _field(obj, key)
    if not isinstance(value, str):
        raise _Invalid(f"{key}: not a string: {_short(value)}")
    parsed = parse_rfc3339(value)
    if parsed is None:
        raise _Invalid(f"{key}: not RFC 3339: {_short(value)}")
    return parsed


def parse_rfc3339(value: str) -> datetime | None:
    """RFC 3339 date-time -> aware datetime in UTC; digits past microseconds are truncated; None if invalid.

    Stricter than ``datetime.fromisoformat``, which also takes dates without a time or an offset.
    """
    m = _RFC3339.fullmatch(value)
    if m is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    micro = int((m.group(7) or "").ljust(6, "0")[:6])
    try:
        if m.group(8):
            tz = UTC
        else:
            sign = -1 if m.group(9) == "-" else 1
            oh, om = int(m.group(10)), int(m.group(11))
            if om > 59:
                return None
            tz = timezone(sign * timedelta(hours=oh, minutes=om))
        return datetime(year, month, day, hour, minute, second, micro, tzinfo=tz).astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def compact_json(obj: object, limit: int | None = None) -> str:
    """Compact JSON text of a decoded element (repr when it is not JSON-serialisable), optionally cut."""
    try:
        text = orjson.dumps(obj).decode()
    except TypeError:  # orjson.JSONEncodeError subclasses TypeError (e.g. ints beyond 64 bits)
        try:
            text = repr(obj)
        except RecursionError:
            text = f"<{json_kind(obj)} nested too deep to show>"
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


def header(headers: Mapping[str, str], name: str) -> str | None:
    """First value of a header, looked up case-insensitively (plain dicts and multidicts alike)."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def single_line(text: str, limit: int) -> str:
    """Whitespace and control characters collapsed to single spaces, cut to `limit` characters."""
    flat = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _short(value: object) -> str:
    return single_line(repr(value), 60)


def json_kind(doc: object) -> str:
    """'an object', 'a string', ... for messages about a decoded JSON value."""
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(doc), "a number")
