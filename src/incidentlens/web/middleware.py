"""ASGI middleware around every route: security headers, the request-body cap, settings reload.

Pure ASGI (no BaseHTTPMiddleware): a body over the cap is refused from its Content-Length before any byte
is read, and a body without one (chunked) is cut off as it streams, so no route ever holds more than the cap.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from incidentlens.errors import ConfigError
from incidentlens.web.settings import WebSettings, load_web_settings

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "MAX_REQUEST_BYTES",
    "BodyLimit",
    "SecurityHeaders",
    "SettingsReloader",
    "SettingsWatch",
]

MAX_REQUEST_BYTES = 1_000_000
# No inline script anywhere (the console's only script is the vendored htmx file); inline style attributes
# are allowed for the confidence bars. Swagger UI under /api/v1/docs needs its CDN script and one inline call.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_DOCS_POLICY = (
    "default-src 'self'; script-src 'self' https://cdn.jsdelivr.net 'unsafe-inline'; "
    "style-src 'self' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    # Not no-referrer: under it a browser posts forms with `Origin: null`, which the login check refuses.
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
)
_log = logging.getLogger("incidentlens.web")


class SecurityHeaders:
    """Adds the Content-Security-Policy and friends to every response, errors included."""

    def __init__(self, app: ASGIApp, *, docs_path: str) -> None:
        self.app = app
        self.docs_path = docs_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = (_DOCS_POLICY if scope.get("path") == self.docs_path else CONTENT_SECURITY_POLICY).encode()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"content-security-policy"]
                headers.append((b"content-security-policy", policy))
                headers.extend(_HEADERS)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimit:
    """413 for a request whose Content-Length exceeds `limit`, and for a streamed body that grows past it."""

    def __init__(self, app: ASGIApp, *, limit: int = MAX_REQUEST_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            await _too_large(scope, send, f"the request body is {declared} bytes; at most {self.limit} are accepted")
            return
        seen = 0

        async def capped() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise HTTPException(413, f"the request body exceeds {self.limit} bytes; it was cut off there")
            return message

        await self.app(scope, capped, send)


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", []):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _too_large(scope: Scope, send: Send, detail: str) -> None:
    body = orjson.dumps(
        {
            "type": "about:blank",
            "title": "Content Too Large",
            "status": 413,
            "detail": detail,
            "instance": scope["path"],
        }
    )
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@dataclass(frozen=True, slots=True)
class SettingsWatch:
    """The settings file to watch and its signature when the app was built (middleware is built lazily)."""

    config: Path | None
    path: Path
    seen: tuple[int, int, int] | None

    @classmethod
    def of(cls, settings: WebSettings) -> SettingsWatch:
        path = settings.workflow.path or settings.workspace / "config.yaml"
        return cls(settings.workflow.path, path, _signature(path))


class SettingsReloader:
    """Re-reads the settings file when it changes (checked per request by its mtime, size and inode), so a
    removed user, a demotion or a new token takes effect on the next request without a restart.

    A file that no longer parses keeps the previous settings and logs why on every change; the secret key,
    database and sources stay as started (they need a restart)."""

    def __init__(self, app: ASGIApp, *, state: Any, watch: SettingsWatch) -> None:
        self.app = app
        self.state = state
        self.config = watch.config
        self.watched = watch.path
        self.seen = watch.seen

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.refresh()
        await self.app(scope, receive, send)

    def refresh(self) -> None:
        now = _signature(self.watched)
        if now == self.seen:
            return
        self.seen = now
        current: WebSettings = self.state.settings
        try:
            fresh = load_web_settings(
                config=self.watched if now is not None else self.config,
                workspace=current.workspace,
                database_url=current.database_url,
            )
        except ConfigError as exc:
            _log.error("settings file changed but was not applied (the previous settings stay): %s", exc)
            return
        self.state.settings = fresh
        _log.info("settings reloaded from %s: users %s", self.watched, ", ".join(sorted(fresh.workflow.users)))


def _signature(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)
