"""Errors only the web edge raises; they extend the one tree in `incidentlens.errors`.

PermissionDeniedError
├── AuthenticationError   no valid session or bearer token (HTTP 401)
└── CsrfError             a form POST whose CSRF token does not match the session (HTTP 403)
InputError
└── PayloadTooLargeError  a webhook payload over a limit: bytes or alerts per payload (HTTP 413)
StoreError
└── QueueFullError        the investigation queue cannot take the job even by coalescing (HTTP 503 + Retry-After)
"""

from __future__ import annotations

from incidentlens.errors import InputError, PermissionDeniedError, StoreError

__all__ = ["AuthenticationError", "CsrfError", "PayloadTooLargeError", "QueueFullError"]


class AuthenticationError(PermissionDeniedError):
    """The request carries no valid session cookie, bearer token or webhook secret."""


class CsrfError(PermissionDeniedError):
    """A cookie-authenticated form or request lacks the session's CSRF token."""


class PayloadTooLargeError(InputError):
    """A webhook payload over one of the intake's limits; the message names the limit."""


class QueueFullError(StoreError):
    """The background queue is full and the job could not be coalesced; retry after `retry_after` seconds."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
