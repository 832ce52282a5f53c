"""The one place errors become HTTP responses: RFC 9457 `application/problem+json` documents.

Every IncidentLensError maps by its exit-code class (bad input 400, store 503, git 502, policy refusal 409,
missing role 403, broken audit chain 500); a few subclasses are more specific (not found 404, lifecycle
conflict 409, not logged in 401, throttled 429, body too large 413, not JSON 415, queue full 503 +
Retry-After). Framework errors (404, 405, 422) use the same shape. The detail is the error's message, which
names what is wrong and never holds a secret; the database URL, the workspace and repository paths are
replaced by what they are (`<database>`, `<workspace>`, `<repository>`), so a caller learns no server layout.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from incidentlens.errors import IncidentLensError, TransitionError
from incidentlens.store.errors import NotFoundError
from incidentlens.web.errors import (
    AuthenticationError,
    OriginError,
    PayloadTooLargeError,
    ThrottledError,
    UnavailableError,
    UnsupportedMediaError,
)

__all__ = ["PROBLEM_TYPE", "install_problem_handlers", "problem_response", "scrub", "status_of"]

PROBLEM_TYPE = "application/problem+json"
_BY_EXIT_CODE = {1: 500, 2: 400, 3: 503, 4: 502, 5: 409, 6: 403, 7: 500, 8: 502}
# Checked in order before the exit-code class: the most specific first.
_SPECIFIC: tuple[tuple[type[IncidentLensError], int], ...] = (
    (NotFoundError, 404),
    (TransitionError, 409),
    (ThrottledError, 429),
    (AuthenticationError, 401),
    (OriginError, 403),
    (PayloadTooLargeError, 413),
    (UnsupportedMediaError, 415),
    (UnavailableError, 503),
)
_log = logging.getLogger("incidentlens.web")


def status_of(exc: IncidentLensError) -> int:
    """The HTTP status for an error of the tree."""
    for cls, status in _SPECIFIC:
        if isinstance(exc, cls):
            return status
    return _BY_EXIT_CODE.get(exc.exit_code, 500)


def _slug(name: str) -> str:
    base = name.removesuffix("Error") or name
    return "".join(f"-{c.lower()}" if c.isupper() else c for c in base).lstrip("-")


def problem_response(
    request: Request,
    *,
    status: int,
    title: str,
    detail: str,
    kind: str = "about:blank",
    headers: Mapping[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    """A problem document: type, title, status, detail, instance (the request path) and extensions."""
    body: dict[str, Any] = {
        "type": kind,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **(extra or {}),
    }
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_TYPE)


def scrub(request: Request, detail: str) -> str:
    """`detail` without the database URL, the workspace or repository paths (longest first)."""
    settings = getattr(request.app.state, "settings", None)
    db = getattr(request.app.state, "db", None)
    known: list[tuple[str, str]] = []
    if db is not None:
        known.append((str(db.url), "<database>"))
    if settings is not None:
        if settings.database_url:
            known.append((settings.database_url, "<database>"))
        for entry in (settings.workflow.raw.get("repositories") or {}).values():
            path = entry.get("path") if isinstance(entry, Mapping) else None
            if isinstance(path, str) and path:
                known.extend((p, "<repository>") for p in _spellings(path))
        known.extend((p, "<workspace>") for p in _spellings(str(settings.workspace)))
    for value, label in sorted(known, key=lambda item: -len(item[0])):
        if len(value) > 1:
            detail = detail.replace(value, label)
    return detail


def _spellings(path: str) -> set[str]:
    """A path as configured and as resolved (git reports the resolved top level)."""
    found = {path.rstrip("/") or path}
    with contextlib.suppress(OSError, RuntimeError):  # a path we cannot resolve is still scrubbed as written
        found.add(str(Path(path).expanduser().resolve()))
    return found


async def _incidentlens_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, IncidentLensError)
    status = status_of(exc)
    headers: dict[str, str] = {}
    if isinstance(exc, AuthenticationError):
        headers["WWW-Authenticate"] = 'Bearer realm="incidentlens"'
    if isinstance(exc, ThrottledError | UnavailableError):
        headers["Retry-After"] = str(exc.retry_after)
    if status >= 500:
        _log.warning("%s %s -> %d: %s", request.method, request.url.path, status, exc)  # the full text stays here
    name = type(exc).__name__
    return problem_response(
        request,
        status=status,
        title=_slug(name).replace("-", " ").capitalize(),
        detail=scrub(request, str(exc)),
        kind=f"urn:incidentlens:problem:{_slug(name)}",
        headers=headers or None,
        extra={"exit_code": exc.exit_code},
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    from http import HTTPStatus

    try:
        title = HTTPStatus(exc.status_code).phrase
    except ValueError:
        title = "Error"
    detail = exc.detail if isinstance(exc.detail, str) else title
    return problem_response(request, status=exc.status_code, title=title, detail=detail, headers=exc.headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
        for e in exc.errors()
    ]
    first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
    where = ".".join(first["loc"]) or "request"
    return problem_response(
        request,
        status=422,
        title="Unprocessable Content",
        detail=f"{where}: {first['msg']}",
        extra={"errors": errors},
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Register the handlers: the tree, HTTP errors (404, 405, ...) and request validation (422)."""
    app.add_exception_handler(IncidentLensError, _incidentlens_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
