"""Settings: defaults < file < environment < flags; one-line errors for bad settings; secrets hidden."""

from __future__ import annotations

import tomllib
from dataclasses import fields
from pathlib import Path

import pytest

from pipeline.domain import Repository
from pipeline.errors import ConfigError
from pipeline.settings import (
    DatabaseSettings,
    HttpSettings,
    MonitoringSettings,
    Secret,
    Settings,
    load_settings,
    region_from_endpoint,
)

ROOT = Path(__file__).resolve().parents[2]
BASE_ENV = {"SWR_ETL_ENDPOINT": "https://swr-api.cn-north-4.myhuaweicloud.com", "SWR_ETL_TOKEN": "tok-1234"}


def test_documented_file_matches_code_defaults() -> None:
    doc = tomllib.loads((ROOT / "config" / "swr-etl.toml").read_text())
    for section, cls in (
        ("http", HttpSettings),
        ("database", DatabaseSettings),
        ("monitoring", MonitoringSettings),
    ):
        documented = doc[section]
        expected = {f.name for f in fields(cls)} - {"url"}
        assert set(documented) == expected, section
        for name, value in documented.items():
            assert getattr(cls(), name) == value, f"{section}.{name}"
    defaults = Settings()
    for name, value in doc["run"].items():
        assert getattr(defaults, name) == value, f"run.{name}"


def test_documented_file_loads_as_a_config(tmp_path: Path) -> None:
    settings = load_settings(config_path=str(ROOT / "config" / "swr-etl.toml"), env=BASE_ENV)
    assert settings.http == HttpSettings()
    assert settings.sources[0].region == "cn-north-4"


@pytest.mark.parametrize(
    ("endpoint", "region"),
    [
        ("https://swr-api.cn-north-4.myhuaweicloud.com", "cn-north-4"),
        ("https://swr-api.eu-west-101.myhuaweicloud.eu", "eu-west-101"),
        ("http://127.0.0.1:8080", "default"),
        ("https://registry.example.com", "default"),
    ],
)
def test_region_from_endpoint(endpoint: str, region: str) -> None:
    assert region_from_endpoint(endpoint) == region


def test_precedence_file_env_flags(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        '[http]\nconcurrency = 8\npage_size = 50\n[source]\nendpoint = "https://file:1"\ntoken = "t-file"\n'
    )
    env = {"SWR_ETL_CONFIG": str(config), "SWR_ETL_PAGE_SIZE": "70"}
    settings = load_settings(env=env, overrides={"concurrency": 4})
    assert settings.http.concurrency == 4  # flag beats file
    assert settings.http.page_size == 70  # env beats file
    assert settings.sources[0].endpoint == "https://file:1"
    assert settings.sources[0].region == "default"


def test_environment_variables_operators_set() -> None:
    env = {
        **BASE_ENV,
        "DATABASE_URL": "postgresql://fallback/db",
        "SWR_ETL_REGION": "my-region",
        "SWR_ETL_CONCURRENCY": "5",
        "SWR_ETL_PAGE_SIZE": "20",
        "SWR_ETL_NAMESPACES": "a, b",
        "SWR_ETL_REPOSITORIES": "a/x,b/team/app",
        "SWR_ETL_REJECTS_RETENTION_DAYS": "7.5",
        "SWR_ETL_MAX_QUOTA_SHARE": "0.5",
    }
    settings = load_settings(env=env)
    source = settings.sources[0]
    assert settings.database.rejects_retention_days == 7.5
    assert settings.http.max_quota_share == 0.5
    assert settings.database.url == Secret("postgresql://fallback/db")
    assert (source.region, settings.http.concurrency, settings.http.page_size) == ("my-region", 5, 20)
    assert source.namespaces == ("a", "b")
    assert source.repositories == (Repository("a", "x"), Repository("b", "team/app"))
    env["SWR_ETL_DATABASE_URL"] = "postgresql://primary/db"
    assert load_settings(env=env).database.url == Secret("postgresql://primary/db")


