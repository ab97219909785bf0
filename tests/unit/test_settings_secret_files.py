"""Secrets as files and from other variables: `SWR_ETL_*_FILE`, and `<key>_file` / `<key>_env` in sources."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import ConfigError
from pipeline.settings import Secret, Settings, load_settings

ENDPOINT = "https://swr-api.cn-north-4.myhuaweicloud.com"
BASE_ENV = {"SWR_ETL_ENDPOINT": ENDPOINT}


def secret_file(tmp_path: Path, name: str, content: str) -> str:
    """Write a file as a Kubernetes Secret volume holds it; return its path."""
    path = tmp_path / name
    path.write_bytes(content.encode())
    return str(path)


def read(settings: Settings, name: str) -> str | None:
    """A setting's value by its source field name (`url` for the database), secrets revealed."""
    holder = settings.database if name == "url" else settings.sources[0]
    value = getattr(holder, name)
    return value.reveal() if isinstance(value, Secret) else value


# Each *_FILE variable, what else a mode needs beside it, and the field it fills.
FILE_VARIABLES = [
    ("SWR_ETL_DATABASE_URL_FILE", {"SWR_ETL_TOKEN": "t"}, "url"),
    ("SWR_ETL_TOKEN_FILE", {}, "token"),
    ("SWR_ETL_IAM_PASSWORD_FILE", {"SWR_ETL_IAM_USER": "u", "SWR_ETL_IAM_DOMAIN": "d"}, "iam_password"),
    ("SWR_ETL_IAM_USER_FILE", {"SWR_ETL_IAM_PASSWORD": "p", "SWR_ETL_IAM_DOMAIN": "d"}, "iam_user"),
    ("SWR_ETL_SK_FILE", {"SWR_ETL_AK": "AK"}, "sk"),
    ("SWR_ETL_AK_FILE", {"SWR_ETL_SK": "SK"}, "ak"),
    ("SWR_ETL_SECURITY_TOKEN_FILE", {"SWR_ETL_AK": "AK", "SWR_ETL_SK": "SK"}, "security_token"),
]


@pytest.mark.parametrize(("variable", "rest", "field"), FILE_VARIABLES)
def test_every_credential_variable_has_a_file_form(
    tmp_path: Path, variable: str, rest: dict[str, str], field: str
) -> None:
    # One trailing newline is what `kubectl create secret --from-file` of an echoed file holds: stripped.
    # Only one: a value that really ends in a newline keeps the rest.
    path = secret_file(tmp_path, "value", "s3cr3t-value\n")
    settings = load_settings(env={**BASE_ENV, **rest, variable: path})
    assert read(settings, field) == "s3cr3t-value"
    assert settings.unrecognized_env == ()
    if field not in ("iam_user", "ak"):  # identifiers, not secrets: those two show in the settings' repr
        assert "s3cr3t-value" not in repr(settings)
    doubled = secret_file(tmp_path, "doubled", "s3cr3t-value\r\n\n")
    assert read(load_settings(env={**BASE_ENV, **rest, variable: doubled}), field) == "s3cr3t-value\r\n"


def test_secrets_read_from_files_are_secrets(tmp_path: Path) -> None:
    env = {
        **BASE_ENV,
        "SWR_ETL_AK": "AK",
        "SWR_ETL_SK_FILE": secret_file(tmp_path, "sk", "sk-from-file\n"),
        "SWR_ETL_DATABASE_URL_FILE": secret_file(tmp_path, "url", "postgresql://u:pw-from-file@db/x\n"),
    }
    settings = load_settings(env=env)
    assert set(settings.secrets()) == {"sk-from-file", "pw-from-file"}
    assert "sk-from-file" not in repr(settings) and "pw-from-file" not in repr(settings)


@pytest.mark.parametrize(("variable", "rest", "field"), FILE_VARIABLES)
def test_a_value_and_its_file_both_set_is_an_error(
    tmp_path: Path, variable: str, rest: dict[str, str], field: str
) -> None:
    direct = variable.removesuffix("_FILE")
    env = {**BASE_ENV, **rest, direct: "inline-value", variable: secret_file(tmp_path, "v", "file-value")}
    with pytest.raises(ConfigError) as info:
        load_settings(env=env)
    assert str(info.value) == f"{direct} and {variable} are both set: keep one"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read {path}: No such file or directory"),
        ("\n", "{path} is empty"),
        ("", "{path} is empty"),
    ],
)
def test_unreadable_or_empty_files_are_named_by_path(
    tmp_path: Path, content: str | None, message: str
) -> None:
    path = str(tmp_path / "missing") if content is None else secret_file(tmp_path, "empty", content)
    with pytest.raises(ConfigError) as info:
        load_settings(env={**BASE_ENV, "SWR_ETL_AK": "AK", "SWR_ETL_SK_FILE": path})
    assert str(info.value) == f"sources[0].sk_file: {message.format(path=path)}"


