"""The simulator's settings: one frozen object built from command-line flags."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime

FAULT_KINDS: tuple[str, ...] = ("429", "500", "502", "503", "reset", "slow", "truncate", "no_content_range")


@dataclass(frozen=True)
class SimulatorConfig:
    """Every simulator flag with its default (see docs/simulator.md)."""

    host: str = "127.0.0.1"
    port: int = 8080
    seed: int = 1
    namespaces: int = 5
    repos_per_namespace: int = 10
    max_jobs_per_repo: int = 2000
    heavy_repos: int | None = None  # None: ~1% of repositories, at least 1 from 50 repositories on
    anchor: str | None = None  # the dataset's "now" (RFC 3339); None: start-up time truncated to the hour
    region: str = "cn-north-4"
    token: str = field(default="swr-sim-static-token", repr=False)
    token_ttl_s: float = 86400.0
    iam_user: str = "sim-user"
    iam_password: str = field(default="sim-password", repr=False)
    iam_domain: str = "sim-domain"
    ak: str | None = None
    sk: str | None = field(default=None, repr=False)
    security_token: str | None = field(default=None, repr=False)
    legacy_errors: bool = False
    live: bool = False
    live_interval_ms: float = 50.0
    rate_limit: float = 0.0
    fault_429: float = 0.0
    retry_after_s: float = 1.0
    fault_500: float = 0.0
    fault_502: float = 0.0
    fault_503: float = 0.0
    fault_reset: float = 0.0
    fault_slow: float = 0.0
    slow_ms: float = 30000.0
    fault_truncate: float = 0.0
    fault_no_content_range: float = 0.0
    fault_rate: float = 0.0
    latency_ms: float = 0.0
    broken_repos: int = 0
    max_page_size: int | None = None
    bad_records: float = 0.0
    unknown_status: float = 0.0
    lying_repos: int = 0
    ignore_order: bool = False

    def __post_init__(self) -> None:
        for name in ("namespaces", "repos_per_namespace", "broken_repos", "lying_repos"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        if self.max_jobs_per_repo < 1:
            raise ValueError("max_jobs_per_repo must be >= 1")
        if self.max_page_size is not None and self.max_page_size < 1:
            raise ValueError("max_page_size must be >= 1")
        for kind in FAULT_KINDS:
            _check_probability(f"fault_{kind}", getattr(self, f"fault_{kind}"))
        for name in ("fault_rate", "bad_records", "unknown_status"):
            _check_probability(name, getattr(self, name))
        if self.rate_limit < 0:
            raise ValueError("rate_limit must be >= 0")
        if (self.ak is None) != (self.sk is None):
            raise ValueError("ak and sk go together")
        if self.anchor is not None:
            anchor_us(self.anchor)

    def fault_probability(self, kind: str) -> float:
        """The chance of one fault kind per request: its own flag plus its share of --fault-rate."""
        own: float = getattr(self, f"fault_{kind}")
        return min(1.0, own + self.fault_rate / len(FAULT_KINDS))

    @property
    def total_repos(self) -> int:
        return self.namespaces * self.repos_per_namespace


def anchor_us(anchor: str) -> int:
    """An RFC 3339 time (UTC when no offset is given) in microseconds since the epoch; ValueError if bad."""
    try:
        moment = datetime.fromisoformat(anchor.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"anchor must be an RFC 3339 time, got {anchor!r}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond


def _check_probability(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a probability between 0 and 1")


_HELP: dict[str, str] = {
    "host": "interface to listen on",
    "port": "TCP port (0 picks a free one)",
    "seed": "seed of the dataset and of every fault decision",
    "namespaces": "number of namespaces (organizations)",
    "repos_per_namespace": "repositories per namespace",
    "max_jobs_per_repo": "most sync jobs a repository holds",
    "heavy_repos": "repositories with 1000..max jobs (default: ~1%% of repositories, >=1 from 50 on)",
    "anchor": "the dataset's 'now', RFC 3339 (default: start-up time truncated to the hour)",
    "region": "region name: the IAM project scope and the jobs' source region",
    "token": "static X-Auth-Token accepted besides IAM-issued tokens",
    "token_ttl_s": "lifetime of IAM-issued tokens in seconds",
    "iam_user": "IAM user name for POST /v3/auth/tokens",
    "iam_password": "IAM password",
    "iam_domain": "IAM domain (account) name",
    "ak": "access key: enables SDK-HMAC-SHA256 signed requests (default: none, signing off)",
    "sk": "secret key paired with --ak",
    "security_token": "require this X-Security-Token on signed requests (default: none required)",
    "legacy_errors": "SWR errors as a bare array, as older regions answer",
    "live": "keep creating and advancing jobs while serving",
    "live_interval_ms": "period of the live clock",
    "rate_limit": "API Gateway throttling: calls/second per API beyond which 429 APIGW.0308 answers, without"
    " Retry-After (the real default is 200; 0: no limit)",
    "fault_429": "probability of 429 APIGW.0308 with Retry-After",
    "retry_after_s": "Retry-After seconds sent with 429 (fractions allowed)",
    "fault_500": "probability of 500 with an SWR body",
    "fault_502": "probability of 502 with an HTML body from a proxy",
    "fault_503": "probability of 503 with an SWR body",
    "fault_reset": "probability of a connection reset without a response",
    "fault_slow": "probability of a response delayed by --slow-ms",
    "slow_ms": "delay of a slow response",
    "fault_truncate": "probability of a 200 whose JSON body is cut short",
    "fault_no_content_range": "probability of a 200 without Content-Range",
    "fault_rate": "spread evenly over every fault kind, added to each kind's own flag",
    "latency_ms": "mean added latency per request (uniform 0.5x..1.5x)",
    "broken_repos": "repositories whose sync_job always answers 500",
    "max_page_size": "serve at most this many jobs per page whatever limit says (default: no cap)",
    "bad_records": "fraction of jobs served corrupted (missing/non-integer id, bad timestamp, wrong types)",
    "unknown_status": "fraction of jobs with a status outside the documented list",
    "lying_repos": "repositories whose Content-Range lies (modes assigned round-robin)",
    "ignore_order": "serve sync_job pages in the default (ascending) order whatever order:: says",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add one --flag per SimulatorConfig field, with its default."""
    defaults = SimulatorConfig()
    for f in fields(SimulatorConfig):
        flag = "--" + f.name.replace("_", "-")
        default = getattr(defaults, f.name)
        kind = str(f.type)
        help_text = _HELP[f.name]
        if kind == "bool":
            parser.add_argument(flag, dest=f.name, action="store_true", help=help_text)
            continue
        if "int" in kind:
            parse: type = int
        elif "float" in kind:
            parse = float
        else:
            parse = str
        if default is not None:  # a None default is explained by the help text itself
            help_text += f" (default: {'***' if not f.repr else default})"
        parser.add_argument(flag, dest=f.name, type=parse, default=default, help=help_text)


def config_from_args(ns: argparse.Namespace) -> SimulatorConfig:
    """Build the config from parsed flags; fields missing from the namespace keep their default.

    Raises ValueError when a value is out of range.
    """
    values = {f.name: getattr(ns, f.name) for f in fields(SimulatorConfig) if hasattr(ns, f.name)}
    return SimulatorConfig(**values)
