"""Who is calling: signed session cookies for the console, bearer tokens for scripts, CSRF for forms.

Users, roles and token hashes come from the settings file (`users.NAME.token_sha256`); the cookie holds
only the user name, a CSRF token and an expiry, signed with the server's secret key (HMAC-SHA256). Roles are
read from the settings on every request, so removing a role takes effect at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from incidentlens.model.enums import Role
from incidentlens.web.errors import AuthenticationError, CsrfError
from incidentlens.web.settings import WebSettings, hash_token
from incidentlens.workflow.identity import Identity, require_role

__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "bearer_identity",
    "csrf_token",
    "current_user",
    "require_user",
    "router",
    "safe_next",
    "verify_csrf",
]

SESSION_COOKIE = "incidentlens_session"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
SESSION_SECONDS = 12 * 3600

router = APIRouter(tags=["session"])


def _settings(request: Request) -> WebSettings:
    settings: WebSettings = request.app.state.settings
    return settings


def _key(request: Request) -> bytes:
    key: bytes = request.app.state.secret_key
    return key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_session(key: bytes, *, user: str, csrf: str, expires: int) -> str:
    """The cookie value: base64(JSON payload) + "." + base64(HMAC-SHA256 of it)."""
    body = _b64(orjson.dumps({"u": user, "c": csrf, "e": expires}))
    mac = hmac.new(key, body.encode("ascii"), hashlib.sha256).digest()
    return f"{body}.{_b64(mac)}"


def read_session(key: bytes, value: str, *, now: float | None = None) -> dict[str, Any] | None:
    """The payload of a valid, unexpired cookie; None for anything forged, malformed or stale."""
    body, _, mac = value.partition(".")
    if not body or not mac:
        return None
    expected = hmac.new(key, body.encode("ascii", "replace"), hashlib.sha256).digest()
    try:
        if not hmac.compare_digest(expected, _unb64(mac)):
            return None
        payload = orjson.loads(_unb64(body))
    except (ValueError, orjson.JSONDecodeError):
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("u"), str) or not isinstance(payload.get("c"), str):
        return None
    if not isinstance(payload.get("e"), int) or payload["e"] < (now if now is not None else time.time()):
        return None
    return payload


def _session(request: Request) -> dict[str, Any] | None:
    cached = request.scope.get("incidentlens.session", False)
    if cached is not False:
        return cached  # type: ignore[no-any-return]
    raw = request.cookies.get(SESSION_COOKIE)
    payload = read_session(_key(request), raw) if raw else None
    request.scope["incidentlens.session"] = payload
    return payload


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def bearer_identity(settings: WebSettings, token: str) -> Identity | None:
    """The user whose configured token hash matches `token` (every hash compared in constant time)."""
    digest = hash_token(token)
    found: str | None = None
    for known, name in settings.token_hashes.items():
        if hmac.compare_digest(known, digest):
            found = name
    return settings.workflow.users.get(found) if found is not None else None


def current_user(request: Request) -> Identity | None:
    """The caller from `Authorization: Bearer <token>`, else from the session cookie; None if neither."""
    settings = _settings(request)
    token = _bearer(request)
    if token is not None:
        return bearer_identity(settings, token)
    session = _session(request)
    return settings.workflow.users.get(session["u"]) if session is not None else None


def require_user(*roles: Role) -> Callable[[Request], Identity]:
    """A dependency returning the logged-in user; 401 if none, 403 if they hold none of `roles` (when given)."""

    def dependency(request: Request) -> Identity:
        identity = current_user(request)
        if identity is None:
            raise AuthenticationError("authentication required: log in, or send 'Authorization: Bearer <token>'")
        if roles:
            require_role(identity, *roles)
        return identity

    return dependency


def csrf_token(request: Request) -> str:
    """The session's CSRF token, to embed in forms as the hidden field `csrf` ("" without a session)."""
    session = _session(request)
    return str(session["c"]) if session is not None else ""


async def verify_csrf(request: Request) -> None:
    """For cookie-authenticated mutations: the form field `csrf` or header X-CSRF-Token must match the session.

    Bearer-token calls are exempt (a browser never adds that header on its own).
    """
    if _bearer(request) is not None:
        return
    session = _session(request)
    if session is None:
        raise AuthenticationError("authentication required: log in, or send 'Authorization: Bearer <token>'")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(sent.encode(), str(session["c"]).encode()):
        raise CsrfError("the form's CSRF token does not match your session; reload the page and try again")


def safe_next(target: str | None) -> str:
    """A local path to go to after login; anything else (another host, `//evil`, a scheme) becomes `/`."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.post("/login", include_in_schema=False)
def login(
    request: Request,
    user: Annotated[str, Form()] = "",
    token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> RedirectResponse:
    """Check the user's token; set the signed session cookie and go to `next`, or back to the login page."""
    settings = _settings(request)
    identity = bearer_identity(settings, token) if token else None
    target = safe_next(next)
    if identity is None or identity.name != user:
        return RedirectResponse(f"/login?error=invalid&next={quote(target)}", status_code=303)
    response = RedirectResponse(target, status_code=303)
    value = sign_session(
        _key(request), user=identity.name, csrf=secrets.token_urlsafe(32), expires=int(time.time()) + SESSION_SECONDS
    )
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="lax",
        secure=settings.public_base_url.startswith("https://"),
        path="/",
    )
    return response


@router.post("/logout", include_in_schema=False, dependencies=[Depends(verify_csrf)])
def logout() -> RedirectResponse:
    """Clear the session cookie."""
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
