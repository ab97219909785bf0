"""Credentials given indirectly: `<key>_file` (a file's content, e.g. a Kubernetes Secret volume) or
`<key>_env` (the value of another environment variable). Reads files, never the process environment:
the caller passes the environment as a mapping."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pipeline.errors import ConfigError

FILE, ENV = "_file", "_env"


def forms(key: str) -> tuple[str, str, str]:
    """The three ways to give a credential: the value, a file holding it, a variable holding it."""
    return key, key + FILE, key + ENV


def overlay(lower: Mapping[str, Any], upper: Mapping[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    """`upper` over `lower`; a credential given in `upper` in any form replaces every form of it below.

    An `SWR_ETL_SK_FILE` must override a `sk = "..."` of the config file, not clash with it.
    """
    merged = dict(lower)
    for key in keys:
        if any(form in upper for form in forms(key)):
            for form in forms(key):
                merged.pop(form, None)
    merged.update(upper)
    return merged


def resolve(
    values: Mapping[str, Any], keys: Iterable[str], environ: Mapping[str, str], where: str
) -> dict[str, Any]:
    """`values` with each `<key>_file` / `<key>_env` replaced by `<key>` = what it points at."""
    resolved = dict(values)
    for key in keys:
        given = [form for form in forms(key) if resolved.get(form) not in (None, "")]
        if len(given) > 1:
            raise ConfigError(f"{where}: {' and '.join(given)} are both set: keep one")
        path, variable = resolved.pop(key + FILE, None), resolved.pop(key + ENV, None)
        if path:
            resolved[key] = read_secret_file(str(path), f"{where}.{key}{FILE}")
        elif variable:
            value = environ.get(str(variable))
            if not value:
                raise ConfigError(f"{where}.{key}{ENV}: environment variable {variable} is not set")
            resolved[key] = value
    return resolved


def read_secret_file(path: str, name: str) -> str:
    """A file's content less one trailing newline (`echo secret > file` and editors add one)."""
    try:
        text = Path(path).read_bytes().decode("utf-8")  # bytes: no newline translation
    except (OSError, UnicodeDecodeError) as exc:
        # Never the content in the message: only the path and why it could not be read.
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ConfigError(f"{name}: cannot read {path}: {reason}") from None
    text = text[:-2] if text.endswith("\r\n") else text.removesuffix("\n")
    if not text:
        raise ConfigError(f"{name}: {path} is empty")
    return text
