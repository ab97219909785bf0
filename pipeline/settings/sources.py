"""The `[source]` / `[[sources]]` part of the settings: endpoints, credentials (exactly one mode each),
selection. Pure: it gets the layered values, never the environment."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import fields
from typing import Any
from urllib.parse import urlsplit

from pipeline.domain import Repository
from pipeline.errors import ConfigError
from pipeline.settings.indirect import overlay, resolve
from pipeline.settings.model import Secret, SourceSettings

SOURCE_KEYS = frozenset(f.name for f in fields(SourceSettings))
# Credentials that may also be given as `<key>_file` (a file's content) or `<key>_env` (another variable).
CREDENTIAL_KEYS = ("token", "iam_user", "iam_password", "ak", "sk", "security_token")
_REGION_HOST = re.compile(r"^swr-api\.([a-z0-9-]+)\.")
_NAME = re.compile(r"^[a-z0-9][a-z0-9._/-]{0,127}$")


def region_from_endpoint(endpoint: str) -> str:
    """`https://swr-api.cn-north-4.myhuaweicloud.com` → `cn-north-4`; anything else → `default`."""
    host = urlsplit(endpoint).hostname or ""
    match = _REGION_HOST.match(host)
    return match.group(1) if match else "default"


def is_loopback(host: str) -> bool:
    """`localhost`, 127.0.0.0/8 or ::1: traffic that never leaves the machine."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_transport(source: SourceSettings) -> None:
    """A credential (token, signature, IAM password) must not cross the network in clear text."""
    iam = (source.iam_endpoint or "") if source.auth_mode == "iam" else ""
    for name, url in (("endpoint", source.endpoint), ("iam_endpoint", iam)):
        parts = urlsplit(url)
        if parts.scheme == "http" and not is_loopback(parts.hostname or ""):
            variable = "SWR_ETL_ENDPOINT" if name == "endpoint" else "SWR_ETL_IAM_ENDPOINT"
            raise ConfigError(
                f"{name} {url} is plain http: the {source.auth_mode} credentials would cross the network "
                f"unencrypted; use https:// ({variable}), or set SWR_ETL_ALLOW_INSECURE_HTTP=1 "
                "(http.allow_insecure_http) if the network path is trusted"
            )


def check_keys(values: Mapping[str, Any], allowed: set[str] | frozenset[str], where: str) -> None:
    extra = set(values) - set(allowed)
    if extra:
        raise ConfigError(f"unknown setting {where}.{sorted(extra)[0]}")


def build_sources(layered: dict[str, Any], environ: Mapping[str, str]) -> tuple[SourceSettings, ...]:
    """The configured sources; `environ` serves the credentials given as `<key>_env`."""
    single = layered.get("source", {})
    many = layered.get("sources", [])
    if not isinstance(many, list):
        raise ConfigError("sources must be an array of tables ([[sources]])")
    if many and single:
        if len(many) > 1:
            raise ConfigError(
                "SWR_ETL_* source settings and [source] cannot be combined with several [[sources]]"
            )
        many = [overlay(many[0], single, CREDENTIAL_KEYS)]
    entries = many or ([single] if single else [])
    sources = tuple(
        _source(resolve(entry, CREDENTIAL_KEYS, environ, f"sources[{i}]"), f"sources[{i}]")
        for i, entry in enumerate(entries)
    )
    if not sources:
        raise ConfigError("no SWR endpoint configured: set SWR_ETL_ENDPOINT or [source].endpoint")
    return sources


def _source(entry: Mapping[str, Any], where: str) -> SourceSettings:
    check_keys(entry, SOURCE_KEYS, where)
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
