"""Typed, frozen settings built once at the edge from defaults, a TOML file, the environment and flags.

Precedence (lowest first): built-in defaults < config file (`--config` or `SWR_ETL_CONFIG`) < environment
(`SWR_ETL_*`) < command-line flags. Only this module reads the environment.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pipeline.domain import Repository
from pipeline.errors import ConfigError


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
    max_requests_per_repo: int = 100_000
    repos_in_flight: int = 64


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


@dataclass(frozen=True)
class Settings:
    """Everything a command needs; built by `load_settings`, validated once, passed down explicitly."""

    sources: tuple[SourceSettings, ...] = ()
    http: HttpSettings = field(default_factory=HttpSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    grace_period: float = 20.0
    log_level: str = "info"
    log_format: str = "auto"
    data_dir: str = ".data"

    def secrets(self) -> list[str]:
        found = [s for src in self.sources for s in src.secrets()]
        if self.database.url:
            password = urlsplit(self.database.url.reveal()).password
            if password:
                found.append(password)
        return found


ENV_PREFIX = "SWR_ETL_"

# Environment variable → (section, key). Section "source" applies to the single source.
ENV_KEYS: dict[str, tuple[str, str]] = {
    "DATABASE_URL": ("database", "url"),
    "DB_CONNECT_TIMEOUT": ("database", "connect_timeout"),
    "BATCH_SIZE": ("database", "batch_size"),
    "ENDPOINT": ("source", "endpoint"),
    "REGION": ("source", "region"),
    "TOKEN": ("source", "token"),
    "IAM_USER": ("source", "iam_user"),
    "IAM_PASSWORD": ("source", "iam_password"),
    "IAM_DOMAIN": ("source", "iam_domain"),
    "IAM_ENDPOINT": ("source", "iam_endpoint"),
    "AK": ("source", "ak"),
    "SK": ("source", "sk"),
    "PROJECT_ID": ("source", "project_id"),
    "SECURITY_TOKEN": ("source", "security_token"),
    "NAMESPACES": ("source", "namespaces"),
    "REPOSITORIES": ("source", "repositories"),
    "CONCURRENCY": ("http", "concurrency"),
    "PAGE_SIZE": ("http", "page_size"),
    "CONNECT_TIMEOUT": ("http", "connect_timeout"),
    "READ_TIMEOUT": ("http", "read_timeout"),
    "TOTAL_TIMEOUT": ("http", "total_timeout"),
    "RETRY_ATTEMPTS": ("http", "retry_attempts"),
    "BACKOFF_BASE": ("http", "backoff_base"),
    "BACKOFF_CAP": ("http", "backoff_cap"),
    "MAX_RETRY_AFTER": ("http", "max_retry_after"),
    "RATE_LIMIT": ("http", "rate_limit"),
    "GRACE_PERIOD": ("run", "grace_period"),
    "LOG_LEVEL": ("run", "log_level"),
    "LOG_FORMAT": ("run", "log_format"),
    "DATA_DIR": ("run", "data_dir"),
}

SECRET_KEYS = frozenset({"token", "iam_password", "sk", "security_token", "url"})
SOURCE_KEYS = frozenset(f.name for f in fields(SourceSettings))
_REGION_HOST = re.compile(r"^swr-api\.([a-z0-9-]+)\.")
_NAME = re.compile(r"^[a-z0-9][a-z0-9._/-]{0,127}$")


def region_from_endpoint(endpoint: str) -> str:
    """`https://swr-api.cn-north-4.myhuaweicloud.com` → `cn-north-4`; anything else → `default`."""
    host = urlsplit(endpoint).hostname or ""
    match = _REGION_HOST.match(host)
    return match.group(1) if match else "default"


def load_settings(
    *,
    config_path: str | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    require_source: bool = True,
) -> Settings:
    """Build the settings: defaults < file < environment < flags (`overrides`, keys as in ENV_KEYS, lower)."""
    environ = os.environ if env is None else env
    path = config_path or environ.get(ENV_PREFIX + "CONFIG")
    raw = _read_file(path) if path else {}
    layered = _layer_env(raw, environ)
    for key, value in (overrides or {}).items():
        if value is not None:
            section, name = ENV_KEYS[key.upper()]
            layered.setdefault(section, {})[name] = value
    return _build(layered, require_source=require_source)


def _read_file(path: str) -> dict[str, Any]:
    try:
        with Path(path).open("rb") as handle:
            raw = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    _check_sections(raw, path)
    return raw


def _check_sections(raw: Mapping[str, Any], path: str) -> None:
    """Valid TOML of the wrong shape (`http = 5`, `[[run]]`) is a config error, not a crash later on."""
    for name, value in raw.items():
        if name == "sources":
            if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                raise ConfigError(f"config file {path}: sources must be [[sources]] tables")
        elif name in ("database", "http", "run", "source") and not isinstance(value, dict):
            raise ConfigError(f"config file {path}: {name} must be a [{name}] table")


def _layer_env(raw: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    layered: dict[str, Any] = {k: (dict(v) if isinstance(v, dict) else v) for k, v in raw.items()}
    db_url = environ.get(ENV_PREFIX + "DATABASE_URL") or environ.get("DATABASE_URL")
    if db_url:
        layered.setdefault("database", {})["url"] = db_url
    for suffix, (section, key) in ENV_KEYS.items():
        value = environ.get(ENV_PREFIX + suffix)
        if value is not None and suffix != "DATABASE_URL":
            layered.setdefault(section, {})[key] = value
    return layered


def _build(layered: dict[str, Any], *, require_source: bool) -> Settings:
    known = {"database", "http", "run", "source", "sources"}
    unknown = set(layered) - known
    if unknown:
        raise ConfigError(f"unknown setting section(s): {', '.join(sorted(unknown))}")
    http = _dataclass_from(HttpSettings, layered.get("http", {}), "http")
    database = _dataclass_from(DatabaseSettings, layered.get("database", {}), "database")
    run = layered.get("run", {})
    run_defaults = Settings()
    _check_keys(run, {"grace_period", "log_level", "log_format", "data_dir"}, "run")
    settings = Settings(
        # Commands that crawl nothing (migrate, report, demo) ignore the source settings.
        sources=_build_sources(layered) if require_source else (),
        http=http,
        database=database,
        grace_period=_number(run.get("grace_period", run_defaults.grace_period), "run.grace_period", float),
        log_level=_choice(
            run.get("log_level", "info"), "run.log_level", ("debug", "info", "warning", "error")
        ),
        log_format=_choice(run.get("log_format", "auto"), "run.log_format", ("auto", "json", "console")),
        data_dir=str(run.get("data_dir", run_defaults.data_dir)),
    )
    _validate(settings)
    return settings


def _check_keys(values: Mapping[str, Any], allowed: set[str] | frozenset[str], where: str) -> None:
    extra = set(values) - set(allowed)
    if extra:
        raise ConfigError(f"unknown setting {where}.{sorted(extra)[0]}")


def _dataclass_from(cls: Any, values: Mapping[str, Any], where: str) -> Any:
    defaults = cls()
    _check_keys(values, {f.name for f in fields(cls)}, where)
    kwargs: dict[str, Any] = {}
    for f in fields(cls):
        if f.name not in values:
            continue
        value = values[f.name]
        if f.name in SECRET_KEYS:
            kwargs[f.name] = Secret(str(value)) if value else None
        else:
            kind = type(getattr(defaults, f.name))
            kwargs[f.name] = _number(value, f"{where}.{f.name}", kind)
    return replace(defaults, **kwargs)


def _label(name: str) -> str:
    """`http.concurrency` → `http.concurrency (SWR_ETL_CONCURRENCY)`: name the variable people set."""
    for suffix, (section, key) in ENV_KEYS.items():
        if f"{section}.{key}" == name:
            return f"{name} ({ENV_PREFIX}{suffix})"
    return name


def _number(value: Any, name: str, kind: type) -> Any:
    try:
        if kind is int:
            if isinstance(value, float | bool):
                raise ValueError
            return int(value)
        return float(value)
    except (TypeError, ValueError):
        raise ConfigError(
            f"{_label(name)} must be a {'whole ' if kind is int else ''}number, got {value!r}"
        ) from None


def _choice(value: Any, name: str, allowed: tuple[str, ...]) -> str:
    text = str(value).lower()
    if text not in allowed:
        raise ConfigError(f"{_label(name)} must be one of {', '.join(allowed)}, got {value!r}")
    return text


def _build_sources(layered: dict[str, Any]) -> tuple[SourceSettings, ...]:
    single = layered.get("source", {})
    many = layered.get("sources", [])
    if not isinstance(many, list):
        raise ConfigError("sources must be an array of tables ([[sources]])")
    if many and single:
        if len(many) > 1:
            raise ConfigError(
                "SWR_ETL_* source settings and [source] cannot be combined with several [[sources]]"
            )
        many = [{**many[0], **single}]
    entries = many or ([single] if single else [])
    sources = tuple(_source(entry, f"sources[{i}]") for i, entry in enumerate(entries))
    if not sources:
        raise ConfigError("no SWR endpoint configured: set SWR_ETL_ENDPOINT or [source].endpoint")
    return sources


def _source(entry: Mapping[str, Any], where: str) -> SourceSettings:
    _check_keys(entry, SOURCE_KEYS, where)
    endpoint = str(entry.get("endpoint") or "").rstrip("/")
    if not endpoint:
        raise ConfigError(f"{where}.endpoint is required (SWR_ETL_ENDPOINT)")
    if urlsplit(endpoint).scheme not in ("http", "https") or not urlsplit(endpoint).hostname:
        raise ConfigError(f"{where}.endpoint must be an http(s) URL, got {endpoint!r}")
    strings = {k: (str(entry[k]) if entry.get(k) not in (None, "") else None) for k in SOURCE_KEYS}
    source = SourceSettings(
        endpoint=endpoint,
        region=strings["region"] or region_from_endpoint(endpoint),
        token=_secret(strings["token"]),
        iam_user=strings["iam_user"],
        iam_password=_secret(strings["iam_password"]),
        iam_domain=strings["iam_domain"],
        iam_endpoint=(strings["iam_endpoint"] or "").rstrip("/") or None,
        ak=strings["ak"],
        sk=_secret(strings["sk"]),
        project_id=strings["project_id"],
        security_token=_secret(strings["security_token"]),
        namespaces=_namespaces(entry.get("namespaces"), where),
        repositories=_repositories(entry.get("repositories"), where),
    )
    _validate_auth(source, where)
    return source


def _secret(value: str | None) -> Secret | None:
    return Secret(value) if value else None


def _split(value: Any) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    return [str(item).strip() for item in items if str(item).strip()]


def _namespaces(value: Any, where: str) -> tuple[str, ...]:
    names = _split(value)
    for name in names:
        if not _NAME.match(name) or "/" in name:
            raise ConfigError(f"{where}.namespaces: invalid namespace {name!r}")
    return tuple(names)


def _repositories(value: Any, where: str) -> tuple[Repository, ...]:
    repos = []
    for item in _split(value):
        namespace, sep, name = item.partition("/")
        if not sep or not _NAME.match(namespace) or not _NAME.match(name):
            raise ConfigError(f"{where}.repositories: expected namespace/repository, got {item!r}")
        repos.append(Repository(namespace, name))
    return tuple(repos)


def _validate_auth(source: SourceSettings, where: str) -> None:
    modes = []
    if source.token:
        modes.append("token")
    if source.iam_user or source.iam_password or source.iam_domain:
        modes.append("iam")
    if source.ak or source.sk:
        modes.append("aksk")
    if len(modes) != 1:
        found = ", ".join(modes) if modes else "none"
        raise ConfigError(
            f"{where}: configure exactly one credential mode (token: SWR_ETL_TOKEN; iam: SWR_ETL_IAM_USER/"
            f"_PASSWORD/_DOMAIN; aksk: SWR_ETL_AK/SWR_ETL_SK), found {found}"
        )
    if modes == ["iam"] and not (source.iam_user and source.iam_password and source.iam_domain):
        raise ConfigError(
            f"{where}: IAM mode needs SWR_ETL_IAM_USER, SWR_ETL_IAM_PASSWORD and SWR_ETL_IAM_DOMAIN"
        )
    if modes == ["iam"] and source.region == "default":
        # The token is scoped to the project named like the region, and IAM's host is derived from it.
        raise ConfigError(
            f"{where}: IAM mode needs the region: set SWR_ETL_REGION (the endpoint host does not name one)"
        )
    if modes == ["aksk"] and not (source.ak and source.sk):
        raise ConfigError(f"{where}: AK/SK mode needs both SWR_ETL_AK and SWR_ETL_SK")


def _validate(settings: Settings) -> None:
    http, db = settings.http, settings.database
    checks = [
        (http.concurrency >= 1, _label("http.concurrency") + " must be at least 1"),
        (1 <= http.page_size <= 1000, _label("http.page_size") + " must be between 1 and 1000"),
        (http.retry_attempts >= 1, _label("http.retry_attempts") + " must be at least 1"),
        (http.repos_in_flight >= 1, "http.repos_in_flight must be at least 1"),
        (http.max_requests_per_repo >= 1, "http.max_requests_per_repo must be at least 1"),
        (
            min(http.connect_timeout, http.read_timeout, http.total_timeout) > 0,
            "http timeouts must be positive",
        ),
        (http.backoff_base >= 0 and http.backoff_cap >= 0, "http backoff must not be negative"),
        (http.max_retry_after >= 0 and http.rate_limit >= 0, "http.max_retry_after/rate_limit must be >= 0"),
        (
            db.batch_size >= 1 and db.queue_pages >= 1,
            "database.batch_size and queue_pages must be at least 1",
        ),
        (db.writers >= 1, "database.writers must be at least 1"),
        (
            db.connect_timeout > 0 and db.write_attempts >= 1,
            "database.connect_timeout/write_attempts invalid",
        ),
        (settings.grace_period > 0, _label("run.grace_period") + " must be positive"),
    ]
    for ok, message in checks:
        if not ok:
            raise ConfigError(message)