def test_incremental_and_deadline_settings(tmp_path: Path) -> None:
    defaults = load_settings(env=BASE_ENV)
    assert (defaults.full, defaults.full_every, defaults.max_duration) == (False, None, None)
    assert defaults.open_job_horizon == 86400.0
    config = tmp_path / "c.toml"
    config.write_text("[run]\nfull_every = 3600\nopen_job_horizon = 7200\nmax_duration = 600\n")
    from_file = load_settings(config_path=str(config), env=BASE_ENV)
    assert (from_file.full_every, from_file.open_job_horizon, from_file.max_duration) == (
        3600.0,
        7200.0,
        600.0,
    )
    env = {**BASE_ENV, "SWR_ETL_FULL": "yes", "SWR_ETL_FULL_EVERY": "86400", "SWR_ETL_MAX_DURATION": "50"}
    from_env = load_settings(env=env)
    assert (from_env.full, from_env.full_every, from_env.max_duration) == (True, 86400.0, 50.0)
    flags = load_settings(env=env, overrides={"max_duration": "20", "full": False})
    assert (flags.full, flags.max_duration) == (False, 20.0)


def test_unrecognized_variables_are_named_with_a_guess_never_with_their_value() -> None:
    env = {
        **BASE_ENV,
        "SWR_ETL_CONCURENCY": "5",  # typo of CONCURRENCY
        "SWR_ETL_DATABASE_UR": "postgresql://u:hunter2@h/db",  # typo of DATABASE_URL
        "SWR_ETL_FROBNICATE": "1",  # no guess
        "SWR_ETL_CONFIG_FILE": "/etc/swr.toml",  # CONFIG holds the file's path
        # Not typos: read by name elsewhere, or injected by Kubernetes for Services `swr-etl`, `swr-etl-db`.
        "SWR_ETL_TEST_DATABASE_URL": "postgresql://t/db",
        "SWR_ETL_BENCH_DATABASE_URL": "postgresql://b/db",
        "SWR_ETL_SERVICE_HOST": "10.0.0.1",
        "SWR_ETL_SERVICE_PORT": "8080",
        "SWR_ETL_SERVICE_PORT_METRICS": "9090",
        "SWR_ETL_PORT": "tcp://10.0.0.1:8080",
        "SWR_ETL_PORT_8080_TCP": "tcp://10.0.0.1:8080",
        "SWR_ETL_DB_PORT_5432_TCP_ADDR": "10.0.0.2",
        "SWR_ETL_DB_SERVICE_HOST": "10.0.0.2",
        "SWR_ETL_DB_SERVICE_PORT": "5432",
        "OTHER_CONCURENCY": "5",
    }
    settings = load_settings(env=env)
    assert settings.unrecognized_env == (
        "SWR_ETL_CONCURENCY (did you mean SWR_ETL_CONCURRENCY?)",
        "SWR_ETL_CONFIG_FILE (did you mean SWR_ETL_CONFIG?)",
        "SWR_ETL_DATABASE_UR (did you mean SWR_ETL_DATABASE_URL?)",
        "SWR_ETL_FROBNICATE",
    )
    assert settings.http.concurrency == HttpSettings().concurrency  # the typo configured nothing
    assert "hunter2" not in repr(settings)
    assert load_settings(env=BASE_ENV).unrecognized_env == ()


