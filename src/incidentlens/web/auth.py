"""Who is calling: signed session cookies for the console, bearer tokens for scripts, CSRF for forms.

Users, roles and token hashes come from the settings file (`users.NAME.token_sha256`), reloaded when it
changes. The cookie holds the user name, a CSRF token, an expiry, a session id and a mark of the user's
token, signed with the server's secret key (HMAC-SHA256). A cookie counts only while its session id is live
in the database (logout ends it) and its token mark matches the user's current token (a new token ends
every older session). Roles are read from the settings on every request, so a demotion takes effect at once.
Failed logins, bearer tokens and webhook secrets are throttled per address and per user (`throttle.py`).
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
from incidentlens.store.database import Database
from incidentlens.store.sessions_repository import close_session, open_session, session_active
from incidentlens.web.errors import AuthenticationError, CsrfError, OriginError, ThrottledError
from incidentlens.web.settings import WebSettings, hash_token
from incidentlens.web.throttle import ADDRESS_LIMIT, USER_LIMIT, Throttle
from incidentlens.workflow.identity import Identity, require_role

__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "bearer_identity",
    "check_throttle",
    "csrf_token",
    "current_user",
    "record_failure",
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


def token_mark(key: bytes, token_sha256: str) -> str:
    """A short keyed mark of the user's token hash: a cookie made under an older token stops matching."""
    return _b64(hmac.new(key, b"token:" + token_sha256.encode("ascii"), hashlib.sha256).digest()[:12])


def sign_session(key: bytes, *, user: str, csrf: str, expires: int, sid: str = "", mark: str = "") -> str:
    """The cookie value: base64(JSON payload) + "." + base64(HMAC-SHA256 of it)."""
    body = _b64(orjson.dumps({"u": user, "c": csrf, "e": expires, "s": sid, "t": mark}))
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


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def _live(request: Request, payload: dict[str, Any]) -> bool:
    """The signed payload names a session still open here, made under the user's current token."""
    sid, mark = payload.get("s"), payload.get("t")
    if not isinstance(sid, str) or not sid or not isinstance(mark, str):
        return False
    current = _settings(request).token_hash_of(payload["u"])
    if current is None or not hmac.compare_digest(mark, token_mark(_key(request), current)):
        return False
    with _db(request).session(readonly=True) as session:
        return session_active(session, session_id=sid, now=int(time.time()))


def _session(request: Request) -> dict[str, Any] | None:
    cached = request.scope.get("incidentlens.session", False)
    if cached is not False:
        return cached  # type: ignore[no-any-return]
    raw = request.cookies.get(SESSION_COOKIE)
    payload = read_session(_key(request), raw) if raw else None
    if payload is not None and not _live(request, payload):
        payload = None
    request.scope["incidentlens.session"] = payload
    return payload


def _address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def check_throttle(request: Request, *, user: str | None = None) -> None:
    """ThrottledError (429) while this address, or this user name, has too many recent failures."""
    throttle: Throttle = request.app.state.throttle
    wait = throttle.retry_after(f"address:{_address(request)}", ADDRESS_LIMIT)
    who = "from this address"
    if wait is None and user:
        wait, who = throttle.retry_after(f"user:{user}", USER_LIMIT), f"for user {user!r}"
    if wait is not None:
        raise ThrottledError(f"too many failed authentications {who}; try again in {wait} s", retry_after=wait)


def record_failure(request: Request, *, user: str | None = None) -> None:
    """Count one failed authentication against the address (and the user name, for logins)."""
    throttle: Throttle = request.app.state.throttle
    throttle.fail(f"address:{_address(request)}")
    if user:
        throttle.fail(f"user:{user}")


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
    """The caller from `Authorization: Bearer <token>`, else from the session cookie; None if neither.

    A wrong bearer token counts as a failure for the address; a throttled address gets ThrottledError.
    """
    cached = request.scope.get("incidentlens.user", False)
    if cached is not False:
        return cached  # type: ignore[no-any-return]
    settings = _settings(request)
    token = _bearer(request)
    identity: Identity | None
    if token is not None:
        check_throttle(request)
        identity = bearer_identity(settings, token)
        if identity is None:
            record_failure(request)
    else:
        session = _session(request)
        identity = settings.workflow.users.get(session["u"]) if session is not None else None
    request.scope["incidentlens.user"] = identity
    return identity


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


def check_origin(request: Request, settings: WebSettings) -> None:
    """A browser's `Origin` must be this server (as reached, or its public URL); none at all is a script."""
    origin = request.headers.get("origin")
    if origin is None:
        return
    own = f"{request.url.scheme}://{request.url.netloc}"
    if origin.rstrip("/") not in (own, settings.public_base_url):
        raise OriginError(f"login refused: the form was posted from {origin[:100]!r}, not from this server")


@router.post("/login", include_in_schema=False)
def login(
    request: Request,
    user: Annotated[str, Form(max_length=255)] = "",
    token: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2048)] = "/",
) -> RedirectResponse:
    """Check the user's token; set the signed session cookie and go to `next`, or back to the login page."""
    settings = _settings(request)
    check_origin(request, settings)
    check_throttle(request, user=user)
    identity = bearer_identity(settings, token) if token else None
    target = safe_next(next)
    if identity is None or identity.name != user:
        record_failure(request, user=user)
        return RedirectResponse(f"/login?error=invalid&next={quote(target)}", status_code=303)
    request.app.state.throttle.forget(f"user:{user}")
    token_hash = settings.token_hash_of(identity.name) or ""
    sid = secrets.token_hex(16)
    expires = int(time.time()) + SESSION_SECONDS
    with _db(request).session() as session:
        open_session(session, session_id=sid, expires=expires, now=int(time.time()))
    response = RedirectResponse(target, status_code=303)
    value = sign_session(
        _key(request),
        user=identity.name,
        csrf=secrets.token_urlsafe(32),
        expires=expires,
        sid=sid,
        mark=token_mark(_key(request), token_hash),
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
def logout(request: Request) -> RedirectResponse:
    """End the session on the server (its cookie stops working everywhere) and clear the cookie."""
    session = _session(request)
    if session is not None:
        with _db(request).session() as db_session:
            close_session(db_session, session_id=str(session["s"]))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
