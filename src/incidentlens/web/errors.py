"""Errors only the web edge raises; they extend the one tree in `incidentlens.errors`.

PermissionDeniedError
├── AuthenticationError     no valid session or bearer token (HTTP 401)
│   └── ThrottledError      too many failed attempts from this address or for this user (HTTP 429 + Retry-After)
├── CsrfError               a form POST whose CSRF token does not match the session (HTTP 403)
└── OriginError             a login form posted from another site (HTTP 403)
InputError
├── PayloadTooLargeError    a body or an alert count over its limit, refused before work is done (HTTP 413)
└── UnsupportedMediaError   a webhook body that is not JSON by its Content-Type (HTTP 415)
StoreError
└── QueueFullError          the investigation queue cannot take the job even by coalescing (HTTP 503 + Retry-After)
"""

from __future__ import annotations

from incidentlens.errors import InputError, PermissionDeniedError, StoreError

__all__ = [
    "AuthenticationError",
    "CsrfError",
    "OriginError",
    "PayloadTooLargeError",
    "QueueFullError",
    "ThrottledError",
    "UnsupportedMediaError",
]


class AuthenticationError(PermissionDeniedError):
    """The request carries no valid session cookie, bearer token or webhook secret."""


class ThrottledError(AuthenticationError):
    """Too many failed authentications; retry after `retry_after` seconds (guessing stays slow)."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class CsrfError(PermissionDeniedError):
    """A cookie-authenticated form or request lacks the session's CSRF token."""


class OriginError(PermissionDeniedError):
    """A login posted with an `Origin` other than this server's (login CSRF)."""


class PayloadTooLargeError(InputError):
    """A request over a limit: a body refused from its Content-Length or cut off while streaming, or a webhook
    payload with more alerts than the intake takes at once; the message names the limit."""


class UnsupportedMediaError(InputError):
    """A body whose Content-Type is not the JSON the endpoint reads."""


class UnavailableError(StoreError):
    """Nothing was recorded, for now: retry after `retry_after` seconds (503)."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class QueueFullError(UnavailableError):
    """The background queue is full and the job could not be coalesced."""
