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
