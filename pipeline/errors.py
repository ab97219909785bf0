"""Every exception the pipeline raises, grouped by what the caller does next.

- ``RetryableError``: try the same request again after a backoff.
- ``RepositoryError``: give up on this repository, record it, carry on with the others.
- ``FatalError``: abort the run (each carries the process exit code).
Bad records are not exceptions: they are data (``domain.Reject``).
"""

from __future__ import annotations


class SwrEtlError(Exception):
    """swr-sync-etl failed."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or type(self).__name__).strip())

    @property
    def message(self) -> str:
        return str(self.args[0])


# --- API answers -------------------------------------------------------------------------------------


class ApiError(SwrEtlError):
    """The SWR API answered with an error."""

    def __init__(
        self,
        status: int,
        code: str | None = None,
        message: str | None = None,
        *,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.error_message = message
        self.request_id = request_id
        self.retry_after = retry_after
        text = f"HTTP {status}"
        if code:
            text += f" {code}"
        if message:
            text += f": {message}"
        super().__init__(text)


class RetryableError(SwrEtlError):
    """A transient failure: the same request may succeed later."""

    retry_after: float | None = None


class TransientApiError(ApiError, RetryableError):
    """408, 429 or 5xx: retried with backoff (honouring Retry-After)."""


class TransportError(RetryableError):
    """The connection failed or timed out before a complete answer arrived."""


class MalformedResponse(RetryableError):
    """A 200 whose body is not the JSON the API documents (truncated, HTML, wrong shape)."""


class RepositoryError(SwrEtlError):
    """This repository cannot be crawled in this run; the others go on."""


class BadRequest(ApiError, RepositoryError):
    """400: the API refused the request; the repository fails with SWR's code recorded."""


class NotFound(ApiError, RepositoryError):
    """404: the namespace or repository no longer exists (counted as gone, not failed)."""


class Forbidden(ApiError, RepositoryError):
    """403 on a call naming one repository or namespace: the credentials may not read that resource."""


class Redirected(ApiError, RepositoryError):
    """3xx: the answer points elsewhere. Never followed: credentials go only to the configured endpoint."""

    def __init__(self, status: int, location: str | None, *, request_id: str | None = None) -> None:
        self.location = location
        where = f"to {location}" if location else "without a Location"
        super().__init__(
            status,
            None,
            f"redirect {where} not followed (credentials are sent only to the configured endpoint): "
            "configure the address SWR answers at",
            request_id=request_id,
        )


class RetriesExhausted(RepositoryError):
    """A request still failed after every retry."""

    def __init__(self, last: SwrEtlError, counted: int, attempts: int | None = None) -> None:
        self.last = last
        self.counted = counted  # attempts counted against the retry budget
        self.attempts = counted if attempts is None else attempts  # requests sent, uncounted ones too
        uncounted = self.attempts - counted
        detail = ""
        if uncounted:
            detail = (
                f" ({self.attempts} requests; {uncounted} not counted: throttled while other calls got"
                " through, or re-sent after a credential refresh)"
            )
        super().__init__(f"gave up after {counted} attempts{detail}: {last.message}")


# --- Abort the run -----------------------------------------------------------------------------------


class FatalError(SwrEtlError):
    """The run cannot go on."""

    exit_code = 1


class ConfigError(FatalError):
    """A setting is missing or invalid."""

    exit_code = 2


class AuthError(ApiError, FatalError):
    """The credentials themselves are refused: a 401 that survived a refresh, or a 403 on a call naming no
    resource (discovery), or a 403 on every call so far."""

    exit_code = 1

    def __init__(self, status: int, code: str | None, message: str | None, *, mode: str) -> None:
        self.mode = mode
        super().__init__(status, code, message)


class DatabaseError(FatalError):
    """PostgreSQL failed."""


class DatabaseUnavailable(DatabaseError):
    """PostgreSQL cannot be reached."""


class SchemaNotAtHead(DatabaseError):
    """The database schema is not at the newest migration: run `swr-etl migrate`."""


class CrawlLockLost(DatabaseError):
    """The crawl lock was lost and another crawl of the same source took over: this run stops."""


class CrawlLocked(FatalError):
    """Another crawl of the same source holds the lock on this database."""

    exit_code = 75


class Interrupted(FatalError):
    """The run was stopped by a signal."""

    def __init__(self, signal_name: str, exit_code: int) -> None:
        self.signal_name = signal_name
        self.exit_code = exit_code
        super().__init__(f"interrupted by {signal_name}")