def test_a_binary_file_is_refused_without_its_content(tmp_path: Path) -> None:
    path = tmp_path / "binary"
    path.write_bytes(b"\xff\xfe-secret-bytes")
    with pytest.raises(ConfigError, match="not UTF-8 text") as info:
        load_settings(env={**BASE_ENV, "SWR_ETL_TOKEN_FILE": str(path)})
    assert "secret-bytes" not in str(info.value)


def test_file_forms_follow_the_precedence_of_their_layer(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[database]\nurl = "postgresql://file/db"\n[source]\nendpoint = "{ENDPOINT}"\n'
                      'token = "token-in-file"\n')  # fmt: skip
    env = {
        "SWR_ETL_CONFIG": str(config),
        "SWR_ETL_TOKEN_FILE": secret_file(tmp_path, "token", "token-from-volume\n"),
        "SWR_ETL_DATABASE_URL_FILE": secret_file(tmp_path, "url", "postgresql://volume/db\n"),
        "DATABASE_URL": "postgresql://generic/db",  # the generic fallback loses to the specific file
    }
    settings = load_settings(env=env)  # the environment's file forms replace the config file's values
    assert (read(settings, "token"), read(settings, "url")) == ("token-from-volume", "postgresql://volume/db")
    flagged = load_settings(env=env, overrides={"database_url": "postgresql://flag/db"})
    assert read(flagged, "url") == "postgresql://flag/db"  # a flag beats the environment's file


def test_several_sources_take_credentials_from_files_and_variables(tmp_path: Path) -> None:
    token = secret_file(tmp_path, "token", "token-of-north\n")
    sk = secret_file(tmp_path, "sk", "sk-of-south\n")
    config = tmp_path / "c.toml"
    config.write_text(
        f'[database]\nurl_env = "PG_URL"\n'
        f'[[sources]]\nendpoint = "{ENDPOINT}"\ntoken_file = "{token}"\n'
        '[[sources]]\nendpoint = "https://swr-api.ap-southeast-1.myhuaweicloud.com"\n'
        f'ak_env = "SOUTH_AK"\nsk_file = "{sk}"\nsecurity_token_env = "SOUTH_STS"\n'
        '[[sources]]\nendpoint = "https://swr-api.eu-west-101.myhuaweicloud.eu"\n'
        'iam_user = "robot"\niam_domain = "acme"\niam_password_env = "WEST_PASSWORD"\n'
    )
    env = {"SOUTH_AK": "AK-SOUTH", "SOUTH_STS": "sts-of-south", "WEST_PASSWORD": "pw-of-west",
           "PG_URL": "postgresql://u:pg-pw@db/x"}  # fmt: skip
    settings = load_settings(config_path=str(config), env=env)
    north, south, west = settings.sources
    assert north.token == Secret("token-of-north")
    assert (south.ak, south.sk, south.security_token) == (
        "AK-SOUTH",
        Secret("sk-of-south"),
        Secret("sts-of-south"),
    )
    assert (west.auth_mode, west.iam_password) == ("iam", Secret("pw-of-west"))
    assert settings.database.url == Secret("postgresql://u:pg-pw@db/x")
    assert set(settings.secrets()) == {"token-of-north", "sk-of-south", "sts-of-south", "pw-of-west", "pg-pw"}


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ('token = "t"\ntoken_file = "/x"', "sources[0]: token and token_file are both set: keep one"),
        ('sk_env = "A"\nsk_file = "/x"\nak = "AK"', "sources[0]: sk_file and sk_env are both set: keep one"),
        (
            'token_env = "NOT_SET_ANYWHERE"',
            "sources[0].token_env: environment variable NOT_SET_ANYWHERE is not set",
        ),
        ('token = "t"\nendpoint_file = "/x"', "unknown setting sources[0].endpoint_file"),
    ],
)
def test_bad_indirect_credentials_in_the_file_are_named(tmp_path: Path, source: str, message: str) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[[sources]]\nendpoint = "{ENDPOINT}"\n{source}\n')
    with pytest.raises(ConfigError) as info:
        load_settings(config_path=str(config), env={})
    assert str(info.value) == message


def test_a_misspelled_file_variable_is_reported_with_a_guess() -> None:
    found = load_settings(env={**BASE_ENV, "SWR_ETL_TOKEN": "t", "SWR_ETL_SK_FLE": "/x"}).unrecognized_env
    assert found == ("SWR_ETL_SK_FLE (did you mean SWR_ETL_SK_FILE?)",)
