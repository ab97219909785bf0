"""Sync-job records as the simulator holds them, and their JSON forms (valid and deliberately corrupted)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import orjson

DEFECTS: tuple[str, ...] = ("missing_id", "non_integer_id", "bad_timestamp", "wrong_types")
# The documented fields a job may lack (the API reference marks none mandatory; only these are optional
# here: the crawler needs id, namespace, repoName, status and createdAt).
OPTIONAL_KEYS: tuple[str, ...] = (
    *("tag", "override", "remoteRegionId", "remoteNamespace", "domainID", "domainName"),
    *("syncOperatorId", "syncOperatorName", "updatedAt"),
)


_HOUR_PREFIXES: dict[int, str] = {}


def format_timestamp(us: int) -> str:
    """Microseconds since the epoch as RFC 3339 UTC with microseconds and Z, as SWR writes it."""
    seconds, micros = divmod(us, 1_000_000)
    hours, rest = divmod(seconds, 3600)
    prefix = _HOUR_PREFIXES.get(hours)
    if prefix is None:  # strftime once per hour: formatting 600k timestamps is otherwise a second
        prefix = _HOUR_PREFIXES[hours] = time.strftime("%Y-%m-%dT%H:", time.gmtime(hours * 3600))
    minutes, secs = divmod(rest, 60)
    return f"{prefix}{minutes:02d}:{secs:02d}.{micros:06d}Z"


def unit(seed: int, kind: str, key: str) -> float:
    """A uniform number in [0, 1) that depends only on (seed, kind, key)."""
    digest = hashlib.blake2b(f"{seed}\0{kind}\0{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@dataclass(slots=True)
class Repo:
    """One repository and its jobs, in creation order (createdAt, then id)."""

    namespace: str
    name: str
    category: str
    is_public: bool
    created_us: int
    domain_id: str
    domain_name: str = "acme-cloud"
    size: int = 0
    num_download: int = 0
    tags: list[str] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)
    raws: list[bytes] = field(default_factory=list)  # each job as served (see encode_inner), same order


@dataclass(slots=True)
class Job:
    """One sync job; `defect` names the corruption served instead of the valid record, if any."""

    id: int
    repo: Repo
    index: int
    tag: str
    status: str
    override: bool
    remote_region: str
    remote_namespace: str
    operator_id: str
    operator_name: str
    created_us: int
    updated_us: int
    defect: str | None = None
    sparse: tuple[tuple[str, bool], ...] = ()  # (optional key, absent rather than null), see --sparse-records
    extra: dict[str, Any] | None = None  # undocumented fields, see --extra-fields

    def to_api(self) -> dict[str, Any]:
        """The job in the API's JSON shape (always the valid form)."""
        repo = self.repo
        record = {
            "id": self.id,
            "namespace": repo.namespace,
            "repoName": repo.name,
            "tag": self.tag,
            "status": self.status,
            "override": self.override,
            "remoteRegionId": self.remote_region,
            "remoteNamespace": self.remote_namespace,
            "domainID": repo.domain_id,
            "domainName": repo.domain_name,
            "syncOperatorId": self.operator_id,
            "syncOperatorName": self.operator_name,
            "createdAt": format_timestamp(self.created_us),
            "updatedAt": format_timestamp(self.updated_us),
        }
        for key, absent in self.sparse:
            if absent:
                del record[key]
            else:
                record[key] = None
        if self.extra:
            record.update(self.extra)
        return record

    def served_record(self) -> dict[str, Any]:
        """The record the API serves for this job: valid, or corrupted the way `defect` says."""
        record = self.to_api()
        if self.defect is not None:
            _corrupt(record, self.defect)
        return record


def encode_inner(jobs: Sequence[Job]) -> list[bytes]:
    """Each job's served JSON object without its outer braces; pages are b"[{" + b"},{".join(...) + b"}]".

    One orjson call for the whole list, split on the object boundaries: retaining many separate small
    orjson outputs is ~10x slower. No generated string contains "},{", so the split is exact.
    """
    if not jobs:
        return []
    blob = orjson.dumps([job.served_record() for job in jobs])
    return blob[2:-2].split(b"},{")


def page_body(inner: Sequence[bytes]) -> bytes:
    """A JSON array from records encoded by `encode_inner`."""
    if not inner:
        return b"[]"
    return b"[{" + b"},{".join(inner) + b"}]"


class CorruptedRecord(NamedTuple):
    """A job served corrupted by the bad-record fault; ground truth holds its valid form."""

    namespace: str
    repo: str
    position: int  # index of the job in the repository's ascending (createdAt, id) order
    id: int
    defect: str


def _corrupt(record: dict[str, Any], defect: str) -> None:
    if defect == "missing_id":
        del record["id"]
    elif defect == "non_integer_id":
        record["id"] = f"{record['id']}x"
    elif defect == "bad_timestamp":
        record["createdAt"] = "not-a-timestamp"
    else:  # wrong_types: a number where a string belongs and a string where a bool belongs
        record["namespace"] = 0
        record["override"] = "yes"
