"""What can go wrong talking to the Oura API, as one family of exceptions.

Every error the client raises is an `OuraError`; callers that only care whether a fetch worked catch
that, callers that react differently (reauthenticate, back off, retry later) catch a subclass.
Messages name the endpoint and the HTTP status, never the access token or a request header.
"""

from __future__ import annotations


class OuraError(Exception):
    """Base of every error the Oura client raises; `status` is the HTTP status, if there was one."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class OuraAuthError(OuraError):
    """The access token was refused (401: expired, malformed or revoked): sign in again."""


class OuraForbiddenError(OuraError):
    """Oura refused one kind of data to a valid token (403).

    Oura answers so when the person's membership has lapsed (most data needs one) or the
    application was not granted that data's scope. Signing in again does not help.
    """


class OuraRateLimitError(OuraError):
    """Too many requests (429); `retry_after` is how many seconds to wait, when Oura said."""

    def __init__(
        self, message: str, *, status: int | None = 429, retry_after: float | None = None
    ) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class OuraConnectionError(OuraError):
    """Oura could not be reached or failed on its side: timeouts, network errors, 5xx answers."""


class OuraPayloadError(OuraError):
    """Oura answered, but not with what its documentation describes (bad JSON, wrong shape)."""
