"""The settings' types: frozen dataclasses, one per concern, and a Secret that never shows itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from pipeline.domain import Repository


class Secret:
    """A string that never shows itself in `repr`, `str` or f-strings; `.reveal()` gives the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)


AUTH_MODES = ("token", "iam", "aksk")


@dataclass(frozen=True)
class SourceSettings:
    """One SWR endpoint (a region) to crawl, its credentials and which repositories to crawl."""

    endpoint: str
    region: str
    token: Secret | None = None
    iam_user: str | None = None
    iam_password: Secret | None = None
    iam_domain: str | None = None
    iam_endpoint: str | None = None
    ak: str | None = None
    sk: Secret | None = None
    project_id: str | None = None
    security_token: Secret | None = None
    namespaces: tuple[str, ...] = ()
    repositories: tuple[Repository, ...] = ()

    @property
    def auth_mode(self) -> str:
        if self.ak or self.sk:
            return "aksk"
        if self.iam_user or self.iam_password:
            return "iam"
        return "token"

    @property
    def lock_key(self) -> str:
        """Two crawls of the same source must not overlap: this names the source for the advisory lock."""
        return f"swr-etl:{self.region}:{self.endpoint}"

    def secrets(self) -> list[str]:
        return [s.reveal() for s in (self.token, self.iam_password, self.sk, self.security_token) if s]


@dataclass(frozen=True)
class HttpSettings:
    """How the crawler talks to SWR."""

    concurrency: int = 32
    page_size: int = 100
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    total_timeout: float = 60.0
    retry_attempts: int = 6
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    max_retry_after: float = 120.0
    rate_limit: float = 0.0
    max_quota_share: float = 1.0
    max_requests_per_repo: int = 100_000
    repos_in_flight: int = 64
    # Credentials over plain http:// to a host other than loopback are refused unless this is set.
    allow_insecure_http: bool = False


@dataclass(frozen=True)
class DatabaseSettings:
    """Where the jobs land and how they are written."""

    url: Secret | None = None
    connect_timeout: float = 10.0
    batch_size: int = 5000
    writers: int = 2
    queue_pages: int = 256
    write_attempts: int = 5
    write_backoff_cap: float = 10.0
    rejects_retention_days: float = 30.0  # rejects no run met for this long are deleted; 0 keeps them
    statement_timeout: float = 300.0
    keepalive_idle: float = 60.0
    keepalive_interval: float = 10.0
    keepalive_count: int = 6
    lock_check_interval: float = 5.0


@dataclass(frozen=True)
class ProxySettings:
    """The proxies named by the standard variables: HTTPS_PROXY, HTTP_PROXY, NO_PROXY (or lower case)."""

    http: Secret | None = None  # the proxy URL may carry a user and password
    https: Secret | None = None
    no_proxy: str = ""

    def for_url(self, url: str) -> str | None:
        """The proxy a request to ``url`` goes through; None without one, or when NO_PROXY names the host."""
        parts = urlsplit(url)
        proxy = self.https if parts.scheme == "https" else self.http
        if proxy is None or bypasses_proxy(parts.hostname or "", parts.port, self.no_proxy):
            return None
        return proxy.reveal()

    def secrets(self) -> list[str]:
        return [p for p in (_password(s.reveal()) for s in (self.http, self.https) if s) if p]


def bypasses_proxy(host: str, port: int | None, no_proxy: str) -> bool:
    """NO_PROXY as curl and urllib read it: `*`, or comma-separated hosts or domains (a leading dot
    optional), each with an optional `:port`; a domain covers its subdomains."""
    host = host.lower().strip("[]")
    for entry in (e.strip().lower() for e in no_proxy.split(",")):
        if entry == "*":
            return True
        name, wanted_port = _split_port(entry)
        if wanted_port and (not wanted_port.isdigit() or int(wanted_port) != port):
            continue
        name = name.lstrip(".")
        if name and (host == name or host.endswith("." + name)):
            return True
    return False


def _split_port(entry: str) -> tuple[str, str]:
    """`host:port`, `[v6]:port`, `v6` or `host` → (host, port or "")."""
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        return host, rest.removeprefix(":")
    if entry.count(":") == 1:
        host, _, port = entry.partition(":")
        return host, port
    return entry, ""


def _password(url: str) -> str | None:
    try:
        return urlsplit(url).password
    except ValueError:
        return None


@dataclass(frozen=True)
class MonitoringSettings:
    """What a run tells the outside: progress while it goes, a heartbeat in crawl_runs, metrics at its end."""

    progress_interval: float = 30.0
    heartbeat_interval: float = 5.0
    pushgateway_url: str = ""
    pushgateway_timeout: float = 5.0


@dataclass(frozen=True)
class Settings:
    """Everything a command needs; built by `load_settings`, validated once, passed down explicitly."""

    sources: tuple[SourceSettings, ...] = ()
    http: HttpSettings = field(default_factory=HttpSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    monitoring: MonitoringSettings = field(default_factory=MonitoringSettings)
    grace_period: float = 20.0
    log_level: str = "info"
    log_format: str = "auto"
    data_dir: str = ".data"
    full: bool = False  # read every repository in full (`crawl --full`)
    full_every: float | None = None  # seconds: a repository whose last full crawl is older is read in full
    open_job_horizon: float = (
        86400.0  # seconds: older waiting/running jobs are stuck, refreshed by full crawls
    )
    max_duration: float | None = None  # seconds a run may take; None: no cap
    # SWR_ETL_* variables that configure nothing (probably misspelled), for the CLI to warn about.
    unrecognized_env: tuple[str, ...] = ()
    proxies: ProxySettings = field(default_factory=ProxySettings)

    def secrets(self) -> list[str]:
        found = [s for src in self.sources for s in src.secrets()] + self.proxies.secrets()
        if self.database.url:
            password = urlsplit(self.database.url.reveal()).password
            if password:
                found.append(password)
        return found