@pytest.mark.parametrize(
    ("env", "reported"),
    [
        # Without its Service's _SERVICE_HOST, a name shaped like a service link is a setting that
        # someone expected to exist.
        ({"SWR_ETL_DB_PORT": "5433"}, ["SWR_ETL_DB_PORT"]),
        ({"SWR_ETL_PORT": "8080", "SWR_ETL_METRICS_PORT": "9090"}, ["SWR_ETL_METRICS_PORT", "SWR_ETL_PORT"]),
        # A Service's HOST without its PORT: not something Kubernetes injects.
        ({"SWR_ETL_IAM_SERVICE_HOST": "iam.example"}, ["SWR_ETL_IAM_SERVICE_HOST"]),
        # A Service named `swr-etl`: its links are skipped, names that merely end like one are not.
        (
            {
                "SWR_ETL_SERVICE_HOST": "10.0.0.1",
                "SWR_ETL_SERVICE_PORT": "443",
                "SWR_ETL_SERVICE_PORT_HTTPS": "443",
                "SWR_ETL_PORT_443_TCP_ADDR": "10.0.0.1",
                "SWR_ETL_DB_PORT": "5433",
                "SWR_ETL_METRICS_PORT": "9090",
            },
            ["SWR_ETL_DB_PORT", "SWR_ETL_METRICS_PORT"],
        ),
        # With it, the Service's links are skipped, and only those.
        (
            {
                "SWR_ETL_DB_SERVICE_HOST": "10.0.0.2",
                "SWR_ETL_DB_SERVICE_PORT": "5432",
                "SWR_ETL_DB_PORT": "tcp://10.0.0.2:5432",
                "SWR_ETL_DB_PORT_5432_TCP_PROTO": "tcp",
                "SWR_ETL_DB_HOSTNAME": "db",  # not a link tail
                "SWR_ETL_PROXY_PORT": "3128",  # another prefix, no Service
                "SWR_ETL_DB_PORT_5432_TCP_EXTRA": "x",  # not a link tail
            },
            ["SWR_ETL_DB_HOSTNAME", "SWR_ETL_DB_PORT_5432_TCP_EXTRA", "SWR_ETL_PROXY_PORT"],
        ),
    ],
)
def test_service_link_names_are_skipped_only_beside_their_service_host(
    env: dict[str, str], reported: list[str]
) -> None:
    found = load_settings(env={**BASE_ENV, **env}).unrecognized_env
    assert [entry.split(" (")[0] for entry in found] == reported


def test_monitoring_settings_from_file_and_environment(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[monitoring]\nprogress_interval = 10\npushgateway_url = "http://pgw.file:9091"\n')
    env = {
        **BASE_ENV,
        "SWR_ETL_CONFIG": str(config),
        "SWR_ETL_HEARTBEAT_INTERVAL": "2.5",
        "SWR_ETL_PUSHGATEWAY_URL": "https://pushgateway.monitoring:9091/base",
        "SWR_ETL_PUSHGATEWAY_TIMEOUT": "3",
    }
    assert load_settings(env=env).monitoring == MonitoringSettings(
        progress_interval=10.0,
        heartbeat_interval=2.5,
        pushgateway_url="https://pushgateway.monitoring:9091/base",
        pushgateway_timeout=3.0,
    )
    assert load_settings(env=BASE_ENV).monitoring.pushgateway_url == ""  # no push by default


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"SWR_ETL_PROGRESS_INTERVAL": "0"},
            "monitoring.progress_interval (SWR_ETL_PROGRESS_INTERVAL) must be",
        ),
        ({"SWR_ETL_HEARTBEAT_INTERVAL": "-1"}, "monitoring.heartbeat_interval (SWR_ETL_HEARTBEAT_INTERVAL)"),
        ({"SWR_ETL_PUSHGATEWAY_TIMEOUT": "soon"}, "SWR_ETL_PUSHGATEWAY_TIMEOUT) must be a number"),
        ({"SWR_ETL_PUSHGATEWAY_URL": "pushgateway:9091"}, "SWR_ETL_PUSHGATEWAY_URL) must be an http(s) URL"),
        ({"SWR_ETL_PUSHGATEWAY_URL": "http://u:pw-77@pgw:9091"}, "must not carry credentials"),
    ],
)
def test_bad_monitoring_settings_are_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env={**BASE_ENV, **env})
    assert message in str(info.value)
    assert "pw-77" not in str(info.value)


