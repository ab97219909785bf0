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
    sparse_records: float = 0.0
    extra_fields: float = 0.0
    shared_ids: int = 0
    lying_repos: int = 0
    forbidden_repos: int = 0
    forbidden_namespaces: int = 0
    no_permission: bool = False
    deleting_repos: int = 0
    deleted_jobs: int = 3
    absurd_total_repos: int = 0
    absurd_total: int = 10**12
    token_expires_after: int | None = None
    redirect_to: str | None = None
    redirect_prefix: str = "/"
    ignore_order: bool = False

    def __post_init__(self) -> None:
        repos = ("broken_repos", "lying_repos", "forbidden_repos", "deleting_repos", "absurd_total_repos")
        counts = ("namespaces", "repos_per_namespace", "forbidden_namespaces", "deleted_jobs", "shared_ids")
        for name in (*counts, *repos):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        if self.max_jobs_per_repo < 1:
            raise ValueError("max_jobs_per_repo must be >= 1")
        if not 0 <= self.absurd_total < 10**18:  # Content-Range numbers have at most 18 digits
            raise ValueError("absurd_total must be between 0 and 10^18 - 1")
        if self.token_expires_after is not None and self.token_expires_after < 0:
            raise ValueError("token_expires_after must be >= 0")
        if self.max_page_size is not None and self.max_page_size < 1:
            raise ValueError("max_page_size must be >= 1")
        for kind in FAULT_KINDS:
            _check_probability(f"fault_{kind}", getattr(self, f"fault_{kind}"))
        for name in ("fault_rate", "bad_records", "unknown_status", "sparse_records", "extra_fields"):
            _check_probability(name, getattr(self, name))
        if self.rate_limit < 0:
            raise ValueError("rate_limit must be >= 0")
        if (self.ak is None) != (self.sk is None):
            raise ValueError("ak and sk go together")
        if self.anchor is not None:
            anchor_us(self.anchor)
        if self.redirect_to is not None and not self.redirect_to.startswith(("http://", "https://")):
            raise ValueError("redirect_to must be an http(s) URL")
        if not self.redirect_prefix.startswith("/"):
            raise ValueError("redirect_prefix must start with /")

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
    "sparse_records": "fraction of jobs with 1-3 optional fields null or absent (data: ground truth too)",
    "extra_fields": "fraction of jobs carrying undocumented fields (data: ground truth too)",
    "shared_ids": "jobs whose id another repository's job also carries (ids unique per region no more)",
    "lying_repos": "repositories whose Content-Range lies (modes assigned round-robin)",
    "forbidden_repos": "repositories whose sync_job answers 403 SVCSTG.SWR.4030170 (no permission)",
    "forbidden_namespaces": "namespaces (listed, never the first) whose ListReposDetails and sync_job"
    " answer 403 SVCSTG.SWR.4030170",
    "no_permission": "credentials accepted but no SWR permission: every SWR call answers 403"
    " SVCSTG.SWR.4030170",
    "deleting_repos": "repositories whose oldest --deleted-jobs jobs are deleted once a page past the first"
    " is asked for (offsets shift between pages)",
    "deleted_jobs": "jobs deleted from each --deleting-repos repository",
    "absurd_total_repos": "repositories whose Content-Range claims --absurd-total jobs (pages past the real"
    " end are [])",
    "absurd_total": "the total those repositories claim",
    "token_expires_after": "every token (static or IAM-issued) answers 401 once it has authenticated this"
    " many SWR requests (default: never)",
    "redirect_to": "answer SWR and IAM calls under --redirect-prefix with 307 to this base URL + the path and"
    " query (default: none)",
    "redirect_prefix": "raw path prefix of the calls --redirect-to redirects",
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
