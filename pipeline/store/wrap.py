"""Translate driver failures into the project's errors in one place, never leaking the password."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs, urlsplit

import asyncpg

from pipeline import errors

# Failures meaning "the server is gone or unreachable", as opposed to a SQL error.
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncio.TimeoutError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.OperatorInterventionError,  # admin shutdown, crash shutdown
    asyncpg.exceptions.InterfaceError,  # "connection is closed", pool closed
    # A server that dies during a COPY leaves the protocol mid-operation: "cannot switch to state 15;
    # another operation (2) is in progress". The connection is unusable; a retry gets another one.
    asyncpg.exceptions.InternalClientError,
)


def redact_dsn(dsn: str) -> str:
    """host:port/database of a DSN: no user, no password, no options."""
    try:
        parts = urlsplit(dsn)
        host = parts.hostname or parse_qs(parts.query).get("host", ["localhost"])[0]
        port = parts.port or 5432
    except ValueError:
        return "<unparsable database URL>"
    database = parts.path.lstrip("/") or "postgres"
    return f"{host}:{port}/{database}"


def scrub(text: str, dsn: str) -> str:
    """Remove the DSN's password from a message, in case a driver echoed it."""
    try:
        password = urlsplit(dsn).password
    except ValueError:
        password = None
    return text.replace(password, "***") if password else text


def describe(exc: BaseException) -> str:
    """One line naming the failure without its (possibly multi-line) detail."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@contextmanager
def wrap_exceptions(dsn: str, action: str) -> Iterator[None]:
    """Re-raise driver errors as DatabaseUnavailable (connection) or DatabaseError (everything else)."""
    try:
        yield
    except errors.SwrEtlError:
        raise
    except _UNAVAILABLE as exc:
        message = f"PostgreSQL at {redact_dsn(dsn)} unavailable while {action}: {describe(exc)}"
        raise errors.DatabaseUnavailable(scrub(message, dsn)) from exc
    except asyncpg.PostgresError as exc:
        message = f"PostgreSQL error while {action}: {describe(exc)}"
        raise errors.DatabaseError(scrub(message, dsn)) from exc
