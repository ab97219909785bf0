"""Typed, frozen settings built once at the edge from defaults, a TOML file, the environment and flags.

Precedence (lowest first): built-in defaults < config file (`--config` or `SWR_ETL_CONFIG`) < environment
(`SWR_ETL_*`) < command-line flags. Only this module reads the environment.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pipeline.errors import ConfigError
from pipeline.settings.indirect import overlay, resolve
from pipeline.settings.model import (
    AUTH_MODES,
    DatabaseSettings,
    HttpSettings,
    MonitoringSettings,
    ProxySettings,
    Secret,
    Settings,
    SourceSettings,
)
from pipeline.settings.sources import (
    CREDENTIAL_KEYS,
    build_sources,
    check_keys,
    check_transport,
    region_from_endpoint,
)

__all__ = [
    "AUTH_MODES",
    "ENV_KEYS",
    "DatabaseSettings",
    "HttpSettings",
    "MonitoringSettings",
    "ProxySettings",
    "Secret",
    "Settings",
    "SourceSettings",
    "load_settings",
    "region_from_endpoint",
]


ENV_PREFIX = "SWR_ETL_"

# Environment variable → (section, key). Section "source" applies to the single source.
ENV_KEYS: dict[str, tuple[str, str]] = {
    "DATABASE_URL": ("database", "url"),
    "DB_CONNECT_TIMEOUT": ("database", "connect_timeout"),
    "DB_STATEMENT_TIMEOUT": ("database", "statement_timeout"),
    "DB_KEEPALIVE_IDLE": ("database", "keepalive_idle"),
    "DB_LOCK_CHECK_INTERVAL": ("database", "lock_check_interval"),
    "BATCH_SIZE": ("database", "batch_size"),
    "REJECTS_RETENTION_DAYS": ("database", "rejects_retention_days"),
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
    "ALLOW_INSECURE_HTTP": ("http", "allow_insecure_http"),
    "MAX_QUOTA_SHARE": ("http", "max_quota_share"),
    "GRACE_PERIOD": ("run", "grace_period"),
    "LOG_LEVEL": ("run", "log_level"),
    "LOG_FORMAT": ("run", "log_format"),
    "DATA_DIR": ("run", "data_dir"),
    "PROGRESS_INTERVAL": ("monitoring", "progress_interval"),
    "HEARTBEAT_INTERVAL": ("monitoring", "heartbeat_interval"),
    "PUSHGATEWAY_URL": ("monitoring", "pushgateway_url"),
    "PUSHGATEWAY_TIMEOUT": ("monitoring", "pushgateway_timeout"),
    # Secrets as files (Kubernetes Secret volumes): the file's content, less one trailing newline.
    "DATABASE_URL_FILE": ("database", "url_file"),
    **{f"{key.upper()}_FILE": ("source", f"{key}_file") for key in CREDENTIAL_KEYS},
    "FULL": ("run", "full"),
    "FULL_EVERY": ("run", "full_every"),
    "OPEN_JOB_HORIZON": ("run", "open_job_horizon"),
    "MAX_DURATION": ("run", "max_duration"),
}

# Per section, the settings that may be given indirectly (`<key>_file`, `<key>_env`).
INDIRECT_KEYS: dict[str, tuple[str, ...]] = {"database": ("url",), "source": CREDENTIAL_KEYS}

# SWR_ETL_* variables that are not settings but are read by name elsewhere (the config file's path, the
# test suite's and the benchmark's database).
OTHER_ENV = frozenset({"CONFIG", "TEST_DATABASE_URL", "BENCH_DATABASE_URL", "BENCH_DB_PREFIX"})

# What Kubernetes injects for every Service in the namespace ("service links"): a Service `swr-etl-db` gives
# SWR_ETL_DB_SERVICE_HOST, SWR_ETL_DB_SERVICE_PORT[_<port name>], SWR_ETL_DB_PORT and
# SWR_ETL_DB_PORT_5432_TCP[_PROTO|_PORT|_ADDR]: after the Service's prefix, one of these tails.
_SERVICE_LINK_TAIL = re.compile(
    r"SERVICE_HOST|SERVICE_PORT(?:_\w+)?|PORT(?:_\d+_(?:TCP|UDP|SCTP)(?:_(?:PROTO|PORT|ADDR))?)?"
)

RUN_KEYS = frozenset(
    {
        "grace_period",
        "log_level",
        "log_format",
        "data_dir",
        "full",
        "full_every",
        "open_job_horizon",
        "max_duration",
    }
)

SECRET_KEYS = frozenset({"token", "iam_password", "sk", "security_token", "url"})


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
            layered[section] = overlay(
                layered.get(section, {}), {name: value}, INDIRECT_KEYS.get(section, ())
            )
    settings = _build(layered, environ, require_source=require_source)
    return replace(settings, unrecognized_env=unrecognized_env(environ), proxies=proxy_settings(environ))


def proxy_settings(environ: Mapping[str, str]) -> ProxySettings:
    """HTTPS_PROXY, HTTP_PROXY and NO_PROXY, the lower-case spelling first (as urllib and curl read them)."""

    def variable(name: str) -> str:
        return environ.get(name.lower()) or environ.get(name) or ""

    http, https = variable("HTTP_PROXY"), variable("HTTPS_PROXY")
    return ProxySettings(
        http=Secret(http) if http else None,
        https=Secret(https) if https else None,
        no_proxy=variable("NO_PROXY"),
    )


def unrecognized_env(environ: Mapping[str, str]) -> tuple[str, ...]:
    """SWR_ETL_* variables that configure nothing, each with the setting it probably meant, if any.

    A misspelled `SWR_ETL_CONCURENCY` would otherwise be silently ignored. Names only: values may be secrets.
    """
    found = []
    links = _service_links(environ)
    for name in sorted(environ):
        suffix = name.removeprefix(ENV_PREFIX)
        if suffix == name or suffix in ENV_KEYS or suffix in OTHER_ENV or name in links:
            continue
        guess = difflib.get_close_matches(suffix, [*ENV_KEYS, *OTHER_ENV], n=1, cutoff=0.7)
        found.append(f"{name} (did you mean {ENV_PREFIX}{guess[0]}?)" if guess else name)
    return tuple(found)


def _service_links(environ: Mapping[str, str]) -> set[str]:
    """The SWR_ETL_* service-link variables of the Services whose `<PREFIX>SERVICE_HOST` and
    `<PREFIX>SERVICE_PORT` are both set.

    Kubernetes always injects those two with the rest, so without them a name such as SWR_ETL_DB_PORT (or
    a lone SWR_ETL_IAM_SERVICE_HOST) is not a link but a setting someone expected to exist.
    """
    prefixes = [
        name.removesuffix("SERVICE_HOST")
        for name in environ
        if name.startswith(ENV_PREFIX)
        and name.endswith("_SERVICE_HOST")
        and name.removesuffix("HOST") + "PORT" in environ
    ]
    return {
        name
        for name in environ
        for prefix in prefixes
        if name.startswith(prefix) and _SERVICE_LINK_TAIL.fullmatch(name.removeprefix(prefix))
    }


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
        elif name in ("database", "http", "monitoring", "run", "source") and not isinstance(value, dict):
            raise ConfigError(f"config file {path}: {name} must be a [{name}] table")


def _layer_env(raw: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    layered: dict[str, Any] = {k: (dict(v) if isinstance(v, dict) else v) for k, v in raw.items()}
    from_env: dict[str, dict[str, Any]] = {}
    for suffix, (section, key) in ENV_KEYS.items():
        value = environ.get(ENV_PREFIX + suffix)
        if suffix == "DATABASE_URL":
            # The generic DATABASE_URL is a fallback, behind SWR_ETL_DATABASE_URL and its _FILE form.
            file_given = ENV_PREFIX + "DATABASE_URL_FILE" in environ
            value = value or (None if file_given else environ.get("DATABASE_URL")) or None
        if value is None:
            continue
        direct = ENV_PREFIX + suffix.removesuffix("_FILE")
        if suffix.endswith("_FILE") and environ.get(direct):
            raise ConfigError(f"{direct} and {ENV_PREFIX}{suffix} are both set: keep one")
        from_env.setdefault(section, {})[key] = value
    for section, values in from_env.items():
        layered[section] = overlay(layered.get(section, {}), values, INDIRECT_KEYS.get(section, ()))
    return layered


def _build(layered: dict[str, Any], environ: Mapping[str, str], *, require_source: bool) -> Settings:
    known = {"database", "http", "monitoring", "run", "source", "sources"}
    unknown = set(layered) - known
    if unknown:
        raise ConfigError(f"unknown setting section(s): {', '.join(sorted(unknown))}")
    http = _dataclass_from(HttpSettings, layered.get("http", {}), "http")
    database_values = resolve(layered.get("database", {}), ("url",), environ, "database")
    database = _dataclass_from(DatabaseSettings, database_values, "database")
    monitoring = _dataclass_from(MonitoringSettings, layered.get("monitoring", {}), "monitoring")
    run = layered.get("run", {})
    run_defaults = Settings()
    check_keys(run, RUN_KEYS, "run")
    settings = Settings(
        # Commands that crawl nothing (migrate, report, demo) ignore the source settings.
        sources=build_sources(layered, environ) if require_source else (),
        http=http,
        database=database,
        monitoring=monitoring,
        grace_period=_number(run.get("grace_period", run_defaults.grace_period), "run.grace_period", float),
        log_level=_choice(
            run.get("log_level", "info"), "run.log_level", ("debug", "info", "warning", "error")
        ),
        log_format=_choice(run.get("log_format", "auto"), "run.log_format", ("auto", "json", "console")),
        data_dir=str(run.get("data_dir", run_defaults.data_dir)),
        full=_flag(run.get("full", False), "run.full"),
        full_every=_optional_seconds(run.get("full_every"), "run.full_every"),
        open_job_horizon=_number(
            run.get("open_job_horizon", run_defaults.open_job_horizon), "run.open_job_horizon", float
        ),
        max_duration=_optional_seconds(run.get("max_duration"), "run.max_duration"),
    )
    _validate(settings)
    return settings


def _dataclass_from(cls: Any, values: Mapping[str, Any], where: str) -> Any:
    defaults = cls()
    check_keys(values, {f.name for f in fields(cls)}, where)
    kwargs: dict[str, Any] = {}
    for f in fields(cls):
        if f.name not in values:
            continue
        value = values[f.name]
        if f.name in SECRET_KEYS:
            kwargs[f.name] = Secret(str(value)) if value else None
        elif isinstance(getattr(defaults, f.name), str):
            kwargs[f.name] = str(value)
        elif isinstance(getattr(defaults, f.name), bool):
            kwargs[f.name] = _flag(value, f"{where}.{f.name}")
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


def _optional_seconds(value: Any, name: str) -> float | None:
    """A positive number of seconds, or None when unset (empty in the environment: unset too)."""
    if value is None or value == "":
        return None
    seconds = _number(value, name, float)
    if seconds <= 0:
        raise ConfigError(f"{_label(name)} must be a positive number of seconds, got {value!r}")
    return float(seconds)


def _flag(value: Any, name: str) -> bool:
    """A boolean from TOML, a flag, or the environment (1/0, true/false, yes/no, on/off)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"{_label(name)} must be true or false, got {value!r}")


