"""What a refused credential becomes: the run's one-line AuthError, naming the mode and what to check."""

from __future__ import annotations

from collections.abc import Iterable

from pipeline.errors import ApiError, AuthError
from pipeline.logs import REDACTED
from pipeline.records import single_line

MODE_LABELS = {"token": "token", "iam": "IAM password", "aksk": "AK/SK"}
CHECK_PERMISSION = "the credentials were accepted but may not read SWR here: grant read access to SWR"


def auth_error(mode: str, error: ApiError, hint: str, secrets: Iterable[str] = ()) -> AuthError:
    """The run's fatal error: one line naming the mode, what was answered and what to check; no secret."""
    detail = error.error_message
    for secret in (s for s in secrets if s):
        detail = detail.replace(secret, REDACTED) if detail else detail
    fatal = AuthError(error.status, error.code, detail, mode=mode)
    answered = fatal.message if error.status else (detail or "no answer")
    line = f"{MODE_LABELS.get(mode, mode)} authentication failed ({answered}); {hint}"
    # AuthError's own text starts with "HTTP 401": the line the operator reads must start with the mode.
    fatal.args = (single_line(line, 400),)
    return fatal
