"""Settings for transport and database hygiene: plain http refused for credentials off loopback, the
database session's timeouts, keepalives and lock checks."""

from __future__ import annotations

import pytest

from pipeline.errors import ConfigError
from pipeline.settings import DatabaseSettings, load_settings

TOKEN = {"SWR_ETL_TOKEN": "tok-1234"}
IAM = {"SWR_ETL_IAM_USER": "u", "SWR_ETL_IAM_PASSWORD": "pw-5678", "SWR_ETL_IAM_DOMAIN": "d"}


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://127.0.0.1:8080",
        "http://127.3.4.5:8080",
        "http://localhost:8080",
        "http://[::1]:8080",
        "https://swr-api.cn-north-4.myhuaweicloud.com",
        "https://10.0.0.5:8443",
    ],
)
def test_encrypted_or_loopback_endpoints_are_accepted(endpoint: str) -> None:
    settings = load_settings(env={"SWR_ETL_ENDPOINT": endpoint, **TOKEN})
    assert settings.sources[0].endpoint == endpoint


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"SWR_ETL_ENDPOINT": "http://swr-api.cn-north-4.myhuaweicloud.com", **TOKEN}, "endpoint http://swr"),
        ({"SWR_ETL_ENDPOINT": "http://10.0.0.5:8080", "SWR_ETL_AK": "AK", "SWR_ETL_SK": "SK"}, "aksk"),
        ({"SWR_ETL_ENDPOINT": "http://127.0.0.1.example.com", **TOKEN}, "endpoint http://127"),
        (
            {
                "SWR_ETL_ENDPOINT": "https://swr-api.cn-north-4.myhuaweicloud.com",
                "SWR_ETL_IAM_ENDPOINT": "http://iam.internal",
                **IAM,
            },
            "iam_endpoint http://iam.internal",
        ),
    ],
)
def test_credentials_over_plain_http_off_loopback_are_refused(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env=env)
    message = str(info.value)
    assert named in message and "SWR_ETL_ALLOW_INSECURE_HTTP" in message
    assert "tok-1234" not in message and "pw-5678" not in message and "\n" not in message


@pytest.mark.parametrize(("value", "allowed"), [("1", True), ("true", True), ("yes", True), ("0", False)])
def test_allow_insecure_http_lets_plain_http_through(value: str, allowed: bool) -> None:
    env = {"SWR_ETL_ENDPOINT": "http://swr.internal:8080", "SWR_ETL_ALLOW_INSECURE_HTTP": value, **TOKEN}
    if allowed:
        assert load_settings(env=env).http.allow_insecure_http
    else:
        with pytest.raises(ConfigError, match="plain http"):
            load_settings(env=env)


def test_allow_insecure_http_must_be_a_boolean() -> None:
    env = {"SWR_ETL_ENDPOINT": "https://x", "SWR_ETL_ALLOW_INSECURE_HTTP": "perhaps", **TOKEN}
    with pytest.raises(
        ConfigError, match=r"http.allow_insecure_http \(SWR_ETL_ALLOW_INSECURE_HTTP\) must be"
    ):
        load_settings(env=env)


def test_database_session_settings_from_the_environment_and_their_defaults() -> None:
    assert DatabaseSettings().statement_timeout == 300.0
    assert DatabaseSettings().lock_check_interval == 5.0
    env = {
        "SWR_ETL_DB_STATEMENT_TIMEOUT": "30",
        "SWR_ETL_DB_KEEPALIVE_IDLE": "15",
        "SWR_ETL_DB_LOCK_CHECK_INTERVAL": "0.5",
    }
    database = load_settings(env=env, require_source=False).database
    assert (database.statement_timeout, database.keepalive_idle, database.lock_check_interval) == (
        30,
        15,
        0.5,
    )


@pytest.mark.parametrize(
    "variable",
    ["SWR_ETL_DB_STATEMENT_TIMEOUT", "SWR_ETL_DB_KEEPALIVE_IDLE", "SWR_ETL_DB_LOCK_CHECK_INTERVAL"],
)
def test_database_session_settings_must_be_positive(variable: str) -> None:
    with pytest.raises(ConfigError, match="must be positive"):
        load_settings(env={variable: "0"}, require_source=False)


@pytest.mark.parametrize(
    ("url", "no_proxy", "proxy"),
    [
        ("https://swr-api.cn-north-4.myhuaweicloud.com", "", "http://proxy:3128"),
        ("http://swr.internal:8080", "", "http://plain-proxy:3128"),
        ("https://swr-api.cn-north-4.myhuaweicloud.com", "*", None),
        ("https://swr-api.cn-north-4.myhuaweicloud.com", "myhuaweicloud.com", None),
        ("https://swr-api.cn-north-4.myhuaweicloud.com", ".myhuaweicloud.com", None),
        (
            "https://swr-api.cn-north-4.myhuaweicloud.com",
            "other.com, swr-api.cn-north-4.myhuaweicloud.com",
            None,
        ),
        (
            "https://swr-api.cn-north-4.myhuaweicloud.com",
            "huaweicloud.com",
            "http://proxy:3128",
        ),  # not a suffix
        (
            "https://swr-api.cn-north-4.myhuaweicloud.com:443",
            "swr-api.cn-north-4.myhuaweicloud.com:8443",
            "http://proxy:3128",
        ),
        (
            "https://swr-api.cn-north-4.myhuaweicloud.com:443",
            "swr-api.cn-north-4.myhuaweicloud.com:443",
            None,
        ),
        ("http://127.0.0.1:9000", "127.0.0.1", None),
        ("http://[::1]:9000", "::1", None),
        ("http://[::1]:9000", "[::1]:9000", None),
    ],
)
def test_the_proxy_of_a_url_follows_no_proxy(url: str, no_proxy: str, proxy: str | None) -> None:
    env = {"HTTPS_PROXY": "http://proxy:3128", "HTTP_PROXY": "http://plain-proxy:3128", "NO_PROXY": no_proxy}
    assert load_settings(env=env, require_source=False).proxies.for_url(url) == proxy


def test_lower_case_proxy_variables_come_first_and_proxy_passwords_are_secrets() -> None:
    env = {
        "https_proxy": "http://user:proxy-pw-31@lower:3128",
        "HTTPS_PROXY": "http://upper:3128",
        "no_proxy": "",
        "NO_PROXY": "example.com",
    }
    settings = load_settings(env=env, require_source=False)
    assert settings.proxies.for_url("https://swr.example.com") is None  # NO_PROXY, as no_proxy is empty
    assert settings.proxies.for_url("https://swr.other.com") == "http://user:proxy-pw-31@lower:3128"
    assert "proxy-pw-31" in settings.secrets()  # redacted from every log line
    assert "proxy-pw-31" not in repr(settings)
    assert load_settings(env={}, require_source=False).proxies.for_url("https://x") is None
