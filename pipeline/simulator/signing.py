"""An SDK-HMAC-SHA256 verifier written from docs/swr-api.md, independent of the client's signer (pure)."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, unquote

from pipeline.simulator.query import QueryError, query_pairs

ALGORITHM = "SDK-HMAC-SHA256"
MAX_SKEW_S = 15 * 60
_AUTH = re.compile(
    r"SDK-HMAC-SHA256\s+Access=(?P<ak>[^,\s]+),\s*SignedHeaders=(?P<sh>[^,\s]+),\s*Signature=(?P<sig>[0-9a-fA-F]+)"
)


@dataclass(frozen=True, slots=True)
class Authorization:
    """The parts of an `Authorization: SDK-HMAC-SHA256 ...` header."""

    access_key: str
    signed_headers: tuple[str, ...]
    signature: str


def encode(text: str) -> str:
    """Percent-encode UTF-8, leaving only A-Z a-z 0-9 - _ . ~ bare, uppercase hex."""
    return quote(text, safe="-_.~")


def parse_authorization(value: str) -> Authorization | None:
    """Parse the header, or None when it is not an SDK-HMAC-SHA256 authorization."""
    match = _AUTH.fullmatch(value.strip())
    if match is None:
        return None
    return Authorization(match["ak"], tuple(match["sh"].split(";")), match["sig"].lower())


def canonical_uri(raw_path: str) -> str:
    """Each decoded path segment re-encoded, with a trailing '/' ('$' signs as %24)."""
    uri = "/".join(encode(segment) for segment in unquote(raw_path).split("/"))
    return uri if uri.endswith("/") else uri + "/"


def canonical_query(raw_query: str) -> str:
    """Decoded (key, value) pairs, sorted, each side re-encoded; QueryError if it does not decode."""
    return "&".join(f"{encode(k)}={encode(v)}" for k, v in sorted(query_pairs(raw_query)))


@dataclass(frozen=True, slots=True)
class WireRequest:
    """A request as it arrived: raw path and query, headers keyed by lower-case name, body bytes."""

    method: str
    raw_path: str
    raw_query: str
    headers: Mapping[str, str]
    body: bytes = b""


def canonical_request(request: WireRequest, signed_headers: tuple[str, ...]) -> str:
    """The canonical request over the headers listed in SignedHeaders."""
    headers = request.headers
    canonical_headers = "".join(f"{name}:{headers.get(name, '').strip()}\n" for name in signed_headers)
    return "\n".join(
        [
            request.method.upper(),
            canonical_uri(request.raw_path),
            canonical_query(request.raw_query),
            canonical_headers,
            ";".join(signed_headers),
            hashlib.sha256(request.body).hexdigest(),
        ]
    )


def signature(secret_key: str, sdk_date: str, canonical: str) -> str:
    """hex(HMAC-SHA256(SK, "SDK-HMAC-SHA256\\n" + X-Sdk-Date + "\\n" + hex(sha256(canonical))))."""
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    string_to_sign = f"{ALGORITHM}\n{sdk_date}\n{digest}"
    return hmac.new(secret_key.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()


def parse_sdk_date(value: str) -> datetime | None:
    """X-Sdk-Date (YYYYMMDDTHHMMSSZ) as an aware datetime, or None when malformed."""
    try:
        return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def check_signature(auth: Authorization, secret_key: str, request: WireRequest) -> bool:
    """True when the signature matches what arrived on the wire (constant-time comparison)."""
    names = auth.signed_headers
    if list(names) != sorted(names) or not {"host", "x-sdk-date"} <= set(names):
        return False
    try:
        canonical = canonical_request(request, names)
    except QueryError:  # a query that is not UTF-8 once decoded cannot have been signed by an SDK
        return False
    expected = signature(secret_key, request.headers.get("x-sdk-date", ""), canonical)
    return hmac.compare_digest(expected, auth.signature)
