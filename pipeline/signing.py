"""AK/SK request signing, ``SDK-HMAC-SHA256``, as the public signing guide and the official SDKs do it.

Pure functions: the adapter passes the exact path and query it sends (``sansio.encode_query`` output is
already canonical) plus every header to sign, including ``Host``, and adds the two headers returned.
The secret key only ever enters ``hmac.new``: it is never formatted into a message or a repr.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from urllib.parse import unquote

from pipeline.sansio import encode_component

__all__ = [
    "ALGORITHM",
    "canonical_query",
    "canonical_request",
    "canonical_uri",
    "format_sdk_date",
    "sign_request",
    "signed_header_names",
    "string_to_sign",
]

ALGORITHM = "SDK-HMAC-SHA256"
_SDK_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
# As in the SDK: a caller that sends an unsigned payload says so with this header instead of hashing.
_CONTENT_SHA256 = "x-sdk-content-sha256"
# Never part of what is signed, even if a caller passes them along.
_NOT_SIGNED = frozenset({"authorization"})


def format_sdk_date(dt: datetime) -> str:
    """``X-Sdk-Date`` value: UTC ``YYYYMMDDTHHMMSSZ`` (naive datetimes are taken as UTC)."""
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC)
    return dt.strftime(_SDK_DATE_FORMAT)


def canonical_uri(path: str) -> str:
    """Each unquoted segment re-encoded with Enc, plus a trailing '/' (for signing only)."""
    uri = "/".join(encode_component(segment) for segment in unquote(path).split("/"))
    return uri if uri.endswith("/") else uri + "/"


def canonical_query(query: str) -> str:
    """A raw query string split, unquoted, re-encoded with Enc and sorted by (key, value)."""
    pairs = []
    for part in query.lstrip("?").split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        pairs.append((unquote(key), unquote(value)))
    return "&".join(f"{encode_component(k)}={encode_component(v)}" for k, v in sorted(pairs))


def signed_header_names(headers: Mapping[str, str]) -> list[str]:
    """Every given header, lower-cased and sorted, as the SDK signs them (Authorization excluded)."""
    return sorted({name.lower() for name in headers} - _NOT_SIGNED)


def canonical_request(  # noqa: PLR0917 -- the adapter's contract: positional, in the guide's order
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    signed_headers: Sequence[str],
    body: bytes,
) -> str:
    """METHOD, CanonicalURI, CanonicalQuery, CanonicalHeaders, SignedHeaders, hex(sha256(body))."""
    values = {name.lower(): value.strip() for name, value in headers.items()}
    missing = [name for name in signed_headers if name not in values]
    if missing:
        raise ValueError(f"signed headers not given: {', '.join(missing)}")
    lines = "".join(f"{name}:{values[name]}\n" for name in signed_headers)
    payload_hash = values.get(_CONTENT_SHA256) or hashlib.sha256(body).hexdigest()
    return "\n".join(
        [
            method.upper(),
            canonical_uri(path),
            canonical_query(query),
            lines,
            ";".join(signed_headers),
            payload_hash,
        ]
    )


def string_to_sign(canonical_request: str, sdk_date: str) -> str:
    """``SDK-HMAC-SHA256\\n{X-Sdk-Date}\\n{hex(sha256(canonical request))}``."""
    digest = hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{sdk_date}\n{digest}"


def sign_request(  # noqa: PLR0917 -- the adapter's contract: positional, in the guide's order
    method: str,
    url_path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    ak: str,
    sk: str,
    sdk_date: str,
) -> dict[str, str]:
    """The headers to add to a request (``X-Sdk-Date``, ``Authorization``); ``headers`` must hold Host."""
    to_sign = {name: value for name, value in headers.items() if name.lower() != "x-sdk-date"}
    if not any(name.lower() == "host" for name in to_sign):
        raise ValueError("the Host header must be given: it is always signed")
    to_sign["X-Sdk-Date"] = sdk_date
    names = signed_header_names(to_sign)
    request = canonical_request(method, url_path, query, to_sign, names, body)
    signature = hmac.new(_secret_bytes(sk), string_to_sign(request, sdk_date).encode("utf-8"), hashlib.sha256)
    authorization = (
        f"{ALGORITHM} Access={ak}, SignedHeaders={';'.join(names)}, Signature={signature.hexdigest()}"
    )
    return {"X-Sdk-Date": sdk_date, "Authorization": authorization}


def _secret_bytes(sk: str) -> bytes:
    # UnicodeEncodeError keeps the whole string in `.object`, and an error raised inside `except` would keep
    # it as __context__: raise a fresh one outside the handler, holding nothing.
    try:
        return sk.encode("utf-8")
    except UnicodeEncodeError:
        pass
    raise ValueError("the secret key is not valid UTF-8")