def _choice(value: Any, name: str, allowed: tuple[str, ...]) -> str:
    text = str(value).lower()
    if text not in allowed:
        raise ConfigError(f"{_label(name)} must be one of {', '.join(allowed)}, got {value!r}")
    return text


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
        (0 < http.max_quota_share <= 1, _label("http.max_quota_share") + " must be above 0 and at most 1"),
        (
            db.batch_size >= 1 and db.queue_pages >= 1,
            "database.batch_size and queue_pages must be at least 1",
        ),
        (db.writers >= 1, "database.writers must be at least 1"),
        (db.rejects_retention_days >= 0, _label("database.rejects_retention_days") + " must be >= 0"),
        (
            db.connect_timeout > 0 and db.write_attempts >= 1,
            "database.connect_timeout/write_attempts invalid",
        ),
        (settings.grace_period > 0, _label("run.grace_period") + " must be positive"),
        *_monitoring_checks(settings.monitoring),
        (
            min(db.statement_timeout, db.keepalive_idle, db.keepalive_interval, db.lock_check_interval) > 0
            and db.keepalive_count >= 1,
            "database.statement_timeout, keepalive_* and lock_check_interval must be positive",
        ),
        (settings.open_job_horizon > 0, _label("run.open_job_horizon") + " must be positive"),
    ]
    for ok, message in checks:
        if not ok:
            raise ConfigError(message)
    if not http.allow_insecure_http:
        for source in settings.sources:
            check_transport(source)


def _monitoring_checks(monitoring: MonitoringSettings) -> list[tuple[bool, str]]:
    url = urlsplit(monitoring.pushgateway_url)
    return [
        (monitoring.progress_interval > 0, _label("monitoring.progress_interval") + " must be positive"),
        (monitoring.heartbeat_interval > 0, _label("monitoring.heartbeat_interval") + " must be positive"),
        (monitoring.pushgateway_timeout > 0, _label("monitoring.pushgateway_timeout") + " must be positive"),
        (
            not monitoring.pushgateway_url or (url.scheme in ("http", "https") and bool(url.hostname)),
            _label("monitoring.pushgateway_url") + " must be an http(s) URL",
        ),
        # Pushed with no credentials, and logged: a password in it would end up in the logs.
        (
            url.username is None and url.password is None,
            _label("monitoring.pushgateway_url") + " must not carry credentials",
        ),
    ]