def test_several_sources_in_one_file(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        '[[sources]]\nendpoint = "https://swr-api.cn-north-4.myhuaweicloud.com"\ntoken = "a-token"\n'
        '[[sources]]\nendpoint = "https://swr-api.ap-southeast-1.myhuaweicloud.com"\nak = "AK"\nsk = "SKSK"\n'
    )
    settings = load_settings(config_path=str(config), env={})
    assert [s.region for s in settings.sources] == ["cn-north-4", "ap-southeast-1"]
    assert [s.auth_mode for s in settings.sources] == ["token", "aksk"]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SWR_ETL_TOKEN": "t"}, "endpoint is required (SWR_ETL_ENDPOINT)"),
        ({}, "no SWR endpoint configured"),
        (
            {**BASE_ENV, "SWR_ETL_CONCURRENCY": "many"},
            "http.concurrency (SWR_ETL_CONCURRENCY) must be a whole number",
        ),
        (
            {**BASE_ENV, "SWR_ETL_CONCURRENCY": "0"},
            "http.concurrency (SWR_ETL_CONCURRENCY) must be at least 1",
        ),
        (
            {**BASE_ENV, "SWR_ETL_PAGE_SIZE": "5000"},
            "http.page_size (SWR_ETL_PAGE_SIZE) must be between 1 and 1000",
        ),
        (
            {**BASE_ENV, "SWR_ETL_REJECTS_RETENTION_DAYS": "-1"},
            "database.rejects_retention_days (SWR_ETL_REJECTS_RETENTION_DAYS) must be >= 0",
        ),
        (
            {**BASE_ENV, "SWR_ETL_MAX_QUOTA_SHARE": "0"},
            "http.max_quota_share (SWR_ETL_MAX_QUOTA_SHARE) must be above 0 and at most 1",
        ),
        ({**BASE_ENV, "SWR_ETL_MAX_QUOTA_SHARE": "1.5"}, "must be above 0 and at most 1"),
        ({**BASE_ENV, "SWR_ETL_ENDPOINT": "ftp://x"}, "must be an http(s) URL"),
        ({**BASE_ENV, "SWR_ETL_REPOSITORIES": "noslash"}, "expected namespace/repository"),
        ({**BASE_ENV, "SWR_ETL_AK": "AK", "SWR_ETL_SK": "SK"}, "exactly one credential mode"),
        ({"SWR_ETL_ENDPOINT": "http://x:1"}, "found none"),
        ({"SWR_ETL_ENDPOINT": "http://x:1", "SWR_ETL_IAM_USER": "u"}, "IAM mode needs"),
        ({"SWR_ETL_ENDPOINT": "http://x:1", "SWR_ETL_AK": "AK"}, "needs both SWR_ETL_AK and SWR_ETL_SK"),
        ({**BASE_ENV, "SWR_ETL_LOG_LEVEL": "loud"}, "run.log_level (SWR_ETL_LOG_LEVEL) must be one of"),
        ({**BASE_ENV, "SWR_ETL_CONFIG": "/nonexistent.toml"}, "config file not found"),
        (
            {**BASE_ENV, "SWR_ETL_MAX_DURATION": "0"},
            "run.max_duration (SWR_ETL_MAX_DURATION) must be a positive",
        ),
        ({**BASE_ENV, "SWR_ETL_FULL_EVERY": "daily"}, "run.full_every (SWR_ETL_FULL_EVERY) must be a number"),
        ({**BASE_ENV, "SWR_ETL_FULL": "maybe"}, "run.full (SWR_ETL_FULL) must be true or false"),
        (
            {**BASE_ENV, "SWR_ETL_OPEN_JOB_HORIZON": "-1"},
            "run.open_job_horizon (SWR_ETL_OPEN_JOB_HORIZON) must be",
        ),
    ],
)
def test_bad_settings_are_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env=env)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_unknown_keys_are_refused(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[http]\nconcurency = 3\n")
    with pytest.raises(ConfigError, match=r"unknown setting http\.concurency"):
        load_settings(config_path=str(config), env=BASE_ENV)


def test_secrets_never_show_in_repr() -> None:
    env = {**BASE_ENV, "SWR_ETL_DATABASE_URL": "postgresql://u:pw-secret-9@h/db"}
    settings = load_settings(env=env)
    text = repr(settings) + str(settings)
    assert "tok-1234" not in text
    assert "pw-secret-9" not in text
    assert set(settings.secrets()) == {"tok-1234", "pw-secret-9"}
    assert f"{Secret('abc')}" == "***"
